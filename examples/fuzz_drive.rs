//! Drives the driver fuzz targets (`drivers/*/fuzz/fuzz_targets/*.rs`) through proptest, for
//! machines without cargo-fuzz (issue 13): the same properties, `CASES` random inputs each.
//!
//! ```sh
//! cargo run --example fuzz_drive -- 1000000          # every target, 1,000,000 cases each
//! cargo run --example fuzz_drive -- 10000 tcp_decoder
//! ```
//!
//! Prints one line per target with the cases run; exits non-zero on the first failure
//! (proptest prints the shrunk input).

use std::sync::OnceLock;
use std::time::Instant;

use cardreader::track::{LrcMode, parse_swipe};
use cardreader::{
    Classifier, ClassifierConfig, LineDecoder, RawRead, ScannerFormat, WedgeDecoder, parse_scan,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_util::bytes::BytesMut;
use zvt::Apdu;
use zvt::command::{EcrMessage, PtMessage};
use zvt::frame::serial::SerialDecoder;
use zvt::frame::tcp::TcpDecoder;

/// Random bytes, or bytes shaped like the thing decoded (a length byte that fits, ZVT's
/// DLE STX framing, a `%…?` track) so that the deep paths run too.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        (
            any::<[u8; 2]>(),
            proptest::collection::vec(any::<u8>(), 0..254)
        )
            .prop_map(|(head, data)| {
                let mut v = head.to_vec();
                v.push(data.len() as u8);
                v.extend(data);
                v
            }),
        (proptest::collection::vec(any::<u8>(), 0..200), any::<u8>()).prop_map(|(d, cut)| {
            let mut v = vec![cut, 0x10, 0x02];
            v.extend(d);
            v.extend([0x10, 0x03]);
            v
        }),
        // A track-shaped line: start sentinel, track characters, end sentinel.
        (any::<bool>(), proptest::collection::vec(0u8..16, 0..80)).prop_map(|(t1, d)| {
            const CHARS: &[u8; 16] = b"0123456789A^= /B";
            let mut v = vec![if t1 { b'%' } else { b';' }];
            v.extend(d.iter().map(|&i| CHARS[usize::from(i)]));
            v.push(b'?');
            v
        }),
    ]
}

fn classifier() -> &'static Classifier {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| {
        Classifier::new(ClassifierConfig {
            gift_prefixes: vec!["603600".into()],
            member_pattern: Some(r"^M(?P<id>\d{5,10})$".into()),
            ..ClassifierConfig::default()
        })
        .expect("valid fuzz config")
    })
}

fn classify(data: &[u8]) {
    if let Ok(swipe) = parse_swipe(data, LrcMode::Auto) {
        let _ = classifier().classify(RawRead::Swipe(swipe));
    }
    if let Ok(code) = parse_scan(data, &ScannerFormat::default()) {
        let _ = classifier().classify(RawRead::Scan(code));
    }
}

fn line(data: &[u8]) {
    let Some((&max, input)) = data.split_first() else {
        return;
    };
    let max = usize::from(max) + 1;
    let collect = |d: &mut LineDecoder, bytes: &[u8]| -> Vec<_> {
        d.push(bytes)
            .into_iter()
            .map(|r| r.map(|l| l.expose().to_vec()))
            .collect()
    };
    let whole = collect(&mut LineDecoder::new(max), input);
    for l in whole.iter().flatten() {
        assert!(l.len() <= max);
    }
    let mid = input.len() / 2;
    let mut d = LineDecoder::new(max);
    let mut split = collect(&mut d, &input[..mid]);
    split.extend(collect(&mut d, &input[mid..]));
    assert_eq!(whole, split);
}

fn track(data: &[u8]) {
    for mode in [LrcMode::Absent, LrcMode::Auto, LrcMode::Required] {
        let _ = parse_swipe(data, mode);
    }
}

fn wedge(data: &[u8]) {
    let _ = WedgeDecoder::new(256).push_bytes(data);
}

fn apdu_parser(data: &[u8]) {
    let Ok(apdu) = Apdu::decode(data) else { return };
    assert_eq!(apdu.to_vec(), data);
    if let Ok(m) = PtMessage::from_apdu(&apdu) {
        let again = m.to_apdu().expect("a decoded message encodes");
        assert_eq!(PtMessage::from_apdu(&again).expect("re-decodes"), m);
    }
    if let Ok(m) = EcrMessage::from_apdu(&apdu) {
        let again = m.to_apdu().expect("a decoded message encodes");
        assert_eq!(EcrMessage::from_apdu(&again).expect("re-decodes"), m);
    }
}

fn serial_run(chunks: &[&[u8]]) -> Vec<String> {
    const MAX: usize = 512;
    let mut dec = SerialDecoder::with_max_apdu_len(MAX);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(item)) => out.push(format!("{item:?}")),
                Ok(None) => break,
                Err(e) => {
                    assert!(e.can_continue());
                    out.push(format!("{e:?}"));
                }
            }
            assert!(dec.buffered_len() <= MAX);
        }
    }
    out
}

fn serial_decoder(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) % (rest.len() + 1);
    assert_eq!(
        serial_run(&[rest]),
        serial_run(&[&rest[..cut], &rest[cut..]])
    );
}

fn tcp_run(chunks: &[&[u8]]) -> Vec<String> {
    let mut dec = TcpDecoder::with_max_data_len(1024);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(a)) => out.push(format!("{a:?}")),
                Ok(None) => break,
                Err(e) => {
                    out.push(format!("{e:?}"));
                    return out;
                }
            }
        }
    }
    out
}

fn tcp_decoder(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) % (rest.len() + 1);
    assert_eq!(tcp_run(&[rest]), tcp_run(&[&rest[..cut], &rest[cut..]]));
}

type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    ("cardreader/classify", classify),
    ("cardreader/line", line),
    ("cardreader/track", track),
    ("cardreader/wedge", wedge),
    ("zvt/apdu_parser", apdu_parser),
    ("zvt/serial_decoder", serial_decoder),
    ("zvt/tcp_decoder", tcp_decoder),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let cases: u32 = args
        .next()
        .map(|a| a.parse().expect("CASES must be a number"))
        .unwrap_or(1_000_000);
    let only = args.next();
    for (name, target) in TARGETS {
        if only.as_deref().is_some_and(|o| !name.ends_with(o)) {
            continue;
        }
        let started = Instant::now();
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&input(), |data| {
            target(&data);
            Ok(())
        });
        match result {
            Ok(()) => println!(
                "{name}: {cases} cases passed in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!("{name}: FAILED: {e}");
                std::process::exit(1);
            }
        }
    }
}
