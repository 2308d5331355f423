//! ISO 7813 track parsing against byte tables, error cases included.

use cardreader::track::{
    LrcMode, SwipeAssembler, TrackError, TrackNumber, compute_lrc, parse_swipe,
};

// Re-declared on purpose (not imported) so a change in the crate's constants shows up here.
const T1_MAX: usize = 76;
const T2_MAX: usize = 37;

fn numbers(line: &[u8], lrc: LrcMode) -> Vec<(TrackNumber, String)> {
    parse_swipe(line, lrc)
        .unwrap()
        .tracks()
        .iter()
        .map(|t| (t.number(), t.expose_str().to_owned()))
        .collect()
}

#[test]
fn three_tracks_on_one_line() {
    let line =
        b"%B6036001234567890^GIFT/CARD^4912101?;6036001234567890=4912101?;011234567890=1234?";
    assert_eq!(
        numbers(line, LrcMode::Auto),
        vec![
            (
                TrackNumber::One,
                "B6036001234567890^GIFT/CARD^4912101".to_owned()
            ),
            (TrackNumber::Two, "6036001234567890=4912101".to_owned()),
            (TrackNumber::Three, "011234567890=1234".to_owned()),
        ]
    );
}

#[test]
fn track3_plus_sentinel_and_fields() {
    let swipe = parse_swipe(b";6036001234567890=4912?+99887766=01?", LrcMode::Absent).unwrap();
    let t2 = swipe.track(TrackNumber::Two).unwrap();
    assert_eq!(
        t2.fields().collect::<Vec<_>>(),
        vec!["6036001234567890", "4912"]
    );
    assert_eq!(t2.primary_number(), "6036001234567890");
    assert_eq!(
        swipe.track(TrackNumber::Three).unwrap().primary_number(),
        "99887766"
    );
}

#[test]
fn track1_fields_and_format_code() {
    let swipe = parse_swipe(
        b"%B4111111111111111^TEST/CARD^30121010000000000?",
        LrcMode::Absent,
    )
    .unwrap();
    let t1 = swipe.track(TrackNumber::One).unwrap();
    assert_eq!(t1.format_code(), Some('B'));
    assert_eq!(t1.primary_number(), "4111111111111111");
    assert_eq!(t1.fields().nth(1), Some("TEST/CARD"));
}

#[test]
fn lrc_is_checked_when_present() {
    let framed = b";1234=5678?";
    let lrc = compute_lrc(TrackNumber::Two, framed);
    let mut line = framed.to_vec();
    line.push(lrc);
    let swipe = parse_swipe(&line, LrcMode::Required).unwrap();
    assert!(swipe.tracks()[0].lrc_checked());

    let wrong = if lrc == b'0' { b'1' } else { b'0' };
    line.pop();
    line.push(wrong);
    assert_eq!(
        parse_swipe(&line, LrcMode::Required),
        Err(TrackError::LrcMismatch {
            track: TrackNumber::Two
        })
    );
    assert_eq!(
        parse_swipe(&line, LrcMode::Auto),
        Err(TrackError::LrcMismatch {
            track: TrackNumber::Two
        })
    );
    assert_eq!(
        parse_swipe(framed, LrcMode::Required),
        Err(TrackError::MissingLrc {
            track: TrackNumber::Two
        })
    );
}

#[test]
fn track1_lrc_uses_six_bit_codes() {
    let framed = b"%B1234^A B^99?";
    let lrc = compute_lrc(TrackNumber::One, framed);
    assert!((0x20..=0x5F).contains(&lrc));
    let mut line = framed.to_vec();
    line.push(lrc);
    line.extend_from_slice(b";1234=99?");
    let swipe = parse_swipe(&line, LrcMode::Auto).unwrap();
    assert_eq!(swipe.tracks().len(), 2);
}

