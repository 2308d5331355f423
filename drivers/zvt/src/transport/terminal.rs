//! The terminal client the agent uses: one command at a time over a managed link that
//! reconnects with an injected backoff and registers again after every reconnect.

use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::sync::{Notify, watch};

use super::{
    config::TransportConfig,
    driver::{Transport, TransportError},
    error::Error,
    events::{EventSink, NoEvents},
    health::{Health, LinkState, ReconnectPolicy},
    link as linkmod,
    link::Link,
    outcome::{CardData, Collect, EndOfDayReport, TerminalStatus, TxOutcome, TxResult},
};
use crate::{
    command::{
        BookTotal, DisplayText, EcrCommand, EndOfDay, NumericInput, PartialReversal,
        PaymentRequest, PreAuthReversal, ReadCard, ReceiptSelector, Refund, Registration,
        RepeatReceipt, Reversal, StatusEnquiry, StatusInformation,
    },
    exchange::{ExchangeError, Reply},
    recovery,
};

/// Result code `6B`: the PT is not registered (after a reboot).
const NOT_REGISTERED: u8 = 0x6B;

/// Asks the running command to abort (06 B0). Cloneable; usable from another task while
/// the command runs. The terminal may still finish the payment: the command's outcome says.
#[derive(Debug, Clone, Default)]
pub struct AbortHandle {
    current: Arc<Mutex<Option<Arc<Notify>>>>,
}

impl AbortHandle {
    /// Requests an abort of the command running now; does nothing when none runs.
    pub fn abort(&self) {
        if let Some(n) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            n.notify_one();
        }
    }

    fn arm(&self) -> Arc<Notify> {
        let n = Arc::new(Notify::new());
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(n.clone());
        n
    }

    fn disarm(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn name(cmd: &EcrCommand) -> &'static str {
    match cmd {
        EcrCommand::Registration(_) => "06 00 Registration",
        EcrCommand::Authorization(_) => "06 01 Authorization",
        EcrCommand::Reservation(_) => "06 22 Reservation",
        EcrCommand::PartialReversal(_) => "06 23 Partial reversal",
        EcrCommand::BookTotal(_) => "06 24 Book total",
        EcrCommand::PreAuthReversal(_) => "06 25 Pre-auth reversal",
        EcrCommand::Reversal(_) => "06 30 Reversal",
        EcrCommand::Refund(_) => "06 31 Refund",
        EcrCommand::Abort => "06 B0 Abort",
        EcrCommand::StatusEnquiry(_) => "05 01 Status enquiry",
        EcrCommand::EndOfDay(_) => "06 50 End of day",
        EcrCommand::RepeatReceipt(_) => "06 20 Repeat receipt",
        EcrCommand::DisplayText(_) => "06 E0 Display text",
        EcrCommand::NumericInput(_) => "06 E2 Numeric input",
        EcrCommand::ReadCard(_) => "06 C0 Read card",
    }
}

fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Accepted => "80 00 00".into(),
        Reply::Refused { code } => format!("84 {code:02X} 00"),
        Reply::Completed { .. } => "06 0F completion".into(),
        Reply::Aborted { abort, .. } => format!("06 1E abort {:02X}", abort.result_code),
        Reply::CardRead(_) => "04 0F card data".into(),
    }
}

/// A ZVT terminal reached over TCP or a serial line.
///
/// Commands take `&mut self`: ZVT is half-duplex and the ECR runs one command at a time.
/// Use [`Terminal::abort_handle`] to abort from elsewhere and [`Terminal::health`] to watch
/// the link.
pub struct Terminal {
    config: TransportConfig,
    policy: Box<dyn ReconnectPolicy>,
    conn: Option<Transport<Link>>,
    registered: bool,
    health: watch::Sender<Health>,
    abort: AbortHandle,
    last_trace: Option<u32>,
    lost: Option<(Option<u32>, Option<u16>)>,
    /// The command whose exchange is running; still set when the next command starts means
    /// the caller dropped that exchange midway (a timeout around it), leaving half a frame
    /// on the link.
    in_exchange: Option<&'static str>,
    tap: Option<super::driver::ApduTap>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("endpoint", &self.config.endpoint)
            .field("connected", &self.conn.is_some())
            .field("registered", &self.registered)
            .finish()
    }
}

