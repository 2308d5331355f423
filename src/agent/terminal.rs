//! The engine's [`PaymentTerminal`] port over the ZVT transport ([`zvt::transport::Terminal`]).
//!
//! One command at a time (ZVT is half-duplex), so the client sits behind an async mutex.
//! The engine journals the recovery intent (amount and the last trace number seen) before
//! each command, so that a lost answer — also after a restart — is settled by
//! [`PaymentTerminal::recover`] through the transport's Status Enquiry and Repeat Receipt and
//! `zvt::recovery::decide`, never by sending the payment again. Only masked PANs and
//! receipt/trace numbers leave this module.

use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use secrecy::SecretString;
use tokio::sync::{Mutex, broadcast};

/// Trace lines kept for a watcher that falls behind.
const TRACE_CAPACITY: usize = 256;
use zvt::command::PaymentRequest;
use zvt::recovery::{Intent, Verdict};
use zvt::transport::{Endpoint, Error, NoEvents, Terminal, TransportConfig, TxOutcome, TxResult};

use crate::config::{TerminalConfig, TerminalTransport};
use crate::devices::{DeviceReporter, DeviceState};
use crate::domain::Money;
use crate::engine::ports::{
    EndOfDayTotals, PaymentTerminal, Recovered, RecoveryIntent, TerminalError, TerminalOutcome,
    TerminalRequest,
};

/// The transport settings for the `[terminal]` config section.
pub fn transport_config(cfg: &TerminalConfig) -> TransportConfig {
    let mut t = match &cfg.transport {
        TerminalTransport::Tcp { address } => TransportConfig::tcp(address.clone()),
        // A pos lane builds no ZVT client (service wiring, doctor); should one be built
        // anyway, it points at the discard port and never reaches a terminal.
        TerminalTransport::Pos { .. } => TransportConfig::tcp("127.0.0.1:9".to_owned()),
        TerminalTransport::Serial { device, baud } => {
            let mut t = TransportConfig::serial(device.clone());
            t.endpoint = Endpoint::Serial {
                path: device.clone(),
                baud: *baud,
            };
            t
        }
    };
    // The config keeps the password as packed BCD only; unpack it to the six digits.
    t.password = cfg
        .password
        .bcd()
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .map(|d| char::from(b'0' + d))
        .collect();
    t.t3 = cfg.t3;
    t.t4 = cfg.t4;
    t.currency = cfg.currency;
    t
}

/// The reconnect schedule for the terminal link: a few quick tries per command, so a
/// register call fails fast with "terminal unavailable" rather than hanging.
fn reconnect_schedule() -> std::array::IntoIter<Duration, 3> {
    [
        Duration::from_millis(200),
        Duration::from_millis(500),
        Duration::from_secs(1),
    ]
    .into_iter()
}

struct State {
    client: Terminal,
}

/// How the lane's amounts map onto BMP 04, which the ZVT codec reads and writes as
/// hundredths: an amount in a currency with `minor_units` decimals goes on the wire as
/// `amount × 10^(minor_units − 2)`, so that its BCD digits are the currency's minor units
/// (JPY 1200 → `00 00 00 00 12 00`, 1200 yen; USD 12.34 → 1234 cents, unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireScale {
    minor_units: u32,
}

impl WireScale {
    /// The scale of the currency with ISO number `numeric` (2 decimals when unknown).
    pub fn for_currency(numeric: u16) -> Self {
        Self {
            minor_units: zvt::apdu::currency::by_numeric(numeric)
                .map(|c| c.minor_units)
                .unwrap_or(2),
        }
    }

    /// The amount as the codec puts it on the wire (unchanged for 2-decimal currencies).
    pub fn to_wire(self, amount: Money) -> Decimal {
        match self.minor_units {
            2 => amount.get(),
            m if m < 2 => amount.get() / Decimal::from(10u64.pow(2 - m)),
            m => amount.get() * Decimal::from(10u64.pow(m - 2)),
        }
    }

    /// An amount read from the wire, in the lane's currency (unchanged for 2 decimals).
    pub fn from_wire(self, wire: Decimal) -> Money {
        Money::from(match self.minor_units {
            2 => wire,
            m if m < 2 => (wire * Decimal::from(10u64.pow(2 - m))).round_dp(m),
            m => wire / Decimal::from(10u64.pow(m - 2)),
        })
    }
}

