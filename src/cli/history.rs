//! `lane-agent history`: the POS's sales by date range and customer, for a technician. It
//! asks the POS directly (permission `ViewSales`); the lane keeps no copy of other lanes' sales.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::NaiveDate;
use pos_client::{PosClient, PosError, Sale, SaleQuery};
use serde_json::{Value, json};

use super::HistoryArgs;
use crate::mirror::sales_history;
use crate::mirror::source::{SaleFilter, SalesSource, SkipPage, SourceError};
use crate::service::ServiceError;
use crate::service::wiring::pos_config;

/// Sales read per POS request.
const PAGE_SIZE: u32 = 100;
/// Sales shown at most; more are reported as truncated.
const MAX_SALES: usize = 1000;

/// The POS client as a sales source that remembers a missing permission, which the generic
/// source error no longer tells apart from other refusals.
struct Sales {
    client: PosClient,
    not_authorized: AtomicBool,
}

#[async_trait]
impl SalesSource for Sales {
    async fn sales(
        &self,
        filter: &SaleFilter,
        skip: u32,
        first: u32,
    ) -> Result<SkipPage<Sale>, SourceError> {
        let q = SaleQuery {
            customer_id: filter.customer_id.clone(),
            from_date: filter.from_date.map(|d| d.format("%Y-%m-%d").to_string()),
            to_date: filter.to_date.map(|d| d.format("%Y-%m-%d").to_string()),
            skip: Some(i64::from(skip)),
            first: Some(i64::from(first)),
            ..Default::default()
        };
        match self.client.sale(&q).await {
            Ok(p) => Ok(SkipPage {
                items: p.results,
                has_more: p.has_more_results,
            }),
            Err(e) => {
                if matches!(e, PosError::NotAuthorized { .. }) {
                    self.not_authorized.store(true, Ordering::Relaxed);
                }
                Err(e.into())
            }
        }
    }
}

fn sale_json(s: &Sale) -> Value {
    json!({
        "id": s.id,
        "sale_date": s.sale_date,
        "register_code": s.register_code,
        "tran_no": s.tran_no,
        "customer_id": s.customer_id,
    })
}

fn print_table(sales: &[Sale], truncated: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "{:<12} {:<10} {:<8} {:<10} CUSTOMER",
        "SALE", "DATE", "REGISTER", "TRAN"
    )?;
    for s in sales {
        writeln!(
            out,
            "{:<12} {:<10} {:<8} {:<10} {}",
            s.id,
            dash(&s.sale_date),
            dash(&s.register_code),
            dash(&s.tran_no),
            dash(&s.customer_id)
        )?;
    }
    writeln!(out, "{} sale(s)", sales.len())?;
    if truncated {
        writeln!(
            out,
            "(more matched; showing the first {MAX_SALES}: narrow the range)"
        )?;
    }
    Ok(())
}

/// `lane-agent history --from D --to D [--customer ID] [--json]`: `--to` is inclusive.
pub fn run(args: &HistoryArgs) -> anyhow::Result<()> {
    if args.to < args.from {
        anyhow::bail!(
            "--to {} is before --from {}",
            args.to.format("%Y-%m-%d"),
            args.from.format("%Y-%m-%d")
        );
    }
    let loaded = crate::config::load_file(&args.config.config)?;
    let client = PosClient::new(pos_config(&loaded))
        .map_err(|e| ServiceError::unavailable("building the POS client", e))?;
    let filter = SaleFilter {
        from_date: Some(args.from),
        // The POS's toDate is exclusive; the command's --to is the last day shown.
        to_date: args.to.checked_add_days(chrono::Days::new(1)),
        customer_id: args.customer.clone(),
    };
    let source = Sales {
        client,
        not_authorized: AtomicBool::new(false),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(sales_history(&source, &filter, PAGE_SIZE, MAX_SALES));
    let history = match result {
        Ok(h) => h,
        Err(_) if source.not_authorized.load(Ordering::Relaxed) => anyhow::bail!(
            "not authorized: the POS client lacks ViewSales (client_id {:?})",
            loaded.config.pos.client_id
        ),
        Err(e @ SourceError::Unavailable(_)) => {
            return Err(ServiceError::unavailable("reading sales from the POS", e).into());
        }
        Err(e) => return Err(anyhow::Error::new(e).context("reading sales from the POS")),
    };
    let mut out = std::io::stdout();
    if args.json {
        let v = json!({
            "from": args.from.format("%Y-%m-%d").to_string(),
            "to": args.to.format("%Y-%m-%d").to_string(),
            "customer_id": args.customer,
            "sales": history.sales.iter().map(sale_json).collect::<Vec<_>>(),
            "truncated": history.truncated,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        print_table(&history.sales, history.truncated, &mut out)?;
    }
    Ok(())
}

/// Parses `YYYY-MM-DD` for clap.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date YYYY-MM-DD"))
}
