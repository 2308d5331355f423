//! The crash harness on a US lane ([`Lane::PosTerminal`], issue 11): `[terminal] protocol =
//! "pos"`, no ZVT terminal. Every card tender of the stream goes to the processor terminal the
//! POS stand-in drives: `terminalPayment.start`, `continue` until the cardholder is done
//! (an AUTHORIZE at payment time), `capture` when the sale completes, `void` when the
//! register cancels it. Gift-card and cash tenders are mixed in as on the ZVT lane; some
//! cardholders are approved for part of the amount or declined ([`Outcome`]).
//!
//! Kill points ([`PosKill`]): a third of the kills land at the terminal, found on the
//! stand-in's live lines (events, not polling): a random time after a `start` reached the
//! POS (the cardholder takes [`CARDHOLDER_MS`], so most land between `start` and the final
//! `continue`, while the payment is PENDING; the report counts those as `mid-payment`),
//! around a `capture` or `void`, or just after the stand-in answered an approval (the answer
//! in flight: only the journaled token or the lookup by `refNo` can settle it after the
//! restart). The other kills are the ZVT lane's: a random delay, or after the n-th answer.
//!
//! Reconciliation against the stand-in's ledger of terminal payments (each card sale asks an
//! amount no other sale asks, which ties a payment to its sale even if the agent lost its
//! refNo):
//! - every card tender of a completed sale is captured exactly once, for the amount the
//!   journal approved, and it is the payment the journal names (else `card_lost`);
//! - no refNo was started twice (two payments, or a second `start` refused as busy), no sale
//!   has payments under two refNos, no payment exists that no sale asked for
//!   (`terminal_duplicates`);
//! - no payment captured twice, no sale with two captured payments
//!   (`terminal_double_captures`);
//! - a cancelled sale's authorization is voided or was never taken; a sale the agent
//!   journaled as not paid by card holds nothing (else `double_charges`: charged for
//!   nothing);
//! - payments the agent left in doubt are counted (`card_in_doubt`), not failed.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use hardware_sim::pos::{
    Ledger, PosSim, Seed, SimControl, TerminalOutcome, TerminalPaymentRecord, TerminalStep,
    TpStatus, TpType,
};
use lane_agent::store::payments::Method;
use lane_agent::store::{PaymentState, SaleState};
use rand::Rng;
use rand::rngs::StdRng;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::{Api, Book, CardPlan, Report, TOKEN, WAIT};
use crate::support::lane::POS_TERMINAL_ID;

/// How long the stand-in's cardholder takes on this lane's terminal.
pub const CARDHOLDER_MS: u64 = 200;
/// The terminal's continuation wait (`waitMs`).
const POLL_MS: u64 = 50;

/// Where a kill at the terminal lands.
#[derive(Debug, Clone, Copy)]
pub struct PosKill {
    /// Kill just after the stand-in answered an approval, else after a request.
    after_approval: bool,
    /// Only after a `start` (not a `capture` or `void`).
    starts_only: bool,
    /// Delay from that moment (a `capture` or `void` takes a hundredth of it).
    kill: Duration,
}

/// Draws a kill point: half of them a random time inside the cardholder's time after a
/// `start` (the payment PENDING when the agent dies), a quarter a random time after any
/// `start`, `capture` or `void`, a quarter just after an approval. `only` (the control):
/// every kill inside the cardholder's time after a `start`.
pub(super) fn draw_kill(rng: &mut StdRng, only: bool) -> PosKill {
    let cardholder = CARDHOLDER_MS * 1_000;
    let (after_approval, starts_only, upto) = match (only, rng.random_range(0..4)) {
        (true, _) => (false, true, cardholder / 2),
        (false, 0) => (true, false, 2_000),
        (false, 1) => (false, false, cardholder + 100_000),
        (false, _) => (false, true, cardholder * 3 / 4),
    };
    PosKill {
        after_approval,
        starts_only,
        kill: Duration::from_micros(rng.random_range(0..=upto)),
    }
}

/// What the stand-in's cardholder does with a sale's card (queued as a terminal step when the
/// register first pays it; a step a kill left unused goes to the next `start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Approved for the whole amount (the terminal's default).
    Approve,
    /// Approved for about half: the rest stays due for the gift card or cash.
    Partial,
    /// Declined by the processor: the register cancels the sale.
    Decline,
}

/// One card tender in eight is partly approved, one in ten declined.
pub(super) fn draw_outcome(rng: &mut StdRng) -> Outcome {
    match rng.random_range(0..40) {
        0..=4 => Outcome::Partial,
        5..=8 => Outcome::Decline,
        _ => Outcome::Approve,
    }
}