/// The lane's ZVT terminal as the engine's [`PaymentTerminal`].
pub struct ZvtTerminal {
    state: Mutex<State>,
    reporter: Option<DeviceReporter>,
    scale: WireScale,
    /// Every message on the link in words, for `lane-agent terminal trace`.
    trace: broadcast::Sender<String>,
    /// Set by [`ZvtTerminal::close`]: cashier displays still queued for the link are dropped,
    /// so a stop waits for at most the one exchange under way.
    closing: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for ZvtTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZvtTerminal").finish_non_exhaustive()
    }
}

impl ZvtTerminal {
    /// A terminal client that connects on first use. Fails only on an invalid config.
    ///
    /// # Errors
    /// The transport's config error.
    pub fn new(config: TransportConfig, reporter: Option<DeviceReporter>) -> Result<Self, Error> {
        let scale = WireScale::for_currency(config.currency);
        let mut client = Terminal::new(config, reconnect_schedule)?;
        let trace = broadcast::Sender::new(TRACE_CAPACITY);
        let tx = trace.clone();
        // Described only while someone watches; the words carry no secret.
        client.set_tap(std::sync::Arc::new(move |dir, apdu| {
            if tx.receiver_count() > 0 {
                let _ = tx.send(zvt::describe::describe(dir, apdu));
            }
        }));
        if let Some(r) = &reporter {
            r.set_state(DeviceState::Down, Some("not connected yet".into()));
        }
        Ok(Self {
            state: Mutex::new(State { client }),
            reporter,
            scale,
            trace,
            closing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Connects and registers now (best effort, for the device status); a failure is only
    /// reported, the next command tries again.
    pub async fn warm_up(&self) {
        let mut s = self.state.lock().await;
        let res = s.client.register().await;
        self.report(&res.map(|_| ()));
    }

    /// Shows up to eight lines on the terminal's display (cashier and customer prompts).
    ///
    /// # Errors
    /// [`TerminalError`] when the terminal is not reached.
    pub async fn display(&self, lines: &[&str]) -> Result<(), TerminalError> {
        let mut s = self.state.lock().await;
        // Best effort: once the terminal is closing, a display still waiting its turn is
        // dropped rather than held against the stop (an unreachable terminal makes each one
        // wait out its connect).
        if self.closing.load(std::sync::atomic::Ordering::Acquire) {
            return Err(TerminalError::NotSent("the terminal is closing".into()));
        }
        let res = s.client.display_text(lines, 0).await;
        self.report(&res);
        res.map_err(|e| map_error(&e))
    }

    /// The live view of the link: each message in words ([`zvt::describe`]).
    pub fn trace(&self) -> broadcast::Receiver<String> {
        self.trace.subscribe()
    }

    /// Read Card (06 C0): waits up to `timeout_s` seconds for the customer to present a card
    /// and returns its track 2 (secret; classify it, never log it). `None` when no card came
    /// or the customer cancelled.
    ///
    /// # Errors
    /// [`TerminalError`] when the terminal is not reached.
    pub async fn read_card(&self, timeout_s: u8) -> Result<Option<SecretString>, TerminalError> {
        let mut s = self.state.lock().await;
        let res = s.client.read_card(timeout_s).await;
        self.report(&res);
        let card = res.map_err(|e| map_error(&e))?;
        Ok(card.and_then(|c| c.expose_track2().map(|t| SecretString::from(t.to_owned()))))
    }

    /// Closes the link (at shutdown, after the payment in flight has finished).
    pub async fn close(&self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::Release);
        self.state.lock().await.client.disconnect();
        if let Some(r) = &self.reporter {
            r.set_state(DeviceState::Down, Some("closed".into()));
        }
    }

    fn report<T>(&self, res: &Result<T, Error>) {
        let Some(r) = &self.reporter else { return };
        match res {
            Ok(_) => r.set_state(DeviceState::Up, None),
            Err(Error::Unavailable(m)) => r.set_state(DeviceState::Down, Some(m.clone())),
            Err(e) if e.is_outcome_unknown() => {
                r.set_state(DeviceState::Degraded, Some(e.to_string()));
            }
            Err(_) => {}
        }
    }

    async fn pay(
        &self,
        req: &TerminalRequest,
        reserve: bool,
    ) -> Result<TerminalOutcome, TerminalError> {
        let mut s = self.state.lock().await;
        let request = PaymentRequest::new(self.scale.to_wire(req.amount));
        let res = if reserve {
            s.client.reserve(request, NoEvents).await
        } else {
            s.client.authorize(request, NoEvents).await
        };
        self.report(&res);
        let o = res.map_err(|e| map_error(&e))?;
        Ok(outcome(&o, req.amount, self.scale))
    }
}

fn receipt16(receipt_no: u32) -> Result<u16, TerminalError> {
    u16::try_from(receipt_no)
        .map_err(|_| TerminalError::Other(format!("receipt number {receipt_no} out of range")))
}

/// How a transport error reads for the engine: `Unavailable` (nothing sent) may be retried,
/// `OutcomeUnknown` must be recovered.
fn map_error(e: &Error) -> TerminalError {
    match e {
        Error::Unavailable(_) | Error::Link { .. } | Error::RegistrationRefused { .. } => {
            TerminalError::NotSent(e.to_string())
        }
        e if e.is_outcome_unknown() => TerminalError::OutcomeUnknown(e.to_string()),
        other => TerminalError::Other(other.to_string()),
    }
}

fn outcome(o: &TxOutcome, asked: Money, scale: WireScale) -> TerminalOutcome {
    let approved = o.is_approved();
    let result_text = match o.result {
        TxResult::Approved => None,
        TxResult::Declined { code } => {
            Some(format!("declined by terminal (result code {code:#04x})"))
        }
        TxResult::Refused { code } => {
            Some(format!("refused by terminal (result code {code:#04x})"))
        }
    };
    TerminalOutcome {
        approved,
        amount: if approved {
            o.amount.map(|a| scale.from_wire(a)).unwrap_or(asked)
        } else {
            Money::ZERO
        },
        receipt_no: o.receipt.map(u32::from),
        trace_no: o.trace,
        masked_pan: o.card_number.as_ref().map(|c| c.masked()),
        card_name: o.card_name.clone(),
        result_text,
        receipt_lines: o.receipt_lines.clone(),
    }
}

/// BMP 60 individual totals as the simulated terminal and ecrterm lay them out: first and
/// last receipt number (2 BCD each), then per card family a count (1 byte binary) and a
/// turnover (6 BCD). Returns the receipt range and the summed count; `None` for a layout
/// that does not fit.
fn individual_totals(raw: &[u8]) -> Option<(u16, u16, u32)> {
    let (range, families) = (raw.get(..4)?, raw.get(4..)?);
    if families.len() % 7 != 0 {
        return None;
    }
    let bcd = |b: &[u8]| zvt::apdu::bcd::decode_u64(b, "receipt").ok();
    let from = u16::try_from(bcd(&range[..2])?).ok()?;
    let to = u16::try_from(bcd(&range[2..])?).ok()?;
    let count = families.chunks(7).map(|f| u32::from(f[0])).sum();
    Some((from, to, count))
}

fn end_of_day_totals(r: &zvt::transport::EndOfDayReport, currency: u16) -> EndOfDayTotals {
    let scale = WireScale::for_currency(currency);
    let parsed = r.totals.as_deref().and_then(individual_totals);
    let (ok, reason) = match r.result {
        TxResult::Approved => (true, None),
        TxResult::Declined { code } => (
            false,
            Some(format!(
                "end of day aborted by terminal (result code {code:#04x})"
            )),
        ),
        TxResult::Refused { code } => (
            false,
            Some(format!(
                "end of day refused by terminal (result code {code:#04x})"
            )),
        ),
    };
    EndOfDayTotals {
        ok,
        currency: zvt::apdu::currency::label(currency),
        total: r.total.map(|t| scale.from_wire(t)),
        count: parsed.map(|p| p.2),
        receipt_from: parsed.map(|p| p.0),
        receipt_to: parsed.map(|p| p.1),
        reason,
        receipt_lines: r.receipt_lines.clone(),
    }
}

#[async_trait]
impl PaymentTerminal for ZvtTerminal {
    async fn authorize(&self, req: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        self.pay(req, false).await
    }

    async fn reserve(&self, req: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        self.pay(req, true).await
    }

    async fn book_total(
        &self,
        receipt_no: u32,
        amount: Money,
    ) -> Result<TerminalOutcome, TerminalError> {
        let receipt = receipt16(receipt_no)?;
        let mut s = self.state.lock().await;
        let res = s
            .client
            .book_total(receipt, Some(self.scale.to_wire(amount)), NoEvents)
            .await;
        self.report(&res);
        let o = res.map_err(|e| map_error(&e))?;
        Ok(outcome(&o, amount, self.scale))
    }

    async fn reverse(
        &self,
        receipt_no: u32,
        reservation: bool,
    ) -> Result<TerminalOutcome, TerminalError> {
        let receipt = receipt16(receipt_no)?;
        let mut s = self.state.lock().await;
        let res = if reservation {
            s.client.preauth_reversal(receipt, NoEvents).await
        } else {
            s.client.reversal(receipt, NoEvents).await
        };
        self.report(&res);
        let o = res.map_err(|e| map_error(&e))?;
        Ok(outcome(&o, Money::ZERO, self.scale))
    }

    async fn last_trace(&self) -> Option<u32> {
        self.state.lock().await.client.last_trace()
    }

    async fn recover(&self, intent: &RecoveryIntent) -> Result<Recovered, TerminalError> {
        let mut s = self.state.lock().await;
        let zvt_intent = Intent {
            amount: self.scale.to_wire(intent.amount),
            trace_before: intent.trace_before,
            seen_trace: None,
            seen_receipt: None,
        };
        let res = s.client.recover_last(&zvt_intent).await;
        self.report(&res);
        // Only a terminal that cannot be reached is a transport error here; anything the
        // terminal said (or failed to say) is evidence for `decide`.
        Ok(match res.map_err(|e| map_error(&e))? {
            Verdict::Approved { receipt, trace } => Recovered::Approved(TerminalOutcome {
                approved: true,
                amount: intent.amount,
                receipt_no: receipt.map(u32::from),
                trace_no: trace,
                masked_pan: None,
                card_name: None,
                result_text: None,
                receipt_lines: Vec::new(),
            }),
            Verdict::NotExecuted { reason } => Recovered::NotExecuted(reason.into()),
            Verdict::Unknown { reason } => Recovered::Unknown(reason.into()),
        })
    }

    async fn numeric_input(
        &self,
        prompt: &str,
        max_len: u8,
    ) -> Result<Option<SecretString>, TerminalError> {
        let mut s = self.state.lock().await;
        let res = s.client.numeric_input(&[prompt], 1, max_len.max(1)).await;
        self.report(&res);
        Ok(res.map_err(|e| map_error(&e))?.map(SecretString::from))
    }

    async fn refund(&self, req: &TerminalRequest) -> Result<TerminalOutcome, TerminalError> {
        let mut s = self.state.lock().await;
        let res = s
            .client
            .refund(self.scale.to_wire(req.amount), NoEvents)
            .await;
        self.report(&res);
        let o = res.map_err(|e| map_error(&e))?;
        Ok(outcome(&o, req.amount, self.scale))
    }

    fn supports_end_of_day(&self) -> bool {
        true
    }

    fn supports_refund(&self) -> bool {
        true
    }

    async fn end_of_day(&self, wait: bool) -> Result<EndOfDayTotals, TerminalError> {
        let mut s = if wait {
            self.state.lock().await
        } else {
            self.state.try_lock().map_err(|_| {
                TerminalError::NotSent("the terminal is busy with another command".into())
            })?
        };
        let res = s.client.end_of_day(NoEvents).await;
        self.report(&res);
        let r = res.map_err(|e| map_error(&e))?;
        Ok(end_of_day_totals(&r, s.client.config().currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stop does not wait for cashier displays queued behind a link that does not answer:
    /// the one under way runs out its timers, the others are dropped unsent.
    #[tokio::test]
    async fn closing_drops_the_displays_still_waiting_for_the_link() {
        // A terminal that accepts the connection and never says a word.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap().to_string();
        let (accepted_tx, mut accepted) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = silent.accept().await {
                held.push(sock);
                let _ = accepted_tx.send(());
            }
        });
        let mut config = TransportConfig::tcp(addr);
        config.t3 = Duration::from_millis(100);
        config.max_transmissions = 1;
        let terminal = std::sync::Arc::new(ZvtTerminal::new(config, None).unwrap());
        let mut shown = Vec::new();
        for _ in 0..4 {
            let t = std::sync::Arc::clone(&terminal);
            shown.push(tokio::spawn(async move {
                t.display(&["Gift card", "10.00"]).await
            }));
        }
        // The first display is on the link; on this one-thread runtime the other three
        // have run up to the terminal's lock and wait there.
        accepted.recv().await.unwrap();
        terminal.close().await;
        let mut dropped = 0;
        for s in shown {
            match s.await.unwrap() {
                Err(TerminalError::NotSent(m)) if m.contains("closing") => dropped += 1,
                Err(_) => {}
                Ok(()) => panic!("a silent terminal showed a display"),
            }
        }
        assert_eq!(
            dropped, 3,
            "the displays queued behind the first are dropped"
        );
    }

    #[test]
    fn transport_errors_say_whether_the_payment_may_have_run() {
        assert!(matches!(
            map_error(&Error::Unavailable("down".into())),
            TerminalError::NotSent(_)
        ));
        assert!(matches!(
            map_error(&Error::OutcomeUnknown {
                command: "06 01 Authorization",
                cause: "T4".into()
            }),
            TerminalError::OutcomeUnknown(_)
        ));
        assert!(matches!(
            map_error(&Error::UnexpectedReply {
                command: "06 01",
                reply: "x".into()
            }),
            TerminalError::Other(_)
        ));
    }

    #[test]
    fn amounts_reach_the_wire_in_the_currencys_minor_units() {
        let m = |s: &str| -> Money { s.parse().unwrap() };
        let usd = WireScale::for_currency(840);
        assert_eq!(usd.to_wire(m("12.34")).to_string(), "12.34");
        assert_eq!(usd.from_wire("15.00".parse().unwrap()).to_string(), "15.00");
        // JPY has no minor unit: 1200 yen are the BCD digits 1200.
        let jpy = WireScale::for_currency(392);
        let wire = jpy.to_wire(m("1200"));
        assert_eq!(
            zvt::apdu::bcd::amount_to_bcd(wire).unwrap(),
            [0, 0, 0, 0, 0x12, 0x00]
        );
        assert_eq!(jpy.from_wire(wire).to_string(), "1200");
        // Three decimals (e.g. BHD): 12.345 is 12345 fils.
        let bhd = WireScale { minor_units: 3 };
        assert_eq!(
            zvt::apdu::bcd::amount_to_bcd(bhd.to_wire(m("12.345"))).unwrap(),
            [0, 0, 0, 0x01, 0x23, 0x45]
        );
        assert_eq!(bhd.from_wire("123.45".parse().unwrap()), m("12.345"));
        // Unknown codes are taken as two decimals.
        assert_eq!(WireScale::for_currency(999), usd);
    }

    #[test]
    fn individual_totals_sum_the_card_families() {
        // Receipts 1–5, girocard 2 × 92.00, Visa 1 × 10.00.
        let raw = [
            0x00, 0x01, 0x00, 0x05, 2, 0, 0, 0, 0, 0x92, 0, 1, 0, 0, 0, 0, 0x10, 0,
        ];
        assert_eq!(individual_totals(&raw), Some((1, 5, 3)));
        assert_eq!(individual_totals(&raw[..6]), None);
        assert_eq!(individual_totals(&[]), None);
    }

    #[test]
    fn receipt_numbers_beyond_zvt_range_are_refused() {
        assert_eq!(receipt16(42).unwrap(), 42);
        assert!(receipt16(70_000).is_err());
    }

    #[test]
    fn the_password_round_trips_through_bcd() {
        let cfg = TerminalConfig {
            transport: TerminalTransport::Serial {
                device: "/dev/lane/terminal".into(),
                baud: 19200,
            },
            password: crate::config::TerminalPassword::new("012345".into()),
            t3: Duration::from_millis(1500),
            t4: Duration::from_secs(60),
            currency: zvt::command::USD,
            end_of_day_at: None,
        };
        let t = transport_config(&cfg);
        assert_eq!(t.password, "012345");
        assert_eq!(t.t3, Duration::from_millis(1500));
        assert_eq!(t.currency, 840);
        assert!(matches!(t.endpoint, Endpoint::Serial { baud: 19200, .. }));
    }
}
