//! Cross-check with Wireshark's ZVT dissector: the driver's TCP conversation with the
//! simulated terminal is relayed through the test, written to a pcap file (synthetic
//! Ethernet/IPv4/TCP headers around the real payload bytes, so no capture privileges are
//! needed) and decoded with `tshark -d tcp.port==20007,zvt`. No packet may be malformed and
//! the decoded fields must show what was sent.

use std::{
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::support::terminal::{Via, rig, sim_config};
use rust_decimal::Decimal;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use zvt::{command::PaymentRequest, transport::NoEvents};

/// The port the pcap shows for the terminal (ZVT's registered port).
const PT_PORT: u16 = 20007;
const ECR_PORT: u16 = 50123;

type Log = Arc<Mutex<Vec<(bool, Vec<u8>)>>>;

/// Relays one connection from `listener` to `upstream`, logging every chunk with its
/// direction (`true` = ECR → PT).
async fn relay(listener: TcpListener, upstream: std::net::SocketAddr, log: Log) {
    let (ecr, _) = listener.accept().await.unwrap();
    let pt = TcpStream::connect(upstream).await.unwrap();
    let (mut er, mut ew) = ecr.into_split();
    let (mut pr, mut pw) = pt.into_split();
    let l1 = log.clone();
    let up = async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = er.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            l1.lock().unwrap().push((true, buf[..n].to_vec()));
            if pw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = pr.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            log.lock().unwrap().push((false, buf[..n].to_vec()));
            if ew.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(up, down);
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// A pcap (link type 1, Ethernet) with one TCP segment per logged chunk.
fn pcap(log: &[(bool, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xA1B2_C3D4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend(0i32.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(65535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    let (mut seq_ecr, mut seq_pt) = (1000u32, 9000u32);
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    for (i, (from_ecr, data)) in log.iter().enumerate() {
        let (sport, dport, seq, ack) = if *from_ecr {
            (ECR_PORT, PT_PORT, seq_ecr, seq_pt)
        } else {
            (PT_PORT, ECR_PORT, seq_pt, seq_ecr)
        };
        let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = 20 + 20 + data.len();
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            i as u8,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ];
        ip.extend([127, 0, 0, 1, 127, 0, 0, 1]);
        let c = ipv4_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        frame.extend(ip);
        frame.extend(sport.to_be_bytes());
        frame.extend(dport.to_be_bytes());
        frame.extend(seq.to_be_bytes());
        frame.extend(ack.to_be_bytes());
        frame.extend([0x50, 0x18, 0xFF, 0xFF, 0, 0, 0, 0]);
        frame.extend(data);
        if *from_ecr {
            seq_ecr = seq_ecr.wrapping_add(data.len() as u32);
        } else {
            seq_pt = seq_pt.wrapping_add(data.len() as u32);
        }
        out.extend(start.to_le_bytes());
        out.extend((i as u32 * 1000).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend(frame);
    }
    out
}

#[tokio::test]
async fn tshark_decodes_the_driver_conversation_without_malformed_packets() {
    let tshark = Command::new("tshark").arg("--version").output();
    assert!(
        tshark.is_ok_and(|o| o.status.success()),
        "tshark is required (scripts/test.sh installs it: apt-get install tshark)"
    );
    let mut r = rig(Via::Tcp, sim_config()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let relay_task = tokio::spawn(relay(listener, r.sim.addr().unwrap(), log.clone()));
    r.config.endpoint = zvt::transport::Endpoint::Tcp {
        addr: relay_addr.to_string(),
    };
    // A USD lane: the registration and every amount carry 840 (issue 12).
    r.config.currency = zvt::command::USD;
    let mut pt = r.terminal().await;
    let out = pt
        .authorize(PaymentRequest::new(Decimal::new(1234, 2)), NoEvents)
        .await
        .unwrap();
    assert!(out.is_approved());
    let receipt = out.receipt.unwrap();
    pt.reversal(receipt, NoEvents).await.unwrap();
    let refund = pt.refund(Decimal::new(500, 2), NoEvents).await.unwrap();
    assert!(refund.is_approved());
    pt.end_of_day(NoEvents).await.unwrap();
    drop(pt);
    tokio::time::timeout(Duration::from_secs(5), relay_task)
        .await
        .unwrap()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zvt.pcap");
    std::fs::write(&file, pcap(&log.lock().unwrap())).unwrap();
    let decoded = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-d", &format!("tcp.port=={PT_PORT},zvt"), "-V"])
        .output()
        .unwrap();
    assert!(
        decoded.status.success(),
        "{}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    let text = String::from_utf8_lossy(&decoded.stdout);
    std::fs::write(dir.path().join("decoded.txt"), text.as_bytes()).unwrap();
    assert!(!text.contains("Malformed"), "malformed packet:\n{text}");
    assert!(
        !text.contains("[Expert Info (Error"),
        "dissector error:\n{text}"
    );
    // Wireshark, an independent decoder, reads every currency code as USD (BCD 08 40).
    assert!(!text.contains("Currency Code: EUR"), "{text}");
    // The dissector shows amounts as integer minor units.
    for needle in [
        "Control-field: Registration (0x0600)",
        "Control-field: Authorisation (0x0601)",
        "Amount: 1234",
        "Control-field: Intermediate Status Information (0x04ff)",
        "Control-field: Status Information (0x040f)",
        "Control-field: Print Line (0x06d1)",
        "Control-field: Completion (0x060f)",
        "Control-field: Reversal (0x0630)",
        "Control-field: Refund (0x0631)",
        "Amount: 500",
        "Currency Code: USD (0x0840)",
        "Control-field: End Of Day (0x0650)",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}
