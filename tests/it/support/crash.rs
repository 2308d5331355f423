//! The crash harness (reliability.md T1.1 / T2.1): the real `lane-agent run` binary as a child
//! process against an in-process POS stand-in and simulated terminal, a stream of sales through
//! the local HTTP API, SIGKILL at random points, restarts on the same store, a final drain, and
//! a reconciliation of the stand-in's ledger with the journal.
//!
//! The stream mixes gift-card, cash and ZVT card tenders (payments 06 01 and reservations
//! 06 22, booked with 06 24 at completion); some card sales are cancelled by the register, so
//! their charges must be reversed (06 30) or released (06 25). After the drain the simulated
//! terminal's journal is reconciled with the agent's: every card tender of a completed sale is
//! charged exactly once, nothing is charged twice for one payment or booked twice, a
//! cancelled sale keeps no charge, and payments the agent left in doubt (the terminal's
//! evidence could not settle them after a restart; 409 `payment_in_doubt` on the sale) are
//! counted, not failed. Each card sale asks for an amount no other sale asks for, which is
//! how a terminal transaction (which carries no payment id) is tied to its payment.
//!
//! [`Options::lane`] picks the lane: [`Lane::Zvt`] (the above, the default) or
//! [`Lane::PosTerminal`], a US lane whose card tenders go through the processor terminal the
//! POS stand-in drives (`terminalPayment.start/continue`, captured at completion, voided on
//! cancel), with kills while the cardholder is at the terminal and a reconciliation against
//! the stand-in's ledger of terminal payments (lost, duplicate starts, double captures, in
//! doubt): see [`pos_lane`]. The sale stream, the gift-card and cash tenders and the purchase
//! checks are the same on both.
//!
//! Kill points come from a seeded RNG (the seed is printed and reported): either a random delay
//! after READY, or right after the n-th HTTP answer (which puts kills just after acknowledged
//! completions, the window a commit-after-answer bug leaves open). The random delays are the
//! experiment, not synchronisation: every wait on the agent is on an event (READY, an answer,
//! process exit, the outbox count) under a timeout.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::agent::OFFLINE_DISABLED;
use super::lane::{LaneConfig, pos_section, write_config, zvt_section};
use hardware_sim::pos::{
    CodeType, Fault as PosFault, FaultKind, FaultTarget, PosSim, Seed, SeedGiftcard,
    SeedGiftcardCode, SimControl, TransStatus, TransType,
};
use hardware_sim::terminal::{JournalEntry, SimEvent, SimTerminal, SimTerminalConfig, TxKind};
use lane_agent::store::payments::{Method, PaymentRecord};
use lane_agent::store::sales::SaleRecord;
use lane_agent::store::{
    OutboxKind, OutboxState, PaymentState, SaleState, Store, StoreOptions, outbox, payments, sales,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

mod pos_lane;

/// Bound on every single wait (READY, one HTTP answer, an exit).
pub const WAIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "crash-harness-token-0123456789";
const CARDS: [(&str, &str); 3] = [
    ("9001", "6006499000000001"),
    ("9002", "6006499000000002"),
    ("9003", "6006499000000003"),
];
const CARD_BALANCE: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 2);

/// What the lane under test pays cards on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lane {
    /// A simulated ZVT terminal on TCP: payments (06 01) and reservations (06 22).
    #[default]
    Zvt,
    /// A US lane (`[terminal] protocol = "pos"`): the processor terminal the POS stand-in
    /// drives (`terminalPayment.start/continue/capture/void`); see [`pos_lane`].
    PosTerminal,
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The lane's card terminal.
    pub lane: Lane,
    /// SIGKILLs before the final drain.
    pub kills: usize,
    /// RNG seed for kill points and the sale stream.
    pub seed: u64,
    /// `LANE_AGENT_FAULT` for the agent (a negative control), if any.
    pub agent_fault: Option<&'static str>,
    /// `ApplyThenDrop` faults armed on `purchaseAdd` (each hits one request).
    pub drop_purchases: u32,
    /// Upper bound of the random kill delay after READY.
    pub max_delay: Duration,
    /// Upper bound for the "after the n-th answer" kill point.
    pub max_answers: u32,
    /// Kill only right after an acknowledged `complete` (the n-th, n random in 1..=3): the
    /// sharpest probe of "answered before committed".
    pub kill_at_acks_only: bool,
    /// Run the agent on one CPU (`taskset -c 0`), so its tasks and its store writes queue
    /// behind each other while the harness, on the other CPU, reacts to an answer at once.
    pub one_cpu: bool,
    /// The `lane-agent` binary to run.
    pub agent_bin: PathBuf,
    /// Bound on the final drain.
    pub drain_timeout: Duration,
    /// Print one line per epoch.
    pub verbose: bool,
    /// Some kills land while a card command is at the terminal ([`KillPoint::DuringCard`]).
    pub card_kills: bool,
    /// Every kill lands just after the terminal journaled a card approval (the answer in
    /// flight: the sharpest probe of a recovery that sends a payment twice).
    pub card_kills_only: bool,
    /// `[pos] forward_window`: purchases of different sales in flight at once.
    pub forward_window: usize,
    /// Latency added to every `purchaseAdd` at the stand-in, so that purchases queue and
    /// kills land with several in flight.
    pub purchase_latency: Option<Duration>,
}

impl Options {
    /// Defaults for `kills` kills with `seed`.
    pub fn new(kills: usize, seed: u64) -> Options {
        Options {
            lane: Lane::Zvt,
            kills,
            seed,
            agent_fault: None,
            drop_purchases: 0,
            max_delay: Duration::from_millis(400),
            max_answers: 24,
            kill_at_acks_only: false,
            one_cpu: false,
            agent_bin: PathBuf::new(),
            drain_timeout: Duration::from_secs(60),
            verbose: false,
            card_kills: true,
            card_kills_only: false,
            forward_window: 8,
            purchase_latency: Some(Duration::from_millis(40)),
        }
    }
}

