//! The terminal-payment shapes of a lane with `terminal.protocol = "pos"` against the live
//! schema (pos-api.md §5.10: the flow is documented, every shape pinned; `void` and the
//! lookup `terminalPayments` are not documented at all, so a real server may lack them).
//!
//! Each operation document is checked on its own, so the report names the one that does
//! not fit, and then says which recovery the server allows: without `terminalPayments` a
//! lost `start` answer can be resumed only from a journaled continuation token; without
//! `void` a cancelled sale cannot give its authorization back (the processor voids it after
//! 7 days).

use serde_json::Value as Json;

use super::schema::{PINNED_SDL, SchemaModel, TERMINAL_OPERATIONS, check_operations};

/// What the live server allows for terminal payments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminalSupport {
    /// Every mismatch, prefixed with its document.
    pub mismatches: Vec<String>,
    /// `start`, `continue` and `capture` fit: the lane can take cards.
    pub payments: bool,
    /// `void` fits: a cancelled sale gives its authorization back.
    pub void: bool,
    /// `terminalPayments(refNo:)` fits: a lost `start` answer can be looked up.
    pub lookup: bool,
}

impl TerminalSupport {
    /// The recovery the server allows, in words for the technician.
    pub fn recovery(&self) -> Vec<(bool, String)> {
        vec![
            if self.lookup {
                (
                    true,
                    "a lost start answer is looked up with terminalPayments(refNo:) and resumed; never started twice".to_owned(),
                )
            } else {
                (
                    false,
                    "no terminalPayments lookup: a lost start answer is resumed only from a journaled continuation token; before one arrived the payment stays in doubt until an operator checks the POS".to_owned(),
                )
            },
            if self.void {
                (
                    true,
                    "a cancelled sale voids its card authorization".to_owned(),
                )
            } else {
                (
                    false,
                    "no void: a cancelled sale cannot give its card authorization back (an exception is raised; the processor voids it after 7 days)".to_owned(),
                )
            },
        ]
    }
}

/// Checks the terminal-payment documents against an introspection answer.
///
/// # Errors
/// The introspection answer (or the pinned SDL) cannot be read.
pub fn check_terminal_payments(json: &Json) -> Result<TerminalSupport, String> {
    let live = SchemaModel::from_introspection(json)?;
    Ok(check_terminal_model(&live))
}

/// [`check_terminal_payments`] on a schema model (tests build one from SDL).
pub fn check_terminal_model(live: &SchemaModel) -> TerminalSupport {
    let pinned = match SchemaModel::from_sdl(PINNED_SDL) {
        Ok(p) => p,
        Err(e) => {
            return TerminalSupport {
                mismatches: vec![format!("pinned schema unreadable: {e}")],
                ..Default::default()
            };
        }
    };
    let mut s = TerminalSupport {
        payments: true,
        void: true,
        lookup: true,
        ..Default::default()
    };
    for doc @ (file, _) in TERMINAL_OPERATIONS {
        let found = check_operations(live, &pinned, std::slice::from_ref(doc));
        if found.is_empty() {
            continue;
        }
        match *file {
            "terminal_payment_void.graphql" => s.void = false,
            "terminal_payments.graphql" => s.lookup = false,
            _ => s.payments = false,
        }
        s.mismatches
            .extend(found.into_iter().map(|m| format!("{file}: {m}")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_schema_allows_every_recovery() {
        let live = SchemaModel::from_sdl(PINNED_SDL).unwrap();
        let s = check_terminal_model(&live);
        assert_eq!(s.mismatches, Vec::<String>::new());
        assert!(s.payments && s.void && s.lookup);
    }

    #[test]
    fn a_server_without_void_and_lookup_is_named_and_its_recovery_told() {
        // Each field goes with the description line above it.
        let drop_field = |sdl: &str, field: &str| {
            let lines: Vec<&str> = sdl.lines().collect();
            let i = lines
                .iter()
                .position(|l| l.trim_start().starts_with(field))
                .unwrap();
            let mut out: Vec<&str> = lines[..i - 1].to_vec();
            out.extend(&lines[i + 1..]);
            out.join("\n")
        };
        let sdl = drop_field(
            &drop_field(PINNED_SDL, "terminalPayments(refNo:"),
            "void(void:",
        );
        assert_ne!(sdl, PINNED_SDL);
        let s = check_terminal_model(&SchemaModel::from_sdl(&sdl).unwrap());
        assert!(s.payments);
        assert!(!s.void && !s.lookup);
        assert!(
            s.mismatches
                .iter()
                .any(|m| m.starts_with("terminal_payment_void.graphql") && m.contains("void")),
            "{:?}",
            s.mismatches
        );
        assert!(
            s.mismatches
                .iter()
                .any(|m| m.starts_with("terminal_payments.graphql")
                    && m.contains("terminalPayments")),
            "{:?}",
            s.mismatches
        );
        let recovery = s.recovery();
        assert!(recovery.iter().all(|(ok, _)| !ok));
        assert!(recovery[0].1.contains("journaled continuation token"));
    }

    #[test]
    fn a_renamed_start_argument_means_no_card_payments() {
        let sdl = PINNED_SDL.replacen(
            "start(payment: TerminalPaymentStartInput!)",
            "start(input: TerminalPaymentStartInput!)",
            1,
        );
        let s = check_terminal_model(&SchemaModel::from_sdl(&sdl).unwrap());
        assert!(!s.payments);
        assert!(s.void && s.lookup);
        assert!(
            s.mismatches
                .iter()
                .any(|m| m.contains("terminal_payment_start.graphql")),
            "{:?}",
            s.mismatches
        );
    }
}
