//! Bank-card data never leaves the reader path (reliability.md P3.1, T3.1): the test PAN and
//! sentinel numbers go through the simulated reader, device supervision and classification;
//! then every captured log line, the SQLite event log this test keeps (db, -wal, -shm), and
//! every Debug/Display/error string are scanned for them. Zero hits.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cardreader::pan::contains_luhn_run;
use cardreader::{ClassifiedRead, Classifier, ClassifierConfig};
use hardware_sim::reader::{SimReader, SimReaderConfig, cards};
use lane_agent::devices::{
    DeviceEvent, DeviceLocator, DeviceRegistry, DeviceState, ReaderKind, ReaderSpec,
    SupervisorOptions,
};
use tokio::sync::broadcast::Receiver;
use tokio::time::timeout;

/// Sentinels: the test PAN in its usual spellings, the track's discretionary data, and a
/// gift code whose full value must never show (only `****3210`).
const PAN: &str = cards::TEST_PAN;
const SENTINELS: &[&str] = &[
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "411111",
    "30121010000000000",
    "TEST/CARD",
    "6036009876543210",
    "60360098765",
];
const GIFT: &str = "6036009876543210";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hits(haystack: &str) -> Vec<String> {
    let mut found: Vec<String> = SENTINELS
        .iter()
        .filter(|s| haystack.contains(*s))
        .map(|s| (*s).to_owned())
        .collect();
    if contains_luhn_run(haystack) {
        found.push("a Luhn-valid 13-19 digit run".to_owned());
    }
    found
}

async fn next_read(
    events: &mut Receiver<DeviceEvent>,
    log: &mut Vec<DeviceEvent>,
) -> ClassifiedRead {
    timeout(Duration::from_secs(5), async {
        loop {
            let event = events.recv().await.unwrap();
            log.push(event.clone());
            if let DeviceEvent::Read { read, .. } = event {
                return read;
            }
        }
    })
    .await
    .expect("a read within 5 s")
}

async fn wait_up(events: &mut Receiver<DeviceEvent>, name: &str, log: &mut Vec<DeviceEvent>) {
    timeout(Duration::from_secs(5), async {
        loop {
            let event = events.recv().await.unwrap();
            log.push(event.clone());
            if matches!(&event, DeviceEvent::StateChanged { name: n, state: DeviceState::Up, .. } if n == name) {
                return;
            }
        }
    })
    .await
    .expect("device up within 5 s");
}

#[tokio::test]
async fn bank_card_data_appears_in_no_log_file_or_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        // Everything at TRACE except mio, whose poller tokens are 15-digit pointers that the
        // Luhn scanner would (rightly) flag.
        .with_env_filter("trace,mio=debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This thread only: the other tests of the binary log on their own threads. The runtime
    // is current-thread and the reader path spawns no thread, so every task of the devices
    // under test is polled here and logs into the capture.
    let _capture = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let msr_link = dir.path().join("msr");
    let scanner_link = dir.path().join("scanner");
    let mut msr = SimReader::start(&msr_link, SimReaderConfig::default())
        .await
        .unwrap();
    let mut scanner = SimReader::start(&scanner_link, SimReaderConfig::default())
        .await
        .unwrap();
    let classifier = Classifier::new(ClassifierConfig {
        gift_prefixes: vec!["603600".into()],
        ..ClassifierConfig::default()
    })
    .unwrap();
    let registry = DeviceRegistry::new(classifier, SupervisorOptions::default());
    let mut events = registry.subscribe();
    let mut log = Vec::new();
    registry
        .spawn_reader(ReaderSpec::new(
            "msr",
            ReaderKind::SerialMsr,
            DeviceLocator::Path(msr_link),
        ))
        .unwrap();
    wait_up(&mut events, "msr", &mut log).await;
    registry
        .spawn_reader(ReaderSpec::new(
            "scanner",
            ReaderKind::SerialScanner,
            DeviceLocator::Path(scanner_link),
        ))
        .unwrap();
    wait_up(&mut events, "scanner", &mut log).await;

    let bank = cards::bank_card_tracks();
    // Whole swipes: each must come out as a data-free payment card.
    for tracks in [
        bank.clone(),
        format!(";{PAN}=30121010000000000?"),
        format!("%B{PAN}^TEST/CARD^30121010000000000?"),
    ] {
        msr.swipe(&tracks).await.unwrap();
        assert_eq!(
            next_read(&mut events, &mut log).await.kind(),
            "payment-card"
        );
    }
    // Broken bank swipes go down the error paths: half reads, bad characters, trailing junk,
    // a flood around the PAN. None may echo the data.
    for broken in [
        cards::half_swipe(&bank),
        format!(";{PAN}=3012X?"),
        format!(";{PAN}=3012?junk{PAN}"),
        format!("{PAN}{}", "#".repeat(600)),
    ] {
        msr.swipe(&broken).await.unwrap();
    }
    for code in [PAN, "4111 1111 1111 1111", "4111-1111-1111-1111"] {
        scanner.scan(code).await.unwrap();
        assert_eq!(
            next_read(&mut events, &mut log).await.kind(),
            "payment-card"
        );
    }
    msr.swipe(&cards::gift_card_tracks(GIFT)).await.unwrap();
    match next_read(&mut events, &mut log).await {
        ClassifiedRead::GiftCard { code, .. } => assert_eq!(code.masked(), "****3210"),
        other => panic!("{other:?}"),
    }
    msr.unplug().await.unwrap();
    let snapshot = registry.snapshot();
    registry.shutdown(Duration::from_secs(2)).await;

    // The SQLite event log an API would keep: every event and health row as rendered.
    let db_path = dir.path().join("events.db");
    {
        let db = rusqlite::Connection::open(&db_path).unwrap();
        db.pragma_update(None, "journal_mode", "WAL").unwrap();
        db.pragma_update(None, "synchronous", "FULL").unwrap();
        db.execute("CREATE TABLE events (debug TEXT NOT NULL)", [])
            .unwrap();
        db.execute(
            "CREATE TABLE health (debug TEXT NOT NULL, last_error TEXT)",
            [],
        )
        .unwrap();
        for event in &log {
            db.execute(
                "INSERT INTO events (debug) VALUES (?1)",
                [format!("{event:?}")],
            )
            .unwrap();
        }
        for health in &snapshot {
            db.execute(
                "INSERT INTO health (debug, last_error) VALUES (?1, ?2)",
                rusqlite::params![format!("{health:?}"), health.last_error],
            )
            .unwrap();
        }
    }

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    // The capture works and saw the interesting paths, so "no hits" means something.
    assert!(logs.contains("Bank card presented at a reader"), "{logs}");
    assert!(logs.contains("Reader input rejected"), "{logs}");
    assert!(logs.contains("****3210"), "{logs}");
    assert!(log.len() >= 8);

    let mut strings = vec![logs.clone()];
    strings.extend(log.iter().map(|e| format!("{e:?}")));
    strings.extend(snapshot.iter().map(|h| format!("{h:?}")));
    strings.extend(snapshot.iter().filter_map(|h| h.last_error.clone()));
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db_path.display());
        if let Ok(bytes) = std::fs::read(&path) {
            strings.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    for (index, text) in strings.iter().enumerate() {
        let found = hits(text);
        assert!(found.is_empty(), "artefact {index} contains {found:?}");
    }
}
