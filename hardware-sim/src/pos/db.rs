//! The simulated POS's data, held in memory behind one lock.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::ledger::{GiftcardTransRecord, Ledger, PurchaseRecord, RequestRecord};
use super::paging::Versioned;
use super::seed::{
    CodeType, Seed, SeedClient, SeedCustomer, SeedItem, SeedItemWarehouse, SeedLocation,
    SeedProduct, SeedProductBanner, SeedProductGroup, SeedProductNotice, SeedProductSection,
    SeedProductSortOption, SeedSale, SeedSerialLot,
};

/// An authenticated API client.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub client_id: String,
    pub permissions: HashSet<String>,
}

impl Caller {
    pub(crate) fn has(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    pub(crate) fn require(&self, permission: &'static str) -> Result<(), super::error::PosError> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(super::error::PosError::NotAuthorized(permission))
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub client_id: String,
    pub expires_at: DateTime<Utc>,
}

/// A code on a card.
#[derive(Clone)]
pub(crate) struct CardCode {
    pub id: String,
    pub code_type: CodeType,
    pub code: String,
    pub pin: Option<String>,
    pub expires_on: Option<NaiveDate>,
}

/// A gift card.
#[derive(Clone)]
pub(crate) struct Card {
    pub id: String,
    pub member_id: Option<String>,
    pub balance: Decimal,
    pub codes: Vec<CardCode>,
}

/// A warehouse row with its item's SKU.
#[derive(Debug, Clone)]
pub(crate) struct WarehouseRow {
    pub sku: String,
    pub row: SeedItemWarehouse,
}

/// A serial/lot row with its item's SKU.
#[derive(Debug, Clone)]
pub(crate) struct SerialLotRow {
    pub sku: String,
    pub row: SeedSerialLot,
}

/// The whole in-memory POS.
pub(crate) struct Db {
    pub terminals: super::terminals::TerminalBook,
    pub clients: HashMap<String, SeedClient>,
    pub tokens: HashMap<String, TokenInfo>,
    pub customers: Vec<SeedCustomer>,
    pub cards: BTreeMap<String, Card>,
    pub transactions: Vec<GiftcardTransRecord>,
    pub purchases: Vec<PurchaseRecord>,
    pub locations: Vec<SeedLocation>,
    pub items: Versioned<String, SeedItem>,
    pub warehouses: Versioned<(String, String), WarehouseRow>,
    pub serial_lots: Versioned<(String, String, String), SerialLotRow>,
    pub products: Versioned<String, SeedProduct>,
    pub sales: Versioned<String, SeedSale>,
    pub product_groups: Vec<SeedProductGroup>,
    pub product_notices: Vec<SeedProductNotice>,
    pub product_banners: Vec<SeedProductBanner>,
    pub product_sections: Vec<SeedProductSection>,
    pub product_sort_options: Vec<SeedProductSortOption>,
    pub requests: Vec<RequestRecord>,
    pub token_requests: u64,
    seq: u64,
    next_id: u64,
}

impl Db {
    pub(crate) fn from_seed(seed: &Seed) -> Db {
        let mut db = Db {
            terminals: super::terminals::TerminalBook::from_seed(&seed.terminals),
            clients: seed
                .clients
                .iter()
                .map(|c| (c.id.clone(), c.clone()))
                .collect(),
            tokens: HashMap::new(),
            customers: seed.customers.clone(),
            cards: BTreeMap::new(),
            transactions: Vec::new(),
            purchases: Vec::new(),
            locations: seed.locations.clone(),
            items: Versioned::default(),
            warehouses: Versioned::default(),
            serial_lots: Versioned::default(),
            products: Versioned::default(),
            sales: Versioned::default(),
            product_groups: seed.product_groups.clone(),
            product_notices: seed.product_notices.clone(),
            product_banners: seed.product_banners.clone(),
            product_sections: seed.product_sections.clone(),
            product_sort_options: seed.product_sort_options.clone(),
            requests: Vec::new(),
            token_requests: 0,
            seq: 0,
            next_id: 0,
        };
        let mut max_id = 1000;
        for card in &seed.giftcards {
            if let Ok(n) = card.id.parse::<u64>() {
                max_id = max_id.max(n);
            }
            let codes = card
                .codes
                .iter()
                .map(|c| CardCode {
                    id: String::new(),
                    code_type: c.code_type,
                    code: c.code.clone(),
                    pin: c.pin.clone(),
                    expires_on: c
                        .expires_on
                        .as_deref()
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
                })
                .collect();
            db.cards.insert(
                card.id.clone(),
                Card {
                    id: card.id.clone(),
                    member_id: card.member_id.clone(),
                    balance: card.balance,
                    codes,
                },
            );
        }
        db.next_id = max_id + 1;
        let ids: Vec<String> = db.cards.keys().cloned().collect();
        for id in ids {
            let n = db.cards[&id].codes.len();
            for i in 0..n {
                let code_id = db.new_id();
                if let Some(card) = db.cards.get_mut(&id) {
                    card.codes[i].id = code_id;
                }
            }
        }
        for item in seed.all_items() {
            db.upsert_item(item);
        }
        for product in &seed.products {
            let seq = db.bump();
            db.products
                .upsert(product.sku.clone(), product.clone(), seq);
        }
        for sale in &seed.sales {
            let seq = db.bump();
            db.sales.upsert(sale.id.clone(), sale.clone(), seq);
        }
        db
    }

    /// The next modification sequence number.
    pub(crate) fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh numeric id (cards, codes, transactions, purchases share one counter).
    pub(crate) fn new_id(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        id.to_string()
    }

    /// Inserts or replaces an item with its warehouse and serial/lot rows; every row gets a
    /// new modification number, and rows the new version no longer has are removed.
    pub(crate) fn upsert_item(&mut self, item: SeedItem) {
        let sku = item.sku.clone();
        let stale: Vec<_> = self
            .warehouses
            .starting_at((sku.clone(), String::new()))
            .take_while(|(k, _)| k.0 == sku)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.warehouses.remove(&key);
        }
        let stale: Vec<_> = self
            .serial_lots
            .starting_at((sku.clone(), String::new(), String::new()))
            .take_while(|(k, _)| k.0 == sku)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.serial_lots.remove(&key);
        }
        for wh in &item.warehouses {
            let seq = self.bump();
            self.warehouses.upsert(
                (sku.clone(), wh.warehouse_code.clone()),
                WarehouseRow {
                    sku: sku.clone(),
                    row: wh.clone(),
                },
                seq,
            );
        }
        for lot in &item.serial_lots {
            let seq = self.bump();
            self.serial_lots.upsert(
                (
                    sku.clone(),
                    lot.warehouse_code.clone(),
                    lot.serial_lot_number.clone(),
                ),
                SerialLotRow {
                    sku: sku.clone(),
                    row: lot.clone(),
                },
                seq,
            );
        }
        let seq = self.bump();
        self.items.upsert(sku, item, seq);
    }

    /// The warehouse rows of one item.
    pub(crate) fn warehouses_of(&self, sku: &str) -> Vec<WarehouseRow> {
        self.warehouses
            .starting_at((sku.to_owned(), String::new()))
            .take_while(|(k, _)| k.0 == sku)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(crate) fn ledger(&self) -> Ledger {
        Ledger {
            purchases: self.purchases.clone(),
            giftcard_transactions: self.transactions.clone(),
            balances: self
                .cards
                .values()
                .map(|c| (c.id.clone(), c.balance))
                .collect(),
            requests: self.requests.clone(),
            token_requests: self.token_requests,
            terminal_payments: self.terminals.payments.clone(),
        }
    }
}
