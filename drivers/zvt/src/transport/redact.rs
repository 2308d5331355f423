//! Hex dumps for trace logs with secrets removed, in both directions (issue 13 item 2):
//!
//! - the ZVT password, the untagged first 3 data bytes of 06 00, 06 20, 06 30, 06 50 and of
//!   05 01 when it carries one, shows as `[password]`;
//! - the values of BMPs 22, 23, 24, 2D, 2E, 3A (card number, tracks, chip data, CVV), 0E
//!   (expiry) and 3C (additional text: the digits typed after 06 E2, a gift-card PIN) are
//!   replaced by their length;
//! - a serial frame is dumped as its unstuffed APDU with the CRC hidden (a CRC over a
//!   password narrows the password to a handful of candidates);
//! - messages whose layout the dump does not know, and anything after a BMP it cannot
//!   parse, are summarised by length only.

use std::fmt::Write;

use bytes::BytesMut;

use crate::apdu::{Apdu, Header, bmp};
use crate::command::{EcrCommand, StatusEnquiry};
use crate::frame::serial::{SerialDecoder, SerialItem};

/// BMP tags whose values never appear in logs.
const SECRET_TAGS: [u8; 8] = [0x22, 0x23, 0x24, 0x2D, 0x2E, 0x3A, 0x0E, 0x3C];

/// How the data of a message is laid out, for the dump.
enum Layout {
    /// No secrets possible: dumped as is.
    Plain,
    /// A BMP list, after `skip` untagged non-secret bytes.
    Bmps { skip: usize },
    /// The password (3 bytes), then `skip` untagged bytes, then BMPs.
    Password { skip: usize },
    /// 06 0F: an optional untagged software version (LLLVAR) and status byte, then BMPs.
    Completion,
    /// Unknown: length only.
    Opaque,
}

fn layout(bytes: &[u8], class: u8, instr: u8) -> Layout {
    match [class, instr] {
        [0x80, _] | [0x84, _] => Layout::Plain,
        // Intermediate status, abort request, print line/block, display text and prompts
        // carry texts and codes, never card data.
        [0x04, 0xFF] | [0x06, 0xB0] | [0x06, 0xD1] | [0x06, 0xD3] | [0x06, 0xE0] | [0x06, 0xE2] => {
            Layout::Plain
        }
        [0x04, 0x0F] => Layout::Bmps { skip: 0 },
        [0x06, 0x0F] => Layout::Completion,
        // Abort: result code; Read Card: time-out byte.
        [0x06, 0x1E] | [0x06, 0xC0] => Layout::Bmps { skip: 1 },
        [0x06, 0x01] | [0x06, 0x22] | [0x06, 0x23] | [0x06, 0x24] | [0x06, 0x25] => {
            Layout::Bmps { skip: 0 }
        }
        // Registration: config byte and the untagged currency are not secret.
        [0x06, 0x00] => Layout::Password { skip: 3 },
        [0x06, 0x20] | [0x06, 0x30] | [0x06, 0x31] | [0x06, 0x50] => Layout::Password { skip: 0 },
        [0x05, 0x01] => match Apdu::decode(bytes).map(|a| EcrCommand::from_apdu(&a)) {
            Ok(Ok(EcrCommand::StatusEnquiry(StatusEnquiry {
                password: Some(_), ..
            }))) => Layout::Password { skip: 0 },
            Ok(Ok(EcrCommand::StatusEnquiry(_))) => Layout::Bmps { skip: 0 },
            _ => Layout::Opaque,
        },
        _ => Layout::Opaque,
    }
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02X} ");
    }
}

fn bmps(out: &mut String, mut rest: &[u8]) {
    while !rest.is_empty() {
        match bmp::parse_one(rest) {
            Ok((tag, value, used)) => {
                if SECRET_TAGS.contains(&tag) {
                    let _ = write!(out, "{tag:02X} [{} bytes redacted] ", value.len());
                } else {
                    hex(out, &rest[..used]);
                }
                rest = &rest[used..];
            }
            Err(_) => {
                let _ = write!(out, "[{} bytes not shown] ", rest.len());
                break;
            }
        }
    }
}