/// The seed from `CRASH_SEED`, else a fresh one (printed by [`run`] either way).
pub fn seed_from_env() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub kills: usize,
    /// Kills that landed right after a `complete` answer.
    pub kills_after_ack: usize,
    /// Kills while a card command was at the terminal.
    pub kills_during_card: usize,
    pub sales_started: usize,
    /// Sales whose `complete` got a 2xx answer.
    pub acknowledged: usize,
    /// Acknowledged sales with exactly one purchase in the ledger.
    pub recorded: usize,
    /// Acknowledged sales with no purchase whose outbox item is in doubt (never resent).
    pub in_doubt: usize,
    /// Acknowledged sales with no purchase and no in-doubt item: LOST.
    pub lost: Vec<String>,
    /// transactionIds with more than one purchase in the ledger.
    pub duplicates: Vec<(String, usize)>,
    /// transactionIds sent more than once (`attempts_for` > 1).
    pub resent: Vec<(String, usize)>,
    /// Purchases in the ledger for sales the register never saw acknowledged (allowed: a kill
    /// after the commit and before the answer).
    pub recorded_unacknowledged: usize,
    /// Gift-card refNos with more than one completed USE.
    pub double_captures: Vec<String>,
    /// Cards whose ledger balance differs from seed + completed transactions.
    pub balance_mismatches: Vec<String>,
    /// Acknowledged sales whose captured gift-card total differs from the approvals the
    /// register was shown.
    pub capture_mismatches: Vec<String>,
    /// Gift-card authorizations neither captured nor cancelled at the end (holds).
    pub open_authorizations: usize,
    /// Sales planned with a card payment (06 01) / a card reservation (06 22).
    pub card_payments: usize,
    pub reservations: usize,
    /// Card tenders charged once at the terminal for completed sales (reservations booked).
    pub card_charged: usize,
    /// Card charges of cancelled sales reversed (06 30) or released (06 25).
    pub card_reversed: usize,
    /// Card payments in doubt in the agent's journal at the end (counted, not failures).
    /// On the POS-terminal lane: payments whose `start` answer and lookup the agent could
    /// not settle (409 `payment_in_doubt` on the sale).
    pub card_in_doubt: usize,
    /// Of those, the ones the terminal did charge (what an operator resolves as approved).
    pub card_in_doubt_charged: usize,
    /// Each card payment in doubt: why, and what the terminal has for its amount.
    pub card_in_doubt_details: Vec<String>,
    /// Sales whose `complete` or `cancel` answered 409 `payment_in_doubt` (expected).
    pub blocked_in_doubt: usize,
    /// Sales the register saw cancelled.
    pub cancelled: usize,
    /// Card sales (not in doubt) left open, completing or cancelling at the end: the
    /// register gave up on them (a refused step, a sale it no longer finishes). Reported.
    pub card_unsettled: Vec<String>,
    /// Card sales blocked by another payment of theirs in doubt (a gift card).
    pub card_blocked_by_other: usize,
    /// Approved terminal charges not reversed at the end (`charges()`), and approved 06 01.
    pub terminal_charges: usize,
    pub terminal_payments: usize,
    /// Card tenders of completed sales without exactly one approved terminal charge (and
    /// one booking for a reservation): LOST card money.
    pub card_lost: Vec<String>,
    /// Two approved charges for one payment, a reservation booked twice, a charge nobody
    /// journaled, a cancelled sale's charge not reversed, a charge the agent journaled as not
    /// taken: the customer paid twice (or for nothing).
    pub double_charges: Vec<String>,
    /// The lane the run used ([`Report::summary`] names its card figures).
    pub lane: Lane,
    /// POS-terminal lane: kills at the terminal that found a payment still with the
    /// cardholder (PENDING at the stand-in: between `start` and the final `continue`).
    pub kills_mid_payment: usize,
    /// POS-terminal lane: `terminalPayment.start` requests the stand-in saw.
    pub terminal_starts: usize,
    /// POS-terminal lane: payments approved for part of the amount / declined.
    pub terminal_partial: usize,
    pub terminal_declined: usize,
    /// POS-terminal lane: a refNo started more than once (two payments, or a second
    /// `start` the terminal refused as busy), a sale with payments under two refNos, a
    /// payment no sale asked for.
    pub terminal_duplicates: Vec<String>,
    /// POS-terminal lane: a payment captured more than once, or a sale with two captured
    /// payments.
    pub terminal_double_captures: Vec<String>,
    /// The most `purchaseAdd` requests the stand-in held at once (arrived, not yet recorded).
    pub purchases_at_once: i32,
    /// Outbox counts after the drain.
    pub outbox_pending: u64,
    pub outbox_in_doubt: u64,
    pub wall: Duration,
}

impl Report {
    /// Zero lost, zero duplicates, zero double captures, consistent balances.
    pub fn clean(&self) -> bool {
        self.lost.is_empty()
            && self.duplicates.is_empty()
            && self.resent.is_empty()
            && self.double_captures.is_empty()
            && self.balance_mismatches.is_empty()
            && self.capture_mismatches.is_empty()
            && self.card_lost.is_empty()
            && self.double_charges.is_empty()
            && self.terminal_duplicates.is_empty()
            && self.terminal_double_captures.is_empty()
    }

    /// One-line summary.
    pub fn summary(&self) -> String {
        if self.lane == Lane::PosTerminal {
            return pos_lane::summary(self);
        }
        format!(
            "seed={} kills={} (after ack {}, during card {}) sales={} acknowledged={} recorded={} in_doubt={} \
             lost={} (card {}) duplicates={} double_charges_at_terminal={} card_payments={} \
             reservations={} card_charged={} card_reversed={} card_payments_in_doubt={} (charged {}) \
             blocked_payment_in_doubt={} cancelled={} card_unsettled={} card_blocked_by_gift_in_doubt={} terminal_charges={} terminal_06_01={} \
             resent={} recorded_unacknowledged={} double_captures={} \
             balance_mismatches={} capture_mismatches={} open_authorizations={} purchases_at_once={} outbox_pending={} outbox_in_doubt={} wall={:.1}s",
            self.seed,
            self.kills,
            self.kills_after_ack,
            self.kills_during_card,
            self.sales_started,
            self.acknowledged,
            self.recorded,
            self.in_doubt,
            self.lost.len() + self.card_lost.len(),
            self.card_lost.len(),
            self.duplicates.len(),
            self.double_charges.len(),
            self.card_payments,
            self.reservations,
            self.card_charged,
            self.card_reversed,
            self.card_in_doubt,
            self.card_in_doubt_charged,
            self.blocked_in_doubt,
            self.cancelled,
            self.card_unsettled.len(),
            self.card_blocked_by_other,
            self.terminal_charges,
            self.terminal_payments,
            self.resent.len(),
            self.recorded_unacknowledged,
            self.double_captures.len(),
            self.balance_mismatches.len(),
            self.capture_mismatches.len(),
            self.open_authorizations,
            self.purchases_at_once,
            self.outbox_pending,
            self.outbox_in_doubt,
            self.wall.as_secs_f64()
        )
    }
}

/// One planned sale (drawn once, replayed identically after a restart).
#[derive(Debug, Clone)]
struct Plan {
    sale_id: String,
    lines: Vec<(Decimal, Decimal)>,
    /// Gift-card part: card index and amount.
    gift: Option<(usize, Decimal)>,
    /// What the register was shown approved on the gift card, once answered.
    gift_shown: Option<Decimal>,
    /// Card part, paid first.
    card: Option<CardPlan>,
    /// The register cancels the sale once paid instead of completing it.
    cancel: bool,
}

