//! Plain domain types of the public API (no generated code leaks out).

use rust_decimal::Decimal;
use secrecy::SecretString;

use crate::secret::GiftCode;

/// `environment { name version }`: the link probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Environment name.
    pub name: String,
    /// Server version.
    pub version: String,
}

/// One page of a list query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The results of this page.
    pub results: Vec<T>,
    /// True when more results appear to exist.
    pub has_more_results: bool,
    /// True when permissions cut the list (only on queries that report it).
    pub limited_by_permission: bool,
    /// The opaque `until` of since-paged queries (pass it back as the next `since`).
    pub until: Option<String>,
}

/// Gift-card code types (`GiftcardCodeType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CodeType {
    /// Printed on the card, optionally with a PIN.
    Physical,
    /// Long random code tied to a member.
    Personal,
    /// Managed by a third-party system.
    External,
    /// A value this client does not know (newer server).
    Other(String),
}

/// Gift-card transaction types (`GiftcardTransType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransType {
    /// Add funds (positive amount).
    Add,
    /// Balance correction (±).
    Adjust,
    /// External system (±).
    External,
    /// Migration (±).
    Import,
    /// Spend funds (negative amount).
    Use,
}

/// Gift-card transaction status (`GiftcardTransStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransStatus {
    /// Authorized, not yet captured or cancelled.
    Authorized,
    /// Authorized, then cancelled (by the client or the Delay Period).
    Cancelled,
    /// Immediate, or authorized then captured.
    Completed,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// 20-digit internal id.
    pub id: String,
    /// Loyalty member id.
    pub member_id: Option<String>,
    /// Status text.
    pub status: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<Phone>,
}

/// A phone number as entered and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// As entered.
    pub raw: Option<String>,
    /// Normalized.
    pub normalized: Option<String>,
}

/// A gift card.
#[derive(Debug, Clone, PartialEq)]
pub struct Giftcard {
    /// Internal id.
    pub id: String,
    /// Owning member, if any.
    pub member_id: Option<String>,
    /// Current balance.
    pub balance: Decimal,
    /// The card's codes (one per type).
    pub codes: Vec<GiftcardCode>,
}

/// One code of a gift card. The code itself is masked in `Debug`.
#[derive(Debug, Clone, PartialEq)]
pub struct GiftcardCode {
    /// Code id.
    pub id: String,
    /// Code type.
    pub code_type: CodeType,
    /// The code (possibly masked by the server, see `is_masked`).
    pub code: GiftCode,
    /// Expiry date of the code, if any.
    pub expires_on: Option<String>,
    /// True when the server masked the code.
    pub is_masked: bool,
}

/// A gift-card transaction as returned by `giftcardTransAdd` / `giftcardTransCapture`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftcardTrans {
    /// Transaction id (capture/cancel key).
    pub id: String,
    /// The card.
    pub giftcard_id: String,
    /// Card balance after this transaction.
    pub balance: Decimal,
    /// Status.
    pub status: TransStatus,
    /// Signed amount.
    pub amount: Decimal,
}

/// Input of `giftcardTransAdd`. `Debug` masks the code and redacts the PIN.
#[derive(Debug, Clone)]
pub struct GiftcardTransRequest {
    /// Code type (recommended: codes are unique only within a type).
    pub code_type: Option<CodeType>,
    /// The card's code.
    pub code: GiftCode,
    /// The PIN, if the card has one.
    pub pin: Option<SecretString>,
    /// Transaction type.
    pub trans_type: TransType,
    /// Signed amount: `USE` negative, `ADD` positive.
    pub amount: Decimal,
    /// Source app/device.
    pub source_id: Option<String>,
    /// External reference (no dedupe on the server).
    pub ref_no: Option<String>,
    /// True: create an `AUTHORIZED` transaction to capture or cancel later.
    pub authorize: bool,
}

/// Input of `giftcardAdd`. `Debug` masks the code and redacts the PIN.
#[derive(Debug, Clone, Default)]
pub struct GiftcardAddRequest {
    /// The printed code.
    pub physical_code: Option<GiftCode>,
    /// The scratch-off PIN.
    pub physical_pin: Option<SecretString>,
    /// Also generate a personal code.
    pub add_personal_code: Option<bool>,
    /// Owning member.
    pub member_id: Option<String>,
}

/// Input of `giftcardEdit` (trusted clients only; the lane agent does not need it).
#[derive(Debug, Clone, Default)]
pub struct GiftcardEditRequest {
    /// Card id.
    pub id: String,
    /// Member (must match the card's for a personal code).
    pub member_id: Option<String>,
    /// Add a personal code.
    pub add_personal_code: Option<bool>,
    /// Revoke the physical code.
    pub revoke_physical_code: Option<bool>,
    /// Revoke the personal code.
    pub revoke_personal_code: Option<bool>,
    /// Add or replace the physical code.
    pub physical_code: Option<GiftCode>,
    /// PIN for the new physical code.
    pub physical_pin: Option<SecretString>,
}

