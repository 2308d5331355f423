//! The exchange state machine with simulated time: turn-taking, acknowledgements, T3
//! repeats with a clean link error after 3 transmissions, T4 restarts, and typed replies.

use bytes::{Bytes, BytesMut};
use rust_decimal::dec;
use std::time::{Duration, Instant};
use zvt::command::*;
use zvt::exchange::*;
use zvt::frame::FrameError;
use zvt::frame::serial;

const ACK_BYTE: &[u8] = &[0x06];
const NAK_BYTE: &[u8] = &[0x15];
const APP_ACK: &[u8] = &[0x80, 0x00, 0x00];

fn frame(apdu: &[u8]) -> Bytes {
    let mut b = BytesMut::new();
    serial::encode_frame(apdu, &mut b);
    b.freeze()
}

fn tx(ex: &mut Exchange) -> Vec<Bytes> {
    std::iter::from_fn(|| ex.poll_transmit()).collect()
}

fn ev(ex: &mut Exchange) -> Vec<Event> {
    std::iter::from_fn(|| ex.poll_event()).collect()
}

fn pt(ex: &mut Exchange, apdu: &[u8], now: Instant) {
    ex.handle_input(Input::Apdu(Bytes::copy_from_slice(apdu)), now);
}

fn auth() -> EcrCommand {
    EcrCommand::Authorization(PaymentRequest::new(dec!(12.34)))
}

const AUTH_APDU: &[u8] = &[0x06, 0x01, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34];
const STATUS_INFO: &[u8] = &[
    0x04, 0x0F, 0x09, 0x27, 0x00, 0x0B, 0x00, 0x01, 0x23, 0x87, 0x00, 0x42,
];

/// Serial: starts the authorization and lets the PT accept it; returns the exchange.
fn accepted_serial(t0: Instant) -> Exchange {
    let mut ex = Exchange::new(ExchangeConfig::serial());
    ex.start(&auth(), t0).unwrap();
    assert_eq!(tx(&mut ex), vec![frame(AUTH_APDU)]);
    ex.handle_input(Input::Ack, t0);
    pt(&mut ex, APP_ACK, t0);
    assert_eq!(tx(&mut ex), vec![Bytes::from_static(ACK_BYTE)]);
    assert!(ev(&mut ex).is_empty());
    ex
}

#[test]
fn serial_payment_acks_every_message_and_completes() {
    let t0 = Instant::now();
    let mut ex = accepted_serial(t0);
    assert_eq!(ex.poll_timeout(), Some(t0 + DEFAULT_T4));

    pt(&mut ex, &[0x04, 0xFF, 0x01, 0x0A], t0);
    assert_eq!(
        ev(&mut ex),
        vec![Event::Intermediate(IntermediateStatus {
            status: 0x0A,
            timeout: None,
            tlv: vec![]
        })]
    );
    assert_eq!(
        tx(&mut ex),
        vec![Bytes::from_static(ACK_BYTE), frame(APP_ACK)]
    );
    ex.handle_input(Input::Ack, t0);

    pt(&mut ex, STATUS_INFO, t0);
    let events = ev(&mut ex);
    let Event::StatusInformation(si) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (si.trace, si.receipt, si.result_code),
        (Some(123), Some(42), Some(0))
    );
    assert_eq!(
        tx(&mut ex),
        vec![Bytes::from_static(ACK_BYTE), frame(APP_ACK)]
    );
    ex.handle_input(Input::Ack, t0);

    pt(&mut ex, &[0x06, 0x0F, 0x02, 0x27, 0x00], t0);
    let events = ev(&mut ex);
    let [Event::Finished(Ok(Reply::Completed { completion, status }))] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(completion.result_code, Some(0));
    assert_eq!(status[0].receipt, Some(42));
    assert_eq!(
        tx(&mut ex),
        vec![Bytes::from_static(ACK_BYTE), frame(APP_ACK)]
    );
    assert!(!ex.is_busy());
    assert!(!ex.is_idle(), "our last 80 00 00 still awaits its ACK");
    ex.handle_input(Input::Ack, t0);
    assert!(ex.is_idle());
    assert_eq!(ex.poll_timeout(), None);
}

