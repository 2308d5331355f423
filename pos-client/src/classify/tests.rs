//! T6.1: each answer shape → its class; the classifier is total (proptest).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::error::ErrorClass;
use crate::secret::GiftCode;

const TRANS: OpMeta = OpMeta {
    name: "giftcardTransAdd",
    field: "giftcardTransAdd",
    mutation: true,
    declines: true,
};
const PURCHASE: OpMeta = OpMeta {
    name: "purchaseAdd",
    field: "purchaseAdd",
    mutation: true,
    declines: false,
};
const ITEM: OpMeta = OpMeta {
    name: "item",
    field: "item",
    mutation: false,
    declines: false,
};

fn run(op: &OpMeta, status: u16, body: &str) -> Result<Value, PosError> {
    let mut r = Redactor::default();
    r.add_code(&GiftCode::new("6006491234567890"));
    classify::<Value>(op, status, None, body.as_bytes(), &r)
}

fn err(op: &OpMeta, code: &str, data: Value) -> String {
    json!({"data": {op.field: null}, "errors": [{"message": "rejected 6006491234567890",
        "path": [op.field], "extensions": {"code": code, "data": data}}]})
    .to_string()
}

#[test]
fn non_null_field_is_success_even_with_nested_errors() {
    let body = json!({"data": {"purchaseAdd": {"id": "P1"}},
        "errors": [{"message": "nested", "path": ["purchaseAdd", "x"], "extensions": {"code": "FUSION_ERROR"}}]});
    let v = run(&PURCHASE, 200, &body.to_string()).unwrap();
    assert_eq!(v["purchaseAdd"]["id"], "P1");
}

#[test]
fn null_field_without_errors_is_outcome_unknown() {
    let e = run(&PURCHASE, 200, r#"{"data":{"purchaseAdd":null}}"#).unwrap_err();
    assert_eq!(e.class(), ErrorClass::OutcomeUnknown);
    let e = run(&ITEM, 200, r#"{"data":{}}"#).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transient);
}

#[test]
fn error_codes_map_to_variants_and_classes() {
    let e = run(
        &PURCHASE,
        200,
        &err(&PURCHASE, "NOT_AUTHENTICATED", json!(null)),
    )
    .unwrap_err();
    assert!(matches!(e, PosError::NotAuthenticated { .. }));
    let e = run(
        &PURCHASE,
        200,
        &err(&PURCHASE, "NOT_AUTHORIZED", json!(null)),
    )
    .unwrap_err();
    assert!(matches!(e, PosError::NotAuthorized { .. }));
    assert_eq!(e.class(), ErrorClass::Rejected);
    let e = run(&PURCHASE, 200, &err(&PURCHASE, "FUSION_ERROR", json!(null))).unwrap_err();
    assert_eq!(e.class(), ErrorClass::OutcomeUnknown);
    let e = run(&ITEM, 200, &err(&ITEM, "FUSION_ERROR", json!(null))).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transient);
    let e = run(
        &PURCHASE,
        200,
        &err(
            &PURCHASE,
            "VALIDATION",
            json!({"ValidationType": "NotEmptyValidator", "Property": "Member"}),
        ),
    )
    .unwrap_err();
    match &e {
        PosError::Validation {
            validation_type,
            property,
            ..
        } => {
            assert_eq!(validation_type, "NotEmptyValidator");
            assert_eq!(property, "Member");
        }
        other => panic!("{other:?}"),
    }
    let e = run(
        &PURCHASE,
        200,
        &err(&PURCHASE, "SOMETHING_NEW", json!(null)),
    )
    .unwrap_err();
    assert_eq!(e.class(), ErrorClass::OutcomeUnknown);
}

#[test]
fn gift_card_validation_is_a_decline_with_reason_and_no_code() {
    for (t, reason) in [
        ("InsufficientBalance", DeclineReason::InsufficientBalance),
        ("CodeNotFound", DeclineReason::CodeNotFound),
        ("CodeExpired", DeclineReason::CodeExpired),
        ("InvalidPin", DeclineReason::InvalidPin),
        ("AmountSign", DeclineReason::AmountSign),
        (
            "TransactionNotAuthorized",
            DeclineReason::TransactionNotAuthorized,
        ),
        ("Weird", DeclineReason::Other("Weird".into())),
    ] {
        let e = run(
            &TRANS,
            200,
            &err(&TRANS, "VALIDATION", json!({"ValidationType": t})),
        )
        .unwrap_err();
        assert_eq!(e.decline_reason(), Some(&reason));
        assert_eq!(e.class(), ErrorClass::Rejected);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("6006491234567890"), "{shown}");
        assert!(shown.contains("****7890"), "{shown}");
    }
}

