//! The GraphQL endpoint `POST /api/graphql`: schema, authentication and faults.

mod catalog;
mod giftcards;
mod purchases;
mod terminal;
mod types;

use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, Selection};
use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::db::Caller;
use super::faults::{FaultKind, Hit};
use super::ledger::RequestRecord;
use super::server::{App, ConnHandle};
use super::state::SimState;

/// Root query type (`Query` in the SDL).
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    catalog::CatalogQuery,
    giftcards::GiftcardQuery,
    terminal::TerminalQuery,
);

/// Root mutation type (`Mutation` in the SDL).
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    giftcards::GiftcardMutation,
    purchases::PurchaseMutation,
    terminal::TerminalMutation,
);

/// The executable schema.
pub(crate) type PosSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

pub(crate) fn build_schema(state: Arc<SimState>) -> PosSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .data(state)
    .finish()
}

/// The SDL the simulator serves (for comparison with `pos-schema.graphql`).
pub fn schema_sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .finish()
    .sdl()
}

pub(super) fn state<'a>(ctx: &Context<'a>) -> &'a Arc<SimState> {
    ctx.data_unchecked::<Arc<SimState>>()
}

pub(super) fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_unchecked::<Caller>()
}

/// Root field names of the operation the request selects; for `terminalPayment` also
/// `terminalPayment.start` (…`.continue`, `.capture`, `.void`), so faults can hit one of the
/// four mutations.
fn root_fields(request: &async_graphql::Request) -> Vec<String> {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return Vec::new();
    };
    let op = match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match &request.operation_name {
            Some(name) => ops
                .iter()
                .find(|(n, _)| n.as_str() == name.as_str())
                .map(|(_, op)| op),
            None => ops.values().next(),
        },
    };
    op.map(|op| {
        op.node
            .selection_set
            .node
            .items
            .iter()
            .filter_map(|sel| match &sel.node {
                Selection::Field(f) => Some(f),
                _ => None,
            })
            .flat_map(|f| {
                let name = f.node.name.node.to_string();
                let nested: Vec<String> = if name == "terminalPayment" {
                    f.node
                        .selection_set
                        .node
                        .items
                        .iter()
                        .filter_map(|s| match &s.node {
                            Selection::Field(g) => Some(format!("{name}.{}", g.node.name.node)),
                            _ => None,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                std::iter::once(name).chain(nested)
            })
            .collect()
    })
    .unwrap_or_default()
}

/// A string argument named `key`, in the variables or written inline in the query.
fn find_argument(body: &[u8], query: &str, key: &str) -> Option<String> {
    fn in_json(value: &serde_json::Value, key: &str) -> Option<String> {
        match value {
            serde_json::Value::Object(map) => map
                .get(key)
                .and_then(|v| v.as_str().map(str::to_owned))
                .or_else(|| map.values().find_map(|v| in_json(v, key))),
            serde_json::Value::Array(items) => items.iter().find_map(|v| in_json(v, key)),
            _ => None,
        }
    }
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(found) = body.get("variables").and_then(|v| in_json(v, key)) {
        return Some(found);
    }
    let rest = &query[query.find(key)? + key.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An HTTP 200 answer carrying one error with `extensions.code`.
pub(crate) fn error_response(code: &str, message: &str) -> Response {
    Json(serde_json::json!({
        "data": null,
        "errors": [{"message": message, "extensions": {"code": code}}],
    }))
    .into_response()
}

pub(crate) fn status_response(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, format!("simulated HTTP {}", status.as_u16())).into_response()
}

/// `POST /api/graphql`.
///
/// A missing, unknown or expired token gets HTTP 200 with `NOT_AUTHENTICATED` (never 401),
/// and nothing runs.
pub(crate) async fn endpoint(
    State(app): State<App>,
    axum::Extension(conn): axum::Extension<ConnHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(
                    serde_json::json!({"errors": [{"message": format!("bad request body: {e}")}]}),
                ),
            )
                .into_response();
        }
    };
    let operations = root_fields(&request);
    let token = bearer(&headers).map(str::to_owned);
    let fault = app.state.faults.take(Hit::Graphql {
        operations: &operations,
        operation_name: request.operation_name.as_deref(),
    });
    let client_id = token
        .as_deref()
        .and_then(|t| app.state.authenticate(t))
        .map(|c| c.client_id);
    tracing::debug!(?operations, client = ?client_id, ?fault, "GraphQL request.");
    // Operation names and the caller only: arguments may hold gift codes.
    let ops = operations.join(", ");
    app.state.live(format!(
        "POS ← {ops} from {}",
        client_id
            .as_deref()
            .unwrap_or("a caller without a valid token")
    ));
    if let Some(f) = &fault {
        app.state
            .live(format!("POS fault injected on {ops}: {f:?}"));
    }
    let now = app.state.now();
    app.state.db().requests.push(RequestRecord {
        operations,
        operation_name: request.operation_name.clone(),
        client_id,
        fault: fault.as_ref().map(|f| format!("{f:?}")),
        transaction_id: find_argument(&body, &request.query, "transactionId"),
        ref_no: find_argument(&body, &request.query, "refNo"),
        at: now,
    });
    match &fault {
        Some(FaultKind::Latency(delay)) => tokio::time::sleep(*delay).await,
        Some(FaultKind::Refuse) => return conn.reset().await,
        Some(FaultKind::HttpStatus(s)) if *s < 500 => return status_response(*s),
        Some(FaultKind::FusionError) => {
            return error_response("FUSION_ERROR", "Simulated unexpected server condition.");
        }
        Some(FaultKind::NotAuthenticated) => {
            return error_response("NOT_AUTHENTICATED", "The access token is not valid.");
        }
        _ => {}
    }
    // Checked after any latency: a token may expire while the request waits.
    let Some(caller) = token.as_deref().and_then(|t| app.state.authenticate(t)) else {
        return error_response("NOT_AUTHENTICATED", "No valid access token.");
    };
    let response = app.schema.execute(request.data(caller)).await;
    app.state.live(match response.errors.first() {
        None => format!("POS → {ops}: ok"),
        Some(e) => {
            let code = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map(|c| c.to_string().trim_matches('"').to_owned())
                .unwrap_or_else(|| "error".into());
            format!("POS → {ops}: {code}")
        }
    });
    match fault {
        Some(FaultKind::HttpStatus(s)) => status_response(s),
        Some(FaultKind::ApplyThenDrop) => conn.reset().await,
        _ => Json(response).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn argument_search_never_panics(query in ".{0,80}", body in ".{0,80}") {
            let _ = find_argument(body.as_bytes(), &query, "transactionId");
            let _ = find_argument(br#"{"variables":{"a":[1,{"transactionId":2}]}}"#, &query, "transactionId");
        }
    }

    #[test]
    fn arguments_are_found_in_variables_or_inline() {
        let body = br#"{"query":"q","variables":{"a":{"lineItems":[],"transactionId":"T1"}}}"#;
        assert_eq!(
            find_argument(body, "q", "transactionId").as_deref(),
            Some("T1")
        );
        let query =
            r#"mutation { purchaseAdd(add: {transactionId : "T2", storeCode: "X"}) { id } }"#;
        let body = serde_json::to_vec(&serde_json::json!({"query": query})).unwrap();
        assert_eq!(
            find_argument(&body, query, "transactionId").as_deref(),
            Some("T2")
        );
        assert_eq!(find_argument(&body, query, "refNo"), None);
        assert_eq!(find_argument(b"not json", query, "transactionId"), None);
    }
}