/// Queues `card`'s outcome at the stand-in (nothing for a plain approval).
pub(super) fn queue_outcome(pos: &SimControl, card: &CardPlan) {
    let outcome = match card.pos {
        Outcome::Approve => return,
        Outcome::Partial => TerminalOutcome::Partial {
            amount: (card.amount / Decimal::TWO).round_dp(2),
        },
        Outcome::Decline => TerminalOutcome::Decline {
            reason: "Insufficient funds".into(),
        },
    };
    let queued = pos.terminal_step(TerminalStep {
        terminal: POS_TERMINAL_ID.into(),
        outcome,
        delay_ms: None,
    });
    assert!(queued, "the stand-in has no terminal {POS_TERMINAL_ID}");
}

/// The lane's processor terminal with the harness's cardholder time and poll interval.
pub(super) fn seed_terminal(seed: &mut Seed) {
    let t = seed
        .terminals
        .iter_mut()
        .find(|t| t.id == POS_TERMINAL_ID)
        .expect("the example seed has the lane's processor terminal");
    t.card_delay_ms = CARDHOLDER_MS;
    t.poll_ms = POLL_MS;
}

/// `POS ← terminalPayment, terminalPayment.start from …` (or capture, void): the request
/// reached the stand-in.
fn request_of(line: &str) -> Option<&'static str> {
    let (ops, _) = line.strip_prefix("POS ← ")?.split_once(" from ")?;
    ["start", "capture", "void"].into_iter().find(|op| {
        ops.split(", ")
            .any(|o| o.strip_prefix("terminalPayment.") == Some(*op))
    })
}

/// `terminal T start|continue: payment N Authorized …`: the stand-in answers an approval.
fn is_approval(line: &str) -> bool {
    line.starts_with(&format!("terminal {POS_TERMINAL_ID} "))
        && line.contains(": payment ")
        && line.contains(" Authorized ")
}