#[test]
fn http_statuses() {
    let e = run(&PURCHASE, 401, "").unwrap_err();
    assert!(matches!(e, PosError::NotAuthenticated { .. }));
    for s in [500, 502, 503, 504] {
        let e = run(&PURCHASE, s, "oops").unwrap_err();
        assert_eq!(e.class(), ErrorClass::OutcomeUnknown, "{s}");
        let e = run(&ITEM, s, "oops").unwrap_err();
        assert_eq!(e.class(), ErrorClass::Transient, "{s}");
    }
    let e = run(&PURCHASE, 429, "").unwrap_err();
    assert_eq!(e.class(), ErrorClass::NotSent);
    let e = run(&PURCHASE, 403, "<html>").unwrap_err();
    assert_eq!(e.class(), ErrorClass::Rejected);
    // A 400 carrying GraphQL errors is read for its code.
    let e = run(
        &TRANS,
        400,
        &err(
            &TRANS,
            "VALIDATION",
            json!({"ValidationType": "InvalidPin"}),
        ),
    )
    .unwrap_err();
    assert_eq!(e.decline_reason(), Some(&DeclineReason::InvalidPin));
}

#[test]
fn malformed_answers_are_bad_responses() {
    for body in [
        "<html><body>502 Bad Gateway</body></html>",
        "",
        "{\"data\":",
        "[]",
        "42",
        r#"{"data":"x"}"#,
        r#"{"errors":{"a":1}}"#,
        r#"{}"#,
    ] {
        let e = run(&PURCHASE, 200, body).unwrap_err();
        assert!(matches!(e, PosError::BadResponse { .. }), "{body}: {e:?}");
        assert_eq!(e.class(), ErrorClass::OutcomeUnknown, "{body}");
    }
}

#[test]
fn wrong_types_in_data_are_bad_responses() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct D {
        #[serde(rename = "purchaseAdd")]
        purchase_add: P,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct P {
        id: String,
    }
    let r = Redactor::default();
    let e = classify::<D>(
        &PURCHASE,
        200,
        None,
        br#"{"data":{"purchaseAdd":{"id":5}}}"#,
        &r,
    )
    .unwrap_err();
    assert!(matches!(e, PosError::BadResponse { .. }));
}

#[test]
fn error_path_picks_the_error_of_the_field() {
    let body = json!({"data": {"giftcardTransAdd": null}, "errors": [
        {"message": "other", "path": ["somethingElse"], "extensions": {"code": "FUSION_ERROR"}},
        {"message": "bal", "path": ["giftcardTransAdd"], "extensions": {"code": "VALIDATION",
            "data": {"ValidationType": "InsufficientBalance"}}}]});
    let e = run(&TRANS, 200, &body.to_string()).unwrap_err();
    assert_eq!(
        e.decline_reason(),
        Some(&DeclineReason::InsufficientBalance)
    );
}

proptest! {
    /// The classifier is total: arbitrary bytes and statuses never panic.
    #[test]
    fn never_panics_on_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = classify::<Value>(&TRANS, status, None, &body, &Redactor::default());
    }

    /// Nor on arbitrary JSON-ish shapes of data and errors.
    #[test]
    fn never_panics_on_json(field in prop_oneof![Just(json!(null)), Just(json!({})), Just(json!(1)), Just(json!("x"))],
                            code in prop_oneof![Just(json!("VALIDATION")), Just(json!(7)), Just(json!(null))],
                            data in prop_oneof![Just(json!({"ValidationType": 3})), Just(json!([])), Just(json!(null))]) {
        let body = json!({"data": {"giftcardTransAdd": field}, "errors": [{"extensions": {"code": code, "data": data}}, 5, null]});
        let _ = classify::<Value>(&TRANS, 200, None, body.to_string().as_bytes(), &Redactor::default());
    }
}
