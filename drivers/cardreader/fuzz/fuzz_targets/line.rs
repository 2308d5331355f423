#![no_main]
//! Line framing: never a panic, never more than `max` bytes in a line, and the same lines
//! whether the input arrives whole or split at its first byte.

use cardreader::LineDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&max, input)) = data.split_first() else {
        return;
    };
    let max = usize::from(max) + 1;
    let whole: Vec<_> = LineDecoder::new(max)
        .push(input)
        .into_iter()
        .map(|r| r.map(|l| l.expose().to_vec()))
        .collect();
    for line in whole.iter().flatten() {
        assert!(line.len() <= max);
    }
    let mid = input.len() / 2;
    let mut decoder = LineDecoder::new(max);
    let mut split: Vec<_> = decoder
        .push(&input[..mid])
        .into_iter()
        .map(|r| r.map(|l| l.expose().to_vec()))
        .collect();
    split.extend(
        decoder
            .push(&input[mid..])
            .into_iter()
            .map(|r| r.map(|l| l.expose().to_vec())),
    );
    assert_eq!(whole, split);
});