#[test]
fn nak_three_times_gives_link_error() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::serial());
    ex.start(&auth(), t0).unwrap();
    ex.handle_input(Input::Nak, t0);
    ex.handle_input(Input::Nak, t0);
    assert!(ev(&mut ex).is_empty());
    ex.handle_input(Input::Nak, t0);
    assert_eq!(
        tx(&mut ex),
        vec![frame(AUTH_APDU); 3],
        "exactly 3 transmissions"
    );
    assert_eq!(
        ev(&mut ex),
        vec![Event::Finished(Err(ExchangeError::Link {
            transmissions: 3
        }))]
    );
    assert!(ex.is_idle());
    // A fourth NAK changes nothing: no further repeat.
    ex.handle_input(Input::Nak, t0);
    assert!(tx(&mut ex).is_empty());
}

#[test]
fn missing_ack_repeats_after_t3_then_fails() {
    let t0 = Instant::now();
    let t3 = DEFAULT_T3;
    let mut ex = Exchange::new(ExchangeConfig::serial());
    ex.start(&auth(), t0).unwrap();
    assert_eq!(ex.poll_timeout(), Some(t0 + t3));
    ex.handle_timeout(t0 + t3 - Duration::from_millis(1));
    assert_eq!(tx(&mut ex).len(), 1, "nothing before T3");
    ex.handle_timeout(t0 + t3);
    assert_eq!(ex.poll_timeout(), Some(t0 + 2 * t3));
    ex.handle_timeout(t0 + 2 * t3);
    assert_eq!(tx(&mut ex), vec![frame(AUTH_APDU); 2]);
    ex.handle_timeout(t0 + 3 * t3);
    assert_eq!(
        ev(&mut ex),
        vec![Event::Finished(Err(ExchangeError::Link {
            transmissions: 3
        }))]
    );
}

#[test]
fn t4_is_restarted_by_intermediate_status() {
    let t0 = Instant::now();
    let t4 = DEFAULT_T4;
    let mut ex = accepted_serial(t0);
    let t1 = t0 + t4 - Duration::from_secs(10);
    pt(&mut ex, &[0x04, 0xFF, 0x01, 0x01], t1);
    ex.handle_input(Input::Ack, t1);
    ex.handle_timeout(t0 + t4);
    assert!(
        !ev(&mut ex).iter().any(|e| matches!(e, Event::Finished(_))),
        "T4 restarted"
    );
    assert_eq!(ex.poll_timeout(), Some(t1 + t4));
    ex.handle_timeout(t1 + t4);
    assert_eq!(
        ev(&mut ex),
        vec![Event::Finished(Err(ExchangeError::ReplyTimeout))]
    );
}

#[test]
fn intermediate_timeout_byte_extends_t4() {
    let t0 = Instant::now();
    let cfg = ExchangeConfig {
        t4: Duration::from_secs(20),
        ..ExchangeConfig::tcp()
    };
    let mut ex = Exchange::new(cfg);
    ex.start(&auth(), t0).unwrap();
    pt(&mut ex, APP_ACK, t0);
    pt(&mut ex, &[0x04, 0xFF, 0x02, 0x01, 0x3C], t0);
    assert_eq!(ex.poll_timeout(), Some(t0 + Duration::from_secs(60)));
}

#[test]
fn unexpected_frames_are_acked_and_reported() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::serial());
    pt(&mut ex, &[0x04, 0xFF, 0x01, 0x0E], t0);
    assert_eq!(
        ev(&mut ex),
        vec![Event::Unsolicited(PtMessage::IntermediateStatus(
            IntermediateStatus {
                status: 0x0E,
                timeout: None,
                tlv: vec![]
            }
        ))]
    );
    assert_eq!(
        tx(&mut ex),
        vec![Bytes::from_static(ACK_BYTE), frame(APP_ACK)]
    );
    ex.handle_input(Input::Ack, t0);

    // During a command, an unknown message is acknowledged and reported too.
    let mut ex = accepted_serial(t0);
    pt(&mut ex, &[0x06, 0x93, 0x00], t0);
    let events = ev(&mut ex);
    assert!(
        matches!(&events[..], [Event::Unsolicited(PtMessage::Other(_))]),
        "{events:?}"
    );
    assert_eq!(
        tx(&mut ex),
        vec![Bytes::from_static(ACK_BYTE), frame(APP_ACK)]
    );
    assert!(ex.is_busy());
}

