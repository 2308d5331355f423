//! `PosClient`: the typed operations over the transport, with auth and classification.

use std::sync::Arc;

use graphql_client::GraphQLQuery;

use crate::auth::{Auth, Clock, TokioClock};
use crate::classify::{OpMeta, classify};
use crate::config::PosConfig;
use crate::convert;
use crate::discovery::{Discovery, DiscoveryError, TokenError, TokenInfo};
use crate::error::PosError;
use crate::ops;
use crate::pager::SincePager;
use crate::secret::{GiftCode, Redactor};
use crate::terminal::{TerminalPayment, TerminalPaymentOutcome, TerminalPaymentStartRequest};
use crate::transport::{Http, TransportError};
use crate::types::*;

/// The POS cloud client. Cheap to clone (an `Arc` inside); share one per process so that
/// all calls share the token cache and the connection pool.
#[derive(Clone)]
pub struct PosClient {
    inner: Arc<Inner>,
}

struct Inner {
    graphql_url: String,
    http: Http,
    auth: Auth,
    observer: std::sync::OnceLock<CallObserver>,
}

/// Told of every finished operation: its GraphQL name and how long it took, token refresh
/// included (for a latency histogram per operation).
pub type CallObserver = Arc<dyn Fn(&'static str, std::time::Duration) + Send + Sync>;

impl std::fmt::Debug for PosClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PosClient")
            .field("graphql_url", &self.inner.graphql_url)
            .finish_non_exhaustive()
    }
}

const fn query(name: &'static str, field: &'static str) -> OpMeta {
    OpMeta {
        name,
        field,
        mutation: false,
        declines: false,
    }
}

const fn mutation(name: &'static str, declines: bool) -> OpMeta {
    OpMeta {
        name,
        field: name,
        mutation: true,
        declines,
    }
}

/// The four terminal-payment mutations share the root field `terminalPayment`.
const fn terminal_op(name: &'static str) -> OpMeta {
    OpMeta {
        name,
        field: "terminalPayment",
        mutation: true,
        declines: false,
    }
}

impl PosClient {
    /// Validates the config and builds the client. No I/O: discovery and the first token
    /// happen on the first call.
    pub fn new(cfg: PosConfig) -> Result<Self, PosError> {
        Self::with_clock(cfg, Arc::new(TokioClock))
    }