/// A card tender: an amount unique to the sale (the terminal's journal is matched by it).
#[derive(Debug, Clone, Copy)]
pub struct CardPlan {
    amount: Decimal,
    reserve: bool,
    /// US lane: what the stand-in's cardholder does (always approve on a ZVT lane).
    pos: pos_lane::Outcome,
}

#[derive(Debug, Default)]
struct Book {
    started: usize,
    /// sale_id → gift-card amount the register was shown approved.
    acknowledged: BTreeMap<String, Decimal>,
    /// The sale an epoch was in when it was killed, retried in the next epoch.
    interrupted: Option<Plan>,
    next: usize,
    /// Every sale planned with a card tender.
    cards: BTreeMap<String, CardPlan>,
    /// Sales whose card tender the register was shown approved.
    card_shown: BTreeSet<String>,
    /// Sales the register saw cancelled.
    cancelled: BTreeSet<String>,
    /// Sales whose `complete`/`cancel` answered 409 `payment_in_doubt`.
    blocked: BTreeSet<String>,
    /// US lane: sales whose cardholder outcome was queued at the stand-in (once per sale,
    /// not again on a replay).
    outcome_queued: BTreeSet<String>,
}

enum KillPoint {
    Delay(Duration),
    AfterAnswers(u32),
    /// While the customer is at the terminal: the card is held until a card command (06 01 /
    /// 06 22; or a book total 06 24 or reversal 06 25 / 06 30, which need no card) arrives, presented `present` after it, and the agent killed `kill` after it
    /// (the terminal then aborts or approves, the answer journaled or not), or, with
    /// `after_approval`, presented at once and the agent killed `kill` after the terminal
    /// journaled its approval (the answer in flight: only the terminal's evidence knows).
    DuringCard {
        present: Duration,
        kill: Duration,
        after_approval: bool,
    },
    /// POS-terminal lane: at a `terminalPayment` request or just after an approval
    /// ([`pos_lane::PosKill`]).
    AtPosTerminal(pos_lane::PosKill),
}

struct Api {
    http: reqwest::Client,
    base: String,
}

/// Why the driver stopped.
enum Stop {
    /// A request failed at the transport level (the agent is gone).
    Gone,
    /// The chosen number of answers arrived; `ack` when the last one acknowledged a sale.
    Answers { ack: bool },
}

struct Driver<'a> {
    api: &'a Api,
    book: &'a mut Book,
    rng: StdRng,
    answers: u32,
    limit: Option<u32>,
    acks_only: bool,
    lane: Lane,
    /// US lane: the stand-in, to queue what its cardholder does with a sale's card.
    pos: Option<SimControl>,
}

