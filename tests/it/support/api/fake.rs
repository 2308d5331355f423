//! An in-memory backend that keeps the contract's rules (idempotent ids, exact totals,
//! partial approvals, complete/cancel conflicts), so the HTTP mapping can be tested honestly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use lane_agent::api::types::*;
use lane_agent::api::{BackendError, LaneBackend, Resource};
use rust_decimal::{Decimal, RoundingStrategy, dec};
use tokio::sync::broadcast;

struct Card {
    balance: Decimal,
    pin: Option<String>,
}

struct FakeSale {
    request: OpenSaleRequest,
    detail: SaleDetail,
}

struct Payment {
    sale_id: SaleId,
    request: AddPaymentRequest,
    result: PaymentResult,
}

struct Load {
    activate: bool,
    request: GiftCardFundRequest,
    result: GiftCardFunded,
}

#[derive(Default)]
struct State {
    next: u64,
    sales: HashMap<SaleId, FakeSale>,
    payments: HashMap<PaymentId, Payment>,
    cards: HashMap<String, Card>,
    /// POS card ids to current codes.
    card_ids: HashMap<String, String>,
    loads: HashMap<PaymentId, Load>,
    outbox: Vec<OutboxItem>,
    exceptions: Vec<ExceptionView>,
}

impl State {
    fn next_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:06}", self.next)
    }
}

/// The fake engine.
pub struct FakeBackend {
    state: Mutex<State>,
    events: broadcast::Sender<ApiEvent>,
    mutations: AtomicUsize,
}

impl Default for FakeBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeBackend {
    /// A backend with two gift cards: `6006491111111111` (id `GC1`, 50.00, no PIN) and
    /// `6006492222222222` (id `GC2`, 20.00, PIN 902714).
    pub fn new() -> Self {
        let mut state = State::default();
        state.cards.insert(
            "6006491111111111".into(),
            Card {
                balance: dec!(50.00),
                pin: None,
            },
        );
        state.cards.insert(
            "6006492222222222".into(),
            Card {
                balance: dec!(20.00),
                pin: Some("902714".into()),
            },
        );
        state
            .card_ids
            .insert("GC1".into(), "6006491111111111".into());
        state
            .card_ids
            .insert("GC2".into(), "6006492222222222".into());
        Self {
            state: Mutex::new(state),
            events: broadcast::channel(64).0,
            mutations: AtomicUsize::new(0),
        }
    }

    /// How many mutating calls reached the backend.
    pub fn mutations(&self) -> usize {
        self.mutations.load(Ordering::SeqCst)
    }

    /// A card's balance, for assertions.
    pub fn card_balance(&self, code: &str) -> Option<Decimal> {
        self.state
            .lock()
            .unwrap()
            .cards
            .get(code)
            .map(|c| c.balance)
    }

    /// The current code of the card with POS id `card_id`, for assertions.
    pub fn card_code(&self, card_id: &str) -> Option<String> {
        self.state.lock().unwrap().card_ids.get(card_id).cloned()
    }

    /// Publishes an event as the engine would.
    pub fn emit(&self, event: ApiEvent) {
        let _ = self.events.send(event);
    }

    /// Puts an outbox item in `state`, as the forwarder would (e.g. in doubt after a
    /// timeout). Panics if there is no such item.
    pub fn set_outbox_state(&self, id: &str, state: OutboxState) {
        let mut s = self.state.lock().unwrap();
        let item = s
            .outbox
            .iter_mut()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no outbox item {id}"));
        item.state = state;
    }

    /// Raises an exception as the engine would (e.g. a payment in doubt); returns its id.
    pub fn raise_exception(&self, kind: &str, payment_id: Option<&str>) -> String {
        let mut s = self.state.lock().unwrap();
        let id = (s.exceptions.len() + 1).to_string();
        s.exceptions.push(ExceptionView {
            id: id.clone(),
            kind: kind.to_owned(),
            sale_id: None,
            payment_id: payment_id.map(str::to_owned),
            outbox_id: None,
            amount: Some(dec!(12.00)),
            code: None,
            reason: "outcome unknown".into(),
            created_at: Utc::now(),
            acknowledged_at: None,
            note: None,
            resolution: None,
        });
        id
    }