#[test]
fn corrupt_frame_is_naked() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::serial());
    let e = FrameError::BadCrc {
        computed: 1,
        received: 2,
    };
    ex.handle_input(Input::Corrupt(e.clone()), t0);
    assert_eq!(tx(&mut ex), vec![Bytes::from_static(NAK_BYTE)]);
    assert_eq!(ev(&mut ex), vec![Event::FrameRejected(e)]);
}

#[test]
fn refused_command() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::tcp());
    ex.start(&auth(), t0).unwrap();
    assert_eq!(tx(&mut ex), vec![Bytes::from_static(AUTH_APDU)]);
    pt(&mut ex, &[0x84, 0x6B, 0x00], t0);
    assert_eq!(
        ev(&mut ex),
        vec![Event::Finished(Ok(Reply::Refused { code: 0x6B }))]
    );
    assert!(tx(&mut ex).is_empty(), "replies are not acknowledged");
}

#[test]
fn tcp_abort_from_terminal() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::tcp());
    ex.start(&auth(), t0).unwrap();
    tx(&mut ex);
    pt(&mut ex, APP_ACK, t0);
    assert!(tx(&mut ex).is_empty());
    pt(&mut ex, &[0x06, 0x1E, 0x01, 0x6C], t0);
    assert_eq!(tx(&mut ex), vec![Bytes::from_static(APP_ACK)]);
    assert_eq!(
        ev(&mut ex),
        vec![Event::Finished(Ok(Reply::Aborted {
            abort: Abort::new(0x6C),
            status: vec![]
        }))]
    );
    assert!(ex.is_idle());
}

#[test]
fn accept_timeout() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::tcp());
    ex.start(&auth(), t0).unwrap();
    assert_eq!(ex.poll_timeout(), Some(t0 + DEFAULT_T3));
    ex.handle_timeout(t0 + DEFAULT_T3);
    assert_eq!(
        ev(&mut ex),
        vec![Event::Finished(Err(ExchangeError::AcceptTimeout))]
    );
}

#[test]
fn busy_while_running() {
    let t0 = Instant::now();
    let mut ex = accepted_serial(t0);
    assert_eq!(ex.start(&auth(), t0), Err(StartError::Busy));
    let mut idle = Exchange::new(ExchangeConfig::tcp());
    assert_eq!(idle.abort(t0), Err(StartError::NotRunning));
}

#[test]
fn abort_accepted_then_terminal_aborts() {
    let t0 = Instant::now();
    let mut ex = accepted_serial(t0);
    ex.abort(t0).unwrap();
    assert_eq!(tx(&mut ex), vec![frame(&[0x06, 0xB0, 0x00])]);
    ex.handle_input(Input::Ack, t0);
    pt(&mut ex, APP_ACK, t0);
    assert_eq!(ev(&mut ex), vec![Event::AbortAccepted]);
    pt(&mut ex, &[0x06, 0x1E, 0x01, 0x6C], t0);
    let events = ev(&mut ex);
    assert!(
        matches!(&events[..], [Event::Finished(Ok(Reply::Aborted { .. }))]),
        "{events:?}"
    );
}

#[test]
fn abort_ignored_terminal_completes_anyway() {
    let t0 = Instant::now();
    let mut ex = accepted_serial(t0);
    ex.abort(t0).unwrap();
    ex.handle_input(Input::Ack, t0);
    pt(&mut ex, &[0x84, 0x83, 0x00], t0);
    pt(&mut ex, &[0x06, 0x0F, 0x02, 0x27, 0x00], t0);
    let events = ev(&mut ex);
    assert_eq!(events[0], Event::AbortRefused(0x83));
    assert!(matches!(
        &events[1],
        Event::Finished(Ok(Reply::Completed { .. }))
    ));
}