/// Length of the untagged software version + status byte at the start of a 06 0F, if any.
fn sw_version_len(data: &[u8]) -> usize {
    match data {
        [a, b, c, ..]
            if [a, b, c]
                .iter()
                .all(|x| *x & 0xF0 == 0xF0 && *x & 0x0F <= 9) =>
        {
            let n =
                usize::from(a & 0x0F) * 100 + usize::from(b & 0x0F) * 10 + usize::from(c & 0x0F);
            (3 + n + 1).min(data.len())
        }
        _ => 0,
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
    match layout(bytes, h.class, h.instr) {
        Layout::Plain => hex(&mut out, data),
        Layout::Bmps { skip } => {
            let skip = skip.min(data.len());
            hex(&mut out, &data[..skip]);
            bmps(&mut out, &data[skip..]);
        }
        Layout::Password { skip } => {
            if data.len() >= 3 {
                out.push_str("[password] ");
                let rest = &data[3..];
                let skip = skip.min(rest.len());
                hex(&mut out, &rest[..skip]);
                bmps(&mut out, &rest[skip..]);
            } else if !data.is_empty() {
                let _ = write!(out, "[{} bytes not shown] ", data.len());
            }
        }
        Layout::Completion => {
            let skip = sw_version_len(data);
            hex(&mut out, &data[..skip]);
            bmps(&mut out, &data[skip..]);
        }
        Layout::Opaque => {
            if !data.is_empty() {
                let _ = write!(out, "[{} data bytes not shown] ", data.len());
            }
        }
    }
    out.trim_end().to_owned()
}

/// The APDU with every secret the dump hides overwritten in place, so that it still
/// decodes (for capture files that are replayed): the password becomes `00 00 00`, the
/// digits of a card number (BMP 22) but the last 4 become the mask nibble `E`, typed text
/// (3C) becomes `*`, track and chip data and the expiry become `EE…`/`00…`, and data of an
/// unknown layout becomes zeros. Lengths never change.
pub fn masked(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let Some(h) = Header::parse(bytes) else {
        out.fill(0);
        return out;
    };
    let start = h.header_len.min(bytes.len());
    let data = &mut out[start..];
    let (skip_password, skip) = match layout(bytes, h.class, h.instr) {
        Layout::Plain => return out,
        Layout::Opaque => {
            data.fill(0);
            return out;
        }
        Layout::Bmps { skip } => (false, skip),
        Layout::Password { skip } => (true, skip),
        Layout::Completion => (false, sw_version_len(data)),
    };
    let mut at = 0;
    if skip_password {
        let n = data.len().min(3);
        data[..n].fill(0);
        at = n;
    }
    at = (at + skip).min(data.len());
    while at < data.len() {
        let Ok((tag, value, used)) = bmp::parse_one(&data[at..]) else {
            data[at..].fill(0);
            break;
        };
        let value_len = value.len();
        let value_at = at + used - value_len;
        let value = &mut data[value_at..at + used];
        match tag {
            0x22 => mask_pan_bcd(value),
            0x3C => value.fill(b'*'),
            0x0E => value.fill(0),
            t if SECRET_TAGS.contains(&t) => value.fill(0xEE),
            _ => {}
        }
        at += used;
    }
    out
}

/// Packed BCD card number: every digit nibble but the last 4 becomes `E`; padding stays.
fn mask_pan_bcd(value: &mut [u8]) {
    let digits: Vec<usize> = (0..value.len() * 2)
        .filter(|&i| nibble(value, i) <= 9)
        .collect();
    let keep = digits.len().saturating_sub(4);
    for &i in &digits[..keep] {
        let b = &mut value[i / 2];
        *b = if i.is_multiple_of(2) {
            (*b & 0x0F) | 0xE0
        } else {
            (*b & 0xF0) | 0x0E
        };
    }
}

fn nibble(v: &[u8], i: usize) -> u8 {
    if i.is_multiple_of(2) {
        v[i / 2] >> 4
    } else {
        v[i / 2] & 0x0F
    }
}

/// A redacted dump of bytes written to a serial link: a lone ACK/NAK byte as is, a frame
/// as `10 02 <redacted APDU> 10 03 [CRC]`, anything else by length.
pub fn serial(bytes: &[u8]) -> String {
    if let [b] = bytes {
        return format!("{b:02X}");
    }
    let mut src = BytesMut::from(bytes);
    match SerialDecoder::new().decode(&mut src) {
        Ok(Some(SerialItem::Frame(a))) if src.is_empty() => {
            format!("10 02 {} 10 03 [CRC]", apdu(&a))
        }
        _ => format!("[{} bytes not shown]", bytes.len()),
    }
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
    fn typed_digits_in_3c_are_redacted() {
        // 06 0F after 06 E2: 29, 49, 3C "4711".
        let msg = [
            0x06, 0x0F, 0x10, 0x29, 0x52, 0x50, 0x00, 0x01, 0x49, 0x09, 0x78, 0x3C, 0xF0, 0xF0,
            0xF4, 0x34, 0x37, 0x31, 0x31,
        ];
        assert_eq!(
            apdu(&msg),
            "06 0F 10 29 52 50 00 01 49 09 78 3C [4 bytes redacted]"
        );
        // The same after a software version, and in an abort.
        let msg = [
            0x06, 0x0F, 0x0C, 0xF0, 0xF0, 0xF1, 0x41, 0x00, 0x3C, 0xF0, 0xF0, 0xF4, 0x34, 0x37,
            0x31, 0x31,
        ];
        assert_eq!(apdu(&msg), "06 0F 0C F0 F0 F1 41 00 3C [4 bytes redacted]");
        let msg = [0x06, 0x1E, 0x08, 0x6C, 0x3C, 0xF0, 0xF0, 0xF2, 0x34, 0x37];
        assert_eq!(apdu(&msg), "06 1E 08 6C 3C [2 bytes redacted]");
    }

    #[test]
    fn passwords_are_redacted() {
        let cases: [(&[u8], &str); 5] = [
            (
                &[0x06, 0x00, 0x06, 0x31, 0x41, 0x59, 0xBA, 0x09, 0x78],
                "06 00 06 [password] BA 09 78",
            ),
            (
                &[0x06, 0x30, 0x06, 0x31, 0x41, 0x59, 0x87, 0x00, 0x01],
                "06 30 06 [password] 87 00 01",
            ),
            (&[0x06, 0x20, 0x03, 0x31, 0x41, 0x59], "06 20 03 [password]"),
            (&[0x06, 0x50, 0x03, 0x31, 0x41, 0x59], "06 50 03 [password]"),
            (
                &[0x05, 0x01, 0x05, 0x31, 0x41, 0x59, 0x03, 0x01],
                "05 01 05 [password] 03 01",
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(apdu(msg), want);
        }
        assert_eq!(apdu(&[0x05, 0x01, 0x02, 0x03, 0x01]), "05 01 02 03 01");
    }

    #[test]
    fn serial_frames_hide_password_and_crc() {
        let mut frame = BytesMut::new();
        crate::frame::serial::encode_frame(
            &[0x06, 0x00, 0x06, 0x31, 0x41, 0x59, 0xBA, 0x09, 0x78],
            &mut frame,
        );
        let dump = serial(&frame);
        assert_eq!(dump, "10 02 06 00 06 [password] BA 09 78 10 03 [CRC]");
        assert_eq!(serial(&[0x06]), "06");
        assert_eq!(serial(&[0x10, 0x02, 0x31]), "[3 bytes not shown]");
    }

    #[test]
    fn masked_keeps_layout_and_hides_secrets() {
        let reg = [0x06, 0x00, 0x06, 0x31, 0x41, 0x59, 0xBA, 0x09, 0x78];
        assert_eq!(masked(&reg), [0x06, 0x00, 0x06, 0, 0, 0, 0xBA, 0x09, 0x78]);
        // 04 0F: 27 00, 22 with 4111 1111 1111 1234 (last 4 kept), 23 track, 87.
        let si = [
            0x04, 0x0F, 0x14, 0x27, 0x00, 0x22, 0xF0, 0xF8, 0x41, 0x11, 0x11, 0x11, 0x11, 0x11,
            0x12, 0x34, 0x23, 0xF0, 0xF2, 0x62, 0x80, 0x87, 0x00, 0x01,
        ];
        let m = masked(&si);
        assert_eq!(&m[8..16], &[0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0x12, 0x34]);
        assert_eq!(&m[19..21], &[0xEE, 0xEE]);
        assert_eq!(&m[21..], &[0x87, 0x00, 0x01]);
        let pin = [
            0x06, 0x0F, 0x08, 0x3C, 0xF0, 0xF0, 0xF4, 0x34, 0x37, 0x31, 0x31,
        ];
        assert_eq!(&masked(&pin)[7..], b"****");
        assert_eq!(
            masked(&[0x06, 0x93, 0x02, 0x31, 0x41]),
            [0x06, 0x93, 0x02, 0, 0]
        );
        assert_eq!(masked(&[0x80, 0x00, 0x00]), [0x80, 0x00, 0x00]);
    }

    #[test]
    fn unknown_tail_is_summarised() {
        assert_eq!(
            apdu(&[0x04, 0x0F, 0x03, 0x27, 0x00, 0x77]),
            "04 0F 03 27 00 [1 bytes not shown]"
        );
        assert_eq!(apdu(&[0x06]), "[1 bytes, no APDU header]");
        assert_eq!(
            apdu(&[0x06, 0x93, 0x02, 0x31, 0x41]),
            "06 93 02 [2 data bytes not shown]"
        );
    }

    proptest::proptest! {
        #[test]
        fn total_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = apdu(&bytes);
            let _ = serial(&bytes);
            proptest::prop_assert_eq!(masked(&bytes).len(), bytes.len());
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

        #[test]
        fn password_never_shown(pw in 0u32..1_000_000, class in proptest::sample::select(vec![0x00u8, 0x20, 0x30, 0x50])) {
            let digits = format!("{pw:06}");
            let bcd: Vec<u8> = digits.as_bytes().chunks(2).map(|c| ((c[0] - b'0') << 4) | (c[1] - b'0')).collect();
            let mut msg = vec![0x06, class, 3];
            msg.extend(&bcd);
            let dump = apdu(&msg);
            let secret: String = bcd.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
            proptest::prop_assert!(!dump.contains(&secret), "{}", dump);
        }
    }
}