impl Driver<'_> {
    /// One request; `Err(Stop)` when the agent is gone or the answer budget is spent.
    async fn post(&mut self, path: &str, body: Value) -> Result<(u16, Value), Stop> {
        let r = self
            .api
            .http
            .post(format!("{}{path}", self.api.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .map_err(|_| Stop::Gone)?;
        let status = r.status().as_u16();
        if !self.acks_only || (path.ends_with("/complete") && status < 300) {
            self.answers += 1;
        }
        let spent = self.limit.is_some_and(|l| self.answers >= l);
        if spent && path.ends_with("/complete") {
            // Kill on the status line, before even reading the body: the register has its
            // acknowledgement, so the journal must already hold the sale.
            return Err(self.ack_then_stop(path, status));
        }
        let body = r.json().await.map_err(|_| Stop::Gone)?;
        if spent {
            return Err(Stop::Answers { ack: false });
        }
        Ok((status, body))
    }

    fn ack_then_stop(&mut self, path: &str, status: u16) -> Stop {
        let sale_id = path
            .trim_start_matches("/v1/sales/")
            .trim_end_matches("/complete");
        let plan = self.book.interrupted.take();
        let ack = (200..300).contains(&status);
        if ack {
            let gift = plan
                .as_ref()
                .and_then(|p| p.gift_shown)
                .unwrap_or(Decimal::ZERO);
            self.book.acknowledged.insert(sale_id.to_owned(), gift);
        }
        Stop::Answers { ack }
    }

    fn plan(&mut self) -> Plan {
        let n = self.book.next;
        self.book.next += 1;
        self.book.started += 1;
        let mut lines = (0..self.rng.random_range(1..=2))
            .map(|_| {
                (
                    Decimal::from(self.rng.random_range(1..=3)),
                    Decimal::new(self.rng.random_range(50..=2_000), 2),
                )
            })
            .collect::<Vec<_>>();
        // Half the sales pay part by card (a third of those as a reservation): a line of the
        // card's amount, unique to the sale, so the terminal's journal can be matched to it.
        let card = match self.rng.random_range(0..6) {
            0 | 1 => Some(false),
            2 => Some(true),
            _ => None,
        }
        .map(|reserve| CardPlan {
            amount: Decimal::new(5_000 + n as i64, 2),
            // The POS's terminal authorizes every card tender (captured at completion):
            // there is no separate reservation. Drawn all the same, so the ZVT lane's
            // stream for a seed stays as it was.
            reserve: reserve && self.lane == Lane::Zvt,
            pos: pos_lane::Outcome::Approve,
        });
        // US lane only (the ZVT lane's stream stays as it was): some cardholders are
        // declined or approved for part of the amount.
        let card = card.map(|mut c| {
            if self.lane == Lane::PosTerminal {
                c.pos = pos_lane::draw_outcome(&mut self.rng);
            }
            c
        });
        if let Some(c) = card {
            lines.push((Decimal::ONE, c.amount));
            self.book.cards.insert(format!("crash-{n}"), c);
        }
        let cancel = card.is_some() && self.rng.random_range(0..5) == 0;
        let total: Decimal = lines.iter().map(|(q, p)| q * p).sum();
        let gift = match self.rng.random_range(0..3) {
            0 => None,
            1 => Some(total),
            _ => Some(Decimal::new(
                self.rng
                    .random_range(1..=(total * Decimal::from(100)).try_into().unwrap_or(1)),
                2,
            )),
        }
        .map(|amount| (self.rng.random_range(0..CARDS.len()), amount));
        Plan {
            sale_id: format!("crash-{n}"),
            lines,
            gift,
            gift_shown: None,
            card,
            cancel,
        }
    }

    /// Sells until stopped. A sale cut off by a kill is kept in the book and replayed (same
    /// ids) first in the next epoch, as a register retrying after the agent came back.
    async fn run(&mut self) -> Stop {
        loop {
            let plan = match self.book.interrupted.take() {
                Some(p) => p,
                None => self.plan(),
            };
            self.book.interrupted = Some(plan.clone());
            if let Err(stop) = self.sell(plan).await {
                return stop;
            }
            self.book.interrupted = None;
        }
    }

    async fn sell(&mut self, plan: Plan) -> Result<(), Stop> {
        let id = plan.sale_id.clone();
        let lines: Vec<Value> = plan
            .lines
            .iter()
            .map(|(q, p)| json!({"sku": "ITEM-001", "quantity": q.to_string(), "unit_price": p.to_string()}))
            .collect();
        let (st, sale) = self
            .post("/v1/sales", json!({"sale_id": id, "lines": lines}))
            .await?;
        if st != 201 && st != 200 {
            return Ok(()); // A sale the agent refuses now (e.g. settled by recovery): dropped.
        }
        match sale["state"].as_str() {
            // Committed (or begun) before the kill, answer lost: the register asks again.
            Some("completed" | "completing") if !plan.cancel => return self.complete(&id).await,
            Some("cancelled" | "cancelling") if plan.cancel => return self.cancel(&id).await,
            Some("open") => {}
            _ => return Ok(()),
        }
        // Amounts come from the plan, not from the agent's current `due`, so a replay after a
        // kill sends byte-identical payments (the API answers a repeated payment_id with its
        // first answer).
        let mut due: Decimal = plan.lines.iter().map(|(q, p)| q * p).sum();
        if let Some(card) = plan.card {
            if let Some(pos) = &self.pos
                && self.book.outcome_queued.insert(id.clone())
            {
                pos_lane::queue_outcome(pos, &card);
            }
            let mut body = json!({"method": "card", "amount": card.amount.to_string(), "payment_id": format!("{id}-k")});
            if card.reserve {
                body["reserve"] = json!(true);
            }
            let (st, v) = self.post(&format!("/v1/sales/{id}/payments"), body).await?;
            match v["status"].as_str() {
                Some("approved") if st < 300 => {
                    self.book.card_shown.insert(id.clone());
                    due -= v["approved_amount"]
                        .as_str()
                        .and_then(|d| d.parse::<Decimal>().ok())
                        .unwrap_or_default();
                }
                // The answer died with an earlier agent and the terminal's evidence cannot
                // settle it: the sale is blocked (409 on complete and cancel) until an
                // operator decides. The register moves on.
                Some("in_doubt") => return Ok(()),
                // Declined, refused or still running: the register gives up on the sale.
                _ => return self.cancel(&id).await,
            }
        }
        let mut shown = Decimal::ZERO;
        if let Some((card, amount)) = plan.gift {
            let (st, v) = self
                .post(
                    &format!("/v1/sales/{id}/payments"),
                    json!({"method": "giftcard", "amount": amount.min(due).to_string(), "code": CARDS[card].1, "payment_id": format!("{id}-g")}),
                )
                .await?;
            if st < 300 && v["status"] == "approved" {
                let approved: Decimal = v["approved_amount"]
                    .as_str()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or_default();
                shown += approved;
                due -= approved;
            }
        }
        if let Some(p) = self.book.interrupted.as_mut() {
            p.gift_shown = Some(shown);
        }
        if due > Decimal::ZERO {
            let (st, v) = self
                .post(
                    &format!("/v1/sales/{id}/payments"),
                    json!({"method": "cash", "amount": due.to_string(), "payment_id": format!("{id}-c")}),
                )
                .await?;
            if st >= 300 || v["status"] != "approved" {
                return self.cancel(&id).await;
            }
        }
        if plan.cancel {
            return self.cancel(&id).await;
        }
        self.complete(&id).await
    }

    /// 409 `payment_in_doubt` is an expected answer to `complete` and `cancel`.
    fn note_blocked(&mut self, id: &str, st: u16, v: &Value) {
        if st == 409 && v["error"]["code"] == "payment_in_doubt" {
            self.book.blocked.insert(id.to_owned());
        }
    }

    async fn cancel(&mut self, id: &str) -> Result<(), Stop> {
        let (st, v) = self
            .post(&format!("/v1/sales/{id}/cancel"), json!({}))
            .await?;
        if (200..300).contains(&st) && v["state"] == "cancelled" {
            self.book.cancelled.insert(id.to_owned());
        }
        self.note_blocked(id, st, &v);
        Ok(())
    }

    async fn complete(&mut self, id: &str) -> Result<(), Stop> {
        let path = format!("/v1/sales/{id}/complete");
        let (st, v) = self.post(&path, json!({})).await?;
        if (200..300).contains(&st) && v["state"] == "completed" {
            let gift = self
                .book
                .interrupted
                .as_ref()
                .and_then(|p| p.gift_shown)
                .unwrap_or(Decimal::ZERO);
            self.book.acknowledged.insert(id.to_owned(), gift);
        }
        self.note_blocked(id, st, &v);
        Ok(())
    }
}

/// The lane's config; `terminal` is the `[terminal]` body.
fn config(dir: &Path, pos: &PosSim, terminal: &str, window: usize) -> PathBuf {
    let path = write_config(
        dir,
        pos,
        &LaneConfig {
            token: TOKEN,
            listen: "127.0.0.1:0",
            request_timeout_ms: 3000,
            lane_lines: "",
            terminal,
            offline: OFFLINE_DISABLED,
            sections: "",
        },
    );
    let text = fs::read_to_string(&path).unwrap().replacen(
        "[api]\n",
        &format!("forward_window = {window}\n[api]\n"),
        1,
    );
    fs::write(&path, text).unwrap();
    path
}

fn seed(lane: Lane) -> Seed {
    let mut seed = Seed::example();
    if lane == Lane::PosTerminal {
        pos_lane::seed_terminal(&mut seed);
    }
    for (id, code) in CARDS {
        seed.giftcards.push(SeedGiftcard {
            id: id.into(),
            member_id: None,
            balance: CARD_BALANCE,
            codes: vec![SeedGiftcardCode {
                code_type: CodeType::Physical,
                code: code.into(),
                pin: None,
                expires_on: None,
            }],
        });
    }
    seed
}

/// Blocks until a datagram with a line starting with `READY=1` arrives; returns the address
/// from its `STATUS=Serving on ADDR.` line.
fn ready(sock: &UnixDatagram, deadline: Instant) -> Result<String, String> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no READY=1 in time".into());
        }
        sock.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 4096];
        let n = sock
            .recv(&mut buf)
            .map_err(|e| format!("no READY=1: {e}"))?;
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.lines().any(|l| l == "READY=1") {
            return msg
                .lines()
                .find_map(|l| l.strip_prefix("STATUS=Serving on "))
                .and_then(|a| a.strip_suffix('.'))
                .map(str::to_owned)
                .ok_or_else(|| format!("no address in {msg:?}"));
        }
    }
}

