//! Fakes of the engine's ports for engine scenarios driven through `Engine` directly: a POS
//! with a ledger and faults placed on one call (apply, then lose the answer), and a terminal
//! that approves. `engine_exactly_once` runs on both; `engine_pos_sim` pairs the real POS
//! stand-in (`hardware_sim::pos`) with the fake terminal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lane_agent::engine::ports::*;
use lane_agent::engine::{Engine, EngineConfig, OfflinePolicy, Ports, UnknownCard, simple_backoff};
use lane_agent::store::{Money, Store, StoreOptions};
use secrecy::{ExposeSecret, SecretString};

pub fn m(s: &str) -> Money {
    s.parse().unwrap()
}

#[derive(Default)]
pub struct Ledger {
    pub cards: HashMap<String, Money>,
    /// id -> (code, amount, status)
    pub trans: HashMap<String, (String, Money, &'static str)>,
    pub purchases: Vec<PurchaseInput>,
    pub uses: Vec<(String, Money, String)>,
    pub next: u64,
}

#[derive(Default, Clone)]
pub struct Faults {
    /// Nothing reaches the server.
    pub down: bool,
    /// purchaseAdd: apply, then lose the answer.
    pub drop_purchase_answer: bool,
    /// giftcardTransAdd USE authorize: apply, then lose the answer.
    pub drop_authorize_answer: bool,
    /// purchaseAdd: apply, then never answer.
    pub hang_purchase: bool,
}

#[derive(Default, Clone)]
pub struct FakePos {
    pub ledger: Arc<Mutex<Ledger>>,
    pub faults: Arc<Mutex<Faults>>,
}

impl FakePos {
    pub fn with_card(self, code: &str, balance: &str) -> Self {
        self.ledger
            .lock()
            .unwrap()
            .cards
            .insert(code.into(), m(balance));
        self
    }
    pub fn set(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.faults.lock().unwrap());
    }
    fn faults(&self) -> Faults {
        self.faults.lock().unwrap().clone()
    }
    pub fn balance_of(&self, code: &str) -> Money {
        self.ledger.lock().unwrap().cards[code]
    }
    pub fn purchase_count(&self, transaction_id: &str) -> usize {
        self.ledger
            .lock()
            .unwrap()
            .purchases
            .iter()
            .filter(|p| p.transaction_id == transaction_id)
            .count()
    }
}

fn down() -> HostError {
    HostError::NotSent("connection refused".into())
}

