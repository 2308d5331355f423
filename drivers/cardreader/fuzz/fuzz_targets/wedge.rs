#![no_main]
//! Raw evdev bytes through the wedge decoder: never a panic.

use cardreader::WedgeDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = WedgeDecoder::new(256).push_bytes(data);
});
