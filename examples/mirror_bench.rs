//! Mirror benchmark: a full first sync of 100,000 items from the in-memory fake source into a
//! real mirror file, then item lookup latency through the async handle.
//!
//! `cargo run --release --example mirror_bench [ITEMS] [PAGE_SIZE]`
//!
//! Prints rows per second, peak resident memory (VmHWM; the fake source's own copy of the
//! catalog is included, so the figure before the sync is printed too) and lookup p50/p99.

use std::time::{Duration, Instant};

use lane_agent::mirror::fake::FakeCatalog;
use lane_agent::mirror::sync::Entity;
use lane_agent::mirror::{Mirror, MirrorOptions, mirror_path, sync_once};
use rand::Rng;

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let items: u32 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let page_size: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);

    let src = FakeCatalog::with_items(items);
    let hwm_before = vm_hwm_kib();
    let dir = tempfile::tempdir()?;
    let mirror = Mirror::open(MirrorOptions::new(mirror_path(
        &dir.path().join("agent.db"),
    )))
    .await?;

    let t = Instant::now();
    let report = sync_once(&mirror, &src, page_size, None).await?;
    let took = t.elapsed();
    assert!(report.all_caught_up(), "{report:?}");
    let item_rows = mirror.row_count(Entity::Item).await?;
    assert_eq!(item_rows, u64::from(items));
    let rows = report.rows();
    let hwm_after = vm_hwm_kib();
    let file_size = std::fs::metadata(mirror_path(&dir.path().join("agent.db")))?.len();

    println!("mirror_bench: {items} items, page size {page_size}");
    println!(
        "  full sync: {:.2} s, {:.0} items/s, {} rows applied (items + warehouse rows), {:.0} rows/s",
        took.as_secs_f64(),
        f64::from(items) / took.as_secs_f64(),
        rows,
        rows as f64 / took.as_secs_f64()
    );
    println!(
        "  peak RSS (VmHWM): {} KiB before sync (fake source loaded), {} KiB after",
        hwm_before.map_or("n/a".into(), |v| v.to_string()),
        hwm_after.map_or("n/a".into(), |v| v.to_string())
    );
    println!(
        "  mirror file: {:.1} MiB (before checkpoint)",
        file_size as f64 / 1_048_576.0
    );

    let mut rng = rand::rng();
    let n = 10_000;
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let sku = format!("SKU-{:06}", rng.random_range(0..items));
        let t = Instant::now();
        let v = mirror.item_by_sku(&sku, "MAIN").await?;
        lat.push(t.elapsed());
        assert!(v.is_some());
    }
    lat.sort();
    println!(
        "  item_by_sku over {n} random SKUs: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        percentile(&lat, 0.50).as_secs_f64() * 1e6,
        percentile(&lat, 0.99).as_secs_f64() * 1e6,
        lat[lat.len() - 1].as_secs_f64() * 1e6
    );

    let mut lat = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let skus: Vec<String> = (0..10)
            .map(|_| format!("SKU-{:06}", rng.random_range(0..items)))
            .collect();
        let t = Instant::now();
        let w = mirror.check_skus(&skus).await;
        lat.push(t.elapsed());
        assert_eq!(w, Ok(vec![]));
    }
    lat.sort();
    println!(
        "  check_skus of a 10-line sale: p50 {:.1} µs, p99 {:.1} µs",
        percentile(&lat, 0.50).as_secs_f64() * 1e6,
        percentile(&lat, 0.99).as_secs_f64() * 1e6
    );
    Ok(())
}
