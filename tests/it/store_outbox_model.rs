//! Model-based test of the outbox: random enqueue / send / outcome / hold / flush / resolve /
//! crash-reopen against a `VecDeque` model, on a real SQLite file.

use std::collections::VecDeque;

use lane_agent::store::{Db, OutboxKind, OutboxState, StoreOptions, outbox};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Outcome {
    Confirm,
    Reject,
    Unknown,
    NotSent,
    /// The process dies after `sending` was committed, before the answer.
    CrashMidSend,
}

#[derive(Clone, Debug)]
enum Op {
    Enqueue(bool),
    Send(Outcome),
    Hold(usize),
    Flush,
    Resolve(usize, bool),
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(Op::Enqueue),
        4 => prop_oneof![
            Just(Outcome::Confirm),
            Just(Outcome::Reject),
            Just(Outcome::Unknown),
            Just(Outcome::NotSent),
            Just(Outcome::CrashMidSend)
        ]
        .prop_map(Op::Send),
        1 => (0usize..16).prop_map(Op::Hold),
        1 => Just(Op::Flush),
        1 => (0usize..16, any::<bool>()).prop_map(|(i, r)| Op::Resolve(i, r)),
        1 => Just(Op::Crash),
    ]
}

fn reopen(opts: &StoreOptions) -> Db {
    let mut db = Db::open(opts).unwrap();
    db.write(|c, _| outbox::recover_sending(c)).unwrap();
    db
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn outbox_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions::new(dir.path().join("model.db"));
        let mut db = reopen(&opts);
        let mut model: VecDeque<(i64, OutboxKind, OutboxState)> = VecDeque::new();
        for op in ops {
            match op {
                Op::Enqueue(purchase) => {
                    let kind = if purchase { OutboxKind::Purchase } else { OutboxKind::GiftcardCapture };
                    let item = outbox::NewItem { kind, sale_id: None, payment_id: None, amount: None, code_hash: None, payload: "{}".into() };
                    let id = db.write(|c, _| outbox::enqueue(c, &item)).unwrap();
                    prop_assert!(model.back().is_none_or(|l| l.0 < id), "ids grow");
                    model.push_back((id, kind, OutboxState::New));
                }
                Op::Send(outcome) => {
                    let next = db.read(|c, _| outbox::next(c)).unwrap();
                    let expect = model.iter().position(|m| m.2 == OutboxState::New);
                    prop_assert_eq!(next.as_ref().map(|n| n.id), expect.map(|i| model[i].0), "sends in order");
                    let Some(i) = expect else { continue };
                    let id = model[i].0;
                    db.write(|c, _| outbox::transition(c, id, OutboxState::Sending, None)).unwrap();
                    let to = match outcome {
                        Outcome::Confirm => OutboxState::Confirmed,
                        Outcome::Reject => OutboxState::Rejected,
                        Outcome::Unknown if model[i].1.is_idempotent() => OutboxState::New,
                        Outcome::Unknown => OutboxState::InDoubt,
                        Outcome::NotSent => OutboxState::New,
                        Outcome::CrashMidSend => {
                            drop(db);
                            db = reopen(&opts);
                            model[i].2 = if model[i].1.is_idempotent() { OutboxState::New } else { OutboxState::InDoubt };
                            continue;
                        }
                    };
                    db.write(|c, _| outbox::transition(c, id, to, None)).unwrap();
                    model[i].2 = to;
                }
                Op::Hold(i) => {
                    let Some(&(id, _, st)) = model.get(i) else { continue };
                    let r = db.write(|c, _| outbox::transition(c, id, OutboxState::Held, None));
                    if st == OutboxState::New {
                        prop_assert!(r.is_ok());
                        model[i].2 = OutboxState::Held;
                    } else {
                        prop_assert!(r.is_err(), "hold of {st} must fail");
                    }
                }
                Op::Flush => {
                    let held = db.read(|c, _| outbox::list(c, Some(OutboxState::Held))).unwrap();
                    for h in held {
                        db.write(|c, _| outbox::transition(c, h.id, OutboxState::New, None)).unwrap();
                    }
                    for m in model.iter_mut().filter(|m| m.2 == OutboxState::Held) {
                        m.2 = OutboxState::New;
                    }
                }
                Op::Resolve(i, recorded) => {
                    let Some(&(id, _, st)) = model.get(i) else { continue };
                    let to = if recorded { OutboxState::Confirmed } else { OutboxState::New };
                    let r = db.write(|c, _| outbox::transition(c, id, to, None));
                    if matches!(st, OutboxState::InDoubt | OutboxState::Rejected) {
                        prop_assert!(r.is_ok());
                        model[i].2 = to;
                    } else if st.can_go(to) {
                        prop_assert!(r.is_ok());
                        model[i].2 = to;
                    } else {
                        prop_assert!(r.is_err());
                    }
                }
                Op::Crash => {
                    drop(db);
                    db = reopen(&opts);
                }
            }
            let stored: Vec<(i64, OutboxKind, OutboxState)> =
                db.read(|c, _| outbox::list(c, None)).unwrap().into_iter().map(|i| (i.id, i.kind, i.state)).collect();
            prop_assert_eq!(&stored, &model.iter().cloned().collect::<Vec<_>>());
            let counts = db.read(|c, _| outbox::counts(c)).unwrap();
            prop_assert_eq!(counts.in_doubt as usize, model.iter().filter(|m| m.2 == OutboxState::InDoubt).count());
        }
    }
}