    /// Like [`PosClient::new`] with an injected monotonic clock for token lifetimes (tests).
    pub fn with_clock(cfg: PosConfig, clock: Arc<dyn Clock>) -> Result<Self, PosError> {
        cfg.validate()
            .map_err(|problems| PosError::Config(problems.join("; ")))?;
        let http = Http::new(&cfg).map_err(PosError::Config)?;
        let auth = Auth::new(&cfg, http.clone(), clock);
        Ok(PosClient {
            inner: Arc::new(Inner {
                graphql_url: cfg.graphql_url,
                http,
                auth,
                observer: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Reports every operation's latency to `observer` from now on, for this client and its
    /// clones. Only the first call takes effect.
    pub fn observe_calls(&self, observer: CallObserver) {
        let _ = self.inner.observer.set(observer);
    }

    /// How many access tokens were fetched so far (for metrics and tests).
    pub fn token_fetches(&self) -> u64 {
        self.inner.auth.fetches()
    }

    /// Sends one operation: token, POST, classification; on `NOT_AUTHENTICATED` / 401 one
    /// token refresh and one retry (safe even for mutations: the server did not process it).
    async fn run<Q: GraphQLQuery>(
        &self,
        op: OpMeta,
        vars: Q::Variables,
        redactor: &Redactor,
    ) -> Result<Q::ResponseData, PosError> {
        let started = std::time::Instant::now();
        let result = self.run_once::<Q>(&op, vars, redactor).await;
        if let Some(observe) = self.inner.observer.get() {
            observe(op.name, started.elapsed());
        }
        result
    }

    async fn run_once<Q: GraphQLQuery>(
        &self,
        op: &OpMeta,
        vars: Q::Variables,
        redactor: &Redactor,
    ) -> Result<Q::ResponseData, PosError> {
        let body = serde_json::to_vec(&Q::build_query(vars)).map_err(|e| PosError::NotSent {
            operation: op.name,
            reason: format!("cannot encode request: {e}"),
        })?;
        let mut rejected = None;
        for attempt in 0..2 {
            let bearer = self.inner.auth.bearer(rejected).await?;
            let resp = {
                use secrecy::ExposeSecret;
                self.inner
                    .http
                    .post_graphql(
                        &self.inner.graphql_url,
                        bearer.token.expose_secret(),
                        body.clone(),
                    )
                    .await
            };
            let resp = resp.map_err(|e| transport_error(op, e, redactor))?;
            match classify::<Q::ResponseData>(
                op,
                resp.status,
                resp.retry_after,
                &resp.body,
                redactor,
            ) {
                Err(PosError::NotAuthenticated { .. }) if attempt == 0 => {
                    tracing::info!(
                        operation = op.name,
                        "POS rejected the access token; refreshing once and retrying."
                    );
                    rejected = Some(bearer.generation);
                }
                other => return other,
            }
        }
        Err(PosError::NotAuthenticated { operation: op.name })
    }

    /// OIDC discovery now rather than on the first call (install-time checks); the client
    /// keeps what it found for its later calls.
    pub async fn discover(&self) -> Result<Discovery, DiscoveryError> {
        self.inner.auth.discover_now().await
    }

    /// A fresh access token now, whatever the cache holds (install-time checks); later
    /// calls use it. Discovers first if that has not happened yet.
    pub async fn fetch_token(&self) -> Result<TokenInfo, TokenError> {
        self.inner.auth.fetch_now().await
    }

    /// The live schema: [`crate::schema_check::INTROSPECTION_QUERY`] through the client's
    /// auth and classification; the answer's `data` object, ready for
    /// [`crate::schema_check::check_introspection`].
    pub async fn introspect(&self) -> Result<serde_json::Value, PosError> {
        self.run::<Introspection>(
            query("IntrospectionQuery", "__schema"),
            serde_json::Map::new(),
            &Redactor::default(),
        )
        .await
    }

    /// `GET url` through the client's transport — its TLS settings and certificate
    /// verification, timeouts and body bound — and the HTTP status, whatever it is. For a
    /// reachability and TLS check of the POS hosts.
    pub async fn get_status(&self, url: &str) -> Result<u16, PosError> {
        match self.inner.http.get_json(url).await {
            Ok(resp) => Ok(resp.status),
            Err(TransportError::NotSent(reason)) => Err(PosError::NotSent {
                operation: "probe",
                reason,
            }),
            Err(e) => Err(PosError::OutcomeUnknown {
                operation: "probe",
                mutation: false,
                reason: e.to_string(),
            }),
        }
    }

    /// `environment`: the cheap read used as link probe.
    pub async fn environment(&self) -> Result<Environment, PosError> {
        let op = query("environment", "environment");
        let d = self
            .run::<ops::Environment>(op, ops::environment::Variables, &Redactor::default())
            .await?;
        let e = d.environment.ok_or_else(|| convert::null_field(&op))?;
        Ok(Environment {
            name: e.name,
            version: e.version,
        })
    }

    /// `customer` with any filter.
    pub async fn customer(&self, q: &CustomerQuery) -> Result<Page<Customer>, PosError> {
        let op = query("customer", "customer");
        let vars = ops::customer::Variables {
            id: q.id.clone(),
            member_id: q.member_id.clone(),
            skip: q.skip,
            first: q.first,
        };
        let d = self
            .run::<ops::Customer>(op, vars, &Redactor::default())
            .await?;
        let r = d.customer.ok_or_else(|| convert::null_field(&op))?;
        Ok(Page {
            has_more_results: r.has_more_results,
            limited_by_permission: r.limited_by_permission,
            until: None,
            results: r.results.into_iter().map(convert::customer).collect(),
        })
    }

    /// The customer with this loyalty member id, if any.
    pub async fn customer_by_member_id(
        &self,
        member_id: &str,
    ) -> Result<Option<Customer>, PosError> {
        let page = self
            .customer(&CustomerQuery {
                member_id: Some(member_id.to_owned()),
                ..Default::default()
            })
            .await?;
        Ok(page.results.into_iter().next())
    }

    /// `giftcard` with any filter.
    pub async fn giftcard(&self, q: &GiftcardQuery) -> Result<Page<Giftcard>, PosError> {
        let op = OpMeta {
            declines: true,
            ..query("giftcard", "giftcard")
        };
        let mut redactor = Redactor::default();
        if let Some(c) = &q.code {
            redactor.add_code(c);
        }
        let vars = ops::giftcard::Variables {
            code: q.code.as_ref().map(|c| c.expose().to_owned()),
            code_type: q.code_type.clone().map(convert::code_type_in_q),
            id: q.id.clone(),
            skip: q.skip,
            first: q.first,
        };
        let d = self.run::<ops::Giftcard>(op, vars, &redactor).await?;
        let r = d.giftcard.ok_or_else(|| convert::null_field(&op))?;
        Ok(Page {
            has_more_results: r.has_more_results,
            limited_by_permission: r.limited_by_permission,
            until: None,
            results: r
                .results
                .into_iter()
                .map(|g| convert::giftcard_q(g, &op))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Looks a card up by code (permission `FindGiftCardByCode`). `None` when no card has it.
    pub async fn giftcard_by_code(
        &self,
        code: &str,
        code_type: Option<CodeType>,
    ) -> Result<Option<Giftcard>, PosError> {
        let page = self
            .giftcard(&GiftcardQuery {
                code: Some(GiftCode::new(code)),
                code_type,
                ..Default::default()
            })
            .await?;
        Ok(page.results.into_iter().next())
    }

    /// `item`.
    pub async fn item(&self, q: &InventoryQuery) -> Result<Page<Item>, PosError> {
        let op = query("item", "item");
        let vars = ops::item::Variables {
            sku: q.sku.clone(),
            warehouse_code: q.warehouse_code.clone(),
            skip: q.skip,
            first: q.first,
            since: q.since.clone(),
        };
        let d = self
            .run::<ops::Item>(op, vars, &Redactor::default())
            .await?;
        let r = d.item.ok_or_else(|| convert::null_field(&op))?;
        Ok(Page {
            has_more_results: r.has_more_results,
            limited_by_permission: false,
            until: r.until,
            results: r.results.into_iter().map(convert::item).collect(),
        })
    }

    /// `itemWarehouse`.
    pub async fn item_warehouse(
        &self,
        q: &InventoryQuery,
    ) -> Result<Page<ItemWarehouse>, PosError> {
        let op = query("itemWarehouse", "itemWarehouse");
        let vars = ops::item_warehouse::Variables {
            sku: q.sku.clone(),
            warehouse_code: q.warehouse_code.clone(),
            skip: q.skip,
            first: q.first,
            since: q.since.clone(),
        };
        let d = self
            .run::<ops::ItemWarehouse>(op, vars, &Redactor::default())
            .await?;
        let r = d.item_warehouse.ok_or_else(|| convert::null_field(&op))?;
        Ok(Page {
            has_more_results: r.has_more_results,
            limited_by_permission: false,
            until: r.until,
            results: r.results.into_iter().map(convert::item_warehouse).collect(),
        })
    }

    /// `itemSerialLot`.
    pub async fn item_serial_lot(
        &self,
        q: &InventoryQuery,
    ) -> Result<Page<ItemSerialLot>, PosError> {
        let op = query("itemSerialLot", "itemSerialLot");
        let vars = ops::item_serial_lot::Variables {
            sku: q.sku.clone(),
            warehouse_code: q.warehouse_code.clone(),
            skip: q.skip,
            first: q.first,
            since: q.since.clone(),
        };
        let d = self
            .run::<ops::ItemSerialLot>(op, vars, &Redactor::default())
            .await?;
        let r = d.item_serial_lot.ok_or_else(|| convert::null_field(&op))?;
        Ok(Page {
            has_more_results: r.has_more_results,
            limited_by_permission: false,
            until: r.until,
            results: r
                .results
                .into_iter()
                .map(convert::item_serial_lot)
                .collect(),
        })
    }

    /// `location`.
    pub async fn location(&self, q: &CodeQuery) -> Result<Page<Location>, PosError> {
        let op = query("location", "location");
        let vars = ops::location::Variables {
            code: q.code.clone(),
            skip: q.skip,
            first: q.first,
        };
        let d = self
            .run::<ops::Location>(op, vars, &Redactor::default())
            .await?;
        let r = d.location.ok_or_else(|| convert::null_field(&op))?;
        Ok(simple_page(
            r.has_more_results,
            r.results.into_iter().map(convert::location).collect(),
        ))
    }

    /// `product`.
    pub async fn product(&self, q: &ProductQuery) -> Result<Page<Product>, PosError> {
        let op = query("product", "product");
        let vars = ops::product::Variables {
            sku: q.sku.clone(),
            skip: q.skip,
            first: q.first,
            since: q.since.clone(),
        };
        let d = self
            .run::<ops::Product>(op, vars, &Redactor::default())
            .await?;
        let r = d.product.ok_or_else(|| convert::null_field(&op))?;
        Ok(Page {
            has_more_results: r.has_more_results,
            limited_by_permission: false,
            until: r.until,
            results: r.results.into_iter().map(convert::product).collect(),
        })
    }

    /// `productBanner`.
    pub async fn product_banner(&self, q: &CodeQuery) -> Result<Page<ProductBanner>, PosError> {
        let op = query("productBanner", "productBanner");
        let vars = ops::product_banner::Variables {
            code: q.code.clone(),
            skip: q.skip,
            first: q.first,
        };
        let d = self
            .run::<ops::ProductBanner>(op, vars, &Redactor::default())
            .await?;
        let r = d.product_banner.ok_or_else(|| convert::null_field(&op))?;
        Ok(simple_page(
            r.has_more_results,
            r.results.into_iter().map(convert::product_banner).collect(),
        ))
    }

    /// `productGroup`.
    pub async fn product_group(&self, q: &CodeQuery) -> Result<Page<ProductGroup>, PosError> {
        let op = query("productGroup", "productGroup");
        let vars = ops::product_group::Variables {
            code: q.code.clone(),
            skip: q.skip,
            first: q.first,
        };
        let d = self
            .run::<ops::ProductGroup>(op, vars, &Redactor::default())
            .await?;
        let r = d.product_group.ok_or_else(|| convert::null_field(&op))?;
        Ok(simple_page(
            r.has_more_results,
            r.results.into_iter().map(convert::product_group).collect(),
        ))
    }

    /// `productNotice`.
    pub async fn product_notice(&self, q: &CodeQuery) -> Result<Page<ProductNotice>, PosError> {
        let op = query("productNotice", "productNotice");
        let vars = ops::product_notice::Variables {
            code: q.code.clone(),
            skip: q.skip,
            first: q.first,
        };
        let d = self
            .run::<ops::ProductNotice>(op, vars, &Redactor::default())
            .await?;
        let r = d.product_notice.ok_or_else(|| convert::null_field(&op))?;
        Ok(simple_page(
            r.has_more_results,
            r.results.into_iter().map(convert::product_notice).collect(),
        ))
    }

    /// `productSection`.
    pub async fn product_section(&self, q: &CodeQuery) -> Result<Page<ProductSection>, PosError> {
        let op = query("productSection", "productSection");
        let vars = ops::product_section::Variables {
            code: q.code.clone(),
            skip: q.skip,
            first: q.first,
        };
        let d = self
            .run::<ops::ProductSection>(op, vars, &Redactor::default())
            .await?;
        let r = d.product_section.ok_or_else(|| convert::null_field(&op))?;
        Ok(simple_page(
            r.has_more_results,
            r.results
                .into_iter()
                .map(convert::product_section)
                .collect(),
        ))
    }

    /// `productSortOption` (`code` of the query is ignored).
    pub async fn product_sort_option(
        &self,
        q: &CodeQuery,
    ) -> Result<Page<ProductSortOption>, PosError> {
        let op = query("productSortOption", "productSortOption");
        let vars = ops::product_sort_option::Variables {
            skip: q.skip,
            first: q.first,
        };
        let d = self
            .run::<ops::ProductSortOption>(op, vars, &Redactor::default())
            .await?;
        let r = d
            .product_sort_option
            .ok_or_else(|| convert::null_field(&op))?;
        Ok(simple_page(
            r.has_more_results,
            r.results
                .into_iter()
                .map(|o| ProductSortOption {
                    code: o.code,
                    name: o.name,
                })
                .collect(),
        ))
    }

    /// `sale`.
    pub async fn sale(&self, q: &SaleQuery) -> Result<Page<Sale>, PosError> {
        let op = query("sale", "sale");
        let vars = ops::sale::Variables {
            id: q.id.clone(),
            customer_id: q.customer_id.clone(),
            from_date: q.from_date.clone(),
            to_date: q.to_date.clone(),
            skip: q.skip,
            first: q.first,
            since: q.since.clone(),
        };
        let d = self
            .run::<ops::Sale>(op, vars, &Redactor::default())
            .await?;
        let r = d.sale.ok_or_else(|| convert::null_field(&op))?;
        Ok(Page {
            has_more_results: r.has_more_results,
            limited_by_permission: false,
            until: r.until,
            results: r.results.into_iter().map(convert::sale).collect(),
        })
    }

    /// `giftcardAdd`: creates a card (unfunded; fund it with an `ADD` transaction).
    pub async fn giftcard_add(&self, req: &GiftcardAddRequest) -> Result<Giftcard, PosError> {
        let op = mutation("giftcardAdd", false);
        let mut redactor = Redactor::default();
        if let Some(c) = &req.physical_code {
            redactor.add_code(c);
        }
        if let Some(p) = &req.physical_pin {
            redactor.add_secret(p);
        }
        let vars = ops::giftcard_add::Variables {
            giftcard: convert::giftcard_add_input(req),
        };
        let d = self.run::<ops::GiftcardAdd>(op, vars, &redactor).await?;
        let g = d.giftcard_add.ok_or_else(|| convert::null_field(&op))?;
        convert::giftcard_add(g, &op)
    }

    /// `giftcardEdit` (trusted clients only).
    pub async fn giftcard_edit(&self, req: &GiftcardEditRequest) -> Result<Giftcard, PosError> {
        let op = mutation("giftcardEdit", false);
        let mut redactor = Redactor::default();
        if let Some(c) = &req.physical_code {
            redactor.add_code(c);
        }
        if let Some(p) = &req.physical_pin {
            redactor.add_secret(p);
        }
        let vars = ops::giftcard_edit::Variables {
            giftcard: convert::giftcard_edit_input(req),
        };
        let d = self.run::<ops::GiftcardEdit>(op, vars, &redactor).await?;
        let g = d.giftcard_edit.ok_or_else(|| convert::null_field(&op))?;
        convert::giftcard_edit(g, &op)
    }

    /// `giftcardTransAdd`: an immediate transaction, or with `authorize` an `AUTHORIZED` one
    /// to capture or cancel later. Not idempotent: on `OutcomeUnknown` never resend blindly.
    pub async fn giftcard_trans_add(
        &self,
        t: &GiftcardTransRequest,
    ) -> Result<GiftcardTrans, PosError> {
        let op = mutation("giftcardTransAdd", true);
        let mut redactor = Redactor::default();
        redactor.add_code(&t.code);
        if let Some(p) = &t.pin {
            redactor.add_secret(p);
        }
        let vars = ops::giftcard_trans_add::Variables {
            trans: convert::trans_add_input(t),
        };
        let d = self
            .run::<ops::GiftcardTransAdd>(op, vars, &redactor)
            .await?;
        let r = d
            .giftcard_trans_add
            .ok_or_else(|| convert::null_field(&op))?;
        convert::trans_add(r, &op)
    }

    /// `giftcardTransCapture`: capture (`cancel == false`) or cancel an `AUTHORIZED`
    /// transaction. Idempotent on the server (capturing a `COMPLETED` or cancelling a
    /// `CANCELLED` one returns it unchanged), so a retry after a lost answer is safe.
    pub async fn giftcard_trans_capture(
        &self,
        id: &str,
        cancel: bool,
    ) -> Result<GiftcardTrans, PosError> {
        let op = mutation("giftcardTransCapture", true);
        let vars = ops::giftcard_trans_capture::Variables {
            trans: ops::giftcard_trans_capture::GiftcardTransCaptureInput {
                id: id.to_owned(),
                cancel: Some(cancel),
            },
        };
        let d = self
            .run::<ops::GiftcardTransCapture>(op, vars, &Redactor::default())
            .await?;
        let r = d
            .giftcard_trans_capture
            .ok_or_else(|| convert::null_field(&op))?;
        convert::trans_capture(r, &op)
    }

    /// `purchaseAdd`. The server does NOT deduplicate `transaction_id`: call this once per
    /// purchase and treat `OutcomeUnknown` as in doubt, never as "send again".
    pub async fn purchase_add(&self, p: &PurchaseRequest) -> Result<PurchaseId, PosError> {
        let op = mutation("purchaseAdd", false);
        let vars = ops::purchase_add::Variables {
            add: convert::purchase_input(p),
        };
        let d = self
            .run::<ops::PurchaseAdd>(op, vars, &Redactor::default())
            .await?;
        let r = d.purchase_add.ok_or_else(|| convert::null_field(&op))?;
        Ok(PurchaseId(r.id))
    }

    /// `terminalPayment.start`. The POS does NOT deduplicate `refNo`: on `OutcomeUnknown`
    /// look the payment up by `refNo` ([`PosClient::terminal_payments_by_ref`]), never start
    /// again while the first attempt may run.
    pub async fn terminal_payment_start(
        &self,
        r: &TerminalPaymentStartRequest,
    ) -> Result<TerminalPaymentOutcome, PosError> {
        let op = terminal_op("terminalPayment.start");
        let vars = ops::terminal_payment_start::Variables {
            payment: crate::terminal::start_input(r),
        };
        let d = self
            .run::<ops::TerminalPaymentStart>(op, vars, &Redactor::default())
            .await?;
        crate::terminal::start_out(d, &op)
    }

    /// `terminalPayment.continue` after a continuation's `waitMs` (same token: idempotent).
    pub async fn terminal_payment_continue(
        &self,
        token: &str,
    ) -> Result<TerminalPaymentOutcome, PosError> {
        let op = terminal_op("terminalPayment.continue");
        let vars = ops::terminal_payment_continue::Variables {
            continuation: ops::terminal_payment_continue::TerminalPaymentContinueInput {
                token: token.to_owned(),
            },
        };
        let d = self
            .run::<ops::TerminalPaymentContinue>(op, vars, &Redactor::default())
            .await?;
        crate::terminal::continue_out(d, &op)
    }

    /// `terminalPayment.capture` of an AUTHORIZED payment (`amount` None: the approved
    /// amount). Idempotent on a CAPTURED payment.
    pub async fn terminal_payment_capture(
        &self,
        id: &str,
        amount: Option<rust_decimal::Decimal>,
    ) -> Result<TerminalPaymentOutcome, PosError> {
        let op = terminal_op("terminalPayment.capture");
        let vars = ops::terminal_payment_capture::Variables {
            capture: ops::terminal_payment_capture::TerminalPaymentCaptureInput {
                id: id.to_owned(),
                amount: amount.map(Into::into),
            },
        };
        let d = self
            .run::<ops::TerminalPaymentCapture>(op, vars, &Redactor::default())
            .await?;
        crate::terminal::capture_out(d, &op)
    }

    /// `terminalPayment.void`. Idempotent on a VOIDED payment.
    pub async fn terminal_payment_void(
        &self,
        id: &str,
    ) -> Result<TerminalPaymentOutcome, PosError> {
        let op = terminal_op("terminalPayment.void");
        let vars = ops::terminal_payment_void::Variables {
            void: ops::terminal_payment_void::TerminalPaymentVoidInput { id: id.to_owned() },
        };
        let d = self
            .run::<ops::TerminalPaymentVoid>(op, vars, &Redactor::default())
            .await?;
        crate::terminal::void_out(d, &op)
    }

    /// `terminalPayments(refNo:, id:)`: an empty list after a lost `start` answer means the
    /// POS never accepted it.
    pub async fn terminal_payments(
        &self,
        ref_no: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<TerminalPayment>, PosError> {
        let op = query("terminalPayments", "terminalPayments");
        let vars = ops::terminal_payments::Variables {
            ref_no: ref_no.map(str::to_owned),
            id: id.map(str::to_owned),
            skip: None,
            first: None,
        };
        let d = self
            .run::<ops::TerminalPayments>(op, vars, &Redactor::default())
            .await?;
        crate::terminal::lookup_out(d, &op)
    }

    /// Since-pager over `item`, resuming at `since` (a stored `until`; `None` = from the start).
    pub fn items_since(&self, q: InventoryQuery, since: Option<String>) -> SincePager<Item> {
        let c = self.clone();
        SincePager::new(since, move |s| {
            let (c, mut q) = (c.clone(), q.clone());
            q.since = Some(s);
            async move { c.item(&q).await }
        })
    }

    /// Since-pager over `itemWarehouse`.
    pub fn item_warehouses_since(
        &self,
        q: InventoryQuery,
        since: Option<String>,
    ) -> SincePager<ItemWarehouse> {
        let c = self.clone();
        SincePager::new(since, move |s| {
            let (c, mut q) = (c.clone(), q.clone());
            q.since = Some(s);
            async move { c.item_warehouse(&q).await }
        })
    }

    /// Since-pager over `itemSerialLot`.
    pub fn item_serial_lots_since(
        &self,
        q: InventoryQuery,
        since: Option<String>,
    ) -> SincePager<ItemSerialLot> {
        let c = self.clone();
        SincePager::new(since, move |s| {
            let (c, mut q) = (c.clone(), q.clone());
            q.since = Some(s);
            async move { c.item_serial_lot(&q).await }
        })
    }

    /// Since-pager over `product`.
    pub fn products_since(&self, q: ProductQuery, since: Option<String>) -> SincePager<Product> {
        let c = self.clone();
        SincePager::new(since, move |s| {
            let (c, mut q) = (c.clone(), q.clone());
            q.since = Some(s);
            async move { c.product(&q).await }
        })
    }

    /// Since-pager over `sale`.
    pub fn sales_since(&self, q: SaleQuery, since: Option<String>) -> SincePager<Sale> {
        let c = self.clone();
        SincePager::new(since, move |s| {
            let (c, mut q) = (c.clone(), q.clone());
            q.since = Some(s);
            async move { c.sale(&q).await }
        })
    }
}

fn simple_page<T>(has_more_results: bool, results: Vec<T>) -> Page<T> {
    Page {
        results,
        has_more_results,
        limited_by_permission: false,
        until: None,
    }
}

fn transport_error(op: &OpMeta, e: TransportError, redactor: &Redactor) -> PosError {
    match e {
        TransportError::NotSent(reason) => PosError::NotSent {
            operation: op.name,
            reason: redactor.scrub(&reason),
        },
        TransportError::Unknown(reason) => PosError::OutcomeUnknown {
            operation: op.name,
            mutation: op.mutation,
            reason: redactor.scrub(&reason),
        },
        TransportError::TooLarge(max) => PosError::BadResponse {
            operation: op.name,
            mutation: op.mutation,
            reason: format!("response body larger than {max} bytes"),
        },
    }
}

/// The standard introspection query as an operation the client can run.
struct Introspection;

impl GraphQLQuery for Introspection {
    type Variables = serde_json::Map<String, serde_json::Value>;
    type ResponseData = serde_json::Value;

    fn build_query(variables: Self::Variables) -> graphql_client::QueryBody<Self::Variables> {
        graphql_client::QueryBody {
            variables,
            query: crate::schema_check::INTROSPECTION_QUERY,
            operation_name: "IntrospectionQuery",
        }
    }
}
