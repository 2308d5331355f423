//! The ECR side of the conversation as a sans-IO state machine (PA00P016 rev. 04 ch. 2.4
//! "Master-slave", ch. 2.2.4 timers; PA00P015 rev. 13.07 ch. 2 for each command's replies).
//!
//! The caller owns the I/O and the clock. It feeds what arrives ([`Input`]) and the current
//! [`Instant`], and drains three queues:
//!
//! - [`Exchange::poll_event`]: what happened ([`Event`]), including the final
//!   [`Event::Finished`] with the typed [`Reply`];
//! - [`Exchange::poll_transmit`]: bytes to write, already framed for the link;
//! - [`Exchange::poll_timeout`]: when to call [`Exchange::handle_timeout`].
//!
//! **Drain events before transmits.** A PT message's event is queued before the
//! acknowledgement that answers it, so a caller that journals each event before writing
//! the transmits honours "journal before ACK" (`zvt.md` §9 rule 2).
//!
//! What the machine does:
//!
//! - Master/slave turns: one command at a time ([`Exchange::start`] fails while one runs).
//!   After `80 00 00` the PT is master; every message it sends is answered with
//!   `80 00 00`, until 06 0F Completion or 06 1E Abort makes the ECR master again.
//! - Timers: T3 (default 5 s) for the link ACK of each serial frame and for the PT's
//!   acceptance of a command; T4 (default 180 s) for the PT's next message while it is
//!   master, restarted by every 04 FF, 04 0F, 06 D1 and 06 D3. A 04 FF time-out byte larger
//!   than T4 extends that wait.
//! - Serial link: every good frame gets ACK `06`, every broken one NAK `15`. Our frames are
//!   sent at most `max_transmissions` times (default 3: first try plus two repeats after a
//!   NAK or a T3 expiry), then the command ends with [`ExchangeError::Link`]. That is the
//!   only repetition: a command is never replayed at the application level.
//! - Unexpected PT messages are acknowledged and reported as [`Event::Unsolicited`].
//!   A PT message that does not decode is acknowledged too (refusing a 04 0F could make the
//!   PT abort a payment that succeeded) and reported as [`Event::Undecodable`]; if it was
//!   the final message, the command ends with [`ExchangeError::Malformed`].
//! - Serial: a good PT frame arriving while our frame awaits its ACK byte counts as that
//!   ACK (the PT answered, so it has our frame); repeating the frame instead could make the
//!   PT run a command twice.
//! - A link-level repeat of a PT frame (our ACK byte was lost) is processed again. Event
//!   consumers must therefore be idempotent; trace and receipt numbers make that easy.

use crate::CodecError;
use crate::apdu::Apdu;
use crate::command::{
    Abort, Completion, EcrCommand, IntermediateStatus, PrintLine, PrintTextBlock, PtMessage,
    StatusInformation, ack_apdu,
};
use crate::frame::FrameError;
use crate::frame::serial::{self, ACK, NAK, SerialItem};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Default T3: wait for ACK/NAK (PA00P016 rev. 04 ch. 2.2.4; zvtlib, ecrterm).
pub const DEFAULT_T3: Duration = Duration::from_secs(5);
/// Default T4: wait for the PT's next message while it is master.
pub const DEFAULT_T4: Duration = Duration::from_secs(180);
/// Default number of transmissions of one serial frame (first try plus two repeats).
pub const DEFAULT_MAX_TRANSMISSIONS: u8 = 3;

/// Which framing the link uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// RS-232 / USB-CDC: DLE STX frames, CRC, ACK/NAK bytes, repeats.
    Serial,
    /// TCP: plain APDUs; TCP itself is reliable, so no link ACKs and no repeats.
    Tcp,
}

/// Timer and retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeConfig {
    /// Serial or TCP framing.
    pub link: LinkKind,
    /// ACK wait after each frame, and acceptance wait after a command.
    pub t3: Duration,
    /// Wait for the PT's next message while it is master.
    pub t4: Duration,
    /// Transmissions of one serial frame before a link error (at least 1).
    pub max_transmissions: u8,
}

impl ExchangeConfig {
    /// Spec defaults for a serial link.
    pub const fn serial() -> Self {
        ExchangeConfig {
            link: LinkKind::Serial,
            t3: DEFAULT_T3,
            t4: DEFAULT_T4,
            max_transmissions: DEFAULT_MAX_TRANSMISSIONS,
        }
    }

    /// Spec defaults for a TCP link.
    pub const fn tcp() -> Self {
        ExchangeConfig {
            link: LinkKind::Tcp,
            ..Self::serial()
        }
    }

