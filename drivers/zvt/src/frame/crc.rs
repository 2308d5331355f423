//! The serial frame's CRC (PA00P016 rev. 04 ch. 2.2.3): CCITT polynomial processed
//! LSB-first (reflected constant `0x8408`), initial value 0, no final XOR — the parameter
//! set catalogued as CRC-16/KERMIT. It covers the unstuffed APDU plus the ETX byte and is
//! sent low byte first.

const fn make_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static TABLE: [u16; 256] = make_table();

/// A running CRC-16/KERMIT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Crc16(u16);

impl Crc16 {
    /// A fresh CRC (initial value 0).
    pub const fn new() -> Self {
        Crc16(0)
    }

    /// Feeds one byte.
    pub fn update_byte(&mut self, b: u8) {
        self.0 = (self.0 >> 8) ^ TABLE[usize::from((self.0 as u8) ^ b)];
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.update_byte(b);
        }
    }

    /// The CRC value.
    pub const fn value(&self) -> u16 {
        self.0
    }
}

/// CRC-16/KERMIT of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut c = Crc16::new();
    c.update(bytes);
    c.value()
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_value() {
        assert_eq!(super::crc16(b"123456789"), 0x2189);
    }
}
