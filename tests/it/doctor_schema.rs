//! The schema check of `lane-agent doctor`: the stand-in's live schema, fetched by
//! introspection, accepts every operation the agent sends; the same answer with a field
//! taken away names each mismatch.

use hardware_sim::pos::{PosSim, Seed};
use lane_agent::doctor::schema::{INTROSPECTION_QUERY, check_introspection};
use serde_json::{Value, json};

async fn introspect(sim: &PosSim) -> Value {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/connect/token", sim.issuer_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "lane-agent"),
            ("client_secret", "lane-agent-sim-secret-0123456789"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    http.post(sim.graphql_url())
        .bearer_auth(token)
        .json(&json!({ "query": INTROSPECTION_QUERY, "operationName": "IntrospectionQuery" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn type_mut<'a>(answer: &'a mut Value, name: &str) -> &'a mut Value {
    answer["data"]["__schema"]["types"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no type {name}"))
}

fn remove_named(list: &mut Value, name: &str) {
    let list = list.as_array_mut().unwrap();
    let before = list.len();
    list.retain(|f| f["name"] != name);
    assert_eq!(list.len(), before - 1, "{name} not found once");
}

#[tokio::test]
async fn the_stand_in_serves_introspection_and_passes() {
    let sim = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let answer = introspect(&sim).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(check_introspection(&answer).unwrap(), Vec::<String>::new());
    sim.shutdown().await;
}

#[tokio::test]
async fn each_mismatch_is_named() {
    let sim = PosSim::start("127.0.0.1:0".parse().unwrap(), Seed::example())
        .await
        .unwrap();
    let mut answer = introspect(&sim).await;
    sim.shutdown().await;
    remove_named(
        &mut type_mut(&mut answer, "GiftcardTransCaptureInput")["inputFields"],
        "cancel",
    );
    remove_named(
        &mut type_mut(&mut answer, "Environment")["fields"],
        "version",
    );
    // A status spelled differently on the server.
    let status = type_mut(&mut answer, "GiftcardTransStatus");
    remove_named(&mut status["enumValues"], "AUTHORIZED");
    status["enumValues"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "Authorized" }));
    // `purchaseAdd(add:)` renamed on the server.
    let mutation = type_mut(&mut answer, "Mutation");
    let purchase_add = mutation["fields"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["name"] == "purchaseAdd")
        .unwrap();
    purchase_add["args"][0]["name"] = json!("purchase");
    let mut found = check_introspection(&answer).unwrap();
    found.sort();
    assert_eq!(
        found,
        vec![
            "Environment.version: no such field".to_owned(),
            "GiftcardTrans.status: enum GiftcardTransStatus has no value AUTHORIZED"
                .to_owned(),
            "Mutation.giftcardTransCapture: argument trans type GiftcardTransCaptureInput has no field cancel"
                .to_owned(),
            "Mutation.purchaseAdd: no argument add".to_owned(),
            "Mutation.purchaseAdd: required argument purchase: PurchaseAddInput! is not sent"
                .to_owned(),
        ]
    );
}

#[test]
fn a_field_of_another_type_is_a_mismatch() {
    let sdl = lane_agent::doctor::schema::PINNED_SDL;
    let pinned = lane_agent::doctor::schema::SchemaModel::from_sdl(sdl).unwrap();
    let changed = sdl.replacen(
        "  balance: Decimal!\n  status: GiftcardTransStatus!",
        "  balance: Float\n  status: GiftcardTransStatus!",
        1,
    );
    assert_ne!(changed, sdl);
    let live = lane_agent::doctor::schema::SchemaModel::from_sdl(&changed).unwrap();
    let found = lane_agent::doctor::schema::check_operations(
        &live,
        &pinned,
        lane_agent::doctor::schema::OPERATIONS,
    );
    assert_eq!(
        found,
        vec!["GiftcardTrans.balance: type Float where the agent expects Decimal!".to_owned()]
    );
}
