#![no_main]
//! Any bytes through the track parser in every LRC mode: never a panic.

use cardreader::track::{LrcMode, parse_swipe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for mode in [LrcMode::Absent, LrcMode::Auto, LrcMode::Required] {
        let _ = parse_swipe(data, mode);
    }
});
