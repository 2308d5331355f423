//! Packed BCD numbers and amounts.
//!
//! Numbers in ZVT are packed BCD, two digits per byte, most significant first, unless a
//! field is marked binary (PA00P015 13.07 ch. 1.3 "Data formats"). Amounts (BMP 04) are
//! 6 BCD bytes of minor units: `00 00 00 00 12 34` is 12.34 EUR.

use super::CodecError;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Largest amount BMP 04 can carry, in minor units (12 BCD digits).
pub const MAX_AMOUNT_MINOR: u64 = 999_999_999_999;

/// Decimal places of the currency (EUR: 2).
pub const AMOUNT_SCALE: u32 = 2;

/// Decodes packed BCD into an integer. Every nibble must be 0–9.
///
/// At most 19 digits fit a `u64`; longer input is `OutOfRange`.
pub fn decode_u64(bytes: &[u8], what: &'static str) -> Result<u64, CodecError> {
    if bytes.len() > 9 {
        return Err(CodecError::OutOfRange { what });
    }
    let mut v: u64 = 0;
    for &b in bytes {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return Err(CodecError::BadBcd { what });
        }
        v = v * 100 + u64::from(hi) * 10 + u64::from(lo);
    }
    Ok(v)
}

/// Encodes `value` as `len` bytes of packed BCD, zero-padded on the left.
pub fn encode_u64(value: u64, len: usize, what: &'static str) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![0u8; len];
    let mut v = value;
    for byte in out.iter_mut().rev() {
        let lo = (v % 10) as u8;
        v /= 10;
        let hi = (v % 10) as u8;
        v /= 10;
        *byte = (hi << 4) | lo;
    }
    if v != 0 {
        return Err(CodecError::OutOfRange { what });
    }
    Ok(out)
}

/// Converts an amount to minor units, rejecting negative amounts, amounts with more than
/// [`AMOUNT_SCALE`] decimals and amounts above [`MAX_AMOUNT_MINOR`].
pub fn amount_to_minor(amount: Decimal) -> Result<u64, CodecError> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(CodecError::Amount { reason: "negative" });
    }
    let minor = amount
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or(CodecError::Amount {
            reason: "too large",
        })?;
    if !minor.fract().is_zero() {
        return Err(CodecError::Amount {
            reason: "more than 2 decimal places",
        });
    }
    let minor = minor.trunc().to_u64().ok_or(CodecError::Amount {
        reason: "too large",
    })?;
    if minor > MAX_AMOUNT_MINOR {
        return Err(CodecError::Amount {
            reason: "too large",
        });
    }
    Ok(minor)
}

/// Converts minor units to an amount with scale [`AMOUNT_SCALE`].
pub fn amount_from_minor(minor: u64) -> Result<Decimal, CodecError> {
    if minor > MAX_AMOUNT_MINOR {
        return Err(CodecError::Amount {
            reason: "too large",
        });
    }
    // MAX_AMOUNT_MINOR < i64::MAX, so the cast is exact.
    Ok(Decimal::new(minor as i64, AMOUNT_SCALE))
}

/// Encodes an amount as BMP 04's 6 BCD bytes.
pub fn amount_to_bcd(amount: Decimal) -> Result<[u8; 6], CodecError> {
    let minor = amount_to_minor(amount)?;
    let v = encode_u64(minor, 6, "amount")?;
    let mut out = [0u8; 6];
    out.copy_from_slice(&v);
    Ok(out)
}

/// Decodes BMP 04's 6 BCD bytes into an amount with 2 decimals.
pub fn amount_from_bcd(bytes: &[u8]) -> Result<Decimal, CodecError> {
    if bytes.len() != 6 {
        return Err(CodecError::Amount {
            reason: "amount must be 6 bytes",
        });
    }
    amount_from_minor(decode_u64(bytes, "amount")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn amounts() {
        assert_eq!(
            amount_to_bcd(dec!(12.34)).unwrap(),
            [0, 0, 0, 0, 0x12, 0x34]
        );
        assert_eq!(amount_to_bcd(dec!(10)).unwrap(), [0, 0, 0, 0, 0x10, 0x00]);
        assert_eq!(
            amount_from_bcd(&[0, 0, 0, 0, 0x12, 0x34]).unwrap(),
            dec!(12.34)
        );
        assert!(amount_to_bcd(dec!(-1)).is_err());
        assert!(amount_to_bcd(dec!(0.001)).is_err());
        assert!(amount_to_bcd(dec!(10000000000)).is_err());
        assert_eq!(amount_to_bcd(dec!(9999999999.99)).unwrap(), [0x99; 6]);
        assert!(amount_from_bcd(&[0, 0, 0, 0, 0x1A, 0]).is_err());
        assert_eq!(
            amount_to_bcd(dec!(1.500)).unwrap(),
            [0, 0, 0, 0, 0x01, 0x50]
        );
    }

    #[test]
    fn bcd_numbers() {
        assert_eq!(encode_u64(978, 2, "c").unwrap(), vec![0x09, 0x78]);
        assert!(encode_u64(10000, 2, "c").is_err());
        assert_eq!(decode_u64(&[0x12, 0x34, 0x56], "p").unwrap(), 123456);
        assert!(decode_u64(&[0xF0], "p").is_err());
    }
}
