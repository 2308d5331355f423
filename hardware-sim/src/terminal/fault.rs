//! Faults the simulated terminal can inject, from a script step or the console.

use std::time::Duration;

/// One injected fault. Serial-only faults are ignored (and logged) on TCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Serial: answer the next `n` frames from the ECR with NAK instead of ACK.
    Nak(u32),
    /// Serial: corrupt the CRC of the next `n` frames the PT sends.
    BadCrc(u32),
    /// Serial: pause this long in the middle of the next frame the PT sends.
    ByteGap(Duration),
    /// Send these bytes before the next frame (stray bytes, a vendor banner).
    Garbage(Vec<u8>),
    /// Do not answer the next command at all (no ACK, no result).
    Silence,
    /// Drop the link after the approval's status information (04 0F) was acknowledged and
    /// before the completion (06 0F): the ECR saw the receipt number, not the result.
    DropAfterApproval,
    /// Drop the link right after the host approved, before any 04 0F: the ECR saw nothing.
    DropBeforeStatus,
    /// Reboot after the approval: drop the link and forget the registration; the journal
    /// and the last transaction survive.
    Reboot,
}

impl Fault {
    /// True for faults that only make sense on a serial link.
    pub fn serial_only(&self) -> bool {
        matches!(self, Self::Nak(_) | Self::BadCrc(_) | Self::ByteGap(_))
    }
}

impl std::str::FromStr for Fault {
    type Err = String;

    /// Parses `nak:N`, `bad-crc:N`, `byte-gap:MS`, `garbage:TEXT`, `silence`,
    /// `drop-after-approval`, `drop-before-status`, `reboot`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (s.trim(), None),
        };
        let num = |what: &str| -> Result<u64, String> {
            arg.ok_or_else(|| format!("{name} needs :{what}"))?
                .parse::<u64>()
                .map_err(|_| format!("{name}: {what} must be a number"))
        };
        match name {
            "nak" => Ok(Self::Nak(num("N")?.min(1000) as u32)),
            "bad-crc" => Ok(Self::BadCrc(num("N")?.min(1000) as u32)),
            "byte-gap" => Ok(Self::ByteGap(Duration::from_millis(num("MS")?))),
            "garbage" => Ok(Self::Garbage(arg.unwrap_or("GARBAGE").as_bytes().to_vec())),
            "silence" => Ok(Self::Silence),
            "drop-after-approval" | "drop" => Ok(Self::DropAfterApproval),
            "drop-before-status" => Ok(Self::DropBeforeStatus),
            "reboot" => Ok(Self::Reboot),
            other => Err(format!(
                "unknown fault {other:?} (nak:N, bad-crc:N, byte-gap:MS, garbage:TEXT, silence, \
                 drop-after-approval, drop-before-status, reboot)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault() {
        assert_eq!("nak:3".parse(), Ok(Fault::Nak(3)));
        assert_eq!("bad-crc:1".parse(), Ok(Fault::BadCrc(1)));
        assert_eq!(
            "byte-gap:1500".parse(),
            Ok(Fault::ByteGap(Duration::from_millis(1500)))
        );
        assert_eq!("garbage:AT".parse(), Ok(Fault::Garbage(b"AT".to_vec())));
        assert_eq!("silence".parse(), Ok(Fault::Silence));
        assert_eq!("drop-after-approval".parse(), Ok(Fault::DropAfterApproval));
        assert_eq!("reboot".parse(), Ok(Fault::Reboot));
        assert_eq!("drop-before-status".parse(), Ok(Fault::DropBeforeStatus));
        assert!("nak".parse::<Fault>().is_err());
        assert!("nak:x".parse::<Fault>().is_err());
        assert!("boom".parse::<Fault>().is_err());
    }
}
