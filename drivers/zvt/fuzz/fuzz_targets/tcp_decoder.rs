//! The TCP decoder is total and chunking-invariant on any input.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zvt::frame::tcp::TcpDecoder;

fn run(chunks: &[&[u8]]) -> Vec<String> {
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

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) % (rest.len() + 1);
    assert_eq!(run(&[rest]), run(&[&rest[..cut], &rest[cut..]]));
});
