//! Gift cards over real HTTP: lookups, authorize/capture/cancel, declines, Delay Period.

use std::time::Duration;

use crate::support::pos::*;
use hardware_sim::pos::{PosSim, TransStatus};
use rust_decimal::{Decimal, dec};
use serde_json::{Value, json};

fn use_input(code: &str, amount: &str, authorize: bool) -> Value {
    json!({"codeType": "PHYSICAL", "code": code, "transType": "USE", "amount": amount,
           "authorize": authorize, "refNo": "LANE1-0001", "sourceId": "lane-1"})
}

async fn trans_add(sim: &PosSim, token: &str, input: Value) -> Value {
    gql(sim, token, TRANS_ADD, json!({"t": input})).await
}

async fn capture(sim: &PosSim, token: &str, id: &str, cancel: bool) -> Value {
    gql(
        sim,
        token,
        TRANS_CAPTURE,
        json!({"t": {"id": id, "cancel": cancel}}),
    )
    .await
}

fn balance(sim: &PosSim, card: &str) -> Decimal {
    sim.control().ledger().balance(card).unwrap()
}

#[tokio::test]
async fn authorized_debit_is_reserved_at_once_then_captured() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let body = trans_add(&sim, &t, use_input("6006491000000001", "-1.00", true)).await;
    let trans = &body["data"]["giftcardTransAdd"];
    assert_eq!(trans["status"], "AUTHORIZED");
    assert_eq!(trans["balance"], "49.00");
    assert_eq!(trans["amount"], "-1.00");
    assert_eq!(trans["giftcardId"], "1001");
    assert_eq!(balance(&sim, "1001"), dec!(49.00));
    let id = trans["id"].as_str().unwrap().to_owned();

    let captured = capture(&sim, &t, &id, false).await;
    assert_eq!(
        captured["data"]["giftcardTransCapture"]["status"],
        "COMPLETED"
    );
    assert_eq!(captured["data"]["giftcardTransCapture"]["balance"], "49.00");
    assert_eq!(balance(&sim, "1001"), dec!(49.00));

    // A retry after a lost answer returns the same completed transaction, unchanged.
    let again = capture(&sim, &t, &id, false).await;
    assert_eq!(again["data"], captured["data"]);
    assert_eq!(balance(&sim, "1001"), dec!(49.00));

    // The opposite direction is refused.
    let cancel = capture(&sim, &t, &id, true).await;
    assert_eq!(code(&cancel), Some("VALIDATION"));
    assert_eq!(validation_type(&cancel), Some("TransactionNotAuthorized"));
    assert!(cancel["data"]["giftcardTransCapture"].is_null());
    assert_eq!(balance(&sim, "1001"), dec!(49.00));
    sim.shutdown().await;
}

#[tokio::test]
async fn cancelled_debit_returns_the_reserve_and_cannot_be_captured() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let body = trans_add(&sim, &t, use_input("6006491000000001", "-10", true)).await;
    let id = body["data"]["giftcardTransAdd"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(balance(&sim, "1001"), dec!(40.00));
    let cancelled = capture(&sim, &t, &id, true).await;
    assert_eq!(
        cancelled["data"]["giftcardTransCapture"]["status"],
        "CANCELLED"
    );
    assert_eq!(
        cancelled["data"]["giftcardTransCapture"]["balance"],
        "50.00"
    );
    let again = capture(&sim, &t, &id, true).await;
    assert_eq!(again["data"], cancelled["data"]);
    let late_capture = capture(&sim, &t, &id, false).await;
    assert_eq!(
        validation_type(&late_capture),
        Some("TransactionNotAuthorized")
    );
    assert_eq!(balance(&sim, "1001"), dec!(50.00));
    let unknown = capture(&sim, &t, "999999", false).await;
    assert_eq!(code(&unknown), Some("VALIDATION"));
    sim.shutdown().await;
}

#[tokio::test]
async fn credit_lands_only_at_capture_and_cancel_changes_nothing() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let add = |amount: &str| {
        json!({"codeType": "PHYSICAL", "code": "6006491000000001", "transType": "ADD",
               "amount": amount, "authorize": true})
    };
    let body = trans_add(&sim, &t, add("1")).await;
    assert_eq!(body["data"]["giftcardTransAdd"]["balance"], "50.00");
    let id = body["data"]["giftcardTransAdd"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let captured = capture(&sim, &t, &id, false).await;
    assert_eq!(captured["data"]["giftcardTransCapture"]["balance"], "51.00");
    assert_eq!(balance(&sim, "1001"), dec!(51.00));

    let body = trans_add(&sim, &t, add("5")).await;
    let id = body["data"]["giftcardTransAdd"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancelled = capture(&sim, &t, &id, true).await;
    assert_eq!(
        cancelled["data"]["giftcardTransCapture"]["balance"],
        "51.00"
    );
    assert_eq!(balance(&sim, "1001"), dec!(51.00));
    sim.shutdown().await;
}

#[tokio::test]
async fn immediate_use_completes_at_once() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let body = trans_add(&sim, &t, use_input("6006491000000004", "-3.50", false)).await;
    assert_eq!(body["data"]["giftcardTransAdd"]["status"], "COMPLETED");
    assert_eq!(body["data"]["giftcardTransAdd"]["balance"], "0.00");
    let ledger = sim.control().ledger();
    let record = &ledger.giftcard_transactions[0];
    assert_eq!(record.ref_no.as_deref(), Some("LANE1-0001"));
    assert_eq!(record.status, TransStatus::Completed);
    assert_eq!(record.client_id, "lane-agent");
    sim.shutdown().await;
}