    /// An outbox item's state, for assertions.
    pub fn outbox_state(&self, id: &str) -> Option<OutboxState> {
        let s = self.state.lock().unwrap();
        s.outbox.iter().find(|i| i.id == id).map(|i| i.state)
    }

    fn mutated(&self) {
        self.mutations.fetch_add(1, Ordering::SeqCst);
    }

    fn sale_event(&self, d: &SaleDetail) {
        self.emit(ApiEvent::Sale {
            sale_id: d.sale_id.clone(),
            state: d.state,
            total: Some(d.total),
            due: Some(d.due),
        });
    }
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn conflict_reuse(what: &str) -> BackendError {
    BackendError::conflict(
        "idempotency_conflict",
        format!("This {what} id was used with a different request."),
    )
}

impl LaneBackend for FakeBackend {
    async fn status(&self) -> Result<Status, BackendError> {
        let s = self.state.lock().unwrap();
        let count = |st| s.outbox.iter().filter(|i| i.state == st).count() as u64;
        Ok(Status {
            link: LinkState::Online,
            offline_since: None,
            outbox: OutboxCounts {
                pending: count(OutboxState::Pending),
                in_doubt: count(OutboxState::InDoubt),
                failed: count(OutboxState::Failed),
                held: count(OutboxState::Held),
            },
            devices: vec![
                DeviceStatus {
                    name: "terminal".into(),
                    kind: "zvt".into(),
                    state: DeviceState::Ready,
                },
                DeviceStatus {
                    name: "msr".into(),
                    kind: "serial-msr".into(),
                    state: DeviceState::Disconnected,
                },
            ],
            offline_budget: OfflineBudget {
                enabled: true,
                max_transaction_amount: dec!(50.00),
                remaining_amount: dec!(500.00),
                remaining_count: 100,
                used_amount: Decimal::ZERO,
                used_count: 0,
                oldest_age_secs: None,
                expires_in_secs: None,
            },
            open_exceptions: 0,
            payments_in_doubt: 0,
            storage_error: None,
        })
    }

    async fn open_sale(&self, req: OpenSaleRequest) -> Result<SaleSummary, BackendError> {
        self.mutated();
        let mut s = self.state.lock().unwrap();
        if let Some(id) = &req.sale_id
            && let Some(existing) = s.sales.get(id)
        {
            if existing.request != req {
                return Err(conflict_reuse("sale"));
            }
            let d = &existing.detail;
            return Ok(SaleSummary {
                sale_id: d.sale_id.clone(),
                total: d.total,
                due: d.due,
                state: d.state,
            });
        }
        let sale_id = match &req.sale_id {
            Some(id) => id.clone(),
            None => SaleId::parse(&s.next_id("S")).expect("generated ids are valid"),
        };
        let lines: Vec<SaleLine> = req
            .lines
            .iter()
            .map(|l| SaleLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                uom: l.uom.clone(),
                amount: cents(l.quantity * l.unit_price),
            })
            .collect();
        let tax = req.tax.unwrap_or(Decimal::ZERO);
        let total = lines.iter().map(|l| l.amount).sum::<Decimal>() + tax;
        let detail = SaleDetail {
            sale_id: sale_id.clone(),
            state: SaleState::Open,
            transaction_id: Some(format!("LANE01-{sale_id}")),
            lines,
            tax,
            total,
            paid: Decimal::ZERO,
            due: total,
            member_id: req.member_id.clone(),
            payments: vec![],
            purchase: None,
            refunds: vec![],
        };
        self.sale_event(&detail);
        let summary = SaleSummary {
            sale_id: sale_id.clone(),
            total,
            due: total,
            state: SaleState::Open,
        };
        s.sales.insert(
            sale_id,
            FakeSale {
                request: req,
                detail,
            },
        );
        Ok(summary)
    }

