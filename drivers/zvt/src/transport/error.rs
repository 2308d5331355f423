//! Errors of the terminal client.

use super::config::ConfigError;

/// Why a terminal command did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The terminal could not be reached or registered; **nothing was sent**. Safe to try
    /// again later.
    #[error("terminal unavailable: {0}")]
    Unavailable(String),
    /// A financial command was sent and its outcome was lost (link drop, T3/T4 expiry).
    /// **Never send it again**: call `Terminal::recover_last`.
    #[error("outcome of {command} unknown: {cause}")]
    OutcomeUnknown {
        /// The command, e.g. "06 01 Authorization".
        command: &'static str,
        /// What failed.
        cause: String,
    },
    /// A non-financial command failed on the link; it may be sent again.
    #[error("link failed during {command}: {cause}")]
    Link {
        /// The command.
        command: &'static str,
        /// What failed.
        cause: String,
    },
    /// The terminal refused the registration (wrong password, …).
    #[error("registration refused with result code {code:#04x}")]
    RegistrationRefused {
        /// The result code.
        code: u8,
    },
    /// The terminal answered with a reply the command does not allow.
    #[error("unexpected reply to {command}: {reply}")]
    UnexpectedReply {
        /// The command.
        command: &'static str,
        /// The reply, described without card data.
        reply: String,
    },
}

impl Error {
    /// True when a payment's outcome is unknown and must be recovered, never re-sent.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// True when sending the same command again cannot cause a double payment.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Link { .. })
    }
}