struct Agent {
    child: Child,
    api: Api,
}

async fn start(cfg: &Path, dir: &Path, notify: &Arc<UnixDatagram>, opts: &Options) -> Agent {
    let log = File::options()
        .create(true)
        .append(true)
        .open(dir.join("agent.log"))
        .unwrap();
    let bin = &opts.agent_bin;
    let mut cmd = if opts.one_cpu {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(["run", "--config"])
        .arg(cfg)
        .env("NOTIFY_SOCKET", dir.join("notify.sock"))
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    match opts.agent_fault {
        Some(f) => cmd.env("LANE_AGENT_FAULT", f),
        None => cmd.env_remove("LANE_AGENT_FAULT"),
    };
    let mut child = cmd.spawn().unwrap();
    let sock = Arc::clone(notify);
    let deadline = Instant::now() + WAIT;
    let addr = tokio::task::spawn_blocking(move || ready(&sock, deadline))
        .await
        .unwrap();
    let addr = match addr {
        Ok(a) => a,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            let log = fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
            let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
            panic!("agent did not start: {e}; log tail (newest first):\n{tail}");
        }
    };
    Agent {
        child,
        api: Api {
            http: reqwest::Client::builder().timeout(WAIT).build().unwrap(),
            base: format!("http://{addr}"),
        },
    }
}

/// The next terminal event matching `want` (forever if the terminal is gone; callers bound it).
async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<SimEvent>,
    want: impl Fn(&SimEvent) -> bool,
) {
    loop {
        match events.recv().await {
            Ok(e) if want(&e) => return,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
            _ => {}
        }
    }
}

/// SIGKILL and reap, bounded.
async fn kill(mut child: Child) {
    child.kill().unwrap();
    tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("killed agent not reaped in time")
        .unwrap()
        .unwrap();
}

