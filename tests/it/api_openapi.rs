//! The checked-in OpenAPI document describes exactly the routes the router serves.

use std::collections::BTreeSet;

use crate::support::api::{TOKEN, TestApi};
use lane_agent::api::{OPENAPI_JSON, route_specs};
use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(OPENAPI_JSON).expect("docs/openapi.json is JSON")
}

#[test]
fn document_and_router_list_the_same_routes() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<_> = route_specs()
        .into_iter()
        .map(|s| (s.method.to_owned(), s.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn document_is_self_consistent() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    // Every $ref points at a schema that exists.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("local schema ref");
        assert!(schemas.contains_key(name), "dangling {r}");
    }
    // Only health is open; every error answer uses the error shape.
    for spec in route_specs() {
        let op = &doc["paths"][spec.path][spec.method.to_lowercase()];
        assert_eq!(
            op.get("security") == Some(&serde_json::json!([])),
            spec.public,
            "{}",
            spec.path
        );
        if !spec.public {
            assert!(
                op["responses"]["401"].is_object(),
                "{} documents 401",
                spec.path
            );
        }
        for (status, resp) in op["responses"].as_object().unwrap() {
            if !status.starts_with('2') {
                assert_eq!(
                    resp["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{} {status}",
                    spec.path
                );
            }
        }
    }
}

#[tokio::test]
async fn every_route_is_served_and_the_document_is_too() {
    let api = TestApi::start().await;
    for spec in route_specs() {
        if spec.path == "/v1/events" {
            continue; // a stream; covered by api_events
        }
        let path = spec
            .path
            .replace("{id}", "x")
            .replace("{sku}", "x")
            .replace("{member_id}", "x");
        let r = api
            .client
            .request(spec.method.parse().unwrap(), api.url(&path))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert!(
            status != 405 && !text.contains("route_not_found"),
            "{} {path}: {status}",
            spec.method
        );
    }
    let served = api
        .client
        .get(api.url("/v1/openapi.json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "application/json");
    assert_eq!(served.json::<Value>().await.unwrap(), document());
    api.stop().await.unwrap();
}
