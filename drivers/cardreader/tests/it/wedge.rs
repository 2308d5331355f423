//! Keyboard-wedge decoding against recorded evdev event streams (tests/fixtures/README.md).

use cardreader::track::{LrcMode, TrackNumber, parse_swipe};
use cardreader::wedge::{
    EV_KEY, EVENT_SIZE, EventDecoder, InputEvent, KeyMapper, KeyOutput, WedgeDecoder, WedgeError,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn lines(bytes: &[u8]) -> Vec<Result<String, WedgeError>> {
    WedgeDecoder::new(256)
        .push_bytes(bytes)
        .into_iter()
        .map(|r| r.map(|l| l.expose_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn record_layout_is_24_bytes_on_64_bit() {
    #[cfg(target_pointer_width = "64")]
    assert_eq!(EVENT_SIZE, 24);
    let event = InputEvent {
        seconds: 1_780_000_000,
        micros: 4000,
        kind: EV_KEY,
        code: 30,
        value: 1,
    };
    let bytes = event.to_bytes();
    assert_eq!(InputEvent::from_bytes(&bytes), event);
    #[cfg(all(target_pointer_width = "64", target_endian = "little"))]
    assert_eq!(&bytes[16..], &[1, 0, 30, 0, 1, 0, 0, 0]);
}

#[test]
fn track2_recording_decodes_to_the_track() {
    let bytes = fixture("wedge_gift_track2_in.bin");
    assert_eq!(bytes.len() % EVENT_SIZE, 0);
    assert_eq!(
        lines(&bytes),
        vec![Ok(";6036001234567890=4912?".to_owned())]
    );
}

#[test]
fn track1_recording_with_caps_lock_and_right_shift() {
    let got = lines(&fixture("wedge_gift_track1_in.bin"));
    assert_eq!(
        got,
        vec![Ok("%B6036001234567890^GIFT/CARD^4912?".to_owned())]
    );
    let swipe = parse_swipe(got[0].as_ref().unwrap().as_bytes(), LrcMode::Auto).unwrap();
    assert_eq!(
        swipe.track(TrackNumber::One).unwrap().fields().nth(1),
        Some("GIFT/CARD")
    );
}

#[test]
fn unmapped_key_drops_only_its_line() {
    assert_eq!(
        lines(&fixture("wedge_unmapped_then_member_in.bin")),
        vec![
            Err(WedgeError::UnmappedKey { code: 59 }),
            Ok("MEMBER 00042".to_owned())
        ]
    );
}

#[test]
fn recordings_decode_the_same_byte_by_byte() {
    for name in [
        "wedge_gift_track2_in.bin",
        "wedge_gift_track1_in.bin",
        "wedge_unmapped_then_member_in.bin",
    ] {
        let bytes = fixture(name);
        let mut decoder = WedgeDecoder::new(256);
        let one_by_one: Vec<_> = bytes
            .iter()
            .flat_map(|b| decoder.push_bytes(std::slice::from_ref(b)))
            .map(|r| r.map(|l| l.expose().to_vec()))
            .collect();
        let whole: Vec<_> = WedgeDecoder::new(256)
            .push_bytes(&bytes)
            .into_iter()
            .map(|r| r.map(|l| l.expose().to_vec()))
            .collect();
        assert_eq!(one_by_one, whole, "{name}");
    }
}

#[test]
fn layout_independence_the_semicolon_key_is_always_semicolon() {
    // On a German layout key 39 types 'ö'; evdev codes are positions, so we map it to ';'.
    let mut keys = KeyMapper::new();
    let press = InputEvent {
        seconds: 0,
        micros: 0,
        kind: EV_KEY,
        code: 39,
        value: 1,
    };
    assert_eq!(keys.map(&press), KeyOutput::Char(b';'));
    let repeat = InputEvent { value: 2, ..press };
    assert_eq!(keys.map(&repeat), KeyOutput::Nothing);
}

#[test]
fn overlong_wedge_line_is_an_error_then_resyncs() {
    let mut decoder = WedgeDecoder::new(8);
    let mut out = Vec::new();
    for event in cardreader::wedge::type_text("ABCDEFGHIJKLMNOP", 0)
        .iter()
        .chain(&cardreader::wedge::type_text("OK", 1))
    {
        out.extend(
            decoder
                .push_event(event)
                .map(|r| r.map(|l| l.expose().to_vec())),
        );
    }
    assert_eq!(
        out,
        vec![
            Err(WedgeError::Line(cardreader::LineError::TooLong { max: 8 })),
            Ok(b"OK".to_vec())
        ]
    );
    let _ = EventDecoder::default();
}
