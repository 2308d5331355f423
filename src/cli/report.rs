//! `lane-agent report`: the daily reconciliation report of this lane's journal.
//!
//! The store has one writer. As `status` and `outbox` decide, the agent runs when something
//! listens on `api.listen`; then (and when that cannot be told, `api.listen` port 0) the
//! journal is read through a read-only SQLite connection, which never writes or blocks the
//! agent's writes. When the agent does not run, the store is opened through its public API.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags};

use super::ReportArgs;
use crate::mirror::{JournalDay, JournalReader, ReconciliationReport, journal_day_on};
use crate::service::ServiceError;
use crate::store::{Store, StoreError, StoreOptions};

/// The journal through a read-only connection, for when the agent is (or may be) running.
struct ReadOnlyJournal {
    path: PathBuf,
}

#[async_trait]
impl JournalReader for ReadOnlyJournal {
    async fn journal_day(&self, day: NaiveDate) -> Result<JournalDay, StoreError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let c = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            // The agent may be mid-commit; wait for its lock rather than fail.
            c.busy_timeout(Duration::from_secs(5))?;
            let tx = c.unchecked_transaction()?;
            let day = journal_day_on(&tx, day)?;
            tx.finish()?;
            Ok(day)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

async fn agent_listens(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

fn print_report(r: &ReconciliationReport, out: &mut dyn Write) -> std::io::Result<()> {
    let ids = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    let nums = |v: &[i64]| ids(&v.iter().map(i64::to_string).collect::<Vec<_>>());
    writeln!(out, "Reconciliation report for {}", r.day)?;
    writeln!(
        out,
        "Sales:      {} completed ({}), {} cancelled, {} unfinished",
        r.sales_completed, r.sales_total, r.sales_cancelled, r.sales_unfinished
    )?;
    if r.tenders.is_empty() {
        writeln!(out, "Tenders:    none")?;
    }
    for (method, t) in &r.tenders {
        writeln!(
            out,
            "Tender:     {method:<10} {:>4} x  {}",
            t.count, t.amount
        )?;
    }
    writeln!(
        out,
        "Purchases:  {} forwarded, {} pending",
        r.purchases_forwarded, r.purchases_pending
    )?;
    writeln!(
        out,
        "In doubt:   outbox {}; payments {}",
        nums(&r.outbox_in_doubt),
        ids(&r.payments_in_doubt)
    )?;
    writeln!(
        out,
        "Declined after forward: {} ({})",
        ids(&r.declined_after_forward),
        r.declined_after_forward_amount
    )?;
    writeln!(out, "Rejected by the POS:    {}", nums(&r.outbox_rejected))?;
    match &r.terminal {
        None => writeln!(out, "Terminal:   no end of day on this day")?,
        Some(t) if t.status != "ok" => writeln!(
            out,
            "Terminal:   end of day FAILED at {}: {}",
            t.at,
            t.reason.as_deref().unwrap_or("-")
        )?,
        Some(t) => {
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "Terminal:   end of day {}  {} x  {}   journal card {} x  {}",
                t.at,
                opt(t.count.map(|c| c.to_string())),
                opt(t.total.map(|d| d.to_string())),
                t.journal_card_count,
                t.journal_card_total
            )?;
            if t.mismatch {
                writeln!(
                    out,
                    "DIFFERENCE: terminal and journal card totals differ by {}",
                    opt(t.difference.map(|d| d.to_string()))
                )?;
            }
        }
    }
    Ok(())
}

/// `lane-agent report [--date D] [--json]`; the day defaults to today (local time).
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let loaded = crate::config::load_file(&args.config.config)?;
    let config = &loaded.config;
    let day = args
        .date
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let path = config.store.path.clone();
    if !path.exists() {
        return Err(ServiceError::storage(
            "reading the journal",
            format!("the store {} does not exist", path.display()),
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let listen = config.api.listen;
        let running = listen.port() == 0 || agent_listens(listen).await;
        let report = if running {
            ReconciliationReport::for_day(&ReadOnlyJournal { path }, day).await
        } else {
            match Store::open(StoreOptions::new(path)).await {
                Ok(store) => ReconciliationReport::for_day(&store, day).await,
                Err(e) => Err(e),
            }
        };
        report.map_err(|e| ServiceError::storage("reading the journal", e))
    })?;
    let mut out = std::io::stdout();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_report(&report, &mut out)?;
    }
    Ok(())
}
