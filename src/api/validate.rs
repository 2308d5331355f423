//! Input rules checked before the backend is called, so that bad input changes nothing.

use std::sync::{Arc, LazyLock, RwLock};

use cardreader::{Classifier, ClassifierConfig};
use rust_decimal::Decimal;
use rust_decimal::dec;

use super::error::ApiError;
use super::types::{
    AddPaymentRequest, GiftCardCode, GiftCardFundRequest, GiftCardReplaceCodeRequest,
    OpenSaleRequest, PaymentMethod, Pin, RefundRequest, is_valid_sku,
};

/// The largest amount (payment, load, unit price, tax) the API accepts.
pub const MAX_AMOUNT: Decimal = dec!(100000.00);
/// The largest quantity of one line.
pub const MAX_QUANTITY: Decimal = dec!(100000);
/// Decimal places allowed in a quantity (weights in kg to the gram).
pub const QUANTITY_PLACES: u32 = 3;
/// Decimal places allowed in money when no lane currency was set (EUR, USD: 2).
pub const MONEY_PLACES: u32 = 2;
/// The most lines one sale may have.
pub const MAX_LINES: usize = 500;
/// The largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn places(d: Decimal) -> u32 {
    d.normalize().scale()
}

/// A positive money amount with at most two decimal places, not above [`MAX_AMOUNT`].
pub fn amount(field: &str, d: Decimal) -> Result<(), ApiError> {
    if d <= Decimal::ZERO {
        return Err(ApiError::invalid(
            "invalid_amount",
            format!("`{field}` must be more than 0."),
        ));
    }
    money_bounds(field, d)
}

/// The lane's currency as amounts are checked against it: letters and minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoneyRule {
    /// ISO 4217 letters, for the message.
    pub currency: &'static str,
    /// Decimal places the currency has.
    pub places: u32,
}

// Process-wide like the code screen below: every route validates through free functions,
// and the service sets the lane's currency once at start.
static MONEY: RwLock<MoneyRule> = RwLock::new(MoneyRule {
    currency: "EUR",
    places: MONEY_PLACES,
});

/// Makes every route check amounts against the lane's currency (`lane.currency`).
pub fn set_money_rule(rule: MoneyRule) {
    *MONEY.write().unwrap_or_else(|e| e.into_inner()) = rule;
}

fn money_rule() -> MoneyRule {
    *MONEY.read().unwrap_or_else(|e| e.into_inner())
}

/// 400 `amount_precision` when `d` has more decimal places than `rule`'s currency has
/// ("12.345" in USD, "5.5" in JPY): such an amount cannot be paid or put on the terminal.
pub fn precision(field: &str, d: Decimal, rule: MoneyRule) -> Result<(), ApiError> {
    let got = places(d);
    if got > rule.places {
        return Err(ApiError::bad_request(
            "amount_precision",
            format!(
                "`{field}` has {got} decimal places; {} allows at most {}.",
                rule.currency, rule.places
            ),
        ));
    }
    Ok(())
}

fn money_bounds(field: &str, d: Decimal) -> Result<(), ApiError> {
    precision(field, d, money_rule())?;
    if d > MAX_AMOUNT {
        return Err(ApiError::invalid(
            "invalid_amount",
            format!("`{field}` is above the maximum of {MAX_AMOUNT}."),
        ));
    }
    Ok(())
}

/// Zero or a positive amount (unit prices, tax).
fn non_negative_amount(field: &str, d: Decimal) -> Result<(), ApiError> {
    if d < Decimal::ZERO {
        return Err(ApiError::invalid(
            "invalid_amount",
            format!("`{field}` must not be negative."),
        ));
    }
    money_bounds(field, d)
}

fn quantity(field: &str, d: Decimal) -> Result<(), ApiError> {
    if d <= Decimal::ZERO || d > MAX_QUANTITY || places(d) > QUANTITY_PLACES {
        return Err(ApiError::invalid(
            "invalid_quantity",
            format!(
                "`{field}` must be more than 0, at most {MAX_QUANTITY}, with at most \
                 {QUANTITY_PLACES} decimal places."
            ),
        ));
    }
    Ok(())
}

