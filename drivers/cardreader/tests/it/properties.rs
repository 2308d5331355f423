//! Property tests: decoders are total, chunking-invariant and resync after garbage
//! (reliability.md T5.2), masking never shows more than the last four (T3.2).

use cardreader::track::{LrcMode, TrackNumber, compute_lrc, parse_swipe};
use cardreader::wedge::{InputEvent, WedgeDecoder, type_text};
use cardreader::{ClassifiedRead, Classifier, ClassifierConfig, LineDecoder, RawRead, mask_last4};
use proptest::prelude::*;

fn decode_all(
    decoder: &mut LineDecoder,
    chunks: &[&[u8]],
) -> Vec<Result<Vec<u8>, cardreader::LineError>> {
    chunks
        .iter()
        .flat_map(|chunk| decoder.push(chunk))
        .map(|item| item.map(|line| line.expose().to_vec()))
        .collect()
}

fn split_at_points<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for cut in cuts {
        out.push(&input[last..cut]);
        last = cut;
    }
    out.push(&input[last..]);
    out
}

fn luhn_complete(body: &str) -> String {
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|candidate| cardreader::pan::luhn_valid(candidate))
        .unwrap_or_default()
}

fn track2_data() -> impl Strategy<Value = String> {
    "[0-9]{1,19}(=[0-9]{4}[0-9<>:]{0,12})?"
}

proptest! {
    #[test]
    fn parse_swipe_is_total(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        for mode in [LrcMode::Absent, LrcMode::Auto, LrcMode::Required] {
            let _ = parse_swipe(&line, mode);
        }
    }

    #[test]
    fn sentinel_heavy_input_is_total(line in "[%;+?^=E0-9A-Z ]{0,200}") {
        for mode in [LrcMode::Absent, LrcMode::Auto, LrcMode::Required] {
            let _ = parse_swipe(line.as_bytes(), mode);
        }
    }

    #[test]
    fn track2_with_lrc_round_trips(data in track2_data()) {
        let framed = format!(";{data}?");
        let mut line = framed.clone().into_bytes();
        line.push(compute_lrc(TrackNumber::Two, framed.as_bytes()));
        let swipe = parse_swipe(&line, LrcMode::Required).unwrap();
        prop_assert_eq!(swipe.tracks()[0].expose_str(), data.as_str());
    }

    #[test]
    fn line_decoder_is_chunking_invariant(
        input in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(0x02u8)], 0..600),
        points in proptest::collection::vec(any::<usize>(), 0..12),
        max in 1usize..64,
    ) {
        let whole = decode_all(&mut LineDecoder::new(max), &[&input]);
        let chunks = split_at_points(&input, &points);
        let split = decode_all(&mut LineDecoder::new(max), &chunks);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn valid_swipes_survive_garbage(
        datas in proptest::collection::vec(track2_data(), 1..6),
        garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no terminator", |b| !matches!(b, b'\r' | b'\n' | 0x02 | 0x03)), 0..2000), 1..6),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut stream = Vec::new();
        for (data, junk) in datas.iter().zip(garbage.iter().cycle()) {
            stream.extend_from_slice(junk);
            stream.extend_from_slice(b"\r\n");
            stream.extend_from_slice(format!(";{data}?\r\n").as_bytes());
        }
        let mut decoder = LineDecoder::new(256);
        let mut swipes = Vec::new();
        for chunk in split_at_points(&stream, &points) {
            for line in decoder.push(chunk).into_iter().flatten() {
                if let Ok(swipe) = parse_swipe(line.expose(), LrcMode::Absent) {
                    swipes.push(swipe.tracks()[0].expose_str().to_owned());
                }
            }
        }
        // Garbage may itself parse as a swipe by chance; every valid one must be there, in order.
        let mut found = swipes.iter();
        for data in &datas {
            prop_assert!(found.any(|s| s == data), "missing {data}");
        }
    }

    #[test]
    fn wedge_decoder_is_total_and_chunking_invariant(
        input in proptest::collection::vec(any::<u8>(), 0..2000),
        points in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let whole: Vec<_> = WedgeDecoder::new(64).push_bytes(&input).into_iter().map(|r| r.map(|l| l.expose().to_vec())).collect();
        let mut decoder = WedgeDecoder::new(64);
        let split: Vec<_> = split_at_points(&input, &points)
            .into_iter()
            .flat_map(|chunk| decoder.push_bytes(chunk))
            .map(|r| r.map(|l| l.expose().to_vec()))
            .collect();
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn wedge_types_back_what_was_typed(text in "[ -~]{1,60}") {
        let mut decoder = WedgeDecoder::new(128);
        let events: Vec<InputEvent> = type_text(&text, 0);
        let lines: Vec<_> = events.iter().filter_map(|e| decoder.push_event(e)).collect();
        prop_assert_eq!(lines.len(), 1);
        let line = lines[0].as_ref().unwrap();
        prop_assert_eq!(line.expose(), text.as_bytes());
    }

    #[test]
    fn masking_shows_at_most_the_last_four(body in "[0-9]{12,18}") {
        let pan = luhn_complete(&body);
        let masked = mask_last4(&pan);
        prop_assert!(masked.ends_with(&pan[pan.len() - 4..]));
        prop_assert_eq!(masked.chars().filter(char::is_ascii_digit).count(), 4);
    }

    #[test]
    fn visa_numbers_are_always_payment_cards(body in "4[0-9]{11,17}", name in "[A-Z]{1,10}/[A-Z]{1,10}") {
        let pan = luhn_complete(&body);
        let classifier = Classifier::new(ClassifierConfig {
            gift_prefixes: vec!["603600".into()],
            member_pattern: Some(r"(?P<id>\d{6,})".into()),
            ..ClassifierConfig::default()
        }).unwrap();
        for line in [format!(";{pan}=3012101?"), format!("%B{pan}^{name}^3012101?"), format!("%B{pan}^{name}^3012?;{pan}=3012?")] {
            let swipe = parse_swipe(line.as_bytes(), LrcMode::Absent).unwrap();
            let read = classifier.classify(RawRead::Swipe(swipe));
            prop_assert_eq!(&read, &ClassifiedRead::PaymentCard { source: cardreader::ReadSource::Swipe });
            let shown = format!("{read:?}");
            prop_assert!(!shown.contains(&pan[..6]));
        }
    }
}
