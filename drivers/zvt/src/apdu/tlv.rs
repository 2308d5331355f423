//! The TLV container carried in BMP 06 (PA00P015 13.07 ch. 9.4 "TLV container").
//!
//! BER-style: a tag of one or more bytes (first byte `& 0x1F == 0x1F` means more bytes
//! follow while bit 7 is set; bit `0x20` of the first byte marks a constructed tag), a
//! length `< 0x80` in one byte or `0x81 nn` / `0x82 nn nn`, then the value. The parser keeps
//! every tag it finds; typed accessors ignore tags they do not know, which is how unknown
//! tags are skipped.

use super::CodecError;
use std::fmt;

/// Tags used by this crate (PA00P015 13.07 ch. 9.4).
pub mod tag {
    /// Text lines (primitive, one line each).
    pub const TEXT_LINE: u32 = 0x07;
    /// Print texts container for 06 D3 (constructed).
    pub const PRINT_TEXTS: u32 = 0x25;
    /// Receipt type (1F07).
    pub const RECEIPT_TYPE: u32 = 0x1F07;
}

/// One TLV element. A constructed element's value holds further TLV elements, see
/// [`TlvItem::children`].
///
/// `Debug` shows the tag and the value length only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TlvItem {
    /// The tag bytes read big-endian (`1F 07` = `0x1F07`).
    pub tag: u32,
    /// The raw value.
    pub value: Vec<u8>,
}

impl fmt::Debug for TlvItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlvItem({:#X}, {} bytes)", self.tag, self.value.len())
    }
}

impl TlvItem {
    /// A primitive element.
    pub fn new(tag: u32, value: impl Into<Vec<u8>>) -> Self {
        TlvItem {
            tag,
            value: value.into(),
        }
    }

    /// A constructed element holding `children`.
    pub fn constructed(tag: u32, children: &[TlvItem]) -> Result<Self, CodecError> {
        let mut value = Vec::new();
        encode(children, &mut value)?;
        Ok(TlvItem { tag, value })
    }

    /// Whether the tag marks a constructed element (bit `0x20` of its first byte).
    pub fn is_constructed(&self) -> bool {
        let first = tag_bytes(self.tag)[0];
        first & 0x20 != 0
    }

    /// Parses the value of a constructed element.
    pub fn children(&self) -> Result<Vec<TlvItem>, CodecError> {
        parse(&self.value)
    }
}

fn tag_bytes(tag: u32) -> Vec<u8> {
    let b = tag.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

/// Appends a BER length (1–3 bytes) to `dst`. Lengths above `0xFFFF` are not used in ZVT;
/// callers bound them first.
pub fn encode_length(len: usize, dst: &mut Vec<u8>) {
    if len < 0x80 {
        dst.push(len as u8);
    } else if len <= 0xFF {
        dst.extend_from_slice(&[0x81, len as u8]);
    } else {
        dst.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// Reads a BER length; `Ok(None)` if `src` is too short, `(length, bytes used)` otherwise.
pub fn decode_length(src: &[u8]) -> Result<Option<(usize, usize)>, CodecError> {
    match src {
        [] => Ok(None),
        [b, ..] if *b < 0x80 => Ok(Some((usize::from(*b), 1))),
        [0x81] | [0x82] | [0x82, _] => Ok(None),
        [0x81, n, ..] => Ok(Some((usize::from(*n), 2))),
        [0x82, h, l, ..] => Ok(Some(((usize::from(*h) << 8) | usize::from(*l), 3))),
        _ => Err(CodecError::Tlv {
            reason: "unsupported length form",
        }),
    }
}

/// Parses a sequence of TLV elements filling all of `src`.
pub fn parse(src: &[u8]) -> Result<Vec<TlvItem>, CodecError> {
    let mut items = Vec::new();
    let mut rest = src;
    while !rest.is_empty() {
        // Tag.
        let first = rest[0];
        let mut tag = u32::from(first);
        let mut used = 1;
        if first & 0x1F == 0x1F {
            loop {
                let b = *rest.get(used).ok_or(CodecError::Tlv {
                    reason: "tag truncated",
                })?;
                used += 1;
                if used > 4 {
                    return Err(CodecError::Tlv {
                        reason: "tag longer than 4 bytes",
                    });
                }
                tag = (tag << 8) | u32::from(b);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let (len, len_used) = decode_length(&rest[used..])?.ok_or(CodecError::Tlv {
            reason: "length truncated",
        })?;
        let start = used + len_used;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= rest.len())
            .ok_or(CodecError::Tlv {
                reason: "value truncated",
            })?;
        items.push(TlvItem {
            tag,
            value: rest[start..end].to_vec(),
        });
        rest = &rest[end..];
    }
    Ok(items)
}

/// Appends the encoding of `items` to `dst`.
pub fn encode(items: &[TlvItem], dst: &mut Vec<u8>) -> Result<(), CodecError> {
    for item in items {
        if item.value.len() > 0xFFFF {
            return Err(CodecError::TooLong {
                len: item.value.len(),
                max: 0xFFFF,
            });
        }
        dst.extend_from_slice(&tag_bytes(item.tag));
        encode_length(item.value.len(), dst);
        dst.extend_from_slice(&item.value);
    }
    Ok(())
}

/// The first element with `tag`, searching constructed elements depth-first.
pub fn find(items: &[TlvItem], tag: u32) -> Option<TlvItem> {
    for item in items {
        if item.tag == tag {
            return Some(item.clone());
        }
        if item.is_constructed()
            && let Ok(children) = item.children()
            && let Some(found) = find(&children, tag)
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lengths() {
        let long = TlvItem::new(0x07, vec![b'x'; 200]);
        let block = TlvItem::constructed(0x25, &[long.clone(), TlvItem::new(0x1F07, [1])]).unwrap();
        let mut out = Vec::new();
        encode(std::slice::from_ref(&block), &mut out).unwrap();
        assert_eq!(&out[..4], &[0x25, 0x81, 0xCF, 0x07]);
        let parsed = parse(&out).unwrap();
        assert_eq!(parsed, vec![block]);
        assert!(parsed[0].is_constructed());
        assert_eq!(parsed[0].children().unwrap()[0], long);
        assert_eq!(find(&parsed, 0x1F07).unwrap().value, vec![1]);
        assert!(parse(&[0x1F]).is_err());
        assert!(parse(&[0x07, 0x05, 0x00]).is_err());
        assert!(parse(&[0x07, 0x83, 0, 0, 1]).is_err());
    }
}