#[async_trait]
impl GiftcardHost for FakePos {
    async fn balance(&self, card: &CardSecret) -> Result<GiftcardBalance, HostError> {
        if self.faults().down {
            return Err(down());
        }
        let l = self.ledger.lock().unwrap();
        l.cards
            .get(card.code.expose_secret())
            .map(|b| GiftcardBalance { balance: *b })
            .ok_or(HostError::Declined(Decline::CodeNotFound))
    }
    async fn authorize_use(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        let f = self.faults();
        if f.down {
            return Err(down());
        }
        let mut l = self.ledger.lock().unwrap();
        let code = req.card.code.expose_secret().to_owned();
        let bal = *l
            .cards
            .get(&code)
            .ok_or(HostError::Declined(Decline::CodeNotFound))?;
        if bal < req.amount {
            return Err(HostError::Declined(Decline::InsufficientBalance));
        }
        l.cards.insert(code.clone(), bal - req.amount);
        l.next += 1;
        let id = format!("GT{}", l.next);
        l.trans.insert(id.clone(), (code, req.amount, "AUTHORIZED"));
        if f.drop_authorize_answer {
            return Err(HostError::OutcomeUnknown("answer lost".into()));
        }
        Ok(GiftcardTrans {
            id,
            balance: Some(bal - req.amount),
        })
    }
    async fn use_now(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        if self.faults().down {
            return Err(down());
        }
        let mut l = self.ledger.lock().unwrap();
        let code = req.card.code.expose_secret().to_owned();
        let bal = *l
            .cards
            .get(&code)
            .ok_or(HostError::Declined(Decline::CodeNotFound))?;
        if bal < req.amount {
            return Err(HostError::Declined(Decline::InsufficientBalance));
        }
        l.cards.insert(code.clone(), bal - req.amount);
        l.uses.push((code, req.amount, req.ref_no.clone()));
        l.next += 1;
        Ok(GiftcardTrans {
            id: format!("GT{}", l.next),
            balance: Some(bal - req.amount),
        })
    }
    async fn capture(&self, id: &str) -> Result<GiftcardTrans, HostError> {
        if self.faults().down {
            return Err(down());
        }
        let mut l = self.ledger.lock().unwrap();
        let t = l
            .trans
            .get_mut(id)
            .ok_or(HostError::Other("no such transaction".into()))?;
        match t.2 {
            "AUTHORIZED" | "COMPLETED" => t.2 = "COMPLETED",
            _ => return Err(HostError::Declined(Decline::TransactionNotAuthorized)),
        }
        Ok(GiftcardTrans {
            id: id.into(),
            balance: None,
        })
    }
    async fn cancel(&self, id: &str) -> Result<GiftcardTrans, HostError> {
        if self.faults().down {
            return Err(down());
        }
        let mut l = self.ledger.lock().unwrap();
        let (code, amount, status) = l
            .trans
            .get(id)
            .cloned()
            .ok_or(HostError::Other("no such transaction".into()))?;
        match status {
            "AUTHORIZED" => {
                *l.cards.get_mut(&code).unwrap() = l.cards[&code] + amount;
                l.trans.get_mut(id).unwrap().2 = "CANCELLED";
            }
            "CANCELLED" => {}
            _ => return Err(HostError::Declined(Decline::TransactionNotAuthorized)),
        }
        Ok(GiftcardTrans {
            id: id.into(),
            balance: None,
        })
    }
    async fn create(&self, card: &CardSecret) -> Result<String, HostError> {
        let mut l = self.ledger.lock().unwrap();
        l.cards
            .insert(card.code.expose_secret().to_owned(), Money::ZERO);
        l.next += 1;
        Ok(format!("CARD{}", l.next))
    }
    async fn add(&self, req: &GiftcardTransRequest) -> Result<GiftcardTrans, HostError> {
        let mut l = self.ledger.lock().unwrap();
        let code = req.card.code.expose_secret().to_owned();
        let bal = *l
            .cards
            .get(&code)
            .ok_or(HostError::Declined(Decline::CodeNotFound))?;
        l.cards.insert(code, bal + req.amount);
        l.next += 1;
        Ok(GiftcardTrans {
            id: format!("GT{}", l.next),
            balance: Some(bal + req.amount),
        })
    }
    async fn environment(&self) -> Result<(), HostError> {
        if self.faults().down {
            Err(down())
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl PurchaseSink for FakePos {
    async fn purchase_add(&self, p: &PurchaseInput) -> Result<String, SinkError> {
        let f = self.faults();
        if f.down {
            return Err(SinkError::NotSent {
                message: "connection refused".into(),
                retry_after: None,
            });
        }
        let n = {
            let mut l = self.ledger.lock().unwrap();
            l.purchases.push(p.clone());
            l.purchases.len()
        };
        if f.hang_purchase {
            std::future::pending::<()>().await;
        }
        if f.drop_purchase_answer {
            return Err(SinkError::OutcomeUnknown("reset after write".into()));
        }
        Ok(format!("PUR{n}"))
    }
}

/// A terminal that approves everything with increasing receipt numbers.
#[derive(Default, Clone)]
pub struct FakeTerminal {
    pub receipts: Arc<Mutex<u32>>,
    pub last: Arc<Mutex<Option<TerminalOutcome>>>,
    /// What the customer types at a numeric prompt (`None`: cancels).
    pub pin: Arc<Mutex<Option<String>>>,
    /// How many numeric prompts were shown.
    pub prompts: Arc<Mutex<u32>>,
}

impl FakeTerminal {
    fn ok(&self, amount: Money) -> TerminalOutcome {
        let mut r = self.receipts.lock().unwrap();
        *r += 1;
        let o = TerminalOutcome {
            approved: true,
            amount,
            receipt_no: Some(*r),
            trace_no: Some(*r + 1000),
            masked_pan: Some("****1111".into()),
            card_name: Some("VISA".into()),
            result_text: None,
            receipt_lines: vec![],
        };
        *self.last.lock().unwrap() = Some(o.clone());
        o
    }
}

#[async_trait]
impl PaymentTerminal for FakeTerminal {
    async fn authorize(&self, r: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        Ok(self.ok(r.amount))
    }
    async fn reserve(&self, r: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        Ok(self.ok(r.amount))
    }
    async fn book_total(&self, _: u32, a: Money) -> Result<TerminalOutcome, TerminalError> {
        Ok(self.ok(a))
    }
    async fn reverse(&self, _: u32, _: bool) -> Result<TerminalOutcome, TerminalError> {
        Ok(self.ok(Money::ZERO))
    }
    async fn last_trace(&self) -> Option<u32> {
        self.last.lock().unwrap().as_ref().and_then(|o| o.trace_no)
    }
    async fn recover(&self, i: &RecoveryIntent) -> Result<Recovered, TerminalError> {
        Ok(match self.last.lock().unwrap().clone() {
            Some(o) if o.amount == i.amount && o.trace_no != i.trace_before => {
                Recovered::Approved(o)
            }
            Some(_) => Recovered::NotExecuted("the last transaction is another".into()),
            None => Recovered::Unknown("no transaction yet".into()),
        })
    }
    async fn numeric_input(&self, _: &str, _: u8) -> Result<Option<SecretString>, TerminalError> {
        *self.prompts.lock().unwrap() += 1;
        Ok(self.pin.lock().unwrap().clone().map(SecretString::from))
    }
}

pub fn policy() -> OfflinePolicy {
    OfflinePolicy {
        enabled: true,
        max_transaction_amount: m("50"),
        max_total_amount: m("500"),
        max_count: 100,
        max_age_hours: 24,
        unknown_card: UnknownCard::Refuse,
    }
}

pub async fn engine(
    path: &std::path::Path,
    pos: &FakePos,
    term: &FakeTerminal,
    offline: OfflinePolicy,
) -> Engine {
    let store = Store::open(StoreOptions::new(path)).await.unwrap();
    let ms = std::time::Duration::from_millis;
    Engine::new(
        store,
        Ports {
            giftcards: Arc::new(pos.clone()),
            purchases: Arc::new(pos.clone()),
            terminal: Arc::new(term.clone()),
        },
        EngineConfig {
            store_code: "DALLAS".into(),
            register_code: "LANE01".into(),
            offline,
            forward_backoff: simple_backoff(ms(1), ms(8)),
            probe_backoff: simple_backoff(ms(1), ms(8)),
            fault: None,
        },
    )
}