impl Terminal {
    /// A client that connects on first use. Fails only on an invalid config.
    pub fn new(config: TransportConfig, policy: impl ReconnectPolicy) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            policy: Box::new(policy),
            conn: None,
            registered: false,
            health: watch::Sender::new(Health::default()),
            abort: AbortHandle::default(),
            last_trace: None,
            lost: None,
            in_exchange: None,
            tap: None,
        })
    }

    /// Connects and registers now, retrying along `policy`'s schedule.
    pub async fn connect(
        config: TransportConfig,
        policy: impl ReconnectPolicy,
    ) -> Result<Self, Error> {
        let mut t = Self::new(config, policy)?;
        t.ensure_ready().await?;
        Ok(t)
    }

    /// The configuration.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Link health: connected / registered / down, with the last error.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    /// Reports every APDU of this client's links to `tap` from the next connection on (the
    /// live view of `lane-agent terminal trace`).
    pub fn set_tap(&mut self, tap: super::driver::ApduTap) {
        self.tap = Some(tap);
    }

    /// A handle that aborts the running command.
    pub fn abort_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// Closes the link (the next command reconnects).
    pub fn disconnect(&mut self) {
        self.conn = None;
        self.registered = false;
        self.health.send_modify(|h| h.state = LinkState::Down);
    }

    fn mark_down(&mut self, error: String) {
        tracing::warn!(endpoint = %self.config.endpoint, %error, "Terminal link down.");
        self.conn = None;
        self.registered = false;
        self.health.send_modify(|h| {
            h.state = LinkState::Down;
            h.last_error = Some(error);
        });
    }

    async fn open(&mut self) -> Result<(), Error> {
        let link = linkmod::open(&self.config.endpoint, self.config.connect_timeout)
            .await
            .map_err(|e| {
                Error::Unavailable(format!("cannot open {}: {e}", self.config.endpoint))
            })?;
        self.conn = Some(
            Transport::new(link, self.config.exchange_config(), self.config.inter_byte)
                .with_tap(self.tap.clone()),
        );
        self.registered = false;
        self.health.send_modify(|h| h.state = LinkState::Connected);
        tracing::info!(endpoint = %self.config.endpoint, "Terminal link open.");
        Ok(())
    }

    async fn try_connect(&mut self) -> Result<(), Error> {
        if self.conn.is_none() {
            self.open().await?;
        }
        self.registration().await
    }

    /// Makes sure the link is open and registered, reconnecting along the policy.
    async fn ensure_ready(&mut self) -> Result<(), Error> {
        if let Some(command) = self.in_exchange.take() {
            // Bytes of the dropped exchange may still arrive and would be read as the answer
            // to the next command: only a fresh link and registration are a known state.
            tracing::warn!(
                command,
                "The previous terminal command was abandoned midway; resetting the link."
            );
            self.mark_down(format!("{command} abandoned midway"));
        }
        if self.conn.is_some() && self.registered {
            return Ok(());
        }
        let mut schedule = self.policy.schedule();
        loop {
            match self.try_connect().await {
                Ok(()) => {
                    self.health.send_modify(|h| h.failed_attempts = 0);
                    return Ok(());
                }
                Err(e @ Error::RegistrationRefused { .. }) => return Err(e),
                Err(e) => {
                    let msg = e.to_string();
                    self.mark_down(msg.clone());
                    self.health.send_modify(|h| h.failed_attempts += 1);
                    match schedule.next() {
                        Some(delay) => {
                            tracing::info!(delay_ms = delay.as_millis() as u64, error = %msg, "Reconnecting to the terminal.");
                            tokio::time::sleep(delay).await;
                        }
                        None => return Err(Error::Unavailable(msg)),
                    }
                }
            }
        }
    }

    /// Runs 06 00 on the open link.
    async fn registration(&mut self) -> Result<(), Error> {
        let cmd = EcrCommand::Registration(Registration {
            password: self.config.password_number(),
            config: self.config.config_byte,
            currency: Some(self.config.currency),
            service_byte: None,
            tlv: Vec::new(),
        });
        match self.run_raw(&cmd, NoEvents).await? {
            Reply::Completed { completion, .. }
                if matches!(completion.result_code, None | Some(0)) =>
            {
                self.registered = true;
                self.health.send_modify(|h| {
                    h.state = LinkState::Registered;
                    h.last_error = None;
                });
                tracing::info!(endpoint = %self.config.endpoint, "Registered at the terminal.");
                Ok(())
            }
            Reply::Completed { completion, .. } => Err(Error::RegistrationRefused {
                code: completion.result_code.unwrap_or(0xFF),
            }),
            Reply::Aborted { abort, .. } => Err(Error::RegistrationRefused {
                code: abort.result_code,
            }),
            Reply::Refused { code } => Err(Error::RegistrationRefused { code }),
            other => Err(Error::UnexpectedReply {
                command: name(&cmd),
                reply: describe(&other),
            }),
        }
    }

    /// Runs a command on the open link; a failure marks the link down.
    async fn run_raw(
        &mut self,
        cmd: &EcrCommand,
        mut sink: impl EventSink,
    ) -> Result<Reply, Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(Error::Unavailable("no link".into()));
        };
        let abort = self.abort.arm();
        self.in_exchange = Some(name(cmd));
        let r = conn.run(cmd, &mut sink, &abort).await;
        self.in_exchange = None;
        self.abort.disarm();
        match r {
            Ok(reply) => Ok(reply),
            Err(e) => {
                let cause = e.to_string();
                // A timeout may leave the PT mid-command; a fresh link and registration
                // bring both sides back to a known state.
                self.mark_down(cause.clone());
                if let TransportError::Start(_) = e {
                    return Err(Error::UnexpectedReply {
                        command: name(cmd),
                        reply: cause,
                    });
                }
                if cmd.is_financial() {
                    Err(Error::OutcomeUnknown {
                        command: name(cmd),
                        cause,
                    })
                } else {
                    Err(Error::Link {
                        command: name(cmd),
                        cause,
                    })
                }
            }
        }
    }

    /// Connects if needed and runs `cmd`. A `84 6B 00` (PT not registered, e.g. after its
    /// reboot) means nothing ran: register again and send the command once more.
    async fn exec(
        &mut self,
        cmd: EcrCommand,
        mut sink: impl EventSink,
    ) -> Result<(Reply, Vec<String>), Error> {
        // A link the terminal closed while we were idle is noticed before a command is
        // written into it: otherwise a payment would be "sent" into a dead socket and its
        // outcome would look unknown although the terminal never saw it.
        if let Some(conn) = self.conn.as_mut()
            && conn.is_closed().await
        {
            self.mark_down("terminal closed the link".into());
        }
        self.ensure_ready().await?;
        for _ in 0..2 {
            let mut collect = Collect::new(&mut sink);
            let result = self.run_raw(&cmd, &mut collect).await;
            let Collect {
                lines,
                seen_trace,
                seen_receipt,
                ..
            } = collect;
            if seen_trace.is_some() {
                self.last_trace = seen_trace;
            }
            let reply = match result {
                Ok(reply) => reply,
                Err(e) => {
                    if e.is_outcome_unknown() {
                        self.lost = Some((seen_trace, seen_receipt));
                    }
                    return Err(e);
                }
            };
            if reply
                == (Reply::Refused {
                    code: NOT_REGISTERED,
                })
            {
                tracing::info!("Terminal lost its registration; registering again.");
                self.registered = false;
                self.ensure_ready().await?;
                continue;
            }
            return Ok((reply, lines));
        }
        Err(Error::Unavailable(
            "terminal keeps refusing: not registered".into(),
        ))
    }

    /// The trace number (BMP 0B) of the last transaction this client saw. Journal it with
    /// a payment's intent before sending it ([`recovery::Intent::trace_before`]).
    pub fn last_trace(&self) -> Option<u32> {
        self.last_trace
    }

    /// The recovery intent for a payment of `amount` about to be sent now.
    pub fn intent(&self, amount: Decimal) -> recovery::Intent {
        recovery::Intent {
            amount,
            trace_before: self.last_trace,
            seen_trace: None,
            seen_receipt: None,
        }
    }

    /// Decides the fate of a financial command whose outcome was lost
    /// ([`Error::OutcomeUnknown`]), **without sending it again**: reconnects (registering
    /// again), sends Status Enquiry 05 01 and Repeat Receipt 06 20, and lets
    /// [`recovery::decide`] match the terminal's last transaction against `intent`.
    ///
    /// Trace and receipt numbers this client saw during the lost command fill the intent's
    /// `seen_*` fields when they are empty. `Err(Unavailable)` means the terminal is still
    /// unreachable: keep the payment in doubt and try again later.
    pub async fn recover_last(
        &mut self,
        intent: &recovery::Intent,
    ) -> Result<recovery::Verdict, Error> {
        let mut intent = intent.clone();
        if let Some((trace, receipt)) = self.lost {
            intent.seen_trace = intent.seen_trace.or(trace);
            intent.seen_receipt = intent.seen_receipt.or(receipt);
        }
        if let Some(conn) = self.conn.as_mut()
            && conn.is_closed().await
        {
            self.mark_down("terminal closed the link".into());
        }
        self.ensure_ready().await?;
        let [enquiry, repeat] = recovery::enquiry_commands(self.config.password_number());
        // Any failure counts as "no answer"; the verdict is then Unknown, never Approved.
        let no_answer = |_| ExchangeError::ReplyTimeout;
        let r1 = self
            .exec(enquiry, NoEvents)
            .await
            .map(|r| r.0)
            .map_err(no_answer);
        let r2 = self
            .exec(repeat, NoEvents)
            .await
            .map(|r| r.0)
            .map_err(no_answer);
        let verdict = recovery::decide(&intent, &recovery::Evidence::from_replies(&r1, &r2));
        tracing::info!(?verdict, "Lost outcome recovered from the terminal.");
        if !matches!(verdict, recovery::Verdict::Unknown { .. }) {
            self.lost = None;
        }
        Ok(verdict)
    }

    async fn financial(
        &mut self,
        cmd: EcrCommand,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let command = name(&cmd);
        let (reply, lines) = self.exec(cmd, sink).await?;
        let described = describe(&reply);
        TxOutcome::from_reply(reply, lines).ok_or(Error::UnexpectedReply {
            command,
            reply: described,
        })
    }

    /// Registers (06 00, PA00P015 13.07 ch. 2.1) again on the current link, connecting if
    /// needed. The transport also does this by itself after every reconnect.
    pub async fn register(&mut self) -> Result<(), Error> {
        self.registered = false;
        self.ensure_ready().await
    }

    /// The request with the configured currency (BMP 49) when it names none: every amount
    /// this client sends says which currency it is in.
    fn in_currency(&self, mut request: PaymentRequest) -> PaymentRequest {
        request.currency = request.currency.or(Some(self.config.currency));
        request
    }

    /// Authorization 06 01 (ch. 2.2). `PaymentRequest::new(amount)` for a plain payment; the
    /// configured currency is added when the request names none.
    ///
    /// On [`Error::OutcomeUnknown`] do not call it again for the same payment: use
    /// [`Terminal::recover_last`].
    pub async fn authorize(
        &mut self,
        request: PaymentRequest,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let request = self.in_currency(request);
        self.financial(EcrCommand::Authorization(request), sink)
            .await
    }

    /// Reservation 06 22 (ch. 2.8): the 04 0F carries the receipt number used later.
    pub async fn reserve(
        &mut self,
        request: PaymentRequest,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let request = self.in_currency(request);
        self.financial(EcrCommand::Reservation(request), sink).await
    }

    /// Refund 06 31 (ch. 2.15): gives `amount` back to the card the customer presents, in
    /// the configured currency.
    ///
    /// Financial: on [`Error::OutcomeUnknown`] do not call it again for the same refund;
    /// settle it with [`Terminal::recover_last`].
    pub async fn refund(
        &mut self,
        amount: Decimal,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let cmd = Refund {
            password: self.config.password_number(),
            amount,
            currency: Some(self.config.currency),
            payment_type: None,
            tlv: Vec::new(),
        };
        self.financial(EcrCommand::Refund(cmd), sink).await
    }

    /// Book Total 06 24 (ch. 2.9): captures a reservation; `None` books the reserved amount.
    pub async fn book_total(
        &mut self,
        receipt: u16,
        amount: Option<Decimal>,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let mut cmd = BookTotal::new(receipt, amount);
        if amount.is_some() {
            cmd.currency = Some(self.config.currency);
        }
        self.financial(EcrCommand::BookTotal(cmd), sink).await
    }

    /// Partial reversal 06 23 (ch. 2.10): releases `amount` of reservation `receipt`.
    pub async fn partial_reversal(
        &mut self,
        receipt: u16,
        amount: Decimal,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let cmd = PartialReversal {
            receipt: ReceiptSelector::Number(receipt),
            amount: Some(amount),
            payment_type: None,
            currency: Some(self.config.currency),
            tlv: Vec::new(),
        };
        self.financial(EcrCommand::PartialReversal(cmd), sink).await
    }

    /// Lists open reservations (06 23 with `87 FF FF`): one 04 0F per reservation.
    pub async fn open_reservations(&mut self) -> Result<Vec<StatusInformation>, Error> {
        let cmd = EcrCommand::PartialReversal(PartialReversal::list_open());
        match self.exec(cmd, NoEvents).await?.0 {
            Reply::Completed { status, .. } => Ok(status),
            Reply::Aborted { status, .. } => Ok(status),
            other => Err(Error::UnexpectedReply {
                command: "06 23 list open",
                reply: describe(&other),
            }),
        }
    }

    /// Pre-authorisation reversal 06 25 (ch. 2.11): releases reservation `receipt`.
    pub async fn preauth_reversal(
        &mut self,
        receipt: u16,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let cmd = PreAuthReversal {
            payment_type: None,
            currency: Some(self.config.currency),
            receipt,
            tlv: Vec::new(),
        };
        self.financial(EcrCommand::PreAuthReversal(cmd), sink).await
    }

    /// Reversal 06 30 (ch. 2.14) of the payment with receipt number `receipt`.
    pub async fn reversal(
        &mut self,
        receipt: u16,
        sink: impl EventSink,
    ) -> Result<TxOutcome, Error> {
        let cmd = Reversal {
            password: self.config.password_number(),
            receipt,
            tlv: Vec::new(),
        };
        self.financial(EcrCommand::Reversal(cmd), sink).await
    }

    /// Sends 06 B0 Abort while no command runs (ch. 2.4); `Ok(true)` if accepted.
    /// To abort a running command use [`Terminal::abort_handle`].
    pub async fn abort(&mut self) -> Result<bool, Error> {
        match self.exec(EcrCommand::Abort, NoEvents).await?.0 {
            Reply::Accepted => Ok(true),
            Reply::Refused { .. } => Ok(false),
            other => Err(Error::UnexpectedReply {
                command: "06 B0 Abort",
                reply: describe(&other),
            }),
        }
    }

    /// Status Enquiry 05 01 (ch. 2.55): software version and terminal status.
    pub async fn status_enquiry(&mut self) -> Result<TerminalStatus, Error> {
        let cmd = EcrCommand::StatusEnquiry(StatusEnquiry::default());
        match self.exec(cmd, NoEvents).await?.0 {
            Reply::Completed { completion, .. } => Ok(TerminalStatus {
                sw_version: completion.sw_version,
                status: completion.terminal_status,
                terminal_id: completion.terminal_id,
            }),
            other => Err(Error::UnexpectedReply {
                command: "05 01 Status enquiry",
                reply: describe(&other),
            }),
        }
    }

    /// Repeat Receipt 06 20 (ch. 2.13): the terminal's last transaction, as status
    /// information and print lines.
    pub async fn repeat_receipt(&mut self, sink: impl EventSink) -> Result<TxOutcome, Error> {
        let cmd = EcrCommand::RepeatReceipt(RepeatReceipt {
            password: self.config.password_number(),
            service_byte: None,
        });
        self.financial(cmd, sink).await
    }

    /// End of Day 06 50 (ch. 2.16).
    pub async fn end_of_day(&mut self, sink: impl EventSink) -> Result<EndOfDayReport, Error> {
        let cmd = EcrCommand::EndOfDay(EndOfDay {
            password: self.config.password_number(),
        });
        let (reply, lines) = self.exec(cmd, sink).await?;
        let (result, status) = match reply {
            Reply::Completed { status, .. } => (TxResult::Approved, status),
            Reply::Aborted { abort, status } => (
                TxResult::Declined {
                    code: abort.result_code,
                },
                status,
            ),
            Reply::Refused { code } => (TxResult::Refused { code }, Vec::new()),
            other => {
                return Err(Error::UnexpectedReply {
                    command: "06 50 End of day",
                    reply: describe(&other),
                });
            }
        };
        let with_totals = status
            .iter()
            .rev()
            .find(|s| s.totals.is_some() || s.amount.is_some());
        Ok(EndOfDayReport {
            result,
            total: with_totals.and_then(|s| s.amount),
            totals: with_totals.and_then(|s| s.totals.clone()),
            status,
            receipt_lines: lines,
        })
    }

    /// Display Text 06 E0 (ch. 2.33): up to 8 lines; `duration_s` 0 = until replaced.
    pub async fn display_text(&mut self, lines: &[&str], duration_s: u8) -> Result<(), Error> {
        let cmd = EcrCommand::DisplayText(DisplayText {
            duration: Some(duration_s),
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
            beeps: None,
        });
        match self.exec(cmd, NoEvents).await?.0 {
            Reply::Accepted | Reply::Completed { .. } => Ok(()),
            other => Err(Error::UnexpectedReply {
                command: "06 E0 Display text",
                reply: describe(&other),
            }),
        }
    }

    /// Display Text with Numerical Input 06 E2 (ch. 2.35): the digits typed, or `None` if
    /// the customer cancelled or the prompt timed out.
    pub async fn numeric_input(
        &mut self,
        prompt: &[&str],
        min_len: u8,
        max_len: u8,
    ) -> Result<Option<String>, Error> {
        let cmd = EcrCommand::NumericInput(NumericInput {
            lines: prompt.iter().map(|l| (*l).to_owned()).collect(),
            min_len: Some(min_len),
            max_len: Some(max_len),
            ..NumericInput::default()
        });
        match self.exec(cmd, NoEvents).await?.0 {
            Reply::Completed { completion, .. } => {
                Ok(completion.numeric_input().map(str::to_owned))
            }
            Reply::Aborted { .. } | Reply::Refused { .. } => Ok(None),
            other => Err(Error::UnexpectedReply {
                command: "06 E2 Numeric input",
                reply: describe(&other),
            }),
        }
    }

    /// Read Card 06 C0 (ch. 2.21): waits up to `timeout_s` seconds (1–255) for a card.
    /// `None` when no card came or the terminal aborted.
    pub async fn read_card(&mut self, timeout_s: u8) -> Result<Option<CardData>, Error> {
        let cmd = EcrCommand::ReadCard(ReadCard {
            timeout_s: timeout_s.max(1),
            payment_type: None,
            dialog_control: None,
            tlv: Vec::new(),
        });
        match self.exec(cmd, NoEvents).await?.0 {
            Reply::CardRead(si) => Ok(Some(CardData::from_status(&si))),
            Reply::Completed { status, .. } => Ok(status
                .iter()
                .rev()
                .find(|s| s.track2.is_some() || s.card_number.is_some())
                .map(CardData::from_status)),
            Reply::Aborted { .. } | Reply::Refused { .. } => Ok(None),
            other => Err(Error::UnexpectedReply {
                command: "06 C0 Read card",
                reply: describe(&other),
            }),
        }
    }
}
