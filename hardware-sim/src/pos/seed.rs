//! The seed file: everything the simulated POS knows when it starts.
//!
//! TOML, see `config/pos-seed.toml` for a commented example. The seed is validated as a
//! whole before the simulator binds anything, and every problem is reported at once.

use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Permission names of the POS (pos-api.md §6), exactly as the vendor spells them.
pub const PERMISSIONS: &[&str] = &[
    "ViewCustomers",
    "ViewInventory",
    "ViewSales",
    "FindGiftCardByCode",
    "UsePhysicalGiftCardCodes",
    "UseExternalGiftCardCodes",
    "ListGiftCards",
    "ViewUnmaskedGiftCardCodes",
    "UseCryptoGiftCardCodes",
    "UseShortPersonalGiftCardCodes",
    "CreateGiftCard",
    "EditGiftCard",
    "GiftCardTransAdd",
    "GiftCardTransAdjust",
    "GiftCardTransExternal",
    "GiftCardTransImport",
    "GiftCardTransUse",
    "AddPurchase",
    "MakeSaleTerminalPayment",
    "MakeRefundTerminalPayment",
];

/// The example seed shipped in `config/pos-seed.toml`.
const EXAMPLE: &str = include_str!("../../../config/pos-seed.toml");

/// Why a seed was rejected.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The text is not TOML of the expected shape.
    #[error("seed is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// The seed parsed but is inconsistent; every problem found is listed.
    #[error("seed is invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The seed file could not be read.
    #[error("cannot read seed file {path}: {source}")]
    Io {
        /// The file that was asked for.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Everything the simulated POS holds at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// What `environment { name version }` answers.
    #[serde(default)]
    pub environment: SeedEnvironment,
    /// Lifetime of issued access tokens (`expires_in`).
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// The gift-card "Delay Period": AUTHORIZED transactions older than this are cancelled.
    #[serde(default = "default_delay_period")]
    pub delay_period_secs: u64,
    /// Adds this many generated items (`GEN-000001`, …) with a `MAIN` warehouse row each.
    #[serde(default)]
    pub generate_items: u32,
    /// API clients (OIDC applications) and their permissions.
    #[serde(default, rename = "client")]
    pub clients: Vec<SeedClient>,
    /// Customers, some of them loyalty members.
    #[serde(default, rename = "customer")]
    pub customers: Vec<SeedCustomer>,
    /// Gift cards with their codes and balances.
    #[serde(default, rename = "giftcard")]
    pub giftcards: Vec<SeedGiftcard>,
    /// POS locations (store codes for `purchaseAdd`).
    #[serde(default, rename = "location")]
    pub locations: Vec<SeedLocation>,
    /// Inventory items with their warehouse and serial/lot rows.
    #[serde(default, rename = "item")]
    pub items: Vec<SeedItem>,
    /// Catalog products.
    #[serde(default, rename = "product")]
    pub products: Vec<SeedProduct>,
    /// Catalog product groups.
    #[serde(default, rename = "product_group")]
    pub product_groups: Vec<SeedProductGroup>,
    /// Catalog product notices.
    #[serde(default, rename = "product_notice")]
    pub product_notices: Vec<SeedProductNotice>,
    /// Catalog product banners.
    #[serde(default, rename = "product_banner")]
    pub product_banners: Vec<SeedProductBanner>,
    /// Catalog product sections.
    #[serde(default, rename = "product_section")]
    pub product_sections: Vec<SeedProductSection>,
    /// Catalog sort options.
    #[serde(default, rename = "product_sort_option")]
    pub product_sort_options: Vec<SeedProductSortOption>,
    /// Register sales.
    #[serde(default, rename = "sale")]
    pub sales: Vec<SeedSale>,
    /// Processor terminals behind `terminalPayment`, one per lane.
    #[serde(default, rename = "terminal")]
    pub terminals: Vec<super::terminals::SeedTerminal>,
}

fn default_token_ttl() -> u64 {
    300
}

fn default_delay_period() -> u64 {
    900
}

/// The `environment` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEnvironment {
    /// Environment name, e.g. `"sim"`.
    pub name: String,
    /// Server version string.
    pub version: String,
}