async fn status(api: &Api) -> Option<Value> {
    let r = api
        .http
        .get(format!("{}/v1/status", api.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .ok()?;
    r.json().await.ok()
}

/// Runs the experiment and reconciles; panics only on harness failures (an agent that does not
/// start, a drain that does not finish), never on the findings, which go in the report.
pub async fn run(opts: Options) -> Report {
    let began = Instant::now();
    eprintln!(
        "crash harness: lane={:?} seed={} kills={} fault={:?} (CRASH_SEED={} reproduces)",
        opts.lane, opts.seed, opts.kills, opts.agent_fault, opts.seed
    );
    let dir = tempfile::tempdir().unwrap();
    let pos = PosSim::start("127.0.0.1:0".parse().unwrap(), seed(opts.lane))
        .await
        .unwrap();
    if opts.drop_purchases > 0 {
        pos.control().inject(PosFault {
            target: FaultTarget::Operation("purchaseAdd".into()),
            kind: FaultKind::ApplyThenDrop,
            times: Some(opts.drop_purchases),
        });
    }
    // A ZVT lane's terminal; a US lane has none (its cards go through the stand-in).
    let zvt = match opts.lane {
        Lane::Zvt => Some(
            SimTerminal::start_tcp("127.0.0.1:0".parse().unwrap(), SimTerminalConfig::default())
                .await
                .unwrap(),
        ),
        Lane::PosTerminal => None,
    };
    if let Some(d) = opts.purchase_latency {
        // After the drops: a request takes the first armed fault that matches.
        pos.control().inject(PosFault {
            target: FaultTarget::Operation("purchaseAdd".into()),
            kind: FaultKind::Latency(d),
            times: None,
        });
    }
    let terminal_section = match &zvt {
        Some(t) => zvt_section(&t.addr().unwrap().to_string(), ""),
        None => pos_section(),
    };
    let cfg = config(dir.path(), &pos, &terminal_section, opts.forward_window);
    let notify = Arc::new(UnixDatagram::bind(dir.path().join("notify.sock")).unwrap());

    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut book = Book::default();
    let mut report = Report {
        seed: opts.seed,
        lane: opts.lane,
        ..Report::default()
    };
    for epoch in 0..opts.kills {
        let agent = start(&cfg, dir.path(), &notify, &opts).await;
        let point = if opts.kill_at_acks_only {
            KillPoint::AfterAnswers(rng.random_range(1..=3))
        } else if opts.lane == Lane::PosTerminal
            && (opts.card_kills_only || (opts.card_kills && rng.random_ratio(1, 3)))
        {
            KillPoint::AtPosTerminal(pos_lane::draw_kill(&mut rng, opts.card_kills_only))
        } else if opts.lane == Lane::Zvt && opts.card_kills_only {
            KillPoint::DuringCard {
                present: Duration::ZERO,
                kill: Duration::from_micros(rng.random_range(0..=500)),
                after_approval: true,
            }
        } else if opts.lane == Lane::Zvt && opts.card_kills && rng.random_ratio(1, 4) {
            let after_approval = rng.random_bool(0.5);
            let mut draw = || Duration::from_micros(rng.random_range(0..=40_000));
            KillPoint::DuringCard {
                present: draw(),
                kill: if after_approval {
                    Duration::from_micros(rng.random_range(0..=2_000))
                } else {
                    draw()
                },
                after_approval,
            }
        } else if rng.random_bool(0.5) {
            KillPoint::Delay(Duration::from_micros(
                rng.random_range(0..=opts.max_delay.as_micros() as u64),
            ))
        } else {
            KillPoint::AfterAnswers(rng.random_range(1..=opts.max_answers))
        };
        let mut driver = Driver {
            api: &agent.api,
            book: &mut book,
            rng: StdRng::seed_from_u64(rng.random()),
            answers: 0,
            limit: match point {
                KillPoint::AfterAnswers(n) => Some(n),
                KillPoint::Delay(_)
                | KillPoint::DuringCard { .. }
                | KillPoint::AtPosTerminal(_) => None,
            },
            acks_only: opts.kill_at_acks_only,
            lane: opts.lane,
            pos: (opts.lane == Lane::PosTerminal).then(|| pos.control()),
        };
        let mut child = Some(agent.child);
        match point {
            KillPoint::AfterAnswers(_) => {
                let stop = tokio::time::timeout(WAIT * 4, driver.run())
                    .await
                    .expect("the driver made no progress");
                if let Stop::Answers { ack: true } = stop {
                    report.kills_after_ack += 1;
                }
                kill(child.take().unwrap()).await;
            }
            KillPoint::DuringCard {
                present,
                kill: k,
                after_approval,
            } => {
                let control = zvt.as_ref().expect("card kills of a ZVT lane").control();
                let mut events = control.subscribe();
                control.hold_card();
                let run = driver.run();
                tokio::pin!(run);
                // Payment, reservation, book total, pre-auth reversal, reversal.
                let card_command = next_event(&mut events, |e| {
                    matches!(
                        e,
                        SimEvent::Command([0x06, 0x01 | 0x22 | 0x24 | 0x25 | 0x30])
                    )
                });
                tokio::select! {
                    _ = &mut run => panic!("the agent went away before it was killed"),
                    _ = card_command => {}
                    _ = tokio::time::sleep(WAIT) => panic!("no card command reached the terminal"),
                }
                // The delays are the experiment (measured from the command, or from the
                // terminal journaling its approval), not a wait on the agent; the driver keeps
                // reading its answers meanwhile.
                if after_approval {
                    control.present_card();
                    let journaled =
                        next_event(&mut events, |e| matches!(e, SimEvent::Transaction(_)));
                    tokio::select! {
                        _ = &mut run => panic!("the agent went away before it was killed"),
                        _ = journaled => {}
                        _ = tokio::time::sleep(WAIT) => panic!("the terminal journaled nothing"),
                    }
                    if !k.is_zero() {
                        tokio::select! {
                            _ = &mut run => panic!("the agent went away before it was killed"),
                            _ = tokio::time::sleep(k) => {}
                        }
                    }
                    kill(child.take().unwrap()).await;
                } else {
                    let (first, second) = (present.min(k), present.max(k));
                    tokio::select! {
                        _ = &mut run => panic!("the agent went away before it was killed"),
                        _ = tokio::time::sleep(first) => {}
                    }
                    if present <= k {
                        control.present_card();
                        tokio::select! {
                            _ = &mut run => panic!("the agent went away before it was killed"),
                            _ = tokio::time::sleep(second - first) => {}
                        }
                        kill(child.take().unwrap()).await;
                    } else {
                        kill(child.take().unwrap()).await;
                        tokio::time::sleep(second - first).await;
                    }
                }
                control.present_card();
                report.kills_during_card += 1;
                let _ = tokio::time::timeout(WAIT, &mut run)
                    .await
                    .expect("a request outlived the agent");
            }
            KillPoint::AtPosTerminal(k) => {
                // Subscribed before the driver runs: no request of this epoch is missed.
                let mut lines = pos.control().live_lines();
                let run = driver.run();
                tokio::pin!(run);
                pos_lane::until_kill(&mut lines, run.as_mut(), &k).await;
                kill(child.take().unwrap()).await;
                report.kills_during_card += 1;
                if pos_lane::cardholder_at_terminal(&pos) {
                    report.kills_mid_payment += 1;
                }
                let _ = tokio::time::timeout(WAIT, &mut run)
                    .await
                    .expect("a request outlived the agent");
            }
            KillPoint::Delay(d) => {
                let run = driver.run();
                tokio::pin!(run);
                tokio::select! {
                    _ = &mut run => panic!("the agent went away before it was killed"),
                    _ = tokio::time::sleep(d) => {}
                }
                // Kill while the driver's request is in flight, then let it see the failure.
                kill(child.take().unwrap()).await;
                let _ = tokio::time::timeout(WAIT, &mut run)
                    .await
                    .expect("a request outlived the agent");
            }
        }
        report.kills += 1;
        if opts.verbose || epoch % 100 == 99 {
            eprintln!(
                "crash harness: kill {} sales={} acknowledged={}",
                epoch + 1,
                book.started,
                book.acknowledged.len()
            );
        }
    }

    // Drain: a last start, no kill; wait until nothing is pending.
    let agent = start(&cfg, dir.path(), &notify, &opts).await;
    // The register first finishes the sale the last kill cut off.
    if let Some(plan) = book.interrupted.clone() {
        let mut driver = Driver {
            api: &agent.api,
            book: &mut book,
            rng: StdRng::seed_from_u64(0),
            answers: 0,
            limit: None,
            acks_only: false,
            lane: opts.lane,
            pos: (opts.lane == Lane::PosTerminal).then(|| pos.control()),
        };
        let finished = tokio::time::timeout(WAIT, driver.sell(plan))
            .await
            .expect("the last sale did not finish");
        assert!(finished.is_ok(), "the agent went away during the drain");
        book.interrupted = None;
    }
    let deadline = Instant::now() + opts.drain_timeout;
    if opts.lane == Lane::PosTerminal {
        // Payments a restart resumed at the terminal end before the outbox is asked: their
        // captures and voids may still queue items.
        pos_lane::until_terminal_settled(&agent.api, &book, deadline).await;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        if let Some(s) = status(&agent.api).await {
            let pending = s["outbox"]["pending"].as_u64().unwrap_or(u64::MAX);
            report.outbox_pending = pending;
            report.outbox_in_doubt = s["outbox"]["in_doubt"].as_u64().unwrap_or(0);
            if pending == 0 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "outbox did not drain within {:?}: {}",
            opts.drain_timeout,
            report.outbox_pending
        );
    }
    kill(agent.child).await;

    if opts.agent_fault.is_some() {
        let log = fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
        assert!(
            log.contains("Fault injection switched on"),
            "the agent binary was built without the fault-injection feature; log: {}",
            log.lines().take(5).collect::<Vec<_>>().join("\n")
        );
    }
    reconcile(&mut report, &book, dir.path(), &pos).await;
    match &zvt {
        Some(terminal) => {
            reconcile_cards(
                &mut report,
                &book,
                dir.path(),
                &terminal.control().journal(),
            )
            .await;
            report.terminal_charges = terminal.control().charges().len();
            report.terminal_payments = terminal.control().approved_payments();
        }
        None => pos_lane::reconcile(&mut report, &book, dir.path(), &pos.control().ledger()).await,
    }
    report.wall = began.elapsed();
    pos.shutdown().await;
    eprintln!("crash harness: {}", report.summary());
    if !report.card_in_doubt_details.is_empty() {
        eprintln!(
            "crash harness: card payments in doubt {:?}",
            report.card_in_doubt_details
        );
    }
    if !report.card_unsettled.is_empty() {
        eprintln!(
            "crash harness: card sales unsettled {:?}",
            report.card_unsettled
        );
    }
    if !report.clean() {
        eprintln!(
            "crash harness: lost {:?}\ncard lost {:?}\ndouble charges {:?}\nterminal duplicates {:?}\nterminal double captures {:?}\nduplicates {:?}\nresent {:?}\ndouble captures {:?}\nbalances {:?}\ncaptures {:?}",
            report.lost,
            report.card_lost,
            report.double_charges,
            report.terminal_duplicates,
            report.terminal_double_captures,
            report.duplicates,
            report.resent,
            report.double_captures,
            report.balance_mismatches,
            report.capture_mismatches
        );
    }
    report
}

async fn reconcile(report: &mut Report, book: &Book, dir: &Path, pos: &PosSim) {
    let ledger = pos.control().ledger();
    report.purchases_at_once = most_at_once(&ledger);
    report.sales_started = book.started;
    report.acknowledged = book.acknowledged.len();
    let store = Store::open(StoreOptions::new(dir.join("agent.db")))
        .await
        .unwrap();
    let acked: Vec<String> = book.acknowledged.keys().cloned().collect();
    // sale_id → (sale, payments, outbox items)
    let journal = store
        .read(move |c, _| {
            let mut out = Vec::new();
            for id in acked {
                let sale = sales::find(c, &id)?;
                let pays = payments::for_sale(c, &id)?;
                out.push((id, sale, pays));
            }
            Ok((out, outbox::list(c, None)?))
        })
        .await
        .unwrap();
    let (rows, items) = journal;
    let in_doubt_sales: BTreeSet<String> = items
        .iter()
        .filter(|i| i.state == OutboxState::InDoubt && i.kind == OutboxKind::Purchase)
        .filter_map(|i| i.sale_id.clone())
        .collect();
    let mut acked_tids = BTreeSet::new();
    for (id, sale, pays) in rows {
        let Some(sale) = sale.filter(|s| s.state == SaleState::Completed) else {
            report.lost.push(id);
            continue;
        };
        acked_tids.insert(sale.transaction_id.clone());
        match ledger.purchases_with(&sale.transaction_id).len() {
            0 if in_doubt_sales.contains(&id) => report.in_doubt += 1,
            0 => report.lost.push(id.clone()),
            _ => report.recorded += 1,
        }
        // What the register was shown approved on gift cards is what was captured.
        let refs: BTreeSet<&str> = pays.iter().map(|p| p.ref_no.as_str()).collect();
        let captured: Decimal = ledger
            .giftcard_transactions
            .iter()
            .filter(|t| t.trans_type == TransType::Use && t.status == TransStatus::Completed)
            .filter(|t| t.ref_no.as_deref().is_some_and(|r| refs.contains(r)))
            .map(|t| -t.amount)
            .sum();
        if captured != book.acknowledged[&id] {
            report.capture_mismatches.push(format!(
                "{id}: shown {} captured {captured}; journal {:?}",
                book.acknowledged[&id],
                pays.iter()
                    .map(|p| format!("{:?} {:?} {}", p.method, p.state, p.amount.0))
                    .collect::<Vec<_>>()
            ));
        }
    }
    let mut per_tid: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &ledger.purchases {
        *per_tid.entry(p.transaction_id.as_str()).or_default() += 1;
    }
    for (tid, n) in &per_tid {
        if *n > 1 {
            report.duplicates.push(((*tid).to_owned(), *n));
        }
        if !acked_tids.contains(*tid) {
            report.recorded_unacknowledged += 1;
        }
        // Purchases only: on a US lane `terminalPayment.start` carries the transactionId too.
        let attempts = ledger
            .requests
            .iter()
            .filter(|r| r.transaction_id.as_deref() == Some(*tid))
            .filter(|r| r.operations.iter().any(|o| o == "purchaseAdd"))
            .count();
        if attempts > 1 {
            report.resent.push(((*tid).to_owned(), attempts));
        }
    }
    let mut per_ref: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &ledger.giftcard_transactions {
        if t.trans_type == TransType::Use
            && t.status == TransStatus::Completed
            && let Some(r) = &t.ref_no
        {
            *per_ref.entry(r.as_str()).or_default() += 1;
        }
    }
    report.open_authorizations = ledger
        .giftcard_transactions
        .iter()
        .filter(|t| t.status == TransStatus::Authorized)
        .count();
    report.double_captures = per_ref
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(r, n)| format!("{r} x{n}"))
        .collect();
    for (card, _) in CARDS {
        let spent: Decimal = ledger
            .giftcard_transactions
            .iter()
            .filter(|t| t.giftcard_id == card && t.status != TransStatus::Cancelled)
            .map(|t| t.amount)
            .sum();
        let expected = CARD_BALANCE + spent;
        if ledger.balance(card) != Some(expected) {
            report.balance_mismatches.push(format!(
                "{card}: ledger {:?} expected {expected}",
                ledger.balance(card)
            ));
        }
    }
}

/// Approved transactions of `kinds` that refer to receipt `r`.
fn referring<'a>(
    journal: &'a [JournalEntry],
    r: u16,
    kinds: &'a [TxKind],
) -> impl Iterator<Item = &'a JournalEntry> + 'a {
    journal
        .iter()
        .filter(move |e| e.approved() && e.refers_to == Some(r) && kinds.contains(&e.kind))
}