    async fn add_payment(
        &self,
        sale_id: SaleId,
        req: AddPaymentRequest,
    ) -> Result<PaymentResult, BackendError> {
        self.mutated();
        let mut guard = self.state.lock().unwrap();
        let s = &mut *guard;
        if !s.sales.contains_key(&sale_id) {
            return Err(BackendError::NotFound(Resource::Sale));
        }
        if let Some(id) = &req.payment_id
            && let Some(p) = s.payments.get(id)
        {
            return if p.sale_id == sale_id && p.request == req {
                Ok(p.result.clone())
            } else {
                Err(conflict_reuse("payment"))
            };
        }
        let sale = &mut s.sales.get_mut(&sale_id).expect("checked above").detail;
        if sale.state != SaleState::Open {
            return Err(BackendError::conflict(
                "sale_not_open",
                "The sale is not open.",
            ));
        }
        if sale.due <= Decimal::ZERO {
            return Err(BackendError::conflict(
                "nothing_due",
                "Nothing is due on this sale.",
            ));
        }
        let want = req.amount.min(sale.due);
        let (status, approved, balance, reason) = match req.method {
            PaymentMethod::Card | PaymentMethod::Cash => {
                (PaymentStatus::Approved, want, None, None)
            }
            PaymentMethod::GiftCard => {
                let Some(code) = &req.code else {
                    return Err(BackendError::Unavailable {
                        code: "reader_unavailable",
                        message: "No card reader in this fake.".into(),
                    });
                };
                match s.cards.get_mut(code.expose()) {
                    None => (
                        PaymentStatus::Declined,
                        Decimal::ZERO,
                        None,
                        Some("unknown_card".to_owned()),
                    ),
                    Some(card)
                        if card
                            .pin
                            .as_deref()
                            .is_some_and(|p| req.pin.as_ref().map(Pin::expose) != Some(p)) =>
                    {
                        (
                            PaymentStatus::Declined,
                            Decimal::ZERO,
                            Some(card.balance),
                            Some("invalid_pin".to_owned()),
                        )
                    }
                    Some(card) if card.balance <= Decimal::ZERO => (
                        PaymentStatus::Declined,
                        Decimal::ZERO,
                        Some(card.balance),
                        Some("insufficient_funds".to_owned()),
                    ),
                    Some(card) => {
                        let approved = want.min(card.balance);
                        card.balance -= approved;
                        (PaymentStatus::Approved, approved, Some(card.balance), None)
                    }
                }
            }
        };
        let payment_id = match &req.payment_id {
            Some(id) => id.clone(),
            None => PaymentId::parse(&s.next_id("P")).expect("generated ids are valid"),
        };
        let sale = &mut s.sales.get_mut(&sale_id).expect("checked above").detail;
        sale.paid += approved;
        sale.due -= approved;
        let state = if status == PaymentStatus::Approved {
            PaymentState::Approved
        } else {
            PaymentState::Declined
        };
        sale.payments.push(PaymentRecord {
            payment_id: payment_id.clone(),
            method: req.method,
            amount: req.amount,
            approved_amount: approved,
            state,
            code: req.code.as_ref().map(GiftCardCode::masked),
            reason: reason.clone(),
            ref_no: Some(format!("{sale_id}-{payment_id}")),
            masked_pan: None,
            receipt_no: None,
        });
        let result = PaymentResult {
            payment_id: payment_id.clone(),
            status,
            approved_amount: approved,
            balance,
            reason,
            due: sale.due,
        };
        self.emit(ApiEvent::Payment {
            sale_id: sale_id.clone(),
            payment_id: payment_id.clone(),
            state,
            amount: Some(req.amount),
        });
        self.sale_event(sale);
        s.payments.insert(
            payment_id,
            Payment {
                sale_id,
                request: req,
                result: result.clone(),
            },
        );
        Ok(result)
    }