#[rustfmt::skip]
const ERRORS: &[(&[u8], TrackError)] = &[
    (b"", TrackError::Empty),
    (b"   ", TrackError::Empty),
    (b";?", TrackError::Empty),
    (b"%?;?", TrackError::Empty),
    (b"garbage", TrackError::NoStartSentinel { position: 0 }),
    (b"\x00\xff;1234?", TrackError::NoStartSentinel { position: 0 }),
    (b";12345678", TrackError::Partial { track: TrackNumber::Two }),
    (b"%B1234^NAME", TrackError::Partial { track: TrackNumber::One }),
    (b";1234=5%B1234^NAME?", TrackError::Partial { track: TrackNumber::Two }),
    (b";12A4?", TrackError::InvalidCharacter { track: TrackNumber::Two, offset: 3 }),
    (b"%B12\x7f?", TrackError::InvalidCharacter { track: TrackNumber::One, offset: 4 }),
    (b";1234?xyz", TrackError::TrailingGarbage { position: 6 }),
    (b";1?;2?;3?", TrackError::DuplicateTrack { track: TrackNumber::Three }),
    (b"%A?%B?", TrackError::DuplicateTrack { track: TrackNumber::One }),
    (b"%E?;E?", TrackError::ReaderError { track: TrackNumber::One }),
    (b";E?", TrackError::ReaderError { track: TrackNumber::Two }),
];

#[test]
fn error_table() {
    for (line, expected) in ERRORS {
        assert_eq!(
            parse_swipe(line, LrcMode::Absent).as_ref().err(),
            Some(expected),
            "line {:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn lengths_are_bounded_per_track() {
    let mut t2 = b";".to_vec();
    t2.extend(std::iter::repeat_n(b'1', T2_MAX));
    t2.push(b'?');
    assert!(parse_swipe(&t2, LrcMode::Absent).is_ok());
    t2.insert(1, b'1');
    assert_eq!(
        parse_swipe(&t2, LrcMode::Absent),
        Err(TrackError::TooLong {
            track: TrackNumber::Two,
            max: T2_MAX
        })
    );

    let mut t1 = b"%".to_vec();
    t1.extend(std::iter::repeat_n(b'A', T1_MAX + 1));
    t1.push(b'?');
    assert_eq!(
        parse_swipe(&t1, LrcMode::Absent),
        Err(TrackError::TooLong {
            track: TrackNumber::One,
            max: T1_MAX
        })
    );
}

#[test]
fn partly_failed_swipe_keeps_good_tracks() {
    let swipe = parse_swipe(b"%E?;6036001234567890=4912?", LrcMode::Auto).unwrap();
    assert_eq!(swipe.failed_tracks(), &[TrackNumber::One]);
    assert_eq!(swipe.tracks().len(), 1);
}

#[test]
fn errors_never_show_data() {
    for line in [
        &b";4111111111111111"[..],
        b"%B4111111111111111^X",
        b";4111111111111111=A?",
        b";4111111111111111?zz",
    ] {
        let error = parse_swipe(line, LrcMode::Absent).unwrap_err();
        assert!(!format!("{error} {error:?}").contains("4111"), "{error:?}");
    }
    let swipe = parse_swipe(b";4111111111111111=3012?", LrcMode::Absent).unwrap();
    assert!(!format!("{swipe:?}").contains("4111"));
}

#[test]
fn assembler_joins_tracks_sent_on_separate_lines() {
    let mut assembler = SwipeAssembler::new();
    let t1 = parse_swipe(b"%B6036001234567890^GIFT/CARD^4912?", LrcMode::Auto).unwrap();
    let t2 = parse_swipe(b";6036001234567890=4912?", LrcMode::Auto).unwrap();
    assert!(assembler.push(t1).is_none());
    assert!(assembler.push(t2).is_none());
    let next = parse_swipe(b"%B6036009999999999^OTHER/CARD^4912?", LrcMode::Auto).unwrap();
    let first = assembler
        .push(next)
        .expect("a new track 1 ends the previous swipe");
    assert_eq!(first.tracks().len(), 2);
    assert_eq!(assembler.flush().unwrap().tracks().len(), 1);
    assert!(assembler.flush().is_none());

    let t3 = parse_swipe(b";011234567890=1234?", LrcMode::Auto).unwrap();
    let t2 = parse_swipe(b";6036001234567890=4912?", LrcMode::Auto).unwrap();
    assert!(assembler.push(t2).is_none());
    // A second ';' line is another track 2 as parsed alone, so it starts a new swipe.
    assert!(assembler.push(t3).is_some());
    let all = parse_swipe(b"%A1?;2?;3?", LrcMode::Absent).unwrap();
    let done = assembler.push(all);
    assert!(done.is_some());
}
