//! The states of sales, payments and outbox items, and the legal transitions between them.
//!
//! The store enforces them: every state change it persists goes through `store::states::check`,
//! and an illegal transition is an error that changes nothing.

use serde::{Deserialize, Serialize};

macro_rules! state_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// The stored (and JSON) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
            /// Parses the stored spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

    };
}

state_enum!(
    /// A sale's state.
    SaleState {
        /// Lines fixed, tenders being added.
        Open = "open",
        /// Completion started: captures/bookings in progress; resumed at start-up.
        Completing = "completing",
        /// Completed; its purchase is in the outbox (same transaction).
        Completed = "completed",
        /// Cancel started: holds being released; resumed at start-up.
        Cancelling = "cancelling",
        /// Cancelled; every hold released or queued for release.
        Cancelled = "cancelled",
    }
);

state_enum!(
    /// A payment's (tender's) state.
    PaymentState {
        /// Intent and ids persisted; the request may have left. Recovery cannot assume either.
        Authorizing = "authorizing",
        /// A hold exists (gift-card authorization, terminal reservation).
        Authorized = "authorized",
        /// Final approval without a later capture (terminal authorization, cash).
        Approved = "approved",
        /// Accepted offline; an immediate USE waits in the outbox.
        OfflineApproved = "offline_approved",
        /// Capture (or book total) started; a capture item may wait in the outbox.
        Capturing = "capturing",
        /// Money moved for good.
        Captured = "captured",
        /// Release (cancel or reversal) started.
        Cancelling = "cancelling",
        /// Released; no money moved.
        Cancelled = "cancelled",
        /// Definitively refused; no money moved.
        Declined = "declined",
        /// The request may have moved money but the answer was lost; never counted as paid.
        InDoubt = "in_doubt",
        /// Accepted offline, then declined by the POS when forwarded; an exception is open.
        ForwardDeclined = "forward_declined",
    }
);

state_enum!(
    /// An outbox item's state.
    OutboxState {
        /// Waiting to be sent.
        New = "new",
        /// Persisted just before the request leaves (attempt, sent_at).
        Sending = "sending",
        /// The POS holds it.
        Confirmed = "confirmed",
        /// The POS refused it for good; an operator must look.
        Rejected = "rejected",
        /// Sent, outcome unknown; never re-sent without an operator.
        InDoubt = "in_doubt",
        /// Held by an operator; skipped by the forwarder until flushed.
        Held = "held",
        /// No longer needed (its sale was cancelled before it was sent).
        Dropped = "dropped",
    }
);

state_enum!(
    /// What an outbox item asks the POS to do.
    OutboxKind {
        /// `purchaseAdd`: not idempotent.
        Purchase = "purchase",
        /// Offline gift-card redemption, forwarded as an immediate USE: not idempotent.
        GiftcardRedeem = "giftcard_redeem",
        /// `giftcardTransCapture`: idempotent (capturing a COMPLETED transaction is a no-op).
        GiftcardCapture = "giftcard_capture",
        /// `giftcardTransCapture` with `cancel`: idempotent.
        GiftcardCancel = "giftcard_cancel",
        /// `terminalPayment.capture`: idempotent (a CAPTURED payment is returned unchanged).
        TerminalCapture = "terminal_capture",
        /// `terminalPayment.void`: idempotent.
        TerminalVoid = "terminal_void",
        /// A gift-card refund taken offline, forwarded as an ADD: not idempotent.
        GiftcardRefund = "giftcard_refund",
    }
);

impl OutboxKind {
    /// Whether a lost answer may be repaired by sending again.
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            OutboxKind::GiftcardCapture
                | OutboxKind::GiftcardCancel
                | OutboxKind::TerminalCapture
                | OutboxKind::TerminalVoid
        )
    }
}

impl SaleState {
    /// Legal next states.
    pub fn can_go(self, to: SaleState) -> bool {
        use SaleState::*;
        matches!(
            (self, to),
            (Open, Completing)
                | (Open, Cancelling)
                | (Completing, Completed)
                | (Completing, Open)
                | (Cancelling, Cancelled)
        )
    }
}

impl PaymentState {
    /// Legal next states.
    pub fn can_go(self, to: PaymentState) -> bool {
        use PaymentState::*;
        matches!(
            (self, to),
            (Authorizing, Authorized)
                | (Authorizing, Approved)
                | (Authorizing, OfflineApproved)
                | (Authorizing, Declined)
                | (Authorizing, InDoubt)
                | (Authorizing, Captured)
                | (Authorizing, ForwardDeclined)
                | (Authorized, Capturing)
                | (Authorized, Cancelling)
                | (Approved, Cancelling)
                | (Capturing, Captured)
                | (Capturing, Authorizing)
                | (Capturing, ForwardDeclined)
                | (Cancelling, Cancelled)
                | (OfflineApproved, Captured)
                | (OfflineApproved, ForwardDeclined)
                | (OfflineApproved, Cancelled)
                | (OfflineApproved, Cancelling)
                | (InDoubt, InDoubt)
                | (InDoubt, Approved)
                | (InDoubt, Authorized)
                | (InDoubt, Declined)
        )
    }

    /// Whether the payment counts towards the sale's paid amount.
    pub fn counts_as_paid(self) -> bool {
        use PaymentState::*;
        matches!(
            self,
            Authorized | Approved | OfflineApproved | Capturing | Captured
        )
    }

    /// Whether nothing more will happen to this payment without an operator.
    pub fn is_final(self) -> bool {
        use PaymentState::*;
        matches!(
            self,
            Captured | Cancelled | Declined | InDoubt | ForwardDeclined | Approved
        )
    }
}

impl OutboxState {
    /// Legal next states.
    pub fn can_go(self, to: OutboxState) -> bool {
        use OutboxState::*;
        matches!(
            (self, to),
            (New, Sending)
                | (New, Held)
                | (New, Dropped)
                | (Held, New)
                | (Held, Dropped)
                | (Sending, Confirmed)
                | (Sending, Rejected)
                | (Sending, InDoubt)
                | (Sending, New)
                | (InDoubt, Confirmed)
                | (InDoubt, New)
                | (Rejected, New)
                | (Rejected, Confirmed)
        )
    }

    /// Whether the forwarder is done with it.
    pub fn is_terminal(self) -> bool {
        matches!(self, OutboxState::Confirmed | OutboxState::Dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in [
            PaymentState::Authorizing,
            PaymentState::InDoubt,
            PaymentState::ForwardDeclined,
        ] {
            assert_eq!(PaymentState::parse(s.as_str()), Some(s));
        }
        assert_eq!(OutboxState::parse("in_doubt"), Some(OutboxState::InDoubt));
        assert_eq!(SaleState::parse("nope"), None);
    }

    #[test]
    fn in_doubt_purchase_cannot_go_back_to_sending() {
        assert!(!OutboxState::InDoubt.can_go(OutboxState::Sending));
        assert!(!OutboxState::Confirmed.can_go(OutboxState::New));
        assert!(!SaleState::Completed.can_go(SaleState::Cancelling));
        assert!(!PaymentState::Declined.can_go(PaymentState::Authorized));
    }
}