/// A SKU from a body or a path.
pub fn sku(field: &str, s: &str) -> Result<(), ApiError> {
    if is_valid_sku(s) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid_sku",
            format!("`{field}` must be 1 to 64 printable characters without surrounding spaces."),
        ))
    }
}

fn uom(field: &str, s: &str) -> Result<(), ApiError> {
    let ok = (1..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid_uom",
            format!("`{field}` must be 1 to 16 letters or digits."),
        ))
    }
}

// The readers' classifier, so that a code keyed at the register meets the same bank-card
// rule (configured gift prefixes, BIN ranges, Luhn) as a swiped one. Process-wide because
// every route validates through the free functions below; the service sets it at start.
static SCREEN: LazyLock<RwLock<Arc<Classifier>>> = LazyLock::new(|| {
    RwLock::new(Arc::new(
        Classifier::new(ClassifierConfig::default()).expect("the default rules are valid"),
    ))
});

/// Makes every route screen codes with `classifier` (the service passes the readers' rules,
/// so the configured gift prefixes win over BIN ranges as they do for reads).
pub fn set_code_screen(classifier: Classifier) {
    let mut screen = SCREEN.write().unwrap_or_else(|e| e.into_inner());
    *screen = Arc::new(classifier);
}

/// 422 `bank_card_not_accepted` when `code` is a payment-card number. Checked before anything
/// is stored, sent or logged; the answer never holds the number.
pub fn not_a_bank_card(field: &str, code: &str) -> Result<(), ApiError> {
    let screen = Arc::clone(&SCREEN.read().unwrap_or_else(|e| e.into_inner()));
    if screen.is_payment_card_number(code) {
        return Err(ApiError::invalid(
            "bank_card_not_accepted",
            format!("`{field}` is a bank card number; take bank cards on the terminal."),
        ));
    }
    Ok(())
}

/// A gift-card code: 4 to 128 characters from `A-Z a-z 0-9 -`, not a bank card number.
pub fn code(code: &GiftCardCode) -> Result<(), ApiError> {
    let s = code.expose();
    let ok =
        (4..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(ApiError::invalid(
            "invalid_code",
            "`code` must be 4 to 128 letters, digits or dashes.",
        ));
    }
    not_a_bank_card("code", s)
}

fn pin(pin: &Pin) -> Result<(), ApiError> {
    let s = pin.expose();
    if (3..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid_pin",
            "`pin` must be 3 to 12 digits.",
        ))
    }
}

/// `POST /v1/sales`.
pub fn open_sale(req: &OpenSaleRequest) -> Result<(), ApiError> {
    if req.lines.is_empty() {
        return Err(ApiError::invalid(
            "empty_lines",
            "A sale needs at least one line.",
        ));
    }
    if req.lines.len() > MAX_LINES {
        return Err(ApiError::invalid(
            "too_many_lines",
            format!("A sale may have at most {MAX_LINES} lines."),
        ));
    }
    for (i, line) in req.lines.iter().enumerate() {
        sku(&format!("lines[{i}].sku"), &line.sku)?;
        quantity(&format!("lines[{i}].quantity"), line.quantity)?;
        non_negative_amount(&format!("lines[{i}].unit_price"), line.unit_price)?;
        if let Some(u) = &line.uom {
            uom(&format!("lines[{i}].uom"), u)?;
        }
    }
    if let Some(tax) = req.tax {
        let returns = req.lines.iter().filter(|l| l.refund).count();
        if returns == 0 {
            non_negative_amount("tax", tax)?;
        } else {
            // Returned lines give their tax back: a negative tax, never a positive one when
            // every line comes back.
            non_negative_amount("tax", tax.abs())?;
            if returns == req.lines.len() && tax > Decimal::ZERO {
                return Err(ApiError::invalid(
                    "invalid_amount",
                    "`tax` must not be positive when every line is returned.",
                ));
            }
        }
    }
    Ok(())
}