impl Default for SeedEnvironment {
    fn default() -> Self {
        Self {
            name: "hardware-sim".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// An OIDC client (confidential, client-credentials flow) and its effective permissions.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    /// Client id.
    pub id: String,
    /// Client secret.
    pub secret: String,
    /// Permission names from [`PERMISSIONS`].
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl fmt::Debug for SeedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedClient")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("permissions", &self.permissions)
            .finish()
    }
}

/// A customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCustomer {
    /// 20-digit customer id.
    pub id: String,
    /// Member id when the customer is a loyalty member.
    #[serde(default)]
    pub member_id: Option<String>,
    /// Status text, e.g. `"Active"`.
    #[serde(default)]
    pub status: Option<String>,
    /// Full name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone as entered.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Gift-card code types (the GraphQL enum `GiftcardCodeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CodeType {
    /// Printed on the card; may have a PIN.
    Physical,
    /// Generated by the POS, tied to a member.
    Personal,
    /// Managed by a third-party system.
    External,
}

/// A gift card.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGiftcard {
    /// Internal id (digits).
    pub id: String,
    /// Owning member, if any.
    #[serde(default)]
    pub member_id: Option<String>,
    /// Balance at start.
    #[serde(deserialize_with = "money::exact")]
    pub balance: Decimal,
    /// Codes, at most one per type.
    #[serde(default)]
    pub codes: Vec<SeedGiftcardCode>,
}

/// One code of a gift card.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGiftcardCode {
    /// Code type.
    #[serde(rename = "type")]
    pub code_type: CodeType,
    /// The code itself (a bearer secret).
    pub code: String,
    /// PIN; when set, every use of this code must give it.
    #[serde(default)]
    pub pin: Option<String>,
    /// Last day the code is valid (`YYYY-MM-DD`).
    #[serde(default)]
    pub expires_on: Option<String>,
}

impl fmt::Debug for SeedGiftcardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedGiftcardCode")
            .field("code_type", &self.code_type)
            .field("code", &mask(&self.code))
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// Masks a secret code to its last four characters.
pub fn mask(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let keep = chars.len().min(4);
    let hidden = chars.len() - keep;
    let mut out = "*".repeat(hidden);
    out.extend(&chars[hidden..]);
    out
}

/// A POS location.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedLocation {
    /// Store code, e.g. `"DALLAS"`.
    pub code: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// An inventory item with its warehouse and serial/lot rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedItem {
    /// SKU (unique).
    pub sku: String,
    /// Short name.
    #[serde(default)]
    pub name: Option<String>,
    /// Long name.
    #[serde(default)]
    pub long_name: Option<String>,
    /// Sale unit of measure, e.g. `"EA"`.
    #[serde(default)]
    pub sale_uom: Option<String>,
    /// Stock unit of measure.
    #[serde(default)]
    pub stock_uom: Option<String>,
    /// One row per warehouse.
    #[serde(default)]
    pub warehouses: Vec<SeedItemWarehouse>,
    /// Serial or lot numbers in stock.
    #[serde(default)]
    pub serial_lots: Vec<SeedSerialLot>,
}

/// An item's row in one warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedItemWarehouse {
    /// Warehouse code, e.g. `"MAIN"`.
    pub warehouse_code: String,
    /// Price in this warehouse.
    #[serde(default, deserialize_with = "money::exact_opt")]
    pub base_price: Option<Decimal>,
    /// Quantity on hand and available.
    #[serde(default, deserialize_with = "money::exact_opt")]
    pub quantity_available: Option<Decimal>,
}

/// A serial or lot number of an item in a warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSerialLot {
    /// Warehouse code.
    pub warehouse_code: String,
    /// Serial or lot number.
    pub serial_lot_number: String,
    /// Quantity available.
    #[serde(default, deserialize_with = "money::exact_opt")]
    pub quantity_available: Option<Decimal>,
}

/// A catalog product.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProduct {
    /// SKU.
    pub sku: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Long name.
    #[serde(default)]
    pub long_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Base price.
    #[serde(default, deserialize_with = "money::exact_opt")]
    pub base_price: Option<Decimal>,
    /// Product group codes.
    #[serde(default)]
    pub group_codes: Vec<String>,
    /// Product notice codes.
    #[serde(default)]
    pub notice_codes: Vec<String>,
}

