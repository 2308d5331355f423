//! GraphQL object and input types of pos-schema.graphql.

use std::str::FromStr;

use async_graphql::{
    InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::pos::ledger::{TransStatus, TransType};
use crate::pos::seed::CodeType;

/// Decimal number carried as a JSON string, e.g. "-6.49". Amounts are never floats.
///
/// async-graphql's own `Decimal` also accepts JSON numbers as input; the contract does not,
/// so this scalar takes strings only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dec(pub Decimal);

#[Scalar(name = "Decimal")]
impl ScalarType for Dec {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if !s.trim().is_empty() && s.trim() == s => Decimal::from_str(s)
                .map(Dec)
                .map_err(|_| InputValueError::custom("not a decimal number string")),
            _ => Err(InputValueError::custom(
                "a Decimal must be a JSON string such as \"-6.49\"",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl Serialize for Dec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

/// `GiftcardCodeType`.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[graphql(name = "GiftcardCodeType")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GqlCodeType {
    /// Printed on the card.
    Physical,
    /// Generated for a member.
    Personal,
    /// Managed by a third party.
    External,
}

impl From<GqlCodeType> for CodeType {
    fn from(t: GqlCodeType) -> Self {
        match t {
            GqlCodeType::Physical => CodeType::Physical,
            GqlCodeType::Personal => CodeType::Personal,
            GqlCodeType::External => CodeType::External,
        }
    }
}

impl From<CodeType> for GqlCodeType {
    fn from(t: CodeType) -> Self {
        match t {
            CodeType::Physical => GqlCodeType::Physical,
            CodeType::Personal => GqlCodeType::Personal,
            CodeType::External => GqlCodeType::External,
        }
    }
}

/// `GiftcardTransType`.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "GiftcardTransType")]
pub enum GqlTransType {
    /// Add funds.
    Add,
    /// Correct a balance.
    Adjust,
    /// External system.
    External,
    /// Migrated balance.
    Import,
    /// Spend funds.
    Use,
}

impl From<GqlTransType> for TransType {
    fn from(t: GqlTransType) -> Self {
        match t {
            GqlTransType::Add => TransType::Add,
            GqlTransType::Adjust => TransType::Adjust,
            GqlTransType::External => TransType::External,
            GqlTransType::Import => TransType::Import,
            GqlTransType::Use => TransType::Use,
        }
    }
}

/// `GiftcardTransStatus`.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "GiftcardTransStatus")]
pub enum GqlTransStatus {
    /// Not yet captured or cancelled.
    Authorized,
    /// Authorized, then cancelled.
    Cancelled,
    /// Immediate, or captured.
    Completed,
}

impl From<TransStatus> for GqlTransStatus {
    fn from(s: TransStatus) -> Self {
        match s {
            TransStatus::Authorized => GqlTransStatus::Authorized,
            TransStatus::Cancelled => GqlTransStatus::Cancelled,
            TransStatus::Completed => GqlTransStatus::Completed,
        }
    }
}

/// `Environment`.
#[derive(SimpleObject)]
pub struct Environment {
    pub name: String,
    pub version: String,
}

/// `Phone`.
#[derive(SimpleObject)]
pub struct Phone {
    pub raw: Option<String>,
    pub normalized: Option<String>,
}

/// `Customer`.
#[derive(SimpleObject)]
pub struct Customer {
    pub id: String,
    pub member_id: Option<String>,
    pub status: Option<String>,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Phone>,
}

/// `CustomerResults`.
#[derive(SimpleObject)]
pub struct CustomerResults {
    pub has_more_results: bool,
    pub limited_by_permission: bool,
    pub results: Vec<Customer>,
}

/// `GiftcardCode`.
#[derive(SimpleObject)]
pub struct GiftcardCode {
    pub id: String,
    pub code_type: GqlCodeType,
    pub code: String,
    pub expires_on: Option<String>,
    pub is_masked: bool,
}

/// `Giftcard`.
#[derive(SimpleObject)]
pub struct Giftcard {
    pub id: String,
    pub member_id: Option<String>,
    pub balance: Dec,
    pub codes: Vec<GiftcardCode>,
}

/// `GiftcardResults`.
#[derive(SimpleObject)]
pub struct GiftcardResults {
    pub has_more_results: bool,
    pub limited_by_permission: bool,
    pub results: Vec<Giftcard>,
}

/// `GiftcardTrans`.
#[derive(SimpleObject)]
pub struct GiftcardTrans {
    pub id: String,
    pub giftcard_id: String,
    pub balance: Dec,
    pub status: GqlTransStatus,
    pub amount: Dec,
}

/// `Purchase`.
#[derive(SimpleObject)]
pub struct Purchase {
    pub id: String,
}

/// `ItemWarehouse`.
#[derive(SimpleObject)]
pub struct ItemWarehouse {
    pub warehouse_code: String,
    pub sku: String,
    pub base_price: Option<Dec>,
    pub quantity_available: Option<Dec>,
}

/// `Item`.
#[derive(SimpleObject)]
pub struct Item {
    pub sku: String,
    pub name: Option<String>,
    pub long_name: Option<String>,
    pub sale_uom: Option<String>,
    pub stock_uom: Option<String>,
    pub warehouses: Vec<ItemWarehouse>,
}

/// `ItemSerialLot`.
#[derive(SimpleObject)]
pub struct ItemSerialLot {
    pub sku: String,
    pub warehouse_code: String,
    pub serial_lot_number: String,
    pub quantity_available: Option<Dec>,
}

/// `Location`.
#[derive(SimpleObject)]
pub struct Location {
    pub code: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// `Product`.
#[derive(SimpleObject)]
pub struct Product {
    pub sku: String,
    pub name: Option<String>,
    pub long_name: Option<String>,
    pub description: Option<String>,
    pub base_price: Option<Dec>,
    pub group_codes: Vec<String>,
    pub notice_codes: Vec<String>,
}

/// `ProductBanner`.
#[derive(SimpleObject)]
pub struct ProductBanner {
    pub code: String,
    pub text: Option<String>,
    pub url: Option<String>,
}

/// `ProductGroup`.
#[derive(SimpleObject)]
pub struct ProductGroup {
    pub code: String,
    pub name: Option<String>,
    pub display_order: Option<i32>,
    pub banner_code: Option<String>,
    pub section_codes: Vec<String>,
}

/// `ProductNotice`.
#[derive(SimpleObject)]
pub struct ProductNotice {
    pub code: String,
    pub text: Option<String>,
}

/// `ProductSection`.
#[derive(SimpleObject)]
pub struct ProductSection {
    pub code: String,
    pub name: Option<String>,
    pub display_order: Option<i32>,
    pub banner_code: Option<String>,
}

/// `ProductSortOption`.
#[derive(SimpleObject)]
pub struct ProductSortOption {
    pub code: String,
    pub name: Option<String>,
}

/// `Sale`.
#[derive(SimpleObject)]
pub struct Sale {
    pub id: String,
    pub register_code: Option<String>,
    pub tran_no: Option<String>,
    pub customer_id: Option<String>,
    pub sale_date: Option<String>,
}

/// Results wrapper with Since & Until.
macro_rules! since_results {
    ($name:ident, $row:ty) => {
        #[doc = concat!("`", stringify!($name), "`.")]
        #[derive(SimpleObject)]
        pub struct $name {
            pub has_more_results: bool,
            pub until: Option<String>,
            pub results: Vec<$row>,
        }
    };
}

/// Results wrapper with skip/first only.
macro_rules! plain_results {
    ($name:ident, $row:ty) => {
        #[doc = concat!("`", stringify!($name), "`.")]
        #[derive(SimpleObject)]
        pub struct $name {
            pub has_more_results: bool,
            pub results: Vec<$row>,
        }
    };
}

since_results!(ItemResults, Item);
since_results!(ItemWarehouseResults, ItemWarehouse);
since_results!(ItemSerialLotResults, ItemSerialLot);
since_results!(ProductResults, Product);
since_results!(SaleResults, Sale);
plain_results!(LocationResults, Location);
plain_results!(ProductBannerResults, ProductBanner);
plain_results!(ProductGroupResults, ProductGroup);
plain_results!(ProductNoticeResults, ProductNotice);
plain_results!(ProductSectionResults, ProductSection);
plain_results!(ProductSortOptionResults, ProductSortOption);

/// `GiftcardAddInput`.
#[derive(InputObject)]
pub struct GiftcardAddInput {
    pub physical_code: Option<String>,
    pub physical_pin: Option<String>,
    pub add_personal_code: Option<bool>,
    pub member_id: Option<String>,
}

/// `GiftcardEditInput`.
#[derive(InputObject)]
pub struct GiftcardEditInput {
    pub id: String,
    pub member_id: Option<String>,
    pub add_personal_code: Option<bool>,
    pub revoke_physical_code: Option<bool>,
    pub revoke_personal_code: Option<bool>,
    pub physical_code: Option<String>,
    pub physical_pin: Option<String>,
}

/// `GiftcardTransAddInput`. No `Debug`: it carries a code and a PIN.
#[derive(InputObject)]
pub struct GiftcardTransAddInput {
    pub code_type: Option<GqlCodeType>,
    pub code: String,
    pub pin: Option<String>,
    pub trans_type: GqlTransType,
    pub amount: Dec,
    pub source_id: Option<String>,
    pub ref_no: Option<String>,
    pub authorize: Option<bool>,
}

/// `GiftcardTransCaptureInput`.
#[derive(InputObject)]
pub struct GiftcardTransCaptureInput {
    pub id: String,
    pub cancel: Option<bool>,
}

/// `PurchaseLineItemInput`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseLineItemInput {
    pub line_number: i32,
    pub sku: String,
    pub is_refund: bool,
    pub unit_price: Dec,
    pub ext_price: Dec,
    pub item_discount_amount: Dec,
    pub sale_discount_amount: Dec,
    pub quantity: Dec,
    pub uom: String,
}

/// `PurchaseAddInput`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseAddInput {
    pub transaction_id: String,
    pub store_code: String,
    pub purchased_on: String,
    pub pay_amount: Dec,
    pub sale_discount_amount: Dec,
    pub item_discount_amount: Dec,
    pub sub_total: Dec,
    pub refund_amount: Dec,
    pub tax_amount: Dec,
    pub line_items: Vec<PurchaseLineItemInput>,
    pub channel: Option<String>,
    pub member_id: Option<String>,
    pub order_type: Option<String>,
    pub pay_method: Option<String>,
    pub customer_id: Option<String>,
    pub email: Option<String>,
}