/// Each card sale of the run by the amount only it asked for: a terminal's record (which
/// carries no payment id) is tied to its sale by its amount.
fn card_sales_by_amount(book: &Book) -> BTreeMap<Decimal, &str> {
    book.cards
        .iter()
        .map(|(id, c)| (c.amount, id.as_str()))
        .collect()
}

/// A card sale as the agent journaled it: its id, its sale row (if any) and payments.
type JournaledSale = (String, Option<SaleRecord>, Vec<PaymentRecord>);

/// The agent's store after the run, and its journal of each card sale of the run.
async fn card_sales_journaled(dir: &Path, book: &Book) -> (Store, Vec<JournaledSale>) {
    let store = Store::open(StoreOptions::new(dir.join("agent.db")))
        .await
        .unwrap();
    let ids: Vec<String> = book.cards.keys().cloned().collect();
    let rows = store
        .read(move |c, _| {
            let mut out = Vec::new();
            for id in ids {
                let sale = sales::find(c, &id)?;
                out.push((id.clone(), sale, payments::for_sale(c, &id)?));
            }
            Ok(out)
        })
        .await
        .unwrap();
    (store, rows)
}

/// Reconciles the simulated terminal's journal with the agent's (see the module comment).
async fn reconcile_cards(report: &mut Report, book: &Book, dir: &Path, journal: &[JournalEntry]) {
    report.cancelled = book.cancelled.len();
    report.blocked_in_doubt = book.blocked.len();
    report.reservations = book.cards.values().filter(|c| c.reserve).count();
    report.card_payments = book.cards.len() - report.reservations;
    let by_amount = card_sales_by_amount(book);
    // sale_id → its approved charges (06 01 / 06 22), by the amount only that sale asked for.
    let mut charges: BTreeMap<&str, Vec<&JournalEntry>> = BTreeMap::new();
    for e in journal
        .iter()
        .filter(|e| e.approved() && matches!(e.kind, TxKind::Payment | TxKind::Reservation))
    {
        match by_amount.get(&e.requested) {
            Some(id) => charges.entry(id).or_default().push(e),
            None => report.double_charges.push(format!(
                "a {:?} of {} (receipt {}) no sale asked for",
                e.kind, e.requested, e.receipt
            )),
        }
    }
    let (store, rows) = card_sales_journaled(dir, book).await;
    for (id, sale, pays) in rows {
        let sale = sale.map(|s| s.state);
        let plan = book.cards[&id];
        let card: Option<&PaymentRecord> = pays.iter().find(|p| p.method == Method::Card);
        let state = card.map(|p| p.state);
        let mine = charges.get(id.as_str()).cloned().unwrap_or_default();
        if mine.len() > 1 {
            report.double_charges.push(format!(
                "{id}: {} approved charges for one payment: {:?}",
                mine.len(),
                mine.iter().map(|e| (e.kind, e.receipt)).collect::<Vec<_>>()
            ));
        }
        for e in &mine {
            let booked = referring(journal, e.receipt, &[TxKind::BookTotal]).count();
            if booked > 1 {
                report.double_charges.push(format!(
                    "{id}: reservation {} booked {booked} times",
                    e.receipt
                ));
            }
        }
        if state == Some(PaymentState::InDoubt) {
            report.card_in_doubt += 1;
            if !mine.is_empty() {
                report.card_in_doubt_charged += 1;
            }
            report.card_in_doubt_details.push(format!(
                "{id}: {:?} trace_before {:?} reason {:?}, terminal {:?}",
                plan,
                card.and_then(|p| p.trace_before),
                card.and_then(|p| p.reason.clone()),
                mine.iter()
                    .map(|e| (e.kind, e.receipt, e.trace))
                    .collect::<Vec<_>>()
            ));
            continue;
        }
        // (An acknowledged sale that is not completed is already counted lost.)
        let acknowledged = book.acknowledged.contains_key(&id);
        match (sale, state) {
            (Some(SaleState::Completed), Some(PaymentState::Approved | PaymentState::Captured)) => {
                // Exactly one live charge: a payment not reversed, or a reservation not
                // released and booked exactly once (the journal then holds the booking's
                // receipt).
                let released = |e: &JournalEntry| {
                    referring(journal, e.receipt, &[TxKind::PreAuthReversal]).count() > 0
                };
                let live: Vec<&&JournalEntry> = mine
                    .iter()
                    .filter(|e| !e.reversed && !released(e))
                    .collect();
                let bookings: Vec<&JournalEntry> = live
                    .iter()
                    .flat_map(|e| referring(journal, e.receipt, &[TxKind::BookTotal]))
                    .filter(|b| !b.reversed)
                    .collect();
                let booked = bookings.len();
                let receipt = match (plan.reserve, live.as_slice(), bookings.as_slice()) {
                    (false, [e], _) => Some(u32::from(e.receipt)),
                    (true, [_], [b]) => Some(u32::from(b.receipt)),
                    _ => None,
                };
                let receipt_ok =
                    receipt.is_some() && card.and_then(|p| p.terminal.receipt_no) == receipt;
                if !receipt_ok {
                    report.card_lost.push(format!(
                        "{id}: {:?} {:?} journal receipt {:?}, terminal {:?}, bookings {booked}",
                        state,
                        plan,
                        card.and_then(|p| p.terminal.receipt_no),
                        mine.iter()
                            .map(|e| (e.kind, e.receipt, e.reversed))
                            .collect::<Vec<_>>()
                    ));
                } else {
                    report.card_charged += 1;
                }
            }
            (Some(SaleState::Completed), other) => {
                if book.card_shown.contains(&id) && acknowledged {
                    report
                        .card_lost
                        .push(format!("{id}: shown approved, journal says {other:?}"));
                }
                if !mine.is_empty() {
                    report.double_charges.push(format!(
                        "{id}: charged at the terminal, journal says {other:?}"
                    ));
                }
            }
            (Some(SaleState::Cancelled), _) => {
                // Every charge voided, by the command its kind needs, and never booked.
                let void = if plan.reserve {
                    TxKind::PreAuthReversal
                } else {
                    TxKind::Reversal
                };
                for e in &mine {
                    let voided = referring(journal, e.receipt, &[void]).count() == 1;
                    let booked = referring(journal, e.receipt, &[TxKind::BookTotal]).count();
                    let gone = if plan.reserve { e.closed } else { e.reversed };
                    if voided && gone && booked == 0 {
                        report.card_reversed += 1;
                    } else {
                        report.double_charges.push(format!(
                            "{id}: cancelled, but {:?} receipt {} voided={voided} by {void:?}, booked {booked} ({state:?})",
                            e.kind, e.receipt
                        ));
                    }
                }
            }
            // Blocked by another payment in doubt (a gift-card authorization cut by a kill):
            // the card stays as it is until an operator settles the other payment.
            _ if pays.iter().any(|p| p.state == PaymentState::InDoubt) => {
                report.card_blocked_by_other += 1;
            }
            // Open, completing or cancelling (the register gave up on it): reported.
            (other, _) => report.card_unsettled.push(format!(
                "{id}: sale {other:?}, card {state:?}, terminal {:?}",
                mine.iter()
                    .map(|e| (e.kind, e.receipt, e.reversed, e.closed))
                    .collect::<Vec<_>>()
            )),
        }
    }
    cancelled_card_sales_are_cancelled(report, book, &store).await;
}