    async fn complete_sale(&self, sale_id: SaleId) -> Result<CompleteResult, BackendError> {
        self.mutated();
        let mut s = self.state.lock().unwrap();
        let sale = &mut s
            .sales
            .get_mut(&sale_id)
            .ok_or(BackendError::NotFound(Resource::Sale))?
            .detail;
        match sale.state {
            SaleState::Completed => {
                return Ok(CompleteResult {
                    state: SaleState::Completed,
                    purchase: PurchaseState::Queued,
                });
            }
            SaleState::Cancelled => {
                return Err(BackendError::conflict(
                    "sale_cancelled",
                    "The sale is cancelled.",
                ));
            }
            SaleState::Open if sale.due > Decimal::ZERO => {
                return Err(BackendError::conflict(
                    "amount_due",
                    format!("{} is still due.", sale.due),
                ));
            }
            SaleState::Open => {}
        }
        sale.state = SaleState::Completed;
        sale.purchase = Some(PurchaseState::Queued);
        for p in &mut sale.payments {
            if p.state == PaymentState::Approved {
                p.state = PaymentState::Captured;
            }
        }
        self.sale_event(sale);
        let item = OutboxItem {
            id: format!("purchase-{sale_id}"),
            kind: "purchase".into(),
            state: OutboxState::Pending,
            sale_id: Some(sale_id),
            attempts: 0,
            created_at: Utc::now(),
            last_error: None,
        };
        s.outbox.push(item.clone());
        let pending = s
            .outbox
            .iter()
            .filter(|i| i.state == OutboxState::Pending)
            .count() as u64;
        self.emit(ApiEvent::Outbox {
            id: item.id,
            kind: Some(item.kind),
            state: item.state,
            counts: Some(OutboxCounts {
                pending,
                ..OutboxCounts::default()
            }),
        });
        Ok(CompleteResult {
            state: SaleState::Completed,
            purchase: PurchaseState::Queued,
        })
    }

    async fn cancel_sale(&self, sale_id: SaleId) -> Result<CancelResult, BackendError> {
        self.mutated();
        let mut guard = self.state.lock().unwrap();
        let s = &mut *guard;
        let sale = &mut s
            .sales
            .get_mut(&sale_id)
            .ok_or(BackendError::NotFound(Resource::Sale))?
            .detail;
        match sale.state {
            SaleState::Completed => {
                return Err(BackendError::conflict(
                    "sale_completed",
                    "The sale is completed.",
                ));
            }
            SaleState::Cancelled => {
                return Ok(CancelResult {
                    state: SaleState::Cancelled,
                });
            }
            SaleState::Open => {}
        }
        for p in &mut sale.payments {
            if p.state == PaymentState::Approved {
                p.state = PaymentState::Cancelled;
                // Give the authorization back to the card it came from.
                let code = s
                    .payments
                    .get(&p.payment_id)
                    .and_then(|x| x.request.code.as_ref());
                if let Some(card) = code.and_then(|c| s.cards.get_mut(c.expose())) {
                    card.balance += p.approved_amount;
                }
            }
        }
        sale.state = SaleState::Cancelled;
        sale.due = Decimal::ZERO;
        sale.paid = Decimal::ZERO;
        self.sale_event(sale);
        Ok(CancelResult {
            state: SaleState::Cancelled,
        })
    }

    async fn get_sale(&self, sale_id: SaleId) -> Result<SaleDetail, BackendError> {
        let s = self.state.lock().unwrap();
        s.sales
            .get(&sale_id)
            .map(|x| x.detail.clone())
            .ok_or(BackendError::NotFound(Resource::Sale))
    }

    async fn giftcard_balance(&self, code: GiftCardCode) -> Result<GiftCardBalance, BackendError> {
        let s = self.state.lock().unwrap();
        let card = s
            .cards
            .get(code.expose())
            .ok_or(BackendError::NotFound(Resource::GiftCard))?;
        Ok(GiftCardBalance {
            balance: card.balance,
            code: code.masked(),
            source: Source::Online,
        })
    }

    async fn giftcard_activate(
        &self,
        req: GiftCardFundRequest,
    ) -> Result<GiftCardFunded, BackendError> {
        self.fund(true, req)
    }