    /// Checks the values: timers above zero, at least one transmission.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.t3.is_zero() {
            return Err(ConfigError::ZeroTimer { name: "t3" });
        }
        if self.t4.is_zero() {
            return Err(ConfigError::ZeroTimer { name: "t4" });
        }
        if self.max_transmissions == 0 {
            return Err(ConfigError::NoTransmissions);
        }
        Ok(())
    }
}

/// An invalid [`ExchangeConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A timer of zero length.
    #[error("timer {name} must be longer than zero")]
    ZeroTimer {
        /// Which timer.
        name: &'static str,
    },
    /// `max_transmissions` of zero.
    #[error("max_transmissions must be at least 1")]
    NoTransmissions,
}

/// What the caller feeds in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Serial: the PT acknowledged our frame (`06`).
    Ack,
    /// Serial: the PT rejected our frame (`15`).
    Nak,
    /// Serial: a broken frame arrived (it will be NAKed).
    Corrupt(FrameError),
    /// A complete APDU (serial: the content of a frame with a good CRC; TCP: as read).
    Apdu(Bytes),
}

impl From<SerialItem> for Input {
    fn from(item: SerialItem) -> Self {
        match item {
            SerialItem::Frame(b) => Input::Apdu(b),
            SerialItem::Ack => Input::Ack,
            SerialItem::Nak => Input::Nak,
        }
    }
}

impl From<Result<SerialItem, FrameError>> for Input {
    fn from(r: Result<SerialItem, FrameError>) -> Self {
        match r {
            Ok(item) => item.into(),
            Err(e) => Input::Corrupt(e),
        }
    }
}

/// How a command ended, listing every legal final answer (PA00P015 rev. 13.07 ch. 2).
///
/// | command | legal replies |
/// |---|---|
/// | 06 00, 06 01, 06 22, 06 23, 06 24, 06 25, 06 30, 05 01, 06 50, 06 20, 06 E2 | `Completed`, `Aborted`, `Refused` |
/// | 06 C0 Read Card | `CardRead`, `Aborted`, `Completed`, `Refused` |
/// | 06 E0 Display Text, 06 B0 Abort (while idle) | `Accepted`, `Refused` |
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `80 00 00` for a command that ends there (06 E0, a lone 06 B0).
    Accepted,
    /// `84 xx 00`: the PT refused the command (`xx` from the result-code table).
    Refused {
        /// The result code.
        code: u8,
    },
    /// 06 0F Completion (ch. 2.2.9), with the 04 0F messages received before it.
    Completed {
        /// The completion.
        completion: Completion,
        /// Every 04 0F of this command, in order.
        status: Vec<StatusInformation>,
    },
    /// 06 1E Abort (ch. 2.2.10), with the 04 0F messages received before it.
    Aborted {
        /// The abort and its result code.
        abort: Abort,
        /// Every 04 0F of this command, in order.
        status: Vec<StatusInformation>,
    },
    /// 06 C0 Read Card ended with the 04 0F carrying the card data (ch. 2.21).
    CardRead(Box<StatusInformation>),
}

/// Why a command ended without a reply. For a financial command the outcome is then
/// **unknown**: use [`crate::recovery`], never send the command again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// A serial frame got no ACK after this many transmissions.
    #[error("link error: no ACK after {transmissions} transmissions")]
    Link {
        /// Transmissions made.
        transmissions: u8,
    },
    /// The PT did not accept the command within T3.
    #[error("the terminal did not acknowledge the command within T3")]
    AcceptTimeout,
    /// The PT sent nothing for T4 while it was master.
    #[error("the terminal sent nothing within T4")]
    ReplyTimeout,
    /// The final message did not decode.
    #[error("final message {class:#04x} {instr:#04x} did not decode: {error}")]
    Malformed {
        /// CLASS byte.
        class: u8,
        /// INSTR byte.
        instr: u8,
        /// The decoding error.
        error: CodecError,
    },
}

