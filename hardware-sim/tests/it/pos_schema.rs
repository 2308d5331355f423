//! The served schema matches pos-schema.graphql, and every query answers.

use std::collections::BTreeMap;

use crate::support::pos::*;
use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use serde_json::json;

/// Type name → its fields (with arguments and types), input fields or enum values.
fn shape(sdl: &str) -> BTreeMap<String, Vec<String>> {
    let doc = parse_schema(sdl).expect("SDL parses");
    let mut out = BTreeMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let ty = ty.node;
        let mut members: Vec<String> = match &ty.kind {
            TypeKind::Scalar => vec![],
            TypeKind::Object(o) => o
                .fields
                .iter()
                .map(|f| {
                    let mut args: Vec<String> = f
                        .node
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    args.sort();
                    format!(
                        "{}({}): {}",
                        f.node.name.node,
                        args.join(", "),
                        f.node.ty.node
                    )
                })
                .collect(),
            TypeKind::InputObject(i) => i
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.node.name.node, f.node.ty.node))
                .collect(),
            TypeKind::Enum(e) => e
                .values
                .iter()
                .map(|v| v.node.value.node.to_string())
                .collect(),
            other => panic!("unexpected kind {other:?}"),
        };
        members.sort();
        out.insert(ty.name.node.to_string(), members);
    }
    out
}

#[test]
fn served_sdl_matches_the_reference_schema() {
    // The one copy of the reference schema, owned by the client that speaks it.
    let reference = shape(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pos-client/schema/pos-schema.graphql"
    )));
    let mut served = shape(&hardware_sim::pos::schema_sdl());
    for builtin in ["Boolean", "Int", "String", "Float", "ID"] {
        served.remove(builtin);
    }
    for (name, members) in &reference {
        assert_eq!(served.get(name), Some(members), "type {name} differs");
    }
    let extra: Vec<_> = served
        .keys()
        .filter(|k| !reference.contains_key(*k))
        .collect();
    assert!(extra.is_empty(), "types not in the reference: {extra:?}");
}

#[tokio::test]
async fn every_query_answers_with_seed_data() {
    let sim = start().await;
    let t = token(&sim, ADMIN).await;
    let body = gql(
        &sim,
        &t,
        r#"{
          environment { name version }
          customer(memberId: "000010049") { hasMoreResults limitedByPermission results { id memberId status fullName email phone { raw normalized } } }
          location(code: "DALLAS") { results { code name email phone } }
          product(sku: "1000001") { results { sku name basePrice groupCodes noticeCodes } }
          productBanner { results { code text url } }
          productGroup(code: "KITCHEN") { results { code name displayOrder bannerCode sectionCodes } }
          productNotice { results { code text } }
          productSection { results { code name displayOrder bannerCode } }
          productSortOption(first: 1) { hasMoreResults results { code name } }
          itemSerialLot(sku: "1000003") { results { sku warehouseCode serialLotNumber quantityAvailable } }
          itemWarehouse(warehouseCode: "DALLAS") { results { sku basePrice } }
          sale(fromDate: "2026-11-21", toDate: "2026-11-22") { results { id registerCode tranNo customerId saleDate } }
        }"#,
        json!({}),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    let d = &body["data"];
    assert_eq!(
        d["environment"],
        json!({"name": "hardware-sim", "version": "sim-1"})
    );
    let customer = &d["customer"]["results"][0];
    assert_eq!(customer["id"], "00000000000000000001");
    assert_eq!(customer["phone"]["normalized"], "2145550101");
    assert_eq!(d["location"]["results"][0]["name"], "Dallas Store");
    assert_eq!(d["product"]["results"][0]["basePrice"], "9.99");
    assert_eq!(
        d["product"]["results"][0]["noticeCodes"],
        json!(["FRAGILE"])
    );
    assert_eq!(d["productBanner"]["results"][0]["code"], "SALE");
    assert_eq!(
        d["productGroup"]["results"][0]["sectionCodes"],
        json!(["HOME"])
    );
    assert_eq!(
        d["productNotice"]["results"][0]["text"],
        "Handle with care."
    );
    assert_eq!(d["productSection"]["results"][0]["displayOrder"], 1);
    assert_eq!(d["productSortOption"]["hasMoreResults"], true);
    assert_eq!(d["itemSerialLot"]["results"].as_array().unwrap().len(), 2);
    assert_eq!(d["itemSerialLot"]["results"][0]["quantityAvailable"], "1");
    assert_eq!(
        d["itemWarehouse"]["results"],
        json!([{"sku": "1000002", "basePrice": "14.50"}])
    );
    assert_eq!(d["sale"]["results"][0]["id"], "500002");
    assert_eq!(d["sale"]["results"].as_array().unwrap().len(), 1);

    let bad_date = gql(
        &sim,
        &t,
        "{ sale(fromDate: \"21.11.2026\") { results { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&bad_date), Some("VALIDATION"));
    sim.shutdown().await;
}

#[tokio::test]
async fn decimals_travel_as_strings_both_ways() {
    let sim = start().await;
    let t = token(&sim, AGENT).await;
    let number = gql(
        &sim,
        &t,
        TRANS_ADD,
        json!({"t": {"code": "6006491000000001", "transType": "USE", "amount": -1.5}}),
    )
    .await;
    assert!(number["errors"].is_array(), "{number}");
    assert!(sim.control().ledger().giftcard_transactions.is_empty());
    let string = gql(
        &sim,
        &t,
        TRANS_ADD,
        json!({"t": {"code": "6006491000000001", "transType": "USE", "amount": "-1.5"}}),
    )
    .await;
    assert_eq!(string["data"]["giftcardTransAdd"]["amount"], "-1.5");
    assert_eq!(string["data"]["giftcardTransAdd"]["balance"], "48.50");
    sim.shutdown().await;
}
