//! The transport's settings, validated before anything opens.

use std::{path::PathBuf, time::Duration};

use super::link::Endpoint;
use crate::{
    command::{EUR, config as cfgbyte},
    exchange::{DEFAULT_MAX_TRANSMISSIONS, DEFAULT_T3, DEFAULT_T4, ExchangeConfig, LinkKind},
};

/// Everything the transport needs to reach and drive a terminal.
#[derive(Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Where the terminal is.
    pub endpoint: Endpoint,
    /// The terminal's password (6 digits), sent in Registration and admin commands.
    pub password: String,
    /// Registration config byte (PA00P015 13.07 ch. 2.1); default `BA`: the ECR prints
    /// payment receipts, wants intermediate status, controls payment and admin functions,
    /// print-line mode.
    pub config_byte: u8,
    /// ISO 4217 numeric currency code, sent in Registration and as BMP 49 with every amount
    /// (978 = EUR, 840 = USD).
    pub currency: u16,
    /// T3: ACK wait after a frame and acceptance wait after a command (default 5 s).
    pub t3: Duration,
    /// T4: wait for the PT's next message while it is master (default 180 s).
    pub t4: Duration,
    /// Transmissions of one serial frame before a link error (default 3).
    pub max_transmissions: u8,
    /// Largest gap allowed between two bytes of one serial frame (default 1 s).
    pub inter_byte: Duration,
    /// Bound on opening the link (TCP connect, serial open).
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("endpoint", &self.endpoint)
            .field("password", &"<redacted>")
            .field("config_byte", &format_args!("{:#04x}", self.config_byte))
            .field("currency", &self.currency)
            .field("t3", &self.t3)
            .field("t4", &self.t4)
            .field("max_transmissions", &self.max_transmissions)
            .field("inter_byte", &self.inter_byte)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// An invalid [`TransportConfig`]; lists every problem with its field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid transport config: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl TransportConfig {
    /// Defaults for a TCP terminal at `addr` (`host:port`).
    pub fn tcp(addr: impl Into<String>) -> Self {
        Self::with_endpoint(Endpoint::Tcp { addr: addr.into() })
    }

    /// Defaults for a serial terminal at `path`, 9600 baud 8N2.
    pub fn serial(path: impl Into<PathBuf>) -> Self {
        Self::with_endpoint(Endpoint::Serial {
            path: path.into(),
            baud: 9600,
        })
    }

    fn with_endpoint(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            password: "000000".into(),
            config_byte: cfgbyte::DEFAULT,
            currency: EUR,
            t3: DEFAULT_T3,
            t4: DEFAULT_T4,
            max_transmissions: DEFAULT_MAX_TRANSMISSIONS,
            inter_byte: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Checks every field; all problems are reported at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        if self.password.len() != 6 || !self.password.bytes().all(|b| b.is_ascii_digit()) {
            p.push("password: expected 6 digits".to_owned());
        }
        match &self.endpoint {
            Endpoint::Tcp { addr } if addr.is_empty() => p.push("address: empty".into()),
            Endpoint::Serial { path, .. } if path.as_os_str().is_empty() => {
                p.push("device: empty".into())
            }
            Endpoint::Serial { baud, .. } if !(1200..=115_200).contains(baud) => {
                p.push(format!("baud: {baud} outside 1200..=115200"))
            }
            _ => {}
        }
        if self.currency > 999 {
            p.push("currency: expected a 3-digit ISO 4217 code".into());
        }
        if let Err(e) = self.exchange_config().validate() {
            p.push(e.to_string());
        }
        for (name, d) in [
            ("inter_byte", self.inter_byte),
            ("connect_timeout", self.connect_timeout),
        ] {
            if d.is_zero() {
                p.push(format!("{name}: must be longer than zero"));
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(p))
        }
    }

    /// The password as the number Registration carries.
    pub(crate) fn password_number(&self) -> u32 {
        self.password.parse().unwrap_or(0)
    }

    /// The exchange settings for this endpoint.
    pub fn exchange_config(&self) -> ExchangeConfig {
        ExchangeConfig {
            link: if self.endpoint.is_serial() {
                LinkKind::Serial
            } else {
                LinkKind::Tcp
            },
            t3: self.t3,
            t4: self.t4,
            max_transmissions: self.max_transmissions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported() {
        let mut c = TransportConfig::serial("");
        c.password = "12".into();
        c.t3 = Duration::ZERO;
        let err = c.validate().unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        assert!(TransportConfig::tcp("127.0.0.1:20007").validate().is_ok());
    }

    #[test]
    fn debug_hides_the_password() {
        let mut c = TransportConfig::tcp("x:1");
        c.password = "424242".into();
        assert!(!format!("{c:?}").contains("424242"));
    }
}