/// Every card sale the register saw cancelled is cancelled in the journal: one that is not
/// may keep the customer's money.
async fn cancelled_card_sales_are_cancelled(report: &mut Report, book: &Book, store: &Store) {
    for id in &book.cancelled {
        if !book.cards.contains_key(id) {
            continue;
        }
        let state = store
            .read({
                let id = id.clone();
                move |c, _| Ok(sales::find(c, &id)?.map(|s| s.state))
            })
            .await
            .unwrap();
        if state != Some(SaleState::Cancelled) {
            report.double_charges.push(format!(
                "{id}: the register saw it cancelled; journal says {state:?}"
            ));
        }
    }
}

/// The most `purchaseAdd` requests the stand-in held at once: each counts from its arrival
/// until its purchase is recorded, both on the stand-in's clock.
fn most_at_once(ledger: &hardware_sim::pos::Ledger) -> i32 {
    // Only requests whose purchase was recorded: one cut short by a kill never ends.
    let mut marks: Vec<(chrono::DateTime<chrono::Utc>, i32)> = Vec::new();
    for p in &ledger.purchases {
        if let Some(r) = ledger
            .requests
            .iter()
            .find(|r| r.transaction_id.as_deref() == Some(p.transaction_id.as_str()))
        {
            marks.push((r.at, 1));
            marks.push((p.recorded_at, -1));
        }
    }
    marks.sort();
    let (mut now, mut most) = (0, 0);
    for (_, d) in marks {
        now += d;
        most = most.max(now);
    }
    most
}