/// Why [`Exchange::start`] or [`Exchange::abort`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A command is running; the ECR is not master.
    #[error("a command is already running")]
    Busy,
    /// [`Exchange::abort`] without a running command.
    #[error("no command is running")]
    NotRunning,
    /// The command did not encode.
    #[error("command does not encode: {0}")]
    Codec(#[from] CodecError),
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// 04 FF Intermediate status.
    Intermediate(IntermediateStatus),
    /// 04 0F Status information: journal 27/04/0B/87 before writing the next transmits.
    StatusInformation(Box<StatusInformation>),
    /// 06 D1 Print line.
    PrintLine(PrintLine),
    /// 06 D3 Print text block.
    PrintTextBlock(PrintTextBlock),
    /// The PT accepted our 06 B0 (the command still ends with 06 1E or, if too late,
    /// 06 0F).
    AbortAccepted,
    /// The PT refused our 06 B0 with this result code.
    AbortRefused(u8),
    /// A message outside a command, or one the running command does not expect. It was
    /// acknowledged if it was a PT message.
    Unsolicited(PtMessage),
    /// A message that did not decode (acknowledged anyway).
    Undecodable {
        /// CLASS byte, if there was one.
        class: Option<u8>,
        /// INSTR byte, if there was one.
        instr: Option<u8>,
        /// The decoding error.
        error: CodecError,
    },
    /// A broken serial frame arrived and was NAKed.
    FrameRejected(FrameError),
    /// A serial frame sent outside any command (an acknowledgement) got no ACK.
    LinkFailed {
        /// Transmissions made.
        transmissions: u8,
    },
    /// The command ended.
    Finished(Result<Reply, ExchangeError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Command,
    Abort,
    Ack,
}

#[derive(Debug)]
struct Pending {
    frame: Bytes,
    purpose: Purpose,
    transmissions: u8,
    deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndRule {
    Acceptance,
    Completion,
    CardData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for 80 00 00; the deadline runs once the command is delivered.
    Accepting(Option<Instant>),
    /// The PT is master.
    Running(Instant),
}

#[derive(Debug)]
struct Active {
    rule: EndRule,
    phase: Phase,
    status: Vec<StatusInformation>,
    abort_requested: bool,
}

/// The ECR-side exchange state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Exchange {
    config: ExchangeConfig,
    active: Option<Active>,
    pending: Option<Pending>,
    queue: VecDeque<(Bytes, Purpose)>,
    transmit: VecDeque<Bytes>,
    events: VecDeque<Event>,
}

impl Exchange {
    /// A new, idle exchange. Validate the config first with [`ExchangeConfig::validate`];
    /// a `max_transmissions` of 0 is treated as 1.
    pub fn new(config: ExchangeConfig) -> Self {
        Exchange {
            config,
            active: None,
            pending: None,
            queue: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ExchangeConfig {
        &self.config
    }

    /// Whether a command is running (the ECR may not start another).
    pub fn is_busy(&self) -> bool {
        self.active.is_some()
    }

    /// Whether nothing is running and no frame awaits its ACK.
    pub fn is_idle(&self) -> bool {
        self.active.is_none() && self.pending.is_none() && self.queue.is_empty()
    }

    /// Sends `cmd`. Fails with [`StartError::Busy`] while another command runs.
    pub fn start(&mut self, cmd: &EcrCommand, now: Instant) -> Result<(), StartError> {
        if self.active.is_some() {
            return Err(StartError::Busy);
        }
        let apdu = cmd.to_apdu()?;
        let rule = match cmd {
            EcrCommand::DisplayText(_) | EcrCommand::Abort => EndRule::Acceptance,
            EcrCommand::ReadCard(_) => EndRule::CardData,
            _ => EndRule::Completion,
        };
        tracing::debug!(
            class = apdu.class(),
            instr = apdu.instr(),
            "Sending command."
        );
        self.active = Some(Active {
            rule,
            phase: Phase::Accepting(None),
            status: Vec::new(),
            abort_requested: false,
        });
        self.send(&apdu, Purpose::Command, now);
        Ok(())
    }

    /// Sends 06 B0 Abort for the running command. The PT may ignore it and finish the
    /// command anyway; the command's [`Event::Finished`] says which.
    pub fn abort(&mut self, now: Instant) -> Result<(), StartError> {
        let Some(active) = self.active.as_mut() else {
            return Err(StartError::NotRunning);
        };
        active.abort_requested = true;
        let apdu = EcrCommand::Abort.to_apdu()?;
        self.send(&apdu, Purpose::Abort, now);
        Ok(())
    }

    /// The next bytes to write, framed for the link.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest instant at which [`Exchange::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let link = self.pending.as_ref().map(|p| p.deadline);
        let cmd = self.active.as_ref().and_then(|a| match a.phase {
            Phase::Accepting(d) => d,
            Phase::Running(d) => Some(d),
        });
        match (link, cmd) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the timers that expired at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(p) = self.pending.as_ref()
            && p.deadline <= now
        {
            tracing::debug!(transmissions = p.transmissions, "No ACK within T3.");
            self.retransmit_or_fail(now);
        }
        let expired = match self.active.as_ref().map(|a| a.phase) {
            Some(Phase::Accepting(Some(d))) if d <= now => Some(ExchangeError::AcceptTimeout),
            Some(Phase::Running(d)) if d <= now => Some(ExchangeError::ReplyTimeout),
            _ => None,
        };
        if let Some(e) = expired {
            tracing::warn!(error = %e, "Terminal command timed out.");
            self.finish(Err(e));
        }
    }

    /// Feeds one input received at `now`.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        match input {
            Input::Ack => self.link_ack(now),
            Input::Nak => {
                if self.pending.is_some() {
                    self.retransmit_or_fail(now);
                }
            }
            Input::Corrupt(e) => {
                self.transmit.push_back(Bytes::from_static(&[NAK]));
                self.events.push_back(Event::FrameRejected(e));
            }
            Input::Apdu(bytes) => {
                if self.config.link == LinkKind::Serial {
                    self.transmit.push_back(Bytes::from_static(&[ACK]));
                    // The PT only sends a frame after it took ours: a frame arriving while
                    // ours awaits its ACK byte means that byte was lost. Treating it as the
                    // ACK avoids repeating a command the PT already runs.
                    if self.pending.is_some() {
                        self.link_ack(now);
                    }
                }
                self.receive(&bytes, now);
            }
        }
    }

    // ---- link layer ----------------------------------------------------------------

    fn send(&mut self, apdu: &Apdu, purpose: Purpose, now: Instant) {
        match self.config.link {
            LinkKind::Tcp => {
                let mut b = BytesMut::with_capacity(apdu.encoded_len());
                apdu.encode(&mut b);
                self.transmit.push_back(b.freeze());
                self.delivered(purpose, now);
            }
            LinkKind::Serial => {
                let mut b = BytesMut::new();
                serial::encode_apdu(apdu, &mut b);
                let frame = b.freeze();
                if self.pending.is_none() {
                    self.put_on_wire(frame, purpose, now);
                } else {
                    self.queue.push_back((frame, purpose));
                }
            }
        }
    }

    fn put_on_wire(&mut self, frame: Bytes, purpose: Purpose, now: Instant) {
        self.transmit.push_back(frame.clone());
        self.pending = Some(Pending {
            frame,
            purpose,
            transmissions: 1,
            deadline: now + self.config.t3,
        });
    }

    fn link_ack(&mut self, now: Instant) {
        let Some(p) = self.pending.take() else {
            return;
        };
        self.delivered(p.purpose, now);
        if let Some((frame, purpose)) = self.queue.pop_front() {
            self.put_on_wire(frame, purpose, now);
        }
    }

    fn retransmit_or_fail(&mut self, now: Instant) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        if p.transmissions < self.config.max_transmissions.max(1) {
            p.transmissions += 1;
            p.deadline = now + self.config.t3;
            self.transmit.push_back(p.frame.clone());
            return;
        }
        let transmissions = p.transmissions;
        self.pending = None;
        self.queue.clear();
        tracing::warn!(transmissions, "Link error: frame not acknowledged.");
        if self.active.is_some() {
            self.finish(Err(ExchangeError::Link { transmissions }));
        } else {
            self.events.push_back(Event::LinkFailed { transmissions });
        }
    }

    fn delivered(&mut self, purpose: Purpose, now: Instant) {
        if purpose != Purpose::Command {
            return;
        }
        if let Some(a) = self.active.as_mut()
            && a.phase == Phase::Accepting(None)
        {
            a.phase = Phase::Accepting(Some(now + self.config.t3));
        }
    }

    // ---- application layer ---------------------------------------------------------

    fn ack_pt(&mut self, now: Instant) {
        self.send(&ack_apdu(), Purpose::Ack, now);
    }

    fn finish(&mut self, result: Result<Reply, ExchangeError>) {
        self.active = None;
        // Frames queued for the finished command (an unsent 06 B0) are dropped; the
        // acknowledgements for the PT stay queued.
        self.queue.retain(|(_, p)| *p == Purpose::Ack);
        self.events.push_back(Event::Finished(result));
    }

    fn restart_t4(&mut self, now: Instant, extra: Option<Duration>) {
        let wait = extra.map_or(self.config.t4, |e| e.max(self.config.t4));
        if let Some(a) = self.active.as_mut() {
            a.phase = Phase::Running(now + wait);
        }
    }

    fn receive(&mut self, bytes: &[u8], now: Instant) {
        let control = [bytes.first().copied(), bytes.get(1).copied()];
        let msg = Apdu::decode(bytes).and_then(|apdu| PtMessage::from_apdu(&apdu));
        let msg = match msg {
            Ok(m) => m,
            Err(error) => {
                self.undecodable(control, error, now);
                return;
            }
        };
        tracing::debug!(class = control[0], instr = control[1], "Received message.");
        match msg {
            PtMessage::Ack | PtMessage::Nack(0x00) => self.on_accept(PtMessage::Ack, now),
            PtMessage::Nack(code) => self.on_refuse(code),
            other => self.on_pt_message(other, now),
        }
    }

    fn undecodable(&mut self, control: [Option<u8>; 2], error: CodecError, now: Instant) {
        let [class, instr] = control;
        tracing::warn!(?class, ?instr, %error, "Terminal message did not decode.");
        self.events.push_back(Event::Undecodable {
            class,
            instr,
            error: error.clone(),
        });
        // Replies (80/84) are never acknowledged; anything else from the PT is.
        if matches!(class, Some(0x80 | 0x84)) {
            return;
        }
        self.ack_pt(now);
        if self.active.is_none() {
            return;
        }
        match (class, instr) {
            (Some(0x06), Some(instr @ (0x0F | 0x1E))) => {
                self.finish(Err(ExchangeError::Malformed {
                    class: 0x06,
                    instr,
                    error,
                }));
            }
            _ => self.restart_t4(now, None),
        }
    }

    fn on_accept(&mut self, msg: PtMessage, now: Instant) {
        let Some(a) = self.active.as_mut() else {
            self.events.push_back(Event::Unsolicited(msg));
            return;
        };
        match a.phase {
            Phase::Accepting(_) => {
                if a.rule == EndRule::Acceptance {
                    self.finish(Ok(Reply::Accepted));
                } else {
                    self.restart_t4(now, None);
                }
            }
            Phase::Running(_) if a.abort_requested => {
                a.abort_requested = false;
                self.events.push_back(Event::AbortAccepted);
            }
            Phase::Running(_) => self.events.push_back(Event::Unsolicited(msg)),
        }
    }

    fn on_refuse(&mut self, code: u8) {
        let Some(a) = self.active.as_mut() else {
            self.events
                .push_back(Event::Unsolicited(PtMessage::Nack(code)));
            return;
        };
        match a.phase {
            Phase::Accepting(_) => self.finish(Ok(Reply::Refused { code })),
            Phase::Running(_) if a.abort_requested => {
                a.abort_requested = false;
                self.events.push_back(Event::AbortRefused(code));
            }
            Phase::Running(_) => self
                .events
                .push_back(Event::Unsolicited(PtMessage::Nack(code))),
        }
    }

    fn on_pt_message(&mut self, msg: PtMessage, now: Instant) {
        // Every PT message is acknowledged; its event goes first (journal before ACK).
        let Some(rule) = self.active.as_ref().map(|a| a.rule) else {
            self.events.push_back(Event::Unsolicited(msg));
            self.ack_pt(now);
            return;
        };
        match msg {
            PtMessage::Completion(completion) => {
                let status = self.take_status();
                self.ack_pt(now);
                self.finish(Ok(Reply::Completed { completion, status }));
            }
            PtMessage::Abort(abort) => {
                let status = self.take_status();
                self.ack_pt(now);
                self.finish(Ok(Reply::Aborted { abort, status }));
            }
            PtMessage::StatusInformation(si) => {
                self.events.push_back(Event::StatusInformation(si.clone()));
                self.ack_pt(now);
                if rule == EndRule::CardData {
                    self.finish(Ok(Reply::CardRead(si)));
                } else {
                    if let Some(a) = self.active.as_mut() {
                        a.status.push(*si);
                    }
                    self.restart_t4(now, None);
                }
            }
            PtMessage::IntermediateStatus(s) => {
                let extra = s.timeout.map(|t| Duration::from_secs(u64::from(t)));
                self.events.push_back(Event::Intermediate(s));
                self.ack_pt(now);
                self.restart_t4(now, extra);
            }
            PtMessage::PrintLine(p) => {
                self.events.push_back(Event::PrintLine(p));
                self.ack_pt(now);
                self.restart_t4(now, None);
            }
            PtMessage::PrintTextBlock(p) => {
                self.events.push_back(Event::PrintTextBlock(p));
                self.ack_pt(now);
                self.restart_t4(now, None);
            }
            other => {
                self.events.push_back(Event::Unsolicited(other));
                self.ack_pt(now);
            }
        }
    }

    fn take_status(&mut self) -> Vec<StatusInformation> {
        self.active
            .as_mut()
            .map(|a| std::mem::take(&mut a.status))
            .unwrap_or_default()
    }
}
