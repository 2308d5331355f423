//! The simulated reader over a real pty: what it sends, unplug (EIO + link gone), replug.

use std::time::Duration;

use hardware_sim::reader::{SimReader, SimReaderConfig, cards};
use tokio::io::AsyncReadExt;
use tokio::time::timeout;
use tokio_serial::SerialStream;

const WAIT: Duration = Duration::from_secs(5);

fn open(link: &std::path::Path) -> SerialStream {
    SerialStream::open(&tokio_serial::new(link.to_string_lossy(), 9600))
        .expect("open the reader link")
}

async fn read_exactly(port: &mut SerialStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    timeout(WAIT, port.read_exact(&mut buf))
        .await
        .expect("bytes in time")
        .expect("read");
    buf
}

#[tokio::test]
async fn swipes_scans_and_floods_arrive_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("msr");
    let config = SimReaderConfig {
        scan_prefix: "]C1".into(),
        scan_suffix: "!".into(),
        ..SimReaderConfig::default()
    };
    let mut reader = SimReader::start(&link, config).await.unwrap();
    assert!(std::fs::read_link(&link).unwrap().starts_with("/dev/pts"));
    let mut port = open(&link);

    reader.swipe(";6036001234567890=4912?").await.unwrap();
    assert_eq!(
        read_exactly(&mut port, 25).await,
        b";6036001234567890=4912?\r\n"
    );

    reader.scan("GC-1").await.unwrap();
    assert_eq!(read_exactly(&mut port, 10).await, b"]C1GC-1!\r\n");

    reader.swipe_bank_card().await.unwrap();
    let expected = format!("{}\r\n", cards::bank_card_tracks());
    assert_eq!(
        read_exactly(&mut port, expected.len()).await,
        expected.as_bytes()
    );
    assert!(expected.contains(cards::TEST_PAN));

    reader.flood(10_000, 7).await.unwrap();
    let flood = read_exactly(&mut port, 10_002).await;
    assert!(
        flood[..10_000]
            .iter()
            .all(|b| !matches!(b, b'\r' | b'\n' | 2 | 3))
    );
    assert_eq!(&flood[10_000..], b"\r\n");
}

#[tokio::test]
async fn unplug_gives_the_opener_eio_and_removes_the_link_then_replug_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("msr");
    let mut reader = SimReader::start(&link, SimReaderConfig::default())
        .await
        .unwrap();
    let first = reader.slave_path().unwrap().to_owned();
    let mut port = open(&link);

    reader.unplug().await.unwrap();
    assert!(!reader.is_plugged());
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
    let mut buf = [0u8; 16];
    let outcome = timeout(WAIT, port.read(&mut buf))
        .await
        .expect("the read ends promptly");
    assert!(
        matches!(outcome, Ok(0) | Err(_)),
        "EOF or EIO after unplug, got {outcome:?}"
    );
    let error = reader.swipe(";1?").await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotConnected);
    drop(port);

    reader.replug().await.unwrap();
    let second = reader.slave_path().unwrap().to_owned();
    assert_eq!(std::fs::read_link(&link).unwrap(), second);
    let mut port = open(&link);
    reader.swipe(";42?").await.unwrap();
    assert_eq!(read_exactly(&mut port, 6).await, b";42?\r\n");
    // The old pty is gone; the new one may reuse its number, but the link must be current.
    let _ = first;
}

#[tokio::test]
async fn dropping_the_simulator_removes_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("scanner");
    let reader = SimReader::start(&link, SimReaderConfig::default())
        .await
        .unwrap();
    assert!(link.exists());
    drop(reader);
    assert!(std::fs::symlink_metadata(&link).is_err());
}

#[tokio::test]
async fn script_drives_the_reader() {
    use hardware_sim::reader::script::{execute, parse_script};
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("msr");
    let mut reader = SimReader::start(&link, SimReaderConfig::default())
        .await
        .unwrap();
    let mut port = open(&link);
    let commands = parse_script(
        "gift 6036001234567890\nhalf ;6036001234567890=4912?\nmember 00042\nquit\nbank\n",
    )
    .unwrap();
    let mut seed = 1;
    let mut ran = 0;
    for command in &commands {
        ran += 1;
        if !execute(&mut reader, command, &mut seed).await.unwrap() {
            break;
        }
    }
    assert_eq!(ran, 4, "quit stops the script");
    let gift = format!("{}\r\n", cards::gift_card_tracks("6036001234567890"));
    assert_eq!(read_exactly(&mut port, gift.len()).await, gift.as_bytes());
    assert_eq!(
        read_exactly(&mut port, 13).await,
        b";6036001234\r\n",
        "half of the 23-byte track"
    );
    assert_eq!(read_exactly(&mut port, 7).await, b"00042\r\n");
    // Nothing after `quit`: the bank card line was never sent.
    let mut extra = [0u8; 1];
    assert!(
        timeout(Duration::from_millis(200), port.read(&mut extra))
            .await
            .is_err()
    );
}

#[test]
fn live_console_shows_each_reader_event_in_words() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("msr");
    let script = dir.path().join("script.txt");
    std::fs::write(
        &script,
        "scan 4006381333931\ngift 6036001234567890\nmember 0004200042\nunplug\nreplug\nquit\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hardware-sim"))
            .args(["reader", "--pty"])
            .arg(&link)
            .arg("--script")
            .arg(&script)
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success());
        BufReader::new(&out.stdout[..])
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<String>>()
    };
    let lines = run(&[]);
    let words: Vec<&str> = lines
        .iter()
        .map(|l| l.split_once(' ').map_or("", |(_, w)| w))
        .collect();
    assert_eq!(
        words,
        [
            format!("reader plugged in at {}", link.display()).as_str(),
            "scan item 4006381333931",
            "swipe gift card ****7890",
            "scan member card ****0042",
            "unplugged: link removed",
            "plugged in again: link moved to a new pty",
            "quit",
        ],
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("60360012")));
    let json = run(&["--json"]);
    let first: serde_json::Value = serde_json::from_str(&json[2]).unwrap();
    assert_eq!(first["event"], "command");
    assert_eq!(first["text"], "swipe gift card ****7890");
    assert!(run(&["--quiet"]).is_empty());
}