#[tokio::test]
async fn every_decline_reason_changes_nothing() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let with_pin = |pin: Option<&str>| {
        let mut v = use_input("6006491000000002", "-1", false);
        if let Some(pin) = pin {
            v["pin"] = json!(pin);
        }
        v
    };
    let cases = [
        (
            use_input("6006491000000004", "-3.51", false),
            "InsufficientBalance",
        ),
        (
            use_input("6006491000000004", "-3.51", true),
            "InsufficientBalance",
        ),
        (use_input("6006491999999999", "-1", false), "CodeNotFound"),
        (use_input("6006491000000003", "-1", false), "CodeExpired"),
        (with_pin(None), "InvalidPin"),
        (with_pin(Some("0000")), "InvalidPin"),
        (use_input("6006491000000001", "1.00", false), "AmountSign"),
        (use_input("6006491000000001", "0", false), "AmountSign"),
    ];
    let before = sim.control().ledger();
    for (input, expected) in cases {
        let body = trans_add(&sim, &t, input).await;
        assert_eq!(code(&body), Some("VALIDATION"), "{body}");
        assert_eq!(validation_type(&body), Some(expected), "{body}");
        assert!(body["errors"][0]["extensions"]["data"]["Property"].is_string());
        assert!(body["data"]["giftcardTransAdd"].is_null());
    }
    let after = sim.control().ledger();
    assert_eq!(after.balances, before.balances);
    assert!(after.giftcard_transactions.is_empty());

    // The right PIN passes.
    let ok = trans_add(&sim, &t, with_pin(Some("4321"))).await;
    assert_eq!(ok["data"]["giftcardTransAdd"]["balance"], "99.00");
    sim.shutdown().await;
}