/// Input of `purchaseAdd`. Never send the same `transaction_id` twice: the server does not
/// deduplicate.
///
/// This is the lane's one purchase record: the agent builds it at completion, keeps it as
/// the outbox payload (camelCase JSON, amounts as decimal strings) and sends it as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseRequest {
    /// Unique purchase id (contains the register code).
    pub transaction_id: String,
    /// POS location code.
    pub store_code: String,
    /// Local date-time without offset, e.g. `2021-09-15T04:50:00`.
    pub purchased_on: String,
    /// Amount paid.
    pub pay_amount: Decimal,
    /// Sale-level discount.
    pub sale_discount_amount: Decimal,
    /// Sum of item discounts.
    pub item_discount_amount: Decimal,
    /// Subtotal.
    pub sub_total: Decimal,
    /// Refunded amount.
    pub refund_amount: Decimal,
    /// Tax.
    pub tax_amount: Decimal,
    /// Lines.
    pub line_items: Vec<PurchaseLine>,
    /// e.g. `WEB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Loyalty member id (first match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// e.g. `SI`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_type: Option<String>,
    /// e.g. `CASH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_method: Option<String>,
    /// Register customer id (second match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Customer e-mail (third match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One line of a purchase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseLine {
    /// 1-based line number.
    pub line_number: i64,
    /// Item SKU.
    pub sku: String,
    /// True for a refunded line.
    pub is_refund: bool,
    /// Unit price.
    pub unit_price: Decimal,
    /// Extended price.
    pub ext_price: Decimal,
    /// Item discount.
    pub item_discount_amount: Decimal,
    /// Share of the sale discount.
    pub sale_discount_amount: Decimal,
    /// Quantity.
    pub quantity: Decimal,
    /// Unit of measure, e.g. `EA`.
    pub uom: String,
}

/// The id the POS gave a recorded purchase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PurchaseId(pub String);

/// An inventory item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: Option<String>,
    /// Long name.
    pub long_name: Option<String>,
    /// Sale unit of measure.
    pub sale_uom: Option<String>,
    /// Stock unit of measure.
    pub stock_uom: Option<String>,
    /// Per-warehouse rows.
    pub warehouses: Vec<ItemWarehouse>,
}

/// An item in one warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWarehouse {
    /// Warehouse code.
    pub warehouse_code: String,
    /// SKU.
    pub sku: String,
    /// Base price.
    pub base_price: Option<Decimal>,
    /// Quantity available.
    pub quantity_available: Option<Decimal>,
}

/// A serial or lot number of an item in a warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSerialLot {
    /// SKU.
    pub sku: String,
    /// Warehouse code.
    pub warehouse_code: String,
    /// Serial or lot number.
    pub serial_lot_number: String,
    /// Quantity available.
    pub quantity_available: Option<Decimal>,
}

/// A store location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Location code (the `storeCode` of purchases).
    pub code: String,
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// A catalog product.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: Option<String>,
    /// Long name.
    pub long_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Base price.
    pub base_price: Option<Decimal>,
    /// Product groups.
    pub group_codes: Vec<String>,
    /// Notices.
    pub notice_codes: Vec<String>,
}

/// A product banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductBanner {
    /// Code.
    pub code: String,
    /// Text.
    pub text: Option<String>,
    /// Link.
    pub url: Option<String>,
}

/// A product group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductGroup {
    /// Code.
    pub code: String,
    /// Name.
    pub name: Option<String>,
    /// Display order.
    pub display_order: Option<i64>,
    /// Banner.
    pub banner_code: Option<String>,
    /// Sections.
    pub section_codes: Vec<String>,
}

/// A product notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductNotice {
    /// Code.
    pub code: String,
    /// Text.
    pub text: Option<String>,
}

/// A product section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSection {
    /// Code.
    pub code: String,
    /// Name.
    pub name: Option<String>,
    /// Display order.
    pub display_order: Option<i64>,
    /// Banner.
    pub banner_code: Option<String>,
}

/// A product sort option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSortOption {
    /// Code.
    pub code: String,
    /// Name.
    pub name: Option<String>,
}

/// A sale made through the POS or Register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// Sale id.
    pub id: String,
    /// Register.
    pub register_code: Option<String>,
    /// Transaction number.
    pub tran_no: Option<String>,
    /// Customer.
    pub customer_id: Option<String>,
    /// Sale date.
    pub sale_date: Option<String>,
}

/// Filter for `customer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Internal id.
    pub id: Option<String>,
    /// Member id.
    pub member_id: Option<String>,
    /// Skip.
    pub skip: Option<i64>,
    /// Page size.
    pub first: Option<i64>,
}

/// Filter for `giftcard`. `Debug` masks the code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GiftcardQuery {
    /// Code to look up.
    pub code: Option<GiftCode>,
    /// Its type.
    pub code_type: Option<CodeType>,
    /// Internal id (high-trust permission).
    pub id: Option<String>,
    /// Skip.
    pub skip: Option<i64>,
    /// Page size.
    pub first: Option<i64>,
}

/// Filter for `item`, `itemWarehouse` and `itemSerialLot`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryQuery {
    /// SKU.
    pub sku: Option<String>,
    /// Warehouse code, e.g. `MAIN`.
    pub warehouse_code: Option<String>,
    /// Skip.
    pub skip: Option<i64>,
    /// Page size.
    pub first: Option<i64>,
    /// Since-paging: `Some("")` to start, then the previous `until`.
    pub since: Option<String>,
}

/// Filter for `product`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductQuery {
    /// SKU.
    pub sku: Option<String>,
    /// Skip.
    pub skip: Option<i64>,
    /// Page size.
    pub first: Option<i64>,
    /// Since-paging.
    pub since: Option<String>,
}

/// Filter for the code-keyed catalog queries (`location`, `productBanner`, `productGroup`,
/// `productNotice`, `productSection`); `code` is ignored by `productSortOption`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeQuery {
    /// Code.
    pub code: Option<String>,
    /// Skip.
    pub skip: Option<i64>,
    /// Page size.
    pub first: Option<i64>,
}

/// Filter for `sale`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaleQuery {
    /// Sale id.
    pub id: Option<String>,
    /// Customer.
    pub customer_id: Option<String>,
    /// Inclusive `YYYY-MM-DD`.
    pub from_date: Option<String>,
    /// Exclusive `YYYY-MM-DD`.
    pub to_date: Option<String>,
    /// Skip.
    pub skip: Option<i64>,
    /// Page size.
    pub first: Option<i64>,
    /// Since-paging.
    pub since: Option<String>,
}
