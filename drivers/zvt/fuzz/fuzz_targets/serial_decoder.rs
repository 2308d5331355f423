//! The serial decoder is total, bounded and chunking-invariant on any input.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zvt::frame::serial::SerialDecoder;

const MAX: usize = 512;

fn run(chunks: &[&[u8]]) -> Vec<String> {
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

fuzz_target!(|data: &[u8]| {
    // The first byte chooses a split point, the rest is the stream.
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) % (rest.len() + 1);
    assert_eq!(run(&[rest]), run(&[&rest[..cut], &rest[cut..]]));
});
