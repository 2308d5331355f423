//! Hex dumps for trace logs with card data removed: the values of BMPs 22, 23, 24, 2D, 2E
//! and 3A (card number, tracks, chip data, CVV) are replaced by their length, and anything
//! after a BMP the dump cannot parse is summarised by length only.

use std::fmt::Write;

use crate::apdu::{Header, bmp};

/// BMP tags whose values never appear in logs.
const SECRET_TAGS: [u8; 6] = [0x22, 0x23, 0x24, 0x2D, 0x2E, 0x3A];

/// Control fields whose data is a plain BMP list that may carry card data.
const BMP_MESSAGES: [[u8; 2]; 2] = [[0x04, 0x0F], [0x06, 0x0F]];

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02X} ");
    }
}

/// A redacted hex dump of one APDU (raw bytes, header included).
pub fn apdu(bytes: &[u8]) -> String {
    let mut out = String::new();
    let Some(h) = Header::parse(bytes) else {
        let _ = write!(out, "[{} bytes, no APDU header]", bytes.len());
        return out;
    };
    hex(&mut out, &bytes[..h.header_len.min(bytes.len())]);
    let data = bytes.get(h.header_len..).unwrap_or(&[]);
    if !BMP_MESSAGES.contains(&[h.class, h.instr]) {
        // Commands and other messages carry no card data (track data only comes in 04 0F).
        hex(&mut out, data);
        return out.trim_end().to_owned();
    }
    let mut rest = data;
    while !rest.is_empty() {
        match bmp::parse_one(rest) {
            Ok((tag, value, used)) => {
                if SECRET_TAGS.contains(&tag) {
                    let _ = write!(out, "{tag:02X} [{} bytes redacted] ", value.len());
                } else {
                    hex(&mut out, &rest[..used]);
                }
                rest = &rest[used..];
            }
            Err(_) => {
                let _ = write!(out, "[{} bytes not shown]", rest.len());
                break;
            }
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_and_tracks_are_redacted() {
        // 04 0F: 27 00, 22 LLVAR 4111111111111111, 87 00 01.
        let msg = [
            0x04, 0x0F, 0x0F, 0x27, 0x00, 0x22, 0xF0, 0xF8, 0x41, 0x11, 0x11, 0x11, 0x11, 0x11,
            0x11, 0x11, 0x87, 0x00, 0x01,
        ];
        let dump = apdu(&msg);
        assert_eq!(dump, "04 0F 0F 27 00 22 [8 bytes redacted] 87 00 01");
        assert!(!dump.contains("41 11"));
    }

    #[test]
    fn unknown_tail_is_summarised() {
        assert_eq!(
            apdu(&[0x04, 0x0F, 0x03, 0x27, 0x00, 0x77]),
            "04 0F 03 27 00 [1 bytes not shown]"
        );
        assert_eq!(apdu(&[0x06]), "[1 bytes, no APDU header]");
    }

    proptest::proptest! {
        #[test]
        fn total_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = apdu(&bytes);
        }

        #[test]
        fn card_number_never_shown(
            digits in proptest::collection::vec(0u8..10, 8..10),
            before in proptest::collection::vec(proptest::num::u8::ANY, 0..2),
        ) {
            // 04 0F with 27 00, then BMP 22 carrying 8-9 bytes of a card number.
            let value: Vec<u8> = digits.chunks(2).map(|c| (c[0] << 4) | c.get(1).copied().unwrap_or(0xF)).collect();
            let mut data = vec![0x27, before.first().copied().unwrap_or(0)];
            data.push(0x22);
            data.push(0xF0 | (value.len() / 10) as u8);
            data.push(0xF0 | (value.len() % 10) as u8);
            data.extend(&value);
            let mut msg = vec![0x04, 0x0F, data.len() as u8];
            msg.extend(&data);
            let dump = apdu(&msg);
            let secret: String = value.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
            proptest::prop_assert!(!dump.contains(&secret), "{}", dump);
            proptest::prop_assert!(dump.contains("redacted"));
        }
    }
}
