//! The windowed drain against a purchase sink that holds each request until the test lets it
//! answer, over a real store: the window bound, one sale at a time, items of other kinds
//! alone and in order, `sending` durable before each request, and nothing in doubt re-sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore};

use super::super::ports::*;
use super::super::*;
use super::Drained;
use crate::domain::{OutboxKind, OutboxState};
use crate::store::outbox::{self, NewItem};
use crate::store::{StoreError, StoreOptions};

const WAIT: Duration = Duration::from_secs(10);

fn purchase(tid: &str) -> PurchaseInput {
    let one = rust_decimal::Decimal::ONE;
    let zero = rust_decimal::Decimal::ZERO;
    PurchaseInput {
        transaction_id: tid.into(),
        store_code: "DALLAS".into(),
        purchased_on: "2026-11-28T10:00:00".into(),
        pay_amount: one,
        sale_discount_amount: zero,
        item_discount_amount: zero,
        sub_total: one,
        refund_amount: zero,
        tax_amount: zero,
        line_items: vec![PurchaseLine {
            line_number: 1,
            sku: "ITEM-001".into(),
            is_refund: false,
            unit_price: one,
            ext_price: one,
            item_discount_amount: zero,
            sale_discount_amount: zero,
            quantity: one,
            uom: "EA".into(),
        }],
        channel: None,
        member_id: None,
        order_type: None,
        pay_method: Some("CASH".into()),
        customer_id: None,
        email: None,
    }
}

/// What the sink answers for a transaction id (default: recorded).
#[derive(Clone)]
enum Answer {
    NotSentOnce,
    Lost,
}

#[derive(Default)]
struct Seen {
    in_flight: usize,
    max_in_flight: usize,
    /// Every request, in arrival order.
    arrivals: Vec<String>,
    /// Requests that arrived while their item was not durably `sending`.
    not_sending: Vec<String>,
    /// Requests of one sale that overlapped.
    same_sale_overlap: Vec<String>,
    busy_sales: Vec<String>,
}

struct Sink {
    store: Store,
    seen: Mutex<Seen>,
    arrived: Notify,
    /// `None`: answer at once; otherwise each request takes a permit first.
    gate: Option<Semaphore>,
    script: Mutex<HashMap<String, Answer>>,
}

impl Sink {
    fn new(store: Store, gated: bool) -> Arc<Sink> {
        Arc::new(Sink {
            store,
            seen: Mutex::new(Seen::default()),
            arrived: Notify::new(),
            gate: gated.then(|| Semaphore::new(0)),
            script: Mutex::new(HashMap::new()),
        })
    }

    fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap())
    }

    /// Waits until `n` requests are held at once.
    async fn held(&self, n: usize) {
        tokio::time::timeout(WAIT, async {
            loop {
                let notified = self.arrived.notified();
                if self.seen(|s| s.in_flight) >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} requests never were in flight together"));
    }
}

/// The sale of a transaction id `S<sale>-<n>`.
fn sale_of(tid: &str) -> String {
    tid.split('-').next().unwrap_or_default().to_owned()
}

#[async_trait]
impl PurchaseSink for Sink {
    async fn purchase_add(&self, p: &PurchaseInput) -> Result<String, SinkError> {
        let tid = p.transaction_id.clone();
        let t2 = tid.clone();
        let state = self
            .store
            .read(move |c, _| {
                Ok(outbox::list(c, None)?
                    .into_iter()
                    .find(|i| i.payload.contains(&format!("\"{t2}\"")))
                    .map(|i| i.state))
            })
            .await
            .unwrap();
        {
            let mut s = self.seen.lock().unwrap();
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            s.arrivals.push(tid.clone());
            if state != Some(OutboxState::Sending) {
                s.not_sending.push(tid.clone());
            }
            let sale = sale_of(&tid);
            if s.busy_sales.contains(&sale) {
                s.same_sale_overlap.push(tid.clone());
            }
            s.busy_sales.push(sale);
        }
        self.arrived.notify_waiters();
        if let Some(g) = &self.gate {
            g.acquire().await.unwrap().forget();
        }
        let answer = self.script.lock().unwrap().remove(&tid);
        {
            let mut s = self.seen.lock().unwrap();
            s.in_flight -= 1;
            let sale = sale_of(&tid);
            if let Some(at) = s.busy_sales.iter().position(|b| *b == sale) {
                s.busy_sales.remove(at);
            }
        }
        match answer {
            None => Ok(format!("POS-{tid}")),
            Some(Answer::NotSentOnce) => Err(SinkError::NotSent {
                message: "connection refused".into(),
                retry_after: None,
            }),
            Some(Answer::Lost) => Err(SinkError::OutcomeUnknown("reset".into())),
        }
    }
}

struct H {
    engine: Engine,
    sink: Arc<Sink>,
    _dir: tempfile::TempDir,
}

/// An engine over a fresh store holding `items` (kind, transaction id), in this order.
async fn harness(items: &[(OutboxKind, &str)], window: usize, gated: bool) -> H {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions::new(dir.path().join("agent.db")))
        .await
        .unwrap();
    let items: Vec<(OutboxKind, String)> =
        items.iter().map(|(k, t)| (*k, (*t).to_owned())).collect();
    store
        .write(move |c, _| {
            for (kind, tid) in items {
                let payload = if kind == OutboxKind::Purchase {
                    serde_json::to_string(&purchase(&tid))
                        .map_err(|e| StoreError::Data(e.to_string()))?
                } else {
                    // A refund whose record is gone: rejected without a request.
                    format!("{{\"refund_id\":\"{tid}\"}}")
                };
                outbox::enqueue(
                    c,
                    &NewItem {
                        kind,
                        sale_id: Some(sale_of(&tid)),
                        payment_id: None,
                        amount: None,
                        code_hash: None,
                        payload,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let sink = Sink::new(store.clone(), gated);
    let ms = Duration::from_millis;
    let engine = Engine::new(
        store,
        Ports {
            // No gift-card call is expected: the refund item is rejected without one.
            giftcards: Arc::new(MockGiftcardHost::new()),
            purchases: sink.clone(),
            terminal: Arc::new(super::super::adapters::NoZvtTerminal),
        },
        EngineConfig {
            store_code: "DALLAS".into(),
            register_code: "LANE01".into(),
            offline: OfflinePolicy::disabled(),
            forward_backoff: simple_backoff(ms(1), ms(4)),
            probe_backoff: simple_backoff(ms(1), ms(4)),
            fault: None,
        },
    );
    engine.forwarder().set_window(window);
    H {
        engine,
        sink,
        _dir: dir,
    }
}

async fn states(e: &Engine) -> Vec<(i64, OutboxState, i64)> {
    e.forwarder()
        .list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.state, i.attempt))
        .collect()
}

fn purchases(n: usize) -> Vec<(OutboxKind, String)> {
    (0..n)
        .map(|i| (OutboxKind::Purchase, format!("S{i}-1")))
        .collect()
}

fn refs(v: &[(OutboxKind, String)]) -> Vec<(OutboxKind, &str)> {
    v.iter().map(|(k, t)| (*k, t.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_fills_with_other_sales_and_never_overflows() {
    let items = purchases(12);
    let h = harness(&refs(&items), 4, true).await;
    let engine = h.engine.clone();
    let drain = tokio::spawn(async move { engine.forwarder().drain_outbox().await });
    // Three full windows, answered one window at a time.
    for _ in 0..3 {
        h.sink.held(4).await;
        h.sink.gate.as_ref().unwrap().add_permits(4);
    }
    let drained = tokio::time::timeout(WAIT, drain)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        drained,
        Drained {
            done: 12,
            stopped: false
        }
    );
    h.sink.seen(|s| {
        assert_eq!(s.max_in_flight, 4, "the window is 4");
        assert!(
            s.not_sending.is_empty(),
            "sent before durably sending: {:?}",
            s.not_sending
        );
        assert_eq!(
            s.arrivals.len(),
            12,
            "each purchase sent once: {:?}",
            s.arrivals
        );
    });
    assert!(
        states(&h.engine)
            .await
            .iter()
            .all(|(_, s, a)| *s == OutboxState::Confirmed && *a == 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_one_sends_one_after_the_other_in_id_order() {
    let items = purchases(6);
    let h = harness(&refs(&items), 1, false).await;
    let drained = h.engine.forwarder().drain_outbox().await.unwrap();
    assert_eq!(drained.done, 6);
    h.sink.seen(|s| {
        assert_eq!(s.max_in_flight, 1);
        let want: Vec<String> = items.iter().map(|(_, t)| t.clone()).collect();
        assert_eq!(s.arrivals, want);
        assert!(s.not_sending.is_empty());
    });
    // Nothing claimed is left behind: no item stays `sending`, none counted an extra attempt.
    assert!(
        states(&h.engine)
            .await
            .iter()
            .all(|(_, s, a)| *s == OutboxState::Confirmed && *a == 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_goes_one_purchase_at_a_time_and_other_kinds_go_alone_in_order() {
    let items = vec![
        (OutboxKind::Purchase, "S1-1".to_owned()),
        (OutboxKind::Purchase, "S2-1".to_owned()),
        (OutboxKind::Purchase, "S1-2".to_owned()),
        (OutboxKind::GiftcardRefund, "S3-r".to_owned()),
        (OutboxKind::Purchase, "S4-1".to_owned()),
        (OutboxKind::Purchase, "S5-1".to_owned()),
    ];
    let h = harness(&refs(&items), 8, false).await;
    let mut events = h.engine.subscribe();
    let drained = h.engine.forwarder().drain_outbox().await.unwrap();
    assert_eq!(drained.done, 6);
    h.sink.seen(|s| {
        assert!(s.same_sale_overlap.is_empty(), "{:?}", s.same_sale_overlap);
        assert_eq!(s.arrivals.len(), 5);
    });
    // The event stream: every item before the refund (id 4) is finished before the refund is
    // claimed, and nothing after it is claimed before it is finished.
    let mut log = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let EngineEvent::Outbox { id, state, .. } = ev {
            log.push((id, state));
        }
    }
    let at = |id: i64, st: OutboxState| {
        log.iter()
            .position(|e| *e == (id, st))
            .unwrap_or_else(|| panic!("no {st:?} for {id} in {log:?}"))
    };
    let refund_claimed = at(4, OutboxState::Sending);
    let refund_done = at(4, OutboxState::Rejected);
    for id in 1..=3 {
        assert!(at(id, OutboxState::Confirmed) < refund_claimed, "{log:?}");
    }
    for id in 5..=6 {
        assert!(at(id, OutboxState::Sending) > refund_done, "{log:?}");
    }
    // S1's second purchase is claimed only after its first is recorded.
    assert!(
        at(3, OutboxState::Sending) > at(1, OutboxState::Confirmed),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_sent_stops_the_drain_and_in_doubt_is_never_sent_again() {
    let items = purchases(10);
    let h = harness(&refs(&items), 4, false).await;
    {
        let mut script = h.sink.script.lock().unwrap();
        // Item 2 and item 5.
        script.insert("S1-1".into(), Answer::Lost);
        script.insert("S4-1".into(), Answer::NotSentOnce);
    }
    let first = h.engine.forwarder().drain_outbox().await.unwrap();
    assert!(first.stopped, "{first:?}");
    let after_stop = states(&h.engine).await;
    assert_eq!(after_stop[1].1, OutboxState::InDoubt);
    assert_eq!(after_stop[4].1, OutboxState::New);
    assert!(
        after_stop
            .iter()
            .all(|(_, s, _)| *s != OutboxState::Sending),
        "a claimed item was left sending: {after_stop:?}"
    );
    // Items given back unsent carry no attempt.
    for (id, s, a) in &after_stop {
        if *s == OutboxState::New && *id != 5 {
            assert_eq!(*a, 0, "{after_stop:?}");
        }
    }
    let second = h.engine.forwarder().drain_outbox().await.unwrap();
    assert!(!second.stopped);
    let end = states(&h.engine).await;
    for (id, s, _) in &end {
        let want = if *id == 2 {
            OutboxState::InDoubt
        } else {
            OutboxState::Confirmed
        };
        assert_eq!(*s, want, "{end:?}");
    }
    h.sink.seen(|s| {
        let count = |t: &str| s.arrivals.iter().filter(|a| *a == t).count();
        assert_eq!(count("S1-1"), 1, "the in-doubt purchase was sent again");
        assert_eq!(count("S4-1"), 2, "the unsent purchase is sent again");
        for (_, t) in &items {
            if t != "S4-1" {
                assert_eq!(count(t), 1, "{t}: {:?}", s.arrivals);
            }
        }
        assert!(s.not_sending.is_empty());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_records_what_is_in_flight_and_gives_back_the_rest() {
    let items = purchases(8);
    let h = harness(&refs(&items), 2, true).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let engine = h.engine.clone();
    let token = stop.clone();
    let task = tokio::spawn(async move { engine.forwarder().run(token).await });
    h.sink.held(2).await;
    stop.cancel();
    h.sink.gate.as_ref().unwrap().add_permits(2);
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    let end = states(&h.engine).await;
    let confirmed = end
        .iter()
        .filter(|(_, s, _)| *s == OutboxState::Confirmed)
        .count();
    assert_eq!(confirmed, 2, "{end:?}");
    assert!(
        end.iter()
            .filter(|(_, s, _)| *s != OutboxState::Confirmed)
            .all(|(_, s, a)| *s == OutboxState::New && *a == 0),
        "{end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_that_must_go_alone_is_not_forgotten_when_answers_race_the_commit() {
    // Answers released two at a time arrive while the commit that found the refund not yet
    // alone is running; the drain must still send it and everything after it.
    for round in 0..10 {
        let items = vec![
            (OutboxKind::Purchase, "S1-1".to_owned()),
            (OutboxKind::Purchase, "S2-1".to_owned()),
            (OutboxKind::GiftcardRefund, "S3-r".to_owned()),
            (OutboxKind::Purchase, "S4-1".to_owned()),
            (OutboxKind::Purchase, "S5-1".to_owned()),
        ];
        let h = harness(&refs(&items), 2, true).await;
        let engine = h.engine.clone();
        let drain = tokio::spawn(async move { engine.forwarder().drain_outbox().await });
        h.sink.held(2).await;
        h.sink.gate.as_ref().unwrap().add_permits(2);
        h.sink.held(2).await;
        h.sink.gate.as_ref().unwrap().add_permits(2);
        let drained = tokio::time::timeout(WAIT, drain)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            drained.done,
            5,
            "round {round}: {:?}",
            states(&h.engine).await
        );
    }
}