#[test]
fn read_card_ends_on_status_information() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::tcp());
    let rc = EcrCommand::ReadCard(ReadCard {
        timeout_s: 30,
        payment_type: None,
        dialog_control: None,
        tlv: vec![],
    });
    ex.start(&rc, t0).unwrap();
    pt(&mut ex, APP_ACK, t0);
    pt(
        &mut ex,
        &[
            0x04, 0x0F, 0x0B, 0x22, 0xF0, 0xF8, 0x99, 0x99, 0x00, 0x00, 0x11, 0x11, 0x22, 0x22,
        ],
        t0,
    );
    let events = ev(&mut ex);
    let Event::Finished(Ok(Reply::CardRead(si))) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(si.card_number.as_ref().unwrap().last4(), "2222");
    assert!(!ex.is_busy());
}

#[test]
fn display_text_ends_on_acceptance() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::tcp());
    ex.start(&EcrCommand::DisplayText(DisplayText::default()), t0)
        .unwrap();
    pt(&mut ex, APP_ACK, t0);
    assert_eq!(ev(&mut ex), vec![Event::Finished(Ok(Reply::Accepted))]);
}

#[test]
fn frame_from_terminal_counts_as_lost_ack() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::serial());
    ex.start(&auth(), t0).unwrap();
    tx(&mut ex);
    // The ACK byte got lost, but the PT's acceptance arrives.
    pt(&mut ex, APP_ACK, t0);
    ex.handle_timeout(t0 + DEFAULT_T3);
    assert_eq!(
        tx(&mut ex),
        vec![Bytes::from_static(ACK_BYTE)],
        "the command is not repeated"
    );
    assert!(ex.is_busy());
}

#[test]
fn malformed_completion_ends_command_with_error() {
    let t0 = Instant::now();
    let mut ex = Exchange::new(ExchangeConfig::tcp());
    ex.start(&auth(), t0).unwrap();
    pt(&mut ex, APP_ACK, t0);
    pt(&mut ex, &[0x06, 0x0F, 0x03, 0x87, 0x00, 0x12], t0);
    tx(&mut ex);
    let events = ev(&mut ex);
    assert!(matches!(&events[0], Event::Undecodable { .. }));
    assert!(matches!(
        &events[1],
        Event::Finished(Err(ExchangeError::Malformed {
            class: 0x06,
            instr: 0x0F,
            ..
        }))
    ));
}

#[test]
fn config_validation() {
    assert!(ExchangeConfig::serial().validate().is_ok());
    let bad = ExchangeConfig {
        max_transmissions: 0,
        ..ExchangeConfig::serial()
    };
    assert_eq!(bad.validate(), Err(ConfigError::NoTransmissions));
    let bad = ExchangeConfig {
        t4: Duration::ZERO,
        ..ExchangeConfig::serial()
    };
    assert_eq!(bad.validate(), Err(ConfigError::ZeroTimer { name: "t4" }));
}

#[test]
fn undecodable_message_is_acked_and_restarts_t4() {
    let t0 = Instant::now();
    let mut ex = accepted_serial(t0);
    let t1 = t0 + Duration::from_secs(100);
    // Header says 5 data bytes, 2 present.
    pt(&mut ex, &[0x04, 0x0F, 0x05, 0x27, 0x00], t1);
    let events = ev(&mut ex);
    assert!(
        matches!(
            &events[..],
            [Event::Undecodable {
                class: Some(0x04),
                instr: Some(0x0F),
                ..
            }]
        ),
        "{events:?}"
    );
    assert_eq!(
        tx(&mut ex),
        vec![Bytes::from_static(ACK_BYTE), frame(APP_ACK)]
    );
    ex.handle_input(Input::Ack, t1);
    assert_eq!(ex.poll_timeout(), Some(t1 + DEFAULT_T4));
    assert!(ex.is_busy());
}