    async fn giftcard_reload(
        &self,
        req: GiftCardFundRequest,
    ) -> Result<GiftCardFunded, BackendError> {
        self.fund(false, req)
    }

    async fn giftcard_replace_code(
        &self,
        req: GiftCardReplaceCodeRequest,
    ) -> Result<GiftCardCodeReplaced, BackendError> {
        self.mutated();
        let mut s = self.state.lock().unwrap();
        let old = s
            .card_ids
            .get(&req.card_id)
            .cloned()
            .ok_or(BackendError::NotFound(Resource::GiftCard))?;
        let new = req.new_code.expose().to_owned();
        if new != old && s.cards.contains_key(&new) {
            return Err(BackendError::conflict(
                "code_taken",
                "Another gift card already has this physical code.",
            ));
        }
        let mut card = s.cards.remove(&old).expect("id maps to a card");
        card.pin = req.new_pin.map(|p| p.expose().to_owned());
        s.cards.insert(new.clone(), card);
        s.card_ids.insert(req.card_id.clone(), new);
        Ok(GiftCardCodeReplaced {
            card_id: req.card_id,
            code: req.new_code.masked(),
        })
    }

    async fn item(&self, sku: String) -> Result<Item, BackendError> {
        match sku.as_str() {
            "PANIC" => panic!("fake backend asked to panic"),
            "MILK-1L" => Ok(Item {
                sku,
                name: Some("Milk 1 l".into()),
                uom: Some("EA".into()),
                base_price: Some(dec!(1.19)),
                quantity_available: Some(dec!(42)),
                source: Source::Mirror,
                mirror_age_secs: Some(30),
            }),
            _ => Err(BackendError::NotFound(Resource::Item)),
        }
    }

    async fn product(&self, sku: String) -> Result<Product, BackendError> {
        if sku != "MILK-1L" {
            return Err(BackendError::NotFound(Resource::Product));
        }
        Ok(Product {
            sku,
            name: Some("Milk 1 l".into()),
            long_name: None,
            description: Some("Whole milk".into()),
            base_price: Some(dec!(1.19)),
            groups: vec![ProductGroup {
                code: "DAIRY".into(),
                name: Some("Dairy".into()),
            }],
            notices: vec![ProductNotice {
                code: "COLD".into(),
                text: Some("Keep cold".into()),
            }],
            source: Source::Online,
            mirror_age_secs: None,
        })
    }

    async fn member(&self, member_id: MemberId) -> Result<Member, BackendError> {
        if member_id.as_str() != "000010049" {
            return Err(BackendError::NotFound(Resource::Member));
        }
        Ok(Member {
            member_id,
            customer_id: "00000000000000000042".into(),
            name: MaskedName::from_full("Jane Doe"),
            source: Source::Online,
        })
    }

    async fn outbox_list(&self) -> Result<OutboxList, BackendError> {
        Ok(OutboxList {
            items: self.state.lock().unwrap().outbox.clone(),
        })
    }

    async fn outbox_show(&self, id: String) -> Result<OutboxItem, BackendError> {
        let s = self.state.lock().unwrap();
        s.outbox
            .iter()
            .find(|i| i.id == id)
            .cloned()
            .ok_or(BackendError::NotFound(Resource::OutboxItem))
    }

    async fn outbox_hold(&self, id: String) -> Result<OutboxItem, BackendError> {
        self.mutated();
        self.move_item(&id, "outbox_item_not_holdable", |st| match st {
            OutboxState::Pending => Some(OutboxState::Held),
            _ => None,
        })
    }

    async fn outbox_resolve(
        &self,
        id: String,
        resolution: OutboxResolution,
    ) -> Result<OutboxItem, BackendError> {
        self.mutated();
        self.move_item(&id, "outbox_item_not_resolvable", |st| match st {
            OutboxState::InDoubt | OutboxState::Failed => Some(match resolution {
                OutboxResolution::Recorded => OutboxState::Confirmed,
                OutboxResolution::Resend => OutboxState::Pending,
            }),
            _ => None,
        })
    }

