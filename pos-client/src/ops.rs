//! Generated GraphQL operations: one document per operation under `graphql/`, checked against
//! `schema/pos-schema.graphql` at compile time. Only the derive is used; requests go through
//! the crate's own transport.

#![allow(missing_docs, clippy::all)]

use graphql_client::GraphQLQuery;

/// The schema's `Decimal` scalar (a JSON string).
pub type Decimal = crate::wire::Decimal;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/environment.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct Environment;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/customer.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct Customer;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/giftcard.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct Giftcard;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/item.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct Item;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/item_warehouse.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct ItemWarehouse;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/item_serial_lot.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct ItemSerialLot;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/location.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct Location;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/product.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct Product;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/product_banner.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct ProductBanner;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/product_group.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct ProductGroup;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/product_notice.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct ProductNotice;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/product_section.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct ProductSection;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/product_sort_option.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct ProductSortOption;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/sale.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct Sale;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/giftcard_add.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct GiftcardAdd;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/giftcard_edit.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct GiftcardEdit;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/giftcard_trans_add.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct GiftcardTransAdd;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/giftcard_trans_capture.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct GiftcardTransCapture;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/purchase_add.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct PurchaseAdd;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/terminal_payment_start.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct TerminalPaymentStart;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/terminal_payment_continue.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct TerminalPaymentContinue;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/terminal_payment_capture.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct TerminalPaymentCapture;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/terminal_payment_void.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct TerminalPaymentVoid;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "schema/pos-schema.graphql",
    query_path = "graphql/terminal_payments.graphql",
    response_derives = "Debug",
    variables_derives = "Debug"
)]
pub struct TerminalPayments;
