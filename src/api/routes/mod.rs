//! The route table: one list drives the router, auth and the OpenAPI check.

mod catalog;
mod exceptions;
mod giftcards;
mod outbox;
mod sales;
mod system;
mod terminal;

use std::panic::AssertUnwindSafe;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use futures::FutureExt;

pub use system::OPENAPI_JSON;

use super::ApiState;
use super::auth::require_bearer;
use super::backend::LaneBackend;
use super::error::ApiError;
use crate::metrics::Metrics;

/// One route: its method, its path template and whether it skips the bearer check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The axum path template (`/v1/sales/{id}`), which is also the OpenAPI path.
    pub path: &'static str,
    /// Whether the route is open without a token (only `GET /v1/health`).
    pub public: bool,
}

const fn spec(method: &'static str, path: &'static str) -> RouteSpec {
    RouteSpec {
        method,
        path,
        public: false,
    }
}

fn table<B: LaneBackend>() -> Vec<(RouteSpec, MethodRouter<ApiState<B>>)> {
    vec![
        (
            RouteSpec {
                public: true,
                ..spec("GET", "/v1/health")
            },
            get(system::health),
        ),
        (spec("GET", "/v1/status"), get(system::status::<B>)),
        (spec("POST", "/v1/sales"), post(sales::open::<B>)),
        (
            spec("POST", "/v1/sales/{id}/payments"),
            post(sales::add_payment::<B>),
        ),
        (
            spec("POST", "/v1/sales/{id}/complete"),
            post(sales::complete::<B>),
        ),
        (
            spec("POST", "/v1/sales/{id}/cancel"),
            post(sales::cancel::<B>),
        ),
        (spec("GET", "/v1/sales/{id}"), get(sales::get::<B>)),
        (
            spec("POST", "/v1/sales/{id}/refunds"),
            post(sales::refund::<B>),
        ),
        (
            spec("GET", "/v1/sales/{id}/receipt"),
            get(sales::receipt::<B>),
        ),
        (spec("GET", "/v1/exceptions"), get(exceptions::list::<B>)),
        (
            spec("POST", "/v1/exceptions/{id}/acknowledge"),
            post(exceptions::acknowledge::<B>),
        ),
        (
            spec("GET", "/v1/giftcards/balance"),
            get(giftcards::balance::<B>),
        ),
        (
            spec("POST", "/v1/giftcards/activate"),
            post(giftcards::activate::<B>),
        ),
        (
            spec("POST", "/v1/giftcards/reload"),
            post(giftcards::reload::<B>),
        ),
        (
            spec("POST", "/v1/giftcards/replace-code"),
            post(giftcards::replace_code::<B>),
        ),
        (spec("GET", "/v1/items/{sku}"), get(catalog::item::<B>)),
        (
            spec("GET", "/v1/products/{sku}"),
            get(catalog::product::<B>),
        ),
        (
            spec("GET", "/v1/members/{member_id}"),
            get(catalog::member::<B>),
        ),
        (spec("GET", "/v1/outbox"), get(system::outbox::<B>)),
        (spec("POST", "/v1/outbox/flush"), post(outbox::flush::<B>)),
        (spec("GET", "/v1/outbox/{id}"), get(outbox::show::<B>)),
        (
            spec("POST", "/v1/outbox/{id}/hold"),
            post(outbox::hold::<B>),
        ),
        (
            spec("POST", "/v1/outbox/{id}/resolve"),
            post(outbox::resolve::<B>),
        ),
        (
            spec("POST", "/v1/terminal/end-of-day"),
            post(terminal::end_of_day::<B>),
        ),
        (spec("GET", "/v1/terminal/trace"), get(terminal::trace::<B>)),
        (spec("GET", "/v1/events"), get(system::events::<B>)),
        (spec("GET", "/v1/openapi.json"), get(system::openapi)),
        (spec("GET", "/metrics"), get(system::metrics::<B>)),
    ]
}

/// Every route the router serves.
pub fn route_specs() -> Vec<RouteSpec> {
    table::<NoBackend>()
        .into_iter()
        .map(|(spec, _)| spec)
        .collect()
}

/// Builds the router for `state`.
pub fn router<B: LaneBackend>(state: ApiState<B>) -> Router {
    let mut router = Router::new();
    for (spec, handler) in table::<B>() {
        let handler = if spec.public {
            handler
        } else {
            handler.route_layer(middleware::from_fn_with_state(
                state.token.clone(),
                require_bearer,
            ))
        };
        router = router.route(spec.path, handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.options.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn(catch_panic))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "No such route.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "The route does not accept this method.",
    )
}