#[tokio::test]
async fn delay_period_cancels_stale_authorizations() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let body = trans_add(&sim, &t, use_input("6006491000000001", "-20", true)).await;
    let id = body["data"]["giftcardTransAdd"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(balance(&sim, "1001"), dec!(30.00));
    sim.control().advance_clock(Duration::from_secs(899));
    assert_eq!(
        sim.control().ledger().transaction(&id).unwrap().status,
        TransStatus::Authorized
    );
    sim.control().advance_clock(Duration::from_secs(2));
    let ledger = sim.control().ledger();
    let record = ledger.transaction(&id).unwrap();
    assert_eq!(record.status, TransStatus::Cancelled);
    assert!(record.auto_cancelled);
    assert_eq!(ledger.balance("1001"), Some(dec!(50.00)));
    // A capture after the hold expired is refused; the cancel is idempotent.
    let t = token(&sim, AGENT).await;
    let late = capture(&sim, &t, &id, false).await;
    assert_eq!(validation_type(&late), Some("TransactionNotAuthorized"));
    let cancel = capture(&sim, &t, &id, true).await;
    assert_eq!(
        cancel["data"]["giftcardTransCapture"]["status"],
        "CANCELLED"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn transaction_types_need_their_own_permission() {
    let sim = start().await;
    let agent = token(&sim, AGENT).await;
    let adjust = json!({"codeType": "PHYSICAL", "code": "6006491000000001",
                        "transType": "ADJUST", "amount": "-1"});
    let body = trans_add(&sim, &agent, adjust.clone()).await;
    assert_eq!(code(&body), Some("NOT_AUTHORIZED"));
    let external = json!({"codeType": "EXTERNAL", "code": "EXT-WEB-000000000005",
                          "transType": "USE", "amount": "-1"});
    let body = trans_add(&sim, &agent, external.clone()).await;
    assert_eq!(code(&body), Some("NOT_AUTHORIZED"));
    let reports = token(&sim, REPORTS).await;
    let body = trans_add(&sim, &reports, use_input("6006491000000001", "-1", false)).await;
    assert_eq!(code(&body), Some("NOT_AUTHORIZED"));
    assert!(sim.control().ledger().giftcard_transactions.is_empty());
    let admin = token(&sim, ADMIN).await;
    let body = trans_add(&sim, &admin, adjust).await;
    assert_eq!(body["data"]["giftcardTransAdd"]["status"], "COMPLETED");
    let body = trans_add(&sim, &admin, external).await;
    assert_eq!(body["data"]["giftcardTransAdd"]["balance"], "19.00");
    sim.shutdown().await;
}

const LOOKUP: &str = "query($code: String, $type: GiftcardCodeType, $id: String) {
  giftcard(code: $code, codeType: $type, id: $id) {
    hasMoreResults limitedByPermission
    results { id memberId balance codes { id codeType code expiresOn isMasked } } } }";

#[tokio::test]
async fn lookup_by_code_masks_digital_codes_without_permission() {
    let sim = start().await;
    let agent = token(&sim, AGENT).await;
    let body = gql(
        &sim,
        &agent,
        LOOKUP,
        json!({"code": "6006491000000002", "type": "PHYSICAL"}),
    )
    .await;
    let card = &body["data"]["giftcard"]["results"][0];
    assert_eq!(card["id"], "1002");
    assert_eq!(card["balance"], "100.00");
    assert_eq!(card["memberId"], "000010049");
    let codes = card["codes"].as_array().unwrap();
    let personal = codes.iter().find(|c| c["codeType"] == "PERSONAL").unwrap();
    assert_eq!(personal["isMasked"], true);
    assert_eq!(personal["code"], "********************1CVH");
    let physical = codes.iter().find(|c| c["codeType"] == "PHYSICAL").unwrap();
    assert_eq!(physical["code"], "6006491000000002");
    assert_eq!(physical["isMasked"], false);

    let admin = token(&sim, ADMIN).await;
    let body = gql(&sim, &admin, LOOKUP, json!({"id": "1002"})).await;
    let codes = body["data"]["giftcard"]["results"][0]["codes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        codes
            .iter()
            .any(|c| c["code"] == "P7GQ2M9X4KD8TR3WZ6NB1CVH" && c["isMasked"] == false)
    );

    // Listing or looking up by id needs ListGiftCards.
    let body = gql(&sim, &agent, LOOKUP, json!({"id": "1002"})).await;
    assert_eq!(code(&body), Some("NOT_AUTHORIZED"));
    // Unknown code: an empty list, not an error.
    let body = gql(&sim, &agent, LOOKUP, json!({"code": "nope"})).await;
    assert_eq!(body["data"]["giftcard"]["results"], json!([]));
    // The expired code still shows, with its date.
    let body = gql(&sim, &agent, LOOKUP, json!({"code": "6006491000000003"})).await;
    assert_eq!(
        body["data"]["giftcard"]["results"][0]["codes"][0]["expiresOn"],
        "2020-12-31"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_created_card_is_funded_with_add_and_used_with_its_pin() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let create = "mutation($g: GiftcardAddInput!) { giftcardAdd(giftcard: $g) { id balance codes { codeType code } } }";
    let body = gql(
        &sim,
        &t,
        create,
        json!({"g": {"physicalCode": "6006491000000777", "physicalPin": "1111"}}),
    )
    .await;
    let id = body["data"]["giftcardAdd"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(body["data"]["giftcardAdd"]["balance"], "0.00");
    let dup = gql(
        &sim,
        &t,
        create,
        json!({"g": {"physicalCode": "6006491000000777"}}),
    )
    .await;
    assert_eq!(validation_type(&dup), Some("CodeAlreadyExists"));
    let fund = json!({"codeType": "PHYSICAL", "code": "6006491000000777", "pin": "1111",
                      "transType": "ADD", "amount": "25.00"});
    let body = trans_add(&sim, &t, fund).await;
    assert_eq!(body["data"]["giftcardTransAdd"]["balance"], "25.00");
    let mut spend = use_input("6006491000000777", "-5", false);
    spend["pin"] = json!("1111");
    let body = trans_add(&sim, &t, spend).await;
    assert_eq!(body["data"]["giftcardTransAdd"]["balance"], "20.00");
    assert_eq!(sim.control().ledger().balance(&id), Some(dec!(20.00)));

    // giftcardEdit is for trusted clients only.
    let edit =
        "mutation($g: GiftcardEditInput!) { giftcardEdit(giftcard: $g) { id codes { codeType } } }";
    let body = gql(
        &sim,
        &t,
        edit,
        json!({"g": {"id": id, "revokePhysicalCode": true}}),
    )
    .await;
    assert_eq!(code(&body), Some("NOT_AUTHORIZED"));
    let admin = token(&sim, ADMIN).await;
    let body = gql(
        &sim,
        &admin,
        edit,
        json!({"g": {"id": id, "addPersonalCode": true, "memberId": "C000000212"}}),
    )
    .await;
    let types: Vec<&Value> = body["data"]["giftcardEdit"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["codeType"])
        .collect();
    assert_eq!(types, vec!["PHYSICAL", "PERSONAL"]);
    let body = gql(
        &sim,
        &admin,
        edit,
        json!({"g": {"id": id, "revokePhysicalCode": true}}),
    )
    .await;
    assert_eq!(
        body["data"]["giftcardEdit"]["codes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let gone = trans_add(&sim, &t, use_input("6006491000000777", "-1", false)).await;
    assert_eq!(validation_type(&gone), Some("CodeNotFound"));
    sim.shutdown().await;
}
