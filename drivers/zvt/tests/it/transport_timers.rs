//! The tokio transport's timers in virtual time: T4 restarts on every intermediate
//! message, T4 and T3 expire on time, a serial frame goes out at most 3 times, and the
//! event sink runs before the acknowledgement leaves. The PT is a scripted peer on an
//! in-memory duplex stream, so `tokio::time::pause` is exact.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::BytesMut;
use rust_decimal::Decimal;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, DuplexStream},
    sync::Notify,
    time::Instant,
};
use zvt::{
    command::{Completion, EcrCommand, IntermediateStatus, PaymentRequest, StatusInformation},
    exchange::{Event, ExchangeConfig, ExchangeError, Reply},
    frame::{
        serial::{self, SerialDecoder, SerialItem},
        tcp::TcpDecoder,
    },
    transport::{EventSink, NoEvents, Transport, TransportError},
};

// Protocol constants re-declared here on purpose (tests do not trust the crate's own).
const ACK_APDU: [u8; 3] = [0x80, 0x00, 0x00];
const ACK: u8 = 0x06;

fn payment() -> EcrCommand {
    EcrCommand::Authorization(PaymentRequest::new(Decimal::new(1234, 2)))
}

/// The PT side of a TCP-framed duplex.
struct TcpPeer {
    io: DuplexStream,
    rx: BytesMut,
    dec: TcpDecoder,
}

impl TcpPeer {
    async fn recv(&mut self) -> Vec<u8> {
        loop {
            if let Some(apdu) = self.dec.decode(&mut self.rx).unwrap() {
                return apdu.to_vec();
            }
            assert!(
                self.io.read_buf(&mut self.rx).await.unwrap() > 0,
                "ECR closed"
            );
        }
    }

    async fn send(&mut self, apdu: &[u8]) {
        self.io.write_all(apdu).await.unwrap();
    }
}

fn tcp_pair() -> (Transport<DuplexStream>, TcpPeer) {
    let (a, b) = tokio::io::duplex(4096);
    let t = Transport::new(a, ExchangeConfig::tcp(), Duration::from_secs(1));
    (
        t,
        TcpPeer {
            io: b,
            rx: BytesMut::new(),
            dec: TcpDecoder::new(),
        },
    )
}

#[tokio::test(start_paused = true)]
async fn t4_restarts_on_every_intermediate_status() {
    let (mut ecr, mut pt) = tcp_pair();
    let peer = tokio::spawn(async move {
        assert_eq!(&pt.recv().await[..2], &[0x06, 0x01]);
        pt.send(&ACK_APDU).await;
        // Ten statuses 100 s apart: 1000 s in all, far beyond T4 = 180 s.
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(100)).await;
            let s = IntermediateStatus {
                status: 0x0A,
                timeout: None,
                tlv: vec![],
            };
            pt.send(&s.to_apdu().unwrap().to_vec()).await;
            assert_eq!(pt.recv().await, ACK_APDU);
        }
        pt.send(&Completion::default().to_apdu().unwrap().to_vec())
            .await;
        assert_eq!(pt.recv().await, ACK_APDU);
    });
    let start = Instant::now();
    let reply = ecr
        .run(&payment(), &mut NoEvents, &Notify::new())
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Completed { .. }), "{reply:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(1000));
    peer.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn t4_expires_when_the_terminal_goes_quiet() {
    let (mut ecr, mut pt) = tcp_pair();
    let peer = tokio::spawn(async move {
        pt.recv().await;
        pt.send(&ACK_APDU).await;
        tokio::time::sleep(Duration::from_secs(50)).await;
        let s = IntermediateStatus {
            status: 0x04,
            timeout: None,
            tlv: vec![],
        };
        pt.send(&s.to_apdu().unwrap().to_vec()).await;
        pt.recv().await;
        // Then silence; keep the stream open.
        std::future::pending::<()>().await;
    });
    let start = Instant::now();
    let err = ecr
        .run(&payment(), &mut NoEvents, &Notify::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::Exchange(ExchangeError::ReplyTimeout)),
        "{err}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(50 + 180));
    peer.abort();
}