async fn count_requests(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(req).await;
    metrics.record_api_request(&route, response.status().as_u16());
    response
}

/// A bug in a handler or the backend answers 500 instead of dropping the connection.
async fn catch_panic(req: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("API handler panicked; answered 500.");
            ApiError::internal().into_response()
        }
    }
}

/// A backend that cannot exist, used only to list the routes without a real one.
enum NoBackend {}

impl LaneBackend for NoBackend {
    async fn status(&self) -> Result<crate::api::types::Status, crate::api::BackendError> {
        match *self {}
    }
    async fn open_sale(
        &self,
        _: crate::api::types::OpenSaleRequest,
    ) -> Result<crate::api::types::SaleSummary, crate::api::BackendError> {
        match *self {}
    }
    async fn add_payment(
        &self,
        _: crate::api::types::SaleId,
        _: crate::api::types::AddPaymentRequest,
    ) -> Result<crate::api::types::PaymentResult, crate::api::BackendError> {
        match *self {}
    }
    async fn complete_sale(
        &self,
        _: crate::api::types::SaleId,
    ) -> Result<crate::api::types::CompleteResult, crate::api::BackendError> {
        match *self {}
    }
    async fn cancel_sale(
        &self,
        _: crate::api::types::SaleId,
    ) -> Result<crate::api::types::CancelResult, crate::api::BackendError> {
        match *self {}
    }
    async fn get_sale(
        &self,
        _: crate::api::types::SaleId,
    ) -> Result<crate::api::types::SaleDetail, crate::api::BackendError> {
        match *self {}
    }
    async fn giftcard_balance(
        &self,
        _: crate::api::types::GiftCardCode,
    ) -> Result<crate::api::types::GiftCardBalance, crate::api::BackendError> {
        match *self {}
    }
    async fn giftcard_activate(
        &self,
        _: crate::api::types::GiftCardFundRequest,
    ) -> Result<crate::api::types::GiftCardFunded, crate::api::BackendError> {
        match *self {}
    }
    async fn giftcard_reload(
        &self,
        _: crate::api::types::GiftCardFundRequest,
    ) -> Result<crate::api::types::GiftCardFunded, crate::api::BackendError> {
        match *self {}
    }
    async fn giftcard_replace_code(
        &self,
        _: crate::api::types::GiftCardReplaceCodeRequest,
    ) -> Result<crate::api::types::GiftCardCodeReplaced, crate::api::BackendError> {
        match *self {}
    }
    async fn item(&self, _: String) -> Result<crate::api::types::Item, crate::api::BackendError> {
        match *self {}
    }
    async fn product(
        &self,
        _: String,
    ) -> Result<crate::api::types::Product, crate::api::BackendError> {
        match *self {}
    }
    async fn member(
        &self,
        _: crate::api::types::MemberId,
    ) -> Result<crate::api::types::Member, crate::api::BackendError> {
        match *self {}
    }
    async fn outbox_list(&self) -> Result<crate::api::types::OutboxList, crate::api::BackendError> {
        match *self {}
    }
    async fn outbox_show(
        &self,
        _: String,
    ) -> Result<crate::api::types::OutboxItem, crate::api::BackendError> {
        match *self {}
    }
    async fn outbox_hold(
        &self,
        _: String,
    ) -> Result<crate::api::types::OutboxItem, crate::api::BackendError> {
        match *self {}
    }
    async fn outbox_resolve(
        &self,
        _: String,
        _: crate::api::types::OutboxResolution,
    ) -> Result<crate::api::types::OutboxItem, crate::api::BackendError> {
        match *self {}
    }
    async fn outbox_flush(
        &self,
    ) -> Result<crate::api::types::OutboxFlushed, crate::api::BackendError> {
        match *self {}
    }
    async fn exceptions_list(
        &self,
    ) -> Result<crate::api::types::ExceptionList, crate::api::BackendError> {
        match *self {}
    }
    async fn exception_acknowledge(
        &self,
        _: String,
        _: crate::api::types::AcknowledgeRequest,
    ) -> Result<crate::api::types::ExceptionView, crate::api::BackendError> {
        match *self {}
    }
    fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<crate::api::types::ApiEvent> {
        match *self {}
    }
}
