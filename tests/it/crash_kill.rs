//! Crash test (reliability.md T1.1 / T2.1, issues 5 and 10): the agent binary SIGKILLed at
//! random points (some while a card command is at the terminal) while a register sells
//! through its API with gift-card, cash and ZVT card tenders (payments and reservations),
//! restarted on the same store each time, then drained and reconciled with the POS
//! stand-in's ledger and the simulated terminal's journal. Plus the negative controls that
//! prove the harness can fail.
//!
//! The same on a US lane (issue 11, `Lane::PosTerminal`): card tenders go through the
//! processor terminal the POS stand-in drives (`terminalPayment.start/continue`, captured at
//! completion, voided on cancel), some kills while the cardholder is at the terminal, and the
//! stand-in's ledger of terminal payments reconciled (lost, duplicate starts, double
//! captures, in doubt). Its control: `LANE_AGENT_FAULT=resend-pos-start`.
//!
//! The long run (the soak) is the first test with more kills, its summary on stderr:
//! `CRASH_KILLS=2000 cargo test -p lane-agent --test it crash_kill::random_kills -- --nocapture`.
//! Knobs, read here only: `CRASH_KILLS` (default 100; the controls run a fraction of it),
//! `CRASH_SEED`, `CRASH_CARD_KILLS=off|only` (no kill at the terminal / every kill just after
//! a terminal approval), `CRASH_ONE_CPU=1` (the agent on one CPU), `CRASH_VERBOSE=1` (a line
//! per epoch). A control on a long run: the same filter with `crash_kill::control_…`.

use crate::support::crash::{Lane, Options, Report, run, seed_from_env};

fn env_is(name: &str, value: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == value)
}

fn options(kills: usize) -> Options {
    let mut o = Options::new(kills, seed_from_env());
    o.agent_bin = crate::support::agent::agent_bin().into();
    o.card_kills = !env_is("CRASH_CARD_KILLS", "off");
    o.card_kills_only = env_is("CRASH_CARD_KILLS", "only");
    o.one_cpu = env_is("CRASH_ONE_CPU", "1");
    o.verbose = env_is("CRASH_VERBOSE", "1");
    o
}

/// What every random-kill run must show: nothing lost, sent, charged or captured twice, the
/// balances and captures as journaled, and every acknowledged sale recorded or in doubt.
fn assert_reconciled(report: &Report) {
    let pairs = |l: &[(String, usize)]| l.iter().map(|(id, n)| format!("{id} x{n}")).collect();
    let lists: [(&str, Vec<String>); 10] = [
        ("lost", report.lost.clone()),
        ("card lost", report.card_lost.clone()),
        ("duplicates", pairs(&report.duplicates)),
        ("resent", pairs(&report.resent)),
        ("double captures", report.double_captures.clone()),
        (
            "terminal double captures",
            report.terminal_double_captures.clone(),
        ),
        (
            "duplicate terminal payments",
            report.terminal_duplicates.clone(),
        ),
        ("double charges", report.double_charges.clone()),
        ("balance mismatches", report.balance_mismatches.clone()),
        ("capture mismatches", report.capture_mismatches.clone()),
    ];
    for (what, list) in lists {
        assert!(list.is_empty(), "{what}: {list:?}\n{}", report.summary());
    }
    assert_eq!(
        report.recorded + report.in_doubt,
        report.acknowledged,
        "{}",
        report.summary()
    );
}