/// A product group.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProductGroup {
    /// Code.
    pub code: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Display order.
    #[serde(default)]
    pub display_order: Option<i32>,
    /// Banner code.
    #[serde(default)]
    pub banner_code: Option<String>,
    /// Section codes.
    #[serde(default)]
    pub section_codes: Vec<String>,
}

/// A product notice.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProductNotice {
    /// Code.
    pub code: String,
    /// Text.
    #[serde(default)]
    pub text: Option<String>,
}

/// A product banner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProductBanner {
    /// Code.
    pub code: String,
    /// Text.
    #[serde(default)]
    pub text: Option<String>,
    /// Link.
    #[serde(default)]
    pub url: Option<String>,
}

/// A product section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProductSection {
    /// Code.
    pub code: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Display order.
    #[serde(default)]
    pub display_order: Option<i32>,
    /// Banner code.
    #[serde(default)]
    pub banner_code: Option<String>,
}

/// A product sort option.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProductSortOption {
    /// Code.
    pub code: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A register sale.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSale {
    /// Sale id.
    pub id: String,
    /// Register code.
    #[serde(default)]
    pub register_code: Option<String>,
    /// Transaction number.
    #[serde(default)]
    pub tran_no: Option<String>,
    /// Customer id.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Sale date, `YYYY-MM-DD` or an ISO date-time starting with it.
    #[serde(default)]
    pub sale_date: Option<String>,
}

impl Seed {
    /// Parses and validates a seed.
    pub fn from_toml_str(text: &str) -> Result<Seed, SeedError> {
        let seed: Seed = toml::from_str(text)?;
        seed.validate()?;
        Ok(seed)
    }

    /// Reads, parses and validates a seed file.
    pub fn from_file(path: &std::path::Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// The example seed from `config/pos-seed.toml` (embedded at build time).
    pub fn example() -> Seed {
        // The example is checked by a unit test, so failing here is a build defect.
        Self::from_toml_str(EXAMPLE).expect("the embedded example seed is valid")
    }

    /// Checks the seed for consistency, listing every problem.
    pub fn validate(&self) -> Result<(), SeedError> {
        let mut problems = Vec::new();
        if self.token_ttl_secs == 0 {
            problems.push("token_ttl_secs must be positive".to_owned());
        }
        if self.delay_period_secs == 0 {
            problems.push("delay_period_secs must be positive".to_owned());
        }
        let mut ids = HashSet::new();
        for client in &self.clients {
            if client.id.is_empty() || client.secret.is_empty() {
                problems.push("a client has an empty id or secret".to_owned());
            }
            if !ids.insert(client.id.as_str()) {
                problems.push(format!("client {} appears twice", client.id));
            }
            for perm in &client.permissions {
                if !PERMISSIONS.contains(&perm.as_str()) {
                    problems.push(format!("client {}: unknown permission {perm}", client.id));
                }
            }
        }
        let mut card_ids = HashSet::new();
        let mut codes = HashSet::new();
        for card in &self.giftcards {
            if !card_ids.insert(card.id.as_str()) {
                problems.push(format!("gift card {} appears twice", card.id));
            }
            if card.balance.is_sign_negative() {
                problems.push(format!("gift card {}: negative balance", card.id));
            }
            let mut types = HashSet::new();
            for code in &card.codes {
                if !types.insert(code.code_type) {
                    problems.push(format!(
                        "gift card {}: two {:?} codes",
                        card.id, code.code_type
                    ));
                }
                if code.code.is_empty() {
                    problems.push(format!("gift card {}: empty code", card.id));
                }
                if !codes.insert((code.code_type, code.code.as_str())) {
                    problems.push(format!(
                        "gift card {}: code {} used twice",
                        card.id,
                        mask(&code.code)
                    ));
                }
                if let Some(date) = &code.expires_on
                    && NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
                {
                    problems.push(format!("gift card {}: bad expires_on {date}", card.id));
                }
            }
        }
        let mut skus = HashSet::new();
        for item in &self.items {
            if !skus.insert(item.sku.as_str()) {
                problems.push(format!("item {} appears twice", item.sku));
            }
        }
        let mut locations = HashSet::new();
        for loc in &self.locations {
            if !locations.insert(loc.code.as_str()) {
                problems.push(format!("location {} appears twice", loc.code));
            }
        }
        let mut sale_ids = HashSet::new();
        for sale in &self.sales {
            if !sale_ids.insert(sale.id.as_str()) {
                problems.push(format!("sale {} appears twice", sale.id));
            }
        }
        let mut terminal_ids = HashSet::new();
        for t in &self.terminals {
            if t.id.is_empty() || !terminal_ids.insert(t.id.as_str()) {
                problems.push(format!("terminal {:?} is empty or appears twice", t.id));
            }
            if !locations.contains(t.store_code.as_str()) {
                problems.push(format!(
                    "terminal {} names unknown location {}",
                    t.id, t.store_code
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SeedError::Invalid(problems))
        }
    }

    /// The items of the seed plus the generated ones (`generate_items`).
    pub fn all_items(&self) -> Vec<SeedItem> {
        let mut items = self.items.clone();
        items.extend((1..=self.generate_items).map(generated_item));
        items
    }
}

/// Amounts in a seed must be strings, like on the wire: a TOML float is inexact.
mod money {
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer};

    pub fn exact<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(d)?;
        Decimal::from_str(&text)
            .map_err(|_| serde::de::Error::custom(format!("not a decimal amount string: {text:?}")))
    }

    pub fn exact_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        exact(d).map(Some)
    }
}