/// `POST /v1/sales/{id}/refunds`.
pub fn refund(req: &RefundRequest) -> Result<(), ApiError> {
    amount("amount", req.amount)?;
    match (req.method, &req.code) {
        (PaymentMethod::GiftCard, Some(c)) => code(c),
        (PaymentMethod::GiftCard, None) => Err(ApiError::invalid(
            "invalid_code",
            "A gift-card refund needs the `code` of the card to load.",
        )),
        (_, Some(_)) => Err(ApiError::invalid(
            "invalid_code",
            "`code` is only for gift-card refunds.",
        )),
        (_, None) => Ok(()),
    }
}

/// `POST /v1/sales/{id}/payments`.
pub fn add_payment(req: &AddPaymentRequest) -> Result<(), ApiError> {
    amount("amount", req.amount)?;
    if req.reserve && req.method != PaymentMethod::Card {
        return Err(ApiError::invalid(
            "reserve_not_card",
            "`reserve` is only for card payments.",
        ));
    }
    if req.method != PaymentMethod::GiftCard {
        if req.code.is_some() {
            return Err(ApiError::invalid(
                "invalid_code",
                "`code` is only for gift-card payments.",
            ));
        }
        if req.pin.is_some() {
            return Err(ApiError::invalid(
                "invalid_pin",
                "`pin` is only for gift-card payments.",
            ));
        }
    }
    match (&req.code, &req.pin) {
        (Some(c), p) => {
            code(c)?;
            if let Some(p) = p {
                pin(p)?;
            }
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_pin",
                "`pin` needs `code`; a card read at the lane prompts for its own PIN.",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

/// `POST /v1/giftcards/activate` and `/reload`.
pub fn fund(req: &GiftCardFundRequest) -> Result<(), ApiError> {
    amount("amount", req.amount)?;
    if let Some(c) = &req.code {
        code(c)?;
    }
    Ok(())
}

/// `POST /v1/giftcards/replace-code`: a POS card id (1 to 64 letters or digits), a new code
/// of 4 to 64 letters, digits or dashes and an optional PIN of 3 to 12 digits.
pub fn replace_code(req: &GiftCardReplaceCodeRequest) -> Result<(), ApiError> {
    let id = &req.card_id;
    if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            "invalid_card_id",
            "`card_id` must be 1 to 64 letters or digits.",
        ));
    }
    let c = req.new_code.expose();
    if !(4..=64).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ApiError::invalid(
            "invalid_code",
            "`new_code` must be 4 to 64 letters, digits or dashes.",
        ));
    }
    not_a_bank_card("new_code", c)?;
    if let Some(p) = &req.new_pin {
        pin(p)
            .map_err(|_| ApiError::invalid("invalid_pin", "`new_pin` must be 3 to 12 digits."))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::extract::parse_json;

    fn sale(body: &str) -> Result<(), ApiError> {
        open_sale(&parse_json::<OpenSaleRequest>(body.as_bytes()).unwrap())
    }

    fn pay(body: &str) -> Result<(), ApiError> {
        add_payment(&parse_json::<AddPaymentRequest>(body.as_bytes()).unwrap())
    }

    fn give_back(body: &str) -> Result<(), ApiError> {
        refund(&parse_json::<RefundRequest>(body.as_bytes()).unwrap())
    }

    #[test]
    fn returns_may_refund_tax_and_refunds_need_sane_bodies() {
        assert!(sale(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"2","refund":true}],"tax":"-0.16"}"#).is_ok());
        assert!(sale(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"2","refund":true},{"sku":"B","quantity":"1","unit_price":"5"}],"tax":"0.24"}"#).is_ok());
        let code = |b: &str| sale(b).unwrap_err().code;
        assert_eq!(
            code(
                r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"2","refund":true}],"tax":"0.16"}"#
            ),
            "invalid_amount"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"-1","unit_price":"2","refund":true}]}"#),
            "invalid_quantity"
        );
        assert!(give_back(r#"{"method":"cash","amount":"1.00","refund_id":"r-1"}"#).is_ok());
        assert!(
            give_back(r#"{"method":"giftcard","amount":"1.00","code":"6006491000000001"}"#).is_ok()
        );
        let code = |b: &str| give_back(b).unwrap_err().code;
        assert_eq!(
            code(r#"{"method":"giftcard","amount":"1.00"}"#),
            "invalid_code"
        );
        assert_eq!(
            code(r#"{"method":"cash","amount":"1.00","code":"6006491000000001"}"#),
            "invalid_code"
        );
        assert_eq!(code(r#"{"method":"cash","amount":"0"}"#), "invalid_amount");
        assert_eq!(
            code(r#"{"method":"card","amount":"1.001"}"#),
            "amount_precision"
        );
        let e = give_back(r#"{"method":"giftcard","amount":"1.00","code":"4111111111111111"}"#)
            .unwrap_err();
        assert!(!e.message.contains("4111111111111111"), "{}", e.message);
    }

    #[test]
    fn sales_need_sane_lines() {
        assert!(sale(r#"{"lines":[{"sku":"A","quantity":"0.5","unit_price":"2.99"}]}"#).is_ok());
        assert!(sale(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"0"}]}"#).is_ok());
        let code = |b: &str| sale(b).unwrap_err().code;
        assert_eq!(code(r#"{"lines":[]}"#), "empty_lines");
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"0","unit_price":"1"}]}"#),
            "invalid_quantity"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"-1","unit_price":"1"}]}"#),
            "invalid_quantity"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"0.0001","unit_price":"1"}]}"#),
            "invalid_quantity"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"-1"}]}"#),
            "invalid_amount"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"1.001"}]}"#),
            "amount_precision"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"","quantity":"1","unit_price":"1"}]}"#),
            "invalid_sku"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"1","uom":"k g"}]}"#),
            "invalid_uom"
        );
        assert_eq!(
            code(r#"{"lines":[{"sku":"A","quantity":"1","unit_price":"1"}],"tax":"-0.01"}"#),
            "invalid_amount"
        );
    }

    #[test]
    fn payments_need_sane_amounts_and_codes() {
        assert!(pay(r#"{"method":"cash","amount":"10.00"}"#).is_ok());
        assert!(pay(r#"{"method":"card","amount":"10.00","reserve":true}"#).is_ok());
        assert!(pay(r#"{"method":"cash","amount":"10.00","reserve":false}"#).is_ok());
        for m in ["cash", "giftcard"] {
            let body = format!(r#"{{"method":"{m}","amount":"10.00","reserve":true}}"#);
            assert_eq!(pay(&body).unwrap_err().code, "reserve_not_card");
        }
        assert!(
            pay(r#"{"method":"giftcard","amount":"1.50","code":"6006491234567890","pin":"1234"}"#)
                .is_ok()
        );
        assert!(pay(r#"{"method":"giftcard","amount":"1.500"}"#).is_ok());
        let code = |b: &str| pay(b).unwrap_err().code;
        assert_eq!(code(r#"{"method":"cash","amount":"0"}"#), "invalid_amount");
        assert_eq!(code(r#"{"method":"cash","amount":"-5"}"#), "invalid_amount");
        assert_eq!(
            code(r#"{"method":"cash","amount":"1.234"}"#),
            "amount_precision"
        );
        assert_eq!(
            code(r#"{"method":"cash","amount":"100000.01"}"#),
            "invalid_amount"
        );
        assert_eq!(
            code(r#"{"method":"card","amount":"1","code":"6006491234567890"}"#),
            "invalid_code"
        );
        assert_eq!(
            code(r#"{"method":"giftcard","amount":"1","code":"12"}"#),
            "invalid_code"
        );
        assert_eq!(
            code(r#"{"method":"giftcard","amount":"1","pin":"1234"}"#),
            "invalid_pin"
        );
        assert_eq!(
            code(r#"{"method":"giftcard","amount":"1","code":"6006491234567890","pin":"12ab"}"#),
            "invalid_pin"
        );
    }

    #[test]
    fn code_replacements_need_an_id_a_code_and_a_sane_pin() {
        let check = |b: &str| {
            replace_code(&parse_json::<GiftCardReplaceCodeRequest>(b.as_bytes()).unwrap())
        };
        assert!(check(r#"{"card_id":"GC1","new_code":"6006490000001235"}"#).is_ok());
        assert!(
            check(r#"{"card_id":"GC1","new_code":"6006490000001235","new_pin":"4711"}"#).is_ok()
        );
        let code = |b: &str| check(b).unwrap_err().code;
        assert_eq!(
            code(r#"{"card_id":"","new_code":"6006490000001235"}"#),
            "invalid_card_id"
        );
        assert_eq!(
            code(r#"{"card_id":"G 1","new_code":"6006490000001235"}"#),
            "invalid_card_id"
        );
        assert_eq!(
            code(r#"{"card_id":"GC1","new_code":"123"}"#),
            "invalid_code"
        );
        assert_eq!(
            code(r#"{"card_id":"GC1","new_code":"6006 4900"}"#),
            "invalid_code"
        );
        assert_eq!(
            code(r#"{"card_id":"GC1","new_code":"6006490000001235","new_pin":"12x4"}"#),
            "invalid_pin"
        );
        let e = check(r#"{"card_id":"GC1","new_code":"6006490000001235!"}"#).unwrap_err();
        assert!(!e.message.contains("6006490000001235"));
    }

    #[test]
    fn bank_card_numbers_are_refused_with_their_own_code() {
        for body in [
            r#"{"method":"giftcard","amount":"1","code":"4931735702461002"}"#,
            r#"{"method":"giftcard","amount":"1","code":"4931-7357-0246-1002"}"#,
        ] {
            let e = pay(body).unwrap_err();
            assert_eq!(e.code, "bank_card_not_accepted");
            assert!(!e.message.contains("4931"), "{}", e.message);
        }
        let e = replace_code(
            &parse_json::<GiftCardReplaceCodeRequest>(
                br#"{"card_id":"GC1","new_code":"4111111111111111"}"#,
            )
            .unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.code, "bank_card_not_accepted");
        // Luhn fails: an ordinary code.
        assert!(pay(r#"{"method":"giftcard","amount":"1","code":"4931735702461003"}"#).is_ok());
    }

    #[test]
    fn messages_never_hold_the_code() {
        let e =
            pay(r#"{"method":"giftcard","amount":"1","code":"6006491234567890!"}"#).unwrap_err();
        assert!(!e.message.contains("6006491234567890"));
    }
}

#[cfg(test)]
mod currency_tests {
    use super::*;

    #[test]
    fn amounts_with_more_places_than_the_currency_are_a_400() {
        let usd = MoneyRule {
            currency: "USD",
            places: 2,
        };
        let jpy = MoneyRule {
            currency: "JPY",
            places: 0,
        };
        assert!(precision("amount", dec!(12.34), usd).is_ok());
        assert!(
            precision("amount", dec!(12.340), usd).is_ok(),
            "trailing zeros are fine"
        );
        let e = precision("amount", dec!(12.345), usd).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(e.code, "amount_precision");
        assert_eq!(
            e.message,
            "`amount` has 3 decimal places; USD allows at most 2."
        );
        assert!(precision("amount", dec!(1200), jpy).is_ok());
        assert!(precision("amount", dec!(1200.00), jpy).is_ok());
        let e = precision("amount", dec!(12.5), jpy).unwrap_err();
        assert_eq!(
            e.message,
            "`amount` has 1 decimal places; JPY allows at most 0."
        );
    }
}