    async fn outbox_flush(&self) -> Result<OutboxFlushed, BackendError> {
        self.mutated();
        let mut s = self.state.lock().unwrap();
        let mut released = 0;
        for i in s.outbox.iter_mut().filter(|i| i.state == OutboxState::Held) {
            i.state = OutboxState::Pending;
            released += 1;
        }
        Ok(OutboxFlushed { released })
    }

    async fn exceptions_list(&self) -> Result<ExceptionList, BackendError> {
        let s = self.state.lock().unwrap();
        Ok(ExceptionList {
            exceptions: s
                .exceptions
                .iter()
                .filter(|e| e.acknowledged_at.is_none())
                .cloned()
                .collect(),
        })
    }

    async fn exception_acknowledge(
        &self,
        id: String,
        req: AcknowledgeRequest,
    ) -> Result<ExceptionView, BackendError> {
        self.mutated();
        let mut s = self.state.lock().unwrap();
        let e = s
            .exceptions
            .iter_mut()
            .find(|e| e.id == id && e.acknowledged_at.is_none())
            .ok_or(BackendError::NotFound(Resource::Exception))?;
        if e.kind == "payment_in_doubt" && req.resolution.is_none() {
            return Err(BackendError::conflict(
                "resolution_required",
                "A payment in doubt needs a resolution.",
            ));
        }
        e.acknowledged_at = Some(Utc::now());
        e.note = req.note;
        e.resolution = req.resolution.map(|r| match r {
            ExceptionResolution::Approved => "approved".to_owned(),
            ExceptionResolution::NotApproved => "not_approved".to_owned(),
        });
        Ok(e.clone())
    }

    fn subscribe_events(&self) -> broadcast::Receiver<ApiEvent> {
        self.events.subscribe()
    }
}

impl FakeBackend {
    /// Moves an item to what `next` says for its state; `None` is a conflict with `code`.
    fn move_item(
        &self,
        id: &str,
        code: &'static str,
        next: impl Fn(OutboxState) -> Option<OutboxState>,
    ) -> Result<OutboxItem, BackendError> {
        let mut s = self.state.lock().unwrap();
        let item = s
            .outbox
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or(BackendError::NotFound(Resource::OutboxItem))?;
        let Some(to) = next(item.state) else {
            return Err(BackendError::conflict(
                code,
                format!("The outbox item is {:?}.", item.state),
            ));
        };
        item.state = to;
        Ok(item.clone())
    }

    fn fund(
        &self,
        activate: bool,
        req: GiftCardFundRequest,
    ) -> Result<GiftCardFunded, BackendError> {
        self.mutated();
        let mut s = self.state.lock().unwrap();
        if let Some(id) = &req.request_id
            && let Some(load) = s.loads.get(id)
        {
            return if load.activate == activate && load.request == req {
                Ok(load.result.clone())
            } else {
                Err(conflict_reuse("request"))
            };
        }
        let Some(code) = req.code.clone() else {
            return Err(BackendError::Unavailable {
                code: "reader_unavailable",
                message: "No card reader in this fake.".into(),
            });
        };
        let balance = match (activate, s.cards.get_mut(code.expose())) {
            (true, Some(_)) => {
                return Err(BackendError::conflict(
                    "giftcard_exists",
                    "The card is already active.",
                ));
            }
            (true, None) => {
                s.cards.insert(
                    code.expose().to_owned(),
                    Card {
                        balance: req.amount,
                        pin: None,
                    },
                );
                req.amount
            }
            (false, None) => return Err(BackendError::NotFound(Resource::GiftCard)),
            (false, Some(card)) => {
                card.balance += req.amount;
                card.balance
            }
        };
        let result = GiftCardFunded {
            status: LoadStatus::Loaded,
            code: code.masked(),
            amount: req.amount,
            balance: Some(balance),
        };
        if let Some(id) = req.request_id.clone() {
            s.loads.insert(
                id,
                Load {
                    activate,
                    request: req,
                    result: result.clone(),
                },
            );
        }
        Ok(result)
    }
}