/// The `n`-th generated item: deterministic, so tests can predict it.
pub fn generated_item(n: u32) -> SeedItem {
    SeedItem {
        sku: format!("GEN-{n:06}"),
        name: Some(format!("Generated item {n}")),
        long_name: None,
        sale_uom: Some("EA".to_owned()),
        stock_uom: Some("EA".to_owned()),
        warehouses: vec![SeedItemWarehouse {
            warehouse_code: "MAIN".to_owned(),
            base_price: Some(Decimal::new(i64::from(n % 10_000) + 99, 2)),
            quantity_available: Some(Decimal::from(n % 50)),
        }],
        serial_lots: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_seed_is_valid_and_has_the_lane_agent_client() {
        let seed = Seed::example();
        let agent = seed.clients.iter().find(|c| c.id == "lane-agent").unwrap();
        for perm in [
            "FindGiftCardByCode",
            "UsePhysicalGiftCardCodes",
            "GiftCardTransUse",
            "CreateGiftCard",
            "GiftCardTransAdd",
            "AddPurchase",
            "ViewInventory",
            "ViewCustomers",
        ] {
            assert!(agent.permissions.iter().any(|p| p == perm), "{perm}");
        }
        assert!(!agent.permissions.iter().any(|p| p == "EditGiftCard"));
    }

    #[test]
    fn problems_are_all_reported() {
        let err = Seed::from_toml_str(
            r#"
token_ttl_secs = 0
[[client]]
id = "a"
secret = "s"
permissions = ["AddPurchaes"]
[[client]]
id = "a"
secret = "s"
"#,
        )
        .unwrap_err();
        let SeedError::Invalid(problems) = err else {
            panic!("expected Invalid, got {err}");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn amounts_must_be_strings() {
        let text = "[[giftcard]]\nid = \"1\"\nbalance = 10.5\n";
        assert!(matches!(Seed::from_toml_str(text), Err(SeedError::Toml(_))));
        let text = "[[giftcard]]\nid = \"1\"\nbalance = \"10.50\"\n";
        assert_eq!(
            Seed::from_toml_str(text).unwrap().giftcards[0]
                .balance
                .to_string(),
            "10.50"
        );
        let text = "[[item]]\nsku = \"1\"\nwarehouses = [{ warehouse_code = \"MAIN\", base_price = 1.99 }]\n";
        assert!(Seed::from_toml_str(text).is_err());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(matches!(
            Seed::from_toml_str("tokn_ttl_secs = 5"),
            Err(SeedError::Toml(_))
        ));
    }

    #[test]
    fn debug_hides_secrets() {
        let seed = Seed::example();
        let text = format!("{seed:?}");
        for client in &seed.clients {
            assert!(!text.contains(&client.secret));
        }
        for card in &seed.giftcards {
            for code in &card.codes {
                assert!(!text.contains(&code.code));
            }
        }
    }

    #[test]
    fn mask_keeps_last_four() {
        assert_eq!(mask("1234567890"), "******7890");
        assert_eq!(mask("12"), "12");
    }
}