fn kills(default: usize) -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_lose_nothing_and_duplicate_nothing() {
    let report = run(options(kills(100))).await;
    assert_eq!(report.kills, kills(100));
    assert!(report.acknowledged > 0, "{}", report.summary());
    assert_reconciled(&report);
    // Card tenders against the simulated terminal's journal (in `assert_reconciled`): every
    // card tender of a completed sale charged once (a reservation booked once), no payment
    // charged twice, no cancelled sale left charged. Payments in doubt are counted.
    assert!(
        report.card_payments > 0 && report.reservations > 0 && report.card_charged > 0,
        "the stream exercised no card tender: {}",
        report.summary()
    );
    assert!(
        report.kills_during_card > 0 && report.card_reversed > 0,
        "no kill at the terminal or no reversal: {}",
        report.summary()
    );
    // The forwarder's window was used: purchases of different sales at the POS together.
    assert!(
        report.purchases_at_once > 1,
        "never two purchases in flight (forward_window {}): {}",
        options(1).forward_window,
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_on_purchases_end_in_doubt_never_resent() {
    let mut opts = options(kills(100) / 4);
    opts.drop_purchases = 5;
    let report = run(opts).await;
    assert!(report.clean(), "{}", report.summary());
    // The dropped answers left items in doubt; they were reported, not resent or lost.
    assert!(report.outbox_in_doubt > 0, "{}", report.summary());
    assert_eq!(
        report.recorded + report.in_doubt,
        report.acknowledged,
        "{}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_resend_in_doubt_is_reported_as_duplicates() {
    let mut opts = options(kills(100) / 4);
    opts.agent_fault = Some("resend-in-doubt");
    opts.drop_purchases = 5;
    let report = run(opts).await;
    assert!(
        !report.duplicates.is_empty() && !report.clean(),
        "the broken build duplicated nothing: the harness cannot see duplicates\n{}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_answer_before_commit_is_reported_as_loss() {
    // Every kill lands on the status line of a 2xx `complete`; the register does not replay a
    // sale it saw acknowledged, so only the journal can keep it.
    let mut opts = options(kills(100) / 12);
    opts.agent_fault = Some("answer-before-commit");
    opts.kill_at_acks_only = true;
    let report = run(opts).await;
    assert!(report.kills_after_ack > 0, "{}", report.summary());
    assert!(
        !report.lost.is_empty() && !report.clean(),
        "the broken build lost nothing: the harness cannot see a lost sale\n{}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_resend_card_is_reported_as_double_charge() {
    // Every kill lands while the customer is at the terminal; the broken build's recovery
    // sends the payment again instead of asking the terminal what happened.
    let mut opts = options(kills(100) / 8);
    opts.agent_fault = Some("resend-card");
    opts.card_kills_only = true;
    let report = run(opts).await;
    assert!(report.kills_during_card > 0, "{}", report.summary());
    assert!(
        !report.double_charges.is_empty() && !report.clean(),
        "the broken build charged nothing twice: the harness cannot see a double charge\n{}",
        report.summary()
    );
}

/// Kills of the US-lane test by default: a card payment there waits for the stand-in's
/// cardholder, so a kill costs more than on the ZVT lane (60 take about 20 s here).
const US_KILLS: usize = 60;

fn us_options(kills: usize) -> Options {
    let mut o = options(kills);
    o.lane = Lane::PosTerminal;
    o
}

/// `CRASH_KILLS` scales the US-lane test like the first one (60 per 100).
fn us_kills() -> usize {
    (kills(100) * US_KILLS / 100).max(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_on_a_us_lane_lose_nothing_and_capture_nothing_twice() {
    let report = run(us_options(us_kills())).await;
    assert_eq!(report.kills, us_kills());
    assert!(report.acknowledged > 0, "{}", report.summary());
    // With the POS-terminal ledger: no refNo started twice, nothing captured twice, no
    // cancelled sale (or sale journaled as unpaid by card) left holding the customer's money.
    assert_reconciled(&report);
    assert!(
        report.card_payments > 0 && report.card_charged > 0 && report.card_reversed > 0,
        "the stream captured or voided no terminal payment: {}",
        report.summary()
    );
    // Kills between `start` and the final `continue`: the restart resumed the payment from
    // its journaled token or the lookup.
    assert!(
        report.kills_during_card > 0 && report.kills_mid_payment > 0,
        "no kill while a cardholder was at the terminal: {}",
        report.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_resend_pos_start_is_reported_as_duplicate_terminal_payments() {
    // Every kill lands at the terminal; the broken build's recovery starts the payment it
    // finds mid-flight again (same refNo) instead of resuming its token or looking it up.
    let mut opts = us_options((us_kills() / 4).max(4));
    opts.agent_fault = Some("resend-pos-start");
    opts.card_kills_only = true;
    let report = run(opts).await;
    assert!(report.kills_during_card > 0, "{}", report.summary());
    assert!(
        !report.terminal_duplicates.is_empty() && !report.clean(),
        "the broken build started nothing twice: the harness cannot see a duplicate start\n{}",
        report.summary()
    );
}