#[tokio::test(start_paused = true)]
async fn serial_frame_is_sent_three_times_then_link_error() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut ecr = Transport::new(a, ExchangeConfig::serial(), Duration::from_secs(1));
    let frames = Arc::new(Mutex::new(Vec::new()));
    let seen = frames.clone();
    let peer = tokio::spawn(async move {
        let mut rx = BytesMut::new();
        let mut dec = SerialDecoder::new();
        loop {
            while let Some(item) = dec.decode(&mut rx).unwrap() {
                if let SerialItem::Frame(f) = item {
                    seen.lock().unwrap().push((Instant::now(), f.to_vec()));
                }
            }
            if b.read_buf(&mut rx).await.unwrap() == 0 {
                return;
            }
        }
    });
    let start = Instant::now();
    let err = ecr
        .run(&payment(), &mut NoEvents, &Notify::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Exchange(ExchangeError::Link { transmissions: 3 })
        ),
        "{err}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(15), "3 × T3");
    drop(ecr);
    peer.await.unwrap();
    let frames = frames.lock().unwrap();
    assert_eq!(frames.len(), 3);
    assert!(
        frames.iter().all(|(_, f)| f == &frames[0].1),
        "the same frame repeated"
    );
    let gaps: Vec<_> = frames.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert_eq!(gaps, [Duration::from_secs(5), Duration::from_secs(5)]);
}

/// A sink that takes a (virtual) second per event and records when it finished.
struct SlowJournal(Arc<Mutex<Vec<(&'static str, Instant)>>>);

impl EventSink for SlowJournal {
    async fn on_event(&mut self, event: &Event) {
        if let Event::StatusInformation(_) = event {
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.0.lock().unwrap().push(("journaled", Instant::now()));
        }
    }
}

/// The PT side of a serially framed duplex.
struct SerialPeer {
    io: DuplexStream,
    rx: BytesMut,
    dec: SerialDecoder,
}

impl SerialPeer {
    async fn item(&mut self) -> SerialItem {
        loop {
            if let Some(i) = self.dec.decode(&mut self.rx).unwrap() {
                return i;
            }
            assert!(
                self.io.read_buf(&mut self.rx).await.unwrap() > 0,
                "ECR closed"
            );
        }
    }

    async fn frame(&mut self, apdu: &[u8]) {
        let mut f = BytesMut::new();
        serial::encode_frame(apdu, &mut f);
        self.io.write_all(&f).await.unwrap();
    }

    async fn ack(&mut self) {
        self.io.write_all(&[ACK]).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn status_information_is_journaled_before_it_is_acknowledged() {
    let (a, b) = tokio::io::duplex(4096);
    let mut ecr = Transport::new(a, ExchangeConfig::serial(), Duration::from_secs(1));
    let order = Arc::new(Mutex::new(Vec::new()));
    let log = order.clone();
    let peer = tokio::spawn(async move {
        let mut pt = SerialPeer {
            io: b,
            rx: BytesMut::new(),
            dec: SerialDecoder::new(),
        };
        assert!(
            matches!(pt.item().await, SerialItem::Frame(_)),
            "the command"
        );
        pt.ack().await;
        pt.frame(&ACK_APDU).await;
        assert_eq!(pt.item().await, SerialItem::Ack);
        let si = StatusInformation {
            result_code: Some(0),
            trace: Some(7),
            receipt: Some(3),
            ..Default::default()
        };
        pt.frame(&si.to_apdu().unwrap().to_vec()).await;
        assert_eq!(pt.item().await, SerialItem::Ack);
        log.lock()
            .unwrap()
            .push(("link ACK received", Instant::now()));
        assert!(matches!(pt.item().await, SerialItem::Frame(f) if f[..] == ACK_APDU));
        pt.ack().await;
        pt.frame(&Completion::default().to_apdu().unwrap().to_vec())
            .await;
        assert_eq!(pt.item().await, SerialItem::Ack);
        assert!(matches!(pt.item().await, SerialItem::Frame(f) if f[..] == ACK_APDU));
        pt.ack().await;
        std::future::pending::<()>().await;
    });
    let reply = ecr
        .run(&payment(), &mut SlowJournal(order.clone()), &Notify::new())
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Completed { .. }));
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 2);
    assert_eq!(order[0].0, "journaled");
    assert_eq!(order[1].0, "link ACK received");
    assert!(order[0].1 <= order[1].1);
    peer.abort();
}