/// Waits for the first live line `want` picks; returns its pick.
async fn next_line<T>(lines: &mut Receiver<String>, want: impl Fn(&str) -> Option<T>) -> T {
    loop {
        match lines.recv().await {
            Ok(l) => {
                if let Some(t) = want(&l) {
                    return t;
                }
            }
            // Lines missed while the harness was slow: the next ones still count.
            Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// Runs the driver until the kill moment `k` (the caller kills). The delay is the
/// experiment, measured from an event of the stand-in, not a wait on the agent.
pub(super) async fn until_kill<F: Future>(
    lines: &mut Receiver<String>,
    mut run: Pin<&mut F>,
    k: &PosKill,
) {
    let moment = next_line(lines, |l| {
        if k.after_approval {
            is_approval(l).then_some("approval")
        } else {
            request_of(l).filter(|op| !k.starts_only || *op == "start")
        }
    });
    let what = tokio::select! {
        _ = run.as_mut() => panic!("the agent went away before it was killed"),
        w = moment => w,
        _ = tokio::time::sleep(WAIT) => panic!("no terminal payment reached the POS"),
    };
    let delay = match what {
        "capture" | "void" => k.kill / 100,
        _ => k.kill,
    };
    if !delay.is_zero() {
        tokio::select! {
            _ = run.as_mut() => panic!("the agent went away before it was killed"),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// Whether a payment is still with the stand-in's cardholder (the ledger settles the ones
/// whose time has come first, as the processor would).
pub(super) fn cardholder_at_terminal(pos: &PosSim) -> bool {
    pos.control()
        .ledger()
        .terminal_payments
        .iter()
        .any(|p| p.status == TpStatus::Pending)
}

async fn sale(api: &Api, id: &str) -> Option<Value> {
    let r = api
        .http
        .get(format!("{}/v1/sales/{id}", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// During the drain: waits until no card payment of the run is still at the terminal (a
/// restart resumes those on its own; their capture or void may then queue outbox items).
pub(super) async fn until_terminal_settled(api: &Api, book: &Book, deadline: Instant) {
    let mut waiting: Vec<&String> = book.cards.keys().collect();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        let mut still = Vec::new();
        for id in waiting {
            if let Some(s) = sale(api, id).await {
                let at_terminal = s["payments"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["method"] == "card" && p["state"] == "pending")
                });
                if at_terminal {
                    still.push(id);
                }
            }
        }
        if still.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "card payments still at the terminal after the drain: {still:?}"
        );
        waiting = still;
        tick.tick().await;
    }
}

/// Holds money: authorized, captured or charged at once.
fn live(p: &TerminalPaymentRecord) -> bool {
    matches!(
        p.status,
        TpStatus::Authorized | TpStatus::Captured | TpStatus::Approved
    )
}

fn brief(ps: &[&TerminalPaymentRecord]) -> Vec<String> {
    ps.iter()
        .map(|p| {
            format!(
                "{} {} {:?} x{}c x{}v",
                p.id, p.ref_no, p.status, p.captures, p.voids
            )
        })
        .collect()
}

/// Reconciles the stand-in's terminal payments with the journal (see the module comment).
pub(super) async fn reconcile(report: &mut Report, book: &Book, dir: &Path, ledger: &Ledger) {
    report.cancelled = book.cancelled.len();
    report.blocked_in_doubt = book.blocked.len();
    report.card_payments = book.cards.len();
    report.terminal_payments = ledger.terminal_payments.len();
    report.terminal_charges = ledger
        .terminal_payments
        .iter()
        .filter(|p| p.status == TpStatus::Captured)
        .count();
    report.terminal_starts = ledger.requests_for("terminalPayment.start");
    report.terminal_partial = ledger
        .terminal_payments
        .iter()
        .filter(|p| p.approved_amount > Decimal::ZERO && p.approved_amount < p.amount)
        .count();
    report.terminal_declined = ledger
        .terminal_payments
        .iter()
        .filter(|p| p.status == TpStatus::Declined)
        .count();

    // `start` is not deduplicated by the POS: each refNo must be started once. A second
    // start the terminal refused as busy made no payment, but the request shows it.
    let mut starts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &ledger.requests {
        if r.operations.iter().any(|o| o == "terminalPayment.start")
            && let Some(ref_no) = &r.ref_no
        {
            *starts.entry(ref_no.as_str()).or_default() += 1;
        }
    }
    let mut per_ref: BTreeMap<&str, Vec<&TerminalPaymentRecord>> = BTreeMap::new();
    for p in &ledger.terminal_payments {
        per_ref.entry(p.ref_no.as_str()).or_default().push(p);
    }
    let refs: BTreeSet<&str> = starts.keys().chain(per_ref.keys()).copied().collect();
    for r in refs {
        let (sent, made) = (
            starts.get(r).copied().unwrap_or(0),
            per_ref.get(r).map_or(0, Vec::len),
        );
        if sent > 1 || made > 1 {
            report.terminal_duplicates.push(format!(
                "refNo {r}: start sent {sent} times, {made} payments"
            ));
        }
    }
    for p in &ledger.terminal_payments {
        if p.captures > 1 {
            report.terminal_double_captures.push(format!(
                "payment {} ({}) captured {} times",
                p.id, p.ref_no, p.captures
            ));
        }
    }

    // sale_id → its payments, by the amount only that sale asked for.
    let by_amount = super::card_sales_by_amount(book);
    let mut mine: BTreeMap<&str, Vec<&TerminalPaymentRecord>> = BTreeMap::new();
    for p in ledger
        .terminal_payments
        .iter()
        .filter(|p| p.trans_type == TpType::Authorize)
    {
        match by_amount.get(&p.amount) {
            Some(id) => mine.entry(id).or_default().push(p),
            None => report.terminal_duplicates.push(format!(
                "payment {} of {} ({:?}) no sale asked for",
                p.id, p.amount, p.status
            )),
        }
    }

    let (store, rows) = super::card_sales_journaled(dir, book).await;
    for (id, sale, pays) in rows {
        let ps = mine.get(id.as_str()).cloned().unwrap_or_default();
        if let Some(s) = &sale
            && let Some(p) = ps
                .iter()
                .find(|p| p.transaction_id.as_deref() != Some(s.transaction_id.as_str()))
        {
            report.terminal_duplicates.push(format!(
                "{id}: payment {} carries transaction {:?}, the sale is {}",
                p.id, p.transaction_id, s.transaction_id
            ));
        }
        let refnos: BTreeSet<&str> = ps.iter().map(|p| p.ref_no.as_str()).collect();
        if refnos.len() > 1 {
            report.terminal_duplicates.push(format!(
                "{id}: payments under {} refNos for one tender: {:?}",
                refnos.len(),
                brief(&ps)
            ));
        }
        let captured: Vec<&&TerminalPaymentRecord> = ps
            .iter()
            .filter(|p| p.status == TpStatus::Captured)
            .collect();
        if captured.len() > 1 {
            report.terminal_double_captures.push(format!(
                "{id}: {} captured payments: {:?}",
                captured.len(),
                brief(&ps)
            ));
        }
        let card = pays.iter().find(|p| p.method == Method::Card);
        let state = card.map(|p| p.state);
        if state == Some(PaymentState::InDoubt) {
            report.card_in_doubt += 1;
            if ps.iter().any(|p| live(p)) {
                report.card_in_doubt_charged += 1;
            }
            report.card_in_doubt_details.push(format!(
                "{id}: reason {:?}, POS {:?}",
                card.and_then(|p| p.reason.clone()),
                brief(&ps)
            ));
            continue;
        }
        let acknowledged = book.acknowledged.contains_key(&id);
        match (sale.as_ref().map(|s| s.state), state) {
            (
                Some(SaleState::Completed),
                Some(
                    PaymentState::Authorized
                    | PaymentState::Approved
                    | PaymentState::Capturing
                    | PaymentState::Captured,
                ),
            ) => {
                // Exactly one live payment: the one the journal names, captured once for
                // what the journal approved.
                let card = card.expect("a card state has its payment");
                let held: Vec<&TerminalPaymentRecord> =
                    ps.iter().copied().filter(|p| live(p)).collect();
                let ok = match held.as_slice() {
                    [p] => {
                        p.status == TpStatus::Captured
                            && p.captures == 1
                            && p.captured_amount == Some(card.amount.0)
                            && card.pos_trans_id.as_deref() == Some(p.id.as_str())
                    }
                    _ => false,
                };
                if ok {
                    report.card_charged += 1;
                } else {
                    report.card_lost.push(format!(
                        "{id}: journal {:?} {} POS id {:?}, POS {:?}",
                        card.state,
                        card.amount.0,
                        card.pos_trans_id,
                        brief(&ps)
                    ));
                }
            }
            (Some(SaleState::Completed), other) => {
                if book.card_shown.contains(&id) && acknowledged {
                    report
                        .card_lost
                        .push(format!("{id}: shown approved, journal says {other:?}"));
                }
                if ps.iter().any(|p| live(p)) {
                    report.double_charges.push(format!(
                        "{id}: charged at the POS terminal, journal says {other:?}: {:?}",
                        brief(&ps)
                    ));
                }
            }
            (Some(SaleState::Cancelled), _) => {
                // Voided, or never taken (declined, failed at the terminal, not started).
                for p in &ps {
                    if live(p) || p.captures > 0 {
                        report.double_charges.push(format!(
                            "{id}: cancelled, but payment {} is {:?} (captured {}x, voided {}x)",
                            p.id, p.status, p.captures, p.voids
                        ));
                    } else if p.status == TpStatus::Voided {
                        report.card_reversed += 1;
                    }
                }
            }
            // Blocked by another payment in doubt (a gift-card authorization cut by a kill).
            _ if pays.iter().any(|p| p.state == PaymentState::InDoubt) => {
                report.card_blocked_by_other += 1;
            }
            // Open, completing or cancelling (the register gave up on it): reported.
            (other, _) => {
                if other.is_some() || !ps.is_empty() {
                    report.card_unsettled.push(format!(
                        "{id}: sale {other:?}, card {state:?}, POS {:?}",
                        brief(&ps)
                    ));
                }
            }
        }
    }
    super::cancelled_card_sales_are_cancelled(report, book, &store).await;
}

/// [`Report::summary`] of a POS-terminal run: lost, duplicates and double captures with
/// their parts, the card tenders' fate at the POS, and payments in doubt.
pub(super) fn summary(r: &Report) -> String {
    format!(
        "lane=pos-terminal seed={} kills={} (after ack {}, at the terminal {}, mid-payment {}) sales={} acknowledged={} \
         recorded={} in_doubt={} lost={} (card {}) duplicates={} (purchases {}, terminal {}) \
         double_captures={} (gift cards {}, terminal {}) charged_for_nothing={} card_payments={} \
         captured_once={} voided={} card_payments_in_doubt={} (authorized at the POS {}) \
         blocked_payment_in_doubt={} cancelled={} card_unsettled={} card_blocked_by_gift_in_doubt={} \
         terminal_payments={} (partial {}, declined {}) terminal_starts={} terminal_captured={} resent={} recorded_unacknowledged={} \
         balance_mismatches={} capture_mismatches={} open_authorizations={} purchases_at_once={} \
         outbox_pending={} outbox_in_doubt={} wall={:.1}s",
        r.seed,
        r.kills,
        r.kills_after_ack,
        r.kills_during_card,
        r.kills_mid_payment,
        r.sales_started,
        r.acknowledged,
        r.recorded,
        r.in_doubt,
        r.lost.len() + r.card_lost.len(),
        r.card_lost.len(),
        r.duplicates.len() + r.terminal_duplicates.len(),
        r.duplicates.len(),
        r.terminal_duplicates.len(),
        r.double_captures.len() + r.terminal_double_captures.len(),
        r.double_captures.len(),
        r.terminal_double_captures.len(),
        r.double_charges.len(),
        r.card_payments,
        r.card_charged,
        r.card_reversed,
        r.card_in_doubt,
        r.card_in_doubt_charged,
        r.blocked_in_doubt,
        r.cancelled,
        r.card_unsettled.len(),
        r.card_blocked_by_other,
        r.terminal_payments,
        r.terminal_partial,
        r.terminal_declined,
        r.terminal_starts,
        r.terminal_charges,
        r.resent.len(),
        r.recorded_unacknowledged,
        r.balance_mismatches.len(),
        r.capture_mismatches.len(),
        r.open_authorizations,
        r.purchases_at_once,
        r.outbox_pending,
        r.outbox_in_doubt,
        r.wall.as_secs_f64()
    )
}
