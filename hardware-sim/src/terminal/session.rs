//! One ECR conversation, PT side: decode each command with `zvt::command`, answer like a
//! terminal (PA00P015 rev. 13.07 ch. 2), journal transactions in [`SimState`], apply faults.

use std::time::Duration;

use rust_decimal::Decimal;
use tokio::io::{AsyncRead, AsyncWrite};
use zvt::{
    Apdu,
    apdu::card::{CardNumber, SecretBytes, mask_pan},
    command::{
        self, Abort, Completion, EcrCommand, EcrMessage, IntermediateStatus, PrintLine,
        ReceiptSelector, StatusInformation, ack_apdu, nack_apdu,
    },
};

pub(crate) use super::link::Framing;
use super::{
    control::{SimControl, SimEvent},
    fault::Fault,
    link::{LinkError, PtLink},
    script::{DefaultInput, Outcome, StepOn},
    state::{JournalEntry, Plan, SimState, TxKind},
};

/// Why a session ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionEnd {
    /// The ECR closed the connection.
    Closed,
    /// Dropped on purpose (fault, console, reboot).
    Dropped,
    /// An I/O or protocol failure.
    Failed(String),
}

impl From<LinkError> for SessionEnd {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Closed => Self::Closed,
            LinkError::Io(e) => Self::Failed(e.to_string()),
            LinkError::NoAck => Self::Failed("no ACK after 3 transmissions".into()),
            LinkError::Broken => Self::Failed("undecodable stream".into()),
        }
    }
}

/// Result codes the simulator uses (PA00P015 13.07 ch. 10).
mod rc {
    pub const DECLINED: u8 = 0x05;
    pub const NOT_REGISTERED: u8 = 0x6B;
    pub const ABORTED: u8 = 0x6C;
    pub const FUNCTION_NOT_POSSIBLE: u8 = 0x83;
    pub const PROTOCOL_ERROR: u8 = 0x9A;
    pub const ALREADY_REVERSED: u8 = 0xB4;
    pub const REVERSAL_NOT_POSSIBLE: u8 = 0xB5;
    pub const PREAUTH_AMOUNT_WRONG: u8 = 0xB7;
    pub const PREAUTH_ERROR: u8 = 0xB8;
    pub const WRONG_PASSWORD: u8 = 0x83;
    pub const WRONG_CURRENCY: u8 = 0x6F;
}

/// Intermediate status codes used (PA00P015 13.07 ch. 3.7).
mod status {
    pub const INSERT_CARD: u8 = 0x0A;
    pub const WAITING_FOR_FEP: u8 = 0x04;
    pub const PLEASE_WAIT: u8 = 0x0E;
}

/// What to do after a command.
enum Flow {
    Continue,
    Drop,
}

type Res = Result<Flow, LinkError>;

/// Serves one link until it closes, fails or is dropped.
pub(crate) async fn serve<S>(io: S, framing: Framing, control: &SimControl) -> SessionEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (t3, inter_byte, banner) = {
        let s = control.lock();
        (s.config.t3, s.config.inter_byte, s.config.banner.clone())
    };
    let mut link = PtLink::new(io, framing, t3, inter_byte, control.clone());
    let run = async {
        if let Some(b) = banner {
            link.write_raw(&b).await?;
        }
        loop {
            let apdu = link.recv().await?;
            match EcrMessage::from_apdu(&apdu) {
                Ok(EcrMessage::Command(cmd)) => {
                    let control_field = cmd.control();
                    control.emit(SimEvent::Command(control_field));
                    tracing::info!(command = %hex2(control_field), "Command received.");
                    let flow = handle(cmd, &mut link, control).await?;
                    control.emit(SimEvent::Done(control_field));
                    if let Flow::Drop = flow {
                        return Ok::<_, LinkError>(SessionEnd::Dropped);
                    }
                }
                Ok(EcrMessage::Ack | EcrMessage::Nack(_)) => {
                    tracing::debug!("Stray acknowledgement ignored.");
                }
                Ok(EcrMessage::Other(a)) => {
                    tracing::info!(command = %hex2(a.control()), "Unsupported command refused.");
                    link.send(&nack_apdu(rc::FUNCTION_NOT_POSSIBLE)).await?;
                }
                Err(error) => {
                    tracing::warn!(%error, "Malformed command refused.");
                    link.send(&nack_apdu(rc::PROTOCOL_ERROR)).await?;
                }
            }
        }
    };
    tokio::select! {
        _ = control.kicked().notified() => {
            control.emit(SimEvent::LinkDropped);
            SessionEnd::Dropped
        }
        end = run => match end {
            Ok(end) => {
                if end == SessionEnd::Dropped {
                    control.emit(SimEvent::LinkDropped);
                }
                end
            }
            Err(e) => e.into(),
        },
    }
}

fn hex2(c: [u8; 2]) -> String {
    format!("{:02X} {:02X}", c[0], c[1])
}

fn framing_ignores(framing: Framing, f: &Fault) -> bool {
    framing == Framing::Tcp && f.serial_only()
}

/// The step kind a command consumes.
fn step_kind(cmd: &EcrCommand) -> Option<StepOn> {
    Some(match cmd {
        EcrCommand::Authorization(_) => StepOn::Payment,
        EcrCommand::Reservation(_) => StepOn::Reservation,
        EcrCommand::BookTotal(_)
        | EcrCommand::PartialReversal(_)
        | EcrCommand::PreAuthReversal(_) => StepOn::Booking,
        EcrCommand::Reversal(_) => StepOn::Reversal,
        EcrCommand::Refund(_) => StepOn::Refund,
        EcrCommand::NumericInput(_) => StepOn::Input,
        EcrCommand::ReadCard(_) => StepOn::Card,
        EcrCommand::EndOfDay(_) => StepOn::EndOfDay,
        _ => return None,
    })
}

struct Ctx<'a, S> {
    link: &'a mut PtLink<S>,
    control: &'a SimControl,
    plan: Plan,
    ack_timeout: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Ctx<'_, S> {
    fn has(&self, f: &Fault) -> bool {
        self.plan.faults.contains(f)
    }

    /// Sends a message as master and waits for the ECR's `80 00 00` (or `84 xx 00`).
    async fn master(&mut self, apdu: Apdu) -> Result<(), LinkError> {
        self.link.send(&apdu).await?;
        let deadline = tokio::time::Instant::now() + self.ack_timeout;
        loop {
            let got = match tokio::time::timeout_at(deadline, self.link.recv()).await {
                Ok(r) => r?,
                Err(_) => {
                    self.control.emit(SimEvent::AckTimeout);
                    return Err(LinkError::NoAck);
                }
            };
            match EcrMessage::from_apdu(&got) {
                Ok(EcrMessage::Ack) => return Ok(()),
                Ok(EcrMessage::Nack(code)) => {
                    tracing::info!(code, "ECR refused a message.");
                    return Ok(());
                }
                _ => tracing::debug!("Unexpected APDU while waiting for the ECR's ACK."),
            }
        }
    }

    async fn intermediate(&mut self, code: u8) -> Result<(), LinkError> {
        if !self.control.lock().intermediate_status {
            return Ok(());
        }
        let m = IntermediateStatus {
            status: code,
            timeout: None,
            tlv: Vec::new(),
        };
        self.master(m.to_apdu().map_err(codec)?).await
    }

    async fn complete(&mut self, c: Completion) -> Res {
        self.master(c.to_apdu().map_err(codec)?).await?;
        Ok(Flow::Continue)
    }

    async fn abort(&mut self, a: Abort) -> Res {
        self.master(a.to_apdu().map_err(codec)?).await?;
        Ok(Flow::Continue)
    }

    async fn print(&mut self, lines: Vec<String>) -> Result<(), LinkError> {
        if !self.control.lock().ecr_prints {
            return Ok(());
        }
        let n = lines.len();
        for (i, text) in lines.into_iter().enumerate() {
            let attribute = if i + 1 == n { 0xFF } else { 0x00 };
            self.master(PrintLine { attribute, text }.to_apdu().map_err(codec)?)
                .await?;
        }
        Ok(())
    }

    fn terminal_id(&self) -> Option<u32> {
        self.control.lock().config.terminal_id.parse().ok()
    }

    /// The 06 0F that ends a successful command: only the BMPs zvt.md §5 lists for it
    /// (19, 29, 49, 06). The result code travels in 04 0F; strict ECRs refuse a 06 0F
    /// carrying BMP 27 (issue 14 item 7).
    fn success(&self) -> Completion {
        Completion {
            terminal_id: self.terminal_id(),
            currency: Some(self.control.lock().currency),
            ..Completion::default()
        }
    }

    /// An amount in another currency than the registered one is refused (result code 6F)
    /// before anything runs; no BMP 49 means the registered currency.
    async fn wrong_currency(&mut self, currency: Option<u16>) -> Result<bool, LinkError> {
        let registered = self.control.lock().currency;
        match currency {
            Some(c) if c != registered => {
                tracing::info!(
                    currency = c,
                    registered,
                    "Amount in another currency refused."
                );
                self.link.send(&ack_apdu()).await?;
                self.master(Abort::new(rc::WRONG_CURRENCY).to_apdu().map_err(codec)?)
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

fn codec(e: zvt::CodecError) -> LinkError {
    LinkError::Io(std::io::Error::other(e.to_string()))
}

fn check_password(control: &SimControl, password: u32) -> bool {
    control.lock().config.password.parse::<u32>().ok() == Some(password)
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    cmd: EcrCommand,
    link: &mut PtLink<S>,
    control: &SimControl,
) -> Res {
    let (plan, ack_timeout, registered) = {
        let mut s = control.lock();
        let plan = step_kind(&cmd).map(|k| s.plan(k)).unwrap_or_else(|| Plan {
            faults: s.plan(StepOn::Any).faults,
            ..Plan::default()
        });
        (plan, s.config.ack_timeout, s.registered)
    };
    let mut command_faults = Vec::new();
    for f in &plan.faults {
        control.emit(SimEvent::Fault(format!("{f:?}")));
        if framing_ignores(link.framing(), f) {
            tracing::warn!(fault = ?f, "Serial-only fault ignored on TCP.");
        } else if !control.lock().link_faults.arm(f) {
            command_faults.push(f.clone());
        }
    }
    let mut cx = Ctx {
        link,
        control,
        plan,
        ack_timeout,
    };
    cx.plan.faults = command_faults;
    if cx.has(&Fault::Silence) {
        tracing::info!("Fault: silence, the command gets no answer.");
        return Ok(Flow::Continue);
    }
    let needs_registration = !matches!(
        cmd,
        EcrCommand::Registration(_) | EcrCommand::StatusEnquiry(_) | EcrCommand::Abort
    );
    if needs_registration && !registered {
        control.emit(SimEvent::Refused(cmd.control(), rc::NOT_REGISTERED));
        cx.link.send(&nack_apdu(rc::NOT_REGISTERED)).await?;
        return Ok(Flow::Continue);
    }
    match cmd {
        EcrCommand::Registration(r) => {
            cx.link.send(&ack_apdu()).await?;
            if !check_password(control, r.password) {
                control.emit(SimEvent::Refused(
                    command::Registration::CONTROL,
                    rc::WRONG_PASSWORD,
                ));
                return cx.abort(Abort::new(rc::WRONG_PASSWORD)).await;
            }
            {
                let mut s = control.lock();
                s.registered = true;
                s.ecr_prints = r.config
                    & (command::config::ECR_PRINTS_PAYMENT_RECEIPT
                        | command::config::ECR_PRINTS_ADMIN_RECEIPT)
                    != 0;
                s.intermediate_status = r.config & command::config::INTERMEDIATE_STATUS != 0;
                // Any currency the ECR registers in is accepted; later amounts must match it.
                s.currency = r.currency.unwrap_or(command::EUR);
            }
            control.emit(SimEvent::Registered);
            let c = cx.success();
            cx.complete(c).await
        }
        EcrCommand::Authorization(p) => {
            if cx.wrong_currency(p.currency).await? {
                return Ok(Flow::Continue);
            }
            payment(&mut cx, TxKind::Payment, p.amount).await
        }
        EcrCommand::Reservation(p) => {
            if cx.wrong_currency(p.currency).await? {
                return Ok(Flow::Continue);
            }
            payment(&mut cx, TxKind::Reservation, p.amount).await
        }
        EcrCommand::Refund(r) => {
            if !check_password(control, r.password) {
                cx.link.send(&ack_apdu()).await?;
                return cx.abort(Abort::new(rc::WRONG_PASSWORD)).await;
            }
            if cx.wrong_currency(r.currency).await? {
                return Ok(Flow::Continue);
            }
            payment(&mut cx, TxKind::Refund, r.amount).await
        }
        EcrCommand::BookTotal(b) => booking(&mut cx, TxKind::BookTotal, b.receipt, b.amount).await,
        EcrCommand::PartialReversal(p) => match p.receipt {
            ReceiptSelector::Number(n) => {
                booking(&mut cx, TxKind::PartialReversal, n, p.amount).await
            }
            ReceiptSelector::AllOpen => list_open(&mut cx).await,
        },
        EcrCommand::PreAuthReversal(p) => {
            booking(&mut cx, TxKind::PreAuthReversal, p.receipt, None).await
        }
        EcrCommand::Reversal(r) => {
            cx.link.send(&ack_apdu()).await?;
            if !check_password(control, r.password) {
                return cx.abort(Abort::new(rc::WRONG_PASSWORD)).await;
            }
            reversal(&mut cx, r.receipt).await
        }
        EcrCommand::Abort => {
            // Nothing runs while the ECR is master, so there is nothing to abort.
            cx.link.send(&ack_apdu()).await?;
            Ok(Flow::Continue)
        }
        EcrCommand::StatusEnquiry(_) => {
            cx.link.send(&ack_apdu()).await?;
            // 00 = PT ready (PA00P015 13.07 ch. 10.3, terminal status codes).
            let status = 0x00;
            let c = Completion {
                sw_version: Some("HWSIM-PT 1.0".into()),
                terminal_status: Some(status),
                // After 05 01 the completion is version + status (+TLV) only (zvt.md §5).
                ..Completion::default()
            };
            cx.complete(c).await
        }
        EcrCommand::EndOfDay(e) => {
            cx.link.send(&ack_apdu()).await?;
            if !check_password(control, e.password) {
                return cx.abort(Abort::new(rc::WRONG_PASSWORD)).await;
            }
            end_of_day(&mut cx).await
        }
        EcrCommand::RepeatReceipt(r) => {
            cx.link.send(&ack_apdu()).await?;
            if !check_password(control, r.password) {
                return cx.abort(Abort::new(rc::WRONG_PASSWORD)).await;
            }
            repeat_receipt(&mut cx).await
        }
        EcrCommand::DisplayText(d) => {
            cx.link.send(&ack_apdu()).await?;
            tracing::info!(lines = ?d.lines, "Display text.");
            control.lock().displays.push(d.lines.clone());
            control.emit(SimEvent::Display(d.lines));
            // 06 E0 ends with the acknowledgement (ch. 2.33); the PT never becomes master.
            Ok(Flow::Continue)
        }
        EcrCommand::NumericInput(n) => {
            cx.link.send(&ack_apdu()).await?;
            let mut prompt = n.lines.clone();
            prompt.extend(n.input_lines.iter().cloned());
            tracing::info!(lines = ?prompt, "Numeric input prompt.");
            control.lock().displays.push(prompt.clone());
            control.emit(SimEvent::Display(prompt));
            control.emit(SimEvent::InputPrompt);
            let wait = Duration::from_secs(u64::from(n.duration.filter(|d| *d > 0).unwrap_or(60)));
            let answer = match input_answer(&mut cx, wait).await? {
                Typed::Answer(a) => a,
                Typed::EcrAbort => {
                    tracing::info!("ECR aborted the prompt.");
                    cx.link.send(&ack_apdu()).await?;
                    return cx.abort(Abort::new(rc::ABORTED)).await;
                }
            };
            let min = usize::from(n.min_len.unwrap_or(0));
            let max = usize::from(n.max_len.unwrap_or(20)).max(min);
            match answer {
                Some(digits) if (min..=max).contains(&digits.len()) => {
                    // The digits come back in BMP 3C of the 06 0F, the one field this
                    // completion adds to 19/29/49/06 (zvt.md §5, 06 E2; the driver's
                    // `Completion::numeric_input`).
                    let c = Completion {
                        additional_text: Some(digits),
                        ..cx.success()
                    };
                    cx.complete(c).await
                }
                Some(_) => {
                    tracing::info!("Input length outside the allowed range; cancelled.");
                    cx.abort(Abort::new(rc::ABORTED)).await
                }
                None => cx.abort(Abort::new(rc::ABORTED)).await,
            }
        }
        EcrCommand::ReadCard(_) => {
            cx.link.send(&ack_apdu()).await?;
            cx.intermediate(status::INSERT_CARD).await?;
            let track = cx
                .plan
                .track
                .clone()
                .unwrap_or_else(|| control.lock().config.gift_track.clone());
            let Some(track2) = track2_bcd(&track) else {
                tracing::warn!("The presented track is not a track 2; card not readable.");
                return cx.abort(Abort::new(0x64)).await;
            };
            let info = StatusInformation {
                result_code: Some(0),
                track2: Some(SecretBytes::new(track2)),
                card_type: Some(cx.plan.card.card_type),
                ..StatusInformation::default()
            };
            // The 04 0F with the card data ends Read Card (ch. 2.21; EVerest's sequence).
            cx.master(info.to_apdu().map_err(codec)?).await?;
            Ok(Flow::Continue)
        }
    }
}

/// What the customer (or the ECR) did at a numeric-input prompt.
enum Typed {
    /// Digits, or `None` for cancel.
    Answer(Option<String>),
    /// The ECR sent 06 B0 Abort while the prompt was open.
    EcrAbort,
}

/// Waits for the customer's digits: the plan's, the technician's, or the default. While it
/// waits (console attached or `wait_for_input`), an 06 B0 from the ECR aborts the prompt.
async fn input_answer<S>(cx: &mut Ctx<'_, S>, wait: Duration) -> Result<Typed, LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Some(planned) = cx.plan.input.take() {
        return Ok(Typed::Answer(planned));
    }
    let waits = cx.control.interactive() || cx.control.lock().config.wait_for_input;
    if waits {
        if cx.control.interactive() {
            println!("Numeric input requested: type `input DIGITS` or `cancel`.");
        }
        if let Some(typed) = cx.control.lock().take_typed_input() {
            return Ok(Typed::Answer(typed));
        }
        let ready = cx.control.input_ready();
        let from_ecr = tokio::select! {
            _ = tokio::time::sleep(wait) => None,
            _ = ready.notified() => None,
            r = cx.link.recv() => Some(r?),
        };
        if let Some(apdu) = from_ecr {
            if apdu.control() == command::ABORT {
                return Ok(Typed::EcrAbort);
            }
            tracing::debug!("Unexpected APDU during a prompt ignored.");
        }
        if let Some(typed) = cx.control.lock().take_typed_input() {
            return Ok(Typed::Answer(typed));
        }
    }
    Ok(Typed::Answer(
        match &cx.control.lock().config.default_input {
            DefaultInput::Cancel => None,
            DefaultInput::Digits(d) => Some(d.clone()),
        },
    ))
}

/// Track 2 as packed BCD: digits, `=` as the separator nibble `D`, padded with `F`.
fn track2_bcd(track: &str) -> Option<Vec<u8>> {
    let nibbles: Option<Vec<u8>> = track
        .bytes()
        .map(|c| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'=' | b'D' | b'd' => Some(0x0D),
            _ => None,
        })
        .collect();
    let nibbles = nibbles?;
    if nibbles.is_empty() || nibbles.len() > 37 {
        return None;
    }
    Some(
        nibbles
            .chunks(2)
            .map(|c| (c[0] << 4) | c.get(1).copied().unwrap_or(0x0F))
            .collect(),
    )
}

fn now_fields() -> (u32, u16) {
    use chrono::{Datelike, Timelike};
    let now = chrono::Utc::now();
    (
        now.hour() * 10_000 + now.minute() * 100 + now.second(),
        (now.month() * 100 + now.day()) as u16,
    )
}

fn status_info(e: &JournalEntry, terminal_id: Option<u32>) -> StatusInformation {
    let (time, date) = now_fields();
    StatusInformation {
        result_code: Some(e.result),
        amount: Some(if e.approved() { e.amount } else { e.requested }),
        trace: Some(e.trace),
        time: Some(time),
        date: Some(date),
        card_number: CardNumber::from_digits(&e.masked_pan).ok(),
        terminal_id,
        // No BMP 49: zvt.md §5 does not list the currency for 04 0F.
        receipt: Some(e.receipt),
        card_type: Some(e.card_type),
        card_name: Some(e.card_name.clone()),
        ..StatusInformation::default()
    }
}

fn receipt_lines(e: &JournalEntry, currency: u16) -> Vec<String> {
    vec![
        "HWSIM TEST TERMINAL".into(),
        format!("{:?}", e.kind).to_uppercase(),
        format!("Card {} {}", e.card_name, e.masked_pan),
        format!("Receipt {:04} Trace {:06}", e.receipt, e.trace),
        format!(
            "{} {}",
            zvt::apdu::currency::label(currency),
            zvt::apdu::currency::from_wire(e.amount, currency)
        ),
        if e.approved() {
            "APPROVED".into()
        } else {
            format!("DECLINED {:02X}", e.result)
        },
    ]
}

/// Journals an entry and returns its index.
fn journal(control: &SimControl, s: &mut SimState, e: JournalEntry) -> usize {
    if e.approved() && e.kind.is_charge() {
        s.totals.0 += 1;
        s.totals.1 += e.amount;
    }
    s.journal.push(e);
    let i = s.journal.len() - 1;
    control.emit(SimEvent::Transaction(i));
    i
}

/// Runs the lost-result faults once the transaction is journalled: before its status
/// information (`before_status`) or after it. `Some` ends the command.
fn lost_result<S>(cx: &Ctx<'_, S>, before_status: bool) -> Option<Flow>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if before_status && cx.has(&Fault::Reboot) {
        tracing::info!("Fault: reboot after the approval.");
        cx.control.lock().reboot();
        cx.control.emit(SimEvent::Rebooted);
        return Some(Flow::Drop);
    }
    if before_status && cx.has(&Fault::DropBeforeStatus) {
        tracing::info!("Fault: link dropped before the status information.");
        return Some(Flow::Drop);
    }
    if !before_status && cx.has(&Fault::DropAfterApproval) {
        tracing::info!("Fault: link dropped between the approval and the completion.");
        return Some(Flow::Drop);
    }
    None
}

async fn finish<S: AsyncRead + AsyncWrite + Unpin>(cx: &mut Ctx<'_, S>, idx: usize) -> Res {
    if let Some(flow) = lost_result(cx, true) {
        return Ok(flow);
    }
    let (entry, tid, currency) = {
        let s = cx.control.lock();
        (
            s.journal[idx].clone(),
            s.config.terminal_id.parse().ok(),
            s.currency,
        )
    };
    cx.master(status_info(&entry, tid).to_apdu().map_err(codec)?)
        .await?;
    if let Some(flow) = lost_result(cx, false) {
        return Ok(flow);
    }
    cx.print(receipt_lines(&entry, currency)).await?;
    if entry.approved() {
        let c = cx.success();
        cx.complete(c).await
    } else {
        cx.abort(Abort {
            receipt: Some(entry.receipt),
            ..Abort::new(entry.result)
        })
        .await
    }
}

/// How often a held payment repeats "insert card".
const CARD_PROMPT_REPEAT: Duration = Duration::from_secs(2);

async fn payment<S: AsyncRead + AsyncWrite + Unpin>(
    cx: &mut Ctx<'_, S>,
    kind: TxKind,
    requested: Decimal,
) -> Res {
    cx.link.send(&ack_apdu()).await?;
    cx.intermediate(status::INSERT_CARD).await?;
    let mut held = cx.control.card_hold();
    while *held.borrow_and_update() {
        // The prompt is repeated while the customer has no card out, which also keeps the
        // ECR's T4 running afresh.
        let presented = tokio::time::timeout(CARD_PROMPT_REPEAT, held.wait_for(|h| !*h))
            .await
            .is_ok();
        if presented {
            break;
        }
        cx.intermediate(status::INSERT_CARD).await?;
    }
    cx.intermediate(status::WAITING_FOR_FEP).await?;
    let card = cx.plan.card.clone();
    let idx = {
        let mut s = cx.control.lock();
        let outcome = cx
            .plan
            .outcome
            .clone()
            .unwrap_or_else(|| s.config.rules.decide(requested, &card));
        let (result, amount) = match outcome {
            Outcome::Approve => (0, requested),
            Outcome::Partial { amount } => (0, amount.min(requested)),
            Outcome::Decline { code } => {
                (if code == 0 { rc::DECLINED } else { code }, Decimal::ZERO)
            }
        };
        let (receipt, trace) = s.next_numbers();
        let e = JournalEntry {
            kind,
            requested,
            amount,
            result,
            receipt,
            trace,
            refers_to: None,
            masked_pan: mask_pan(&card.pan),
            card_type: card.card_type,
            card_name: card.name.clone(),
            reversed: false,
            closed: false,
        };
        tracing::info!(?kind, %requested, %amount, result, receipt, trace, "Transaction.");
        journal(cx.control, &mut s, e)
    };
    finish(cx, idx).await
}

async fn booking<S: AsyncRead + AsyncWrite + Unpin>(
    cx: &mut Ctx<'_, S>,
    kind: TxKind,
    receipt: u16,
    amount: Option<Decimal>,
) -> Res {
    cx.link.send(&ack_apdu()).await?;
    cx.intermediate(status::PLEASE_WAIT).await?;
    let decided = cx.plan.outcome.clone();
    let verdict: Result<usize, u8> = {
        let mut s = cx.control.lock();
        let open = s
            .journal
            .iter()
            .rposition(|e| e.kind == TxKind::Reservation && e.receipt == receipt && e.approved());
        match open {
            None => Err(rc::PREAUTH_ERROR),
            Some(i) if s.journal[i].closed => Err(rc::PREAUTH_ERROR),
            Some(i) => {
                let held = s.journal[i].amount;
                let wanted = match kind {
                    TxKind::PreAuthReversal => held,
                    _ => amount.unwrap_or(held),
                };
                if wanted > held || wanted < Decimal::ZERO {
                    Err(rc::PREAUTH_AMOUNT_WRONG)
                } else if let Some(Outcome::Decline { code }) = decided {
                    Err(code)
                } else {
                    let r = &mut s.journal[i];
                    match kind {
                        TxKind::PartialReversal => {
                            r.amount = held - wanted;
                            r.closed = r.amount.is_zero();
                        }
                        _ => r.closed = true,
                    }
                    let src = r.clone();
                    let (new_receipt, trace) = s.next_numbers();
                    let e = JournalEntry {
                        kind,
                        requested: wanted,
                        amount: wanted,
                        result: 0,
                        receipt: new_receipt,
                        trace,
                        refers_to: Some(receipt),
                        reversed: false,
                        closed: true,
                        ..src
                    };
                    Ok(journal(cx.control, &mut s, e))
                }
            }
        }
    };
    match verdict {
        Ok(idx) => finish(cx, idx).await,
        Err(code) => {
            cx.abort(Abort {
                receipt: Some(receipt),
                ..Abort::new(code)
            })
            .await
        }
    }
}

async fn list_open<S: AsyncRead + AsyncWrite + Unpin>(cx: &mut Ctx<'_, S>) -> Res {
    cx.link.send(&ack_apdu()).await?;
    let (open, tid): (Vec<JournalEntry>, Option<u32>) = {
        let s = cx.control.lock();
        (
            s.journal
                .iter()
                .filter(|e| e.kind == TxKind::Reservation && e.approved() && !e.closed)
                .cloned()
                .collect(),
            s.config.terminal_id.parse().ok(),
        )
    };
    for e in &open {
        cx.master(status_info(e, tid).to_apdu().map_err(codec)?)
            .await?;
    }
    let c = cx.success();
    cx.complete(c).await
}

async fn reversal<S: AsyncRead + AsyncWrite + Unpin>(cx: &mut Ctx<'_, S>, receipt: u16) -> Res {
    cx.intermediate(status::PLEASE_WAIT).await?;
    let decided = cx.plan.outcome.clone();
    let verdict: Result<usize, u8> = {
        let mut s = cx.control.lock();
        match s.find_mut(receipt) {
            None => Err(rc::REVERSAL_NOT_POSSIBLE),
            Some(e) if !matches!(e.kind, TxKind::Payment | TxKind::BookTotal) => {
                Err(rc::REVERSAL_NOT_POSSIBLE)
            }
            Some(e) if e.reversed => Err(rc::ALREADY_REVERSED),
            Some(_) if matches!(decided, Some(Outcome::Decline { .. })) => {
                Err(rc::REVERSAL_NOT_POSSIBLE)
            }
            Some(e) => {
                e.reversed = true;
                let mut src = e.clone();
                if src.approved() && src.kind.is_charge() {
                    s.totals.0 = s.totals.0.saturating_sub(1);
                    s.totals.1 -= src.amount;
                }
                let (new_receipt, trace) = s.next_numbers();
                src.kind = TxKind::Reversal;
                src.receipt = new_receipt;
                src.trace = trace;
                src.refers_to = Some(receipt);
                src.reversed = false;
                Ok(journal(cx.control, &mut s, src))
            }
        }
    };
    match verdict {
        Ok(idx) => finish(cx, idx).await,
        Err(code) => {
            cx.abort(Abort {
                receipt: Some(receipt),
                ..Abort::new(code)
            })
            .await
        }
    }
}

async fn end_of_day<S: AsyncRead + AsyncWrite + Unpin>(cx: &mut Ctx<'_, S>) -> Res {
    cx.intermediate(status::PLEASE_WAIT).await?;
    let (count, total, first, last, currency) = {
        let mut s = cx.control.lock();
        let (count, total) = std::mem::replace(&mut s.totals, (0, Decimal::ZERO));
        let first = s.journal.first().map(|e| e.receipt).unwrap_or(0);
        let last = s.journal.last().map(|e| e.receipt).unwrap_or(0);
        (count, total, first, last, s.currency)
    };
    // BMP 60 individual totals: receipt range, then count and turnover per card family
    // (here one family). The simulator's layout; the driver keeps BMP 60 raw.
    let mut totals = Vec::new();
    totals.extend(zvt::apdu::bcd::encode_u64(u64::from(first), 2, "receipt").map_err(codec)?);
    totals.extend(zvt::apdu::bcd::encode_u64(u64::from(last), 2, "receipt").map_err(codec)?);
    totals.push(count.min(255) as u8);
    totals.extend(zvt::apdu::bcd::amount_to_bcd(total).map_err(codec)?);
    let info = StatusInformation {
        result_code: Some(0),
        amount: Some(total),
        totals: Some(totals),
        terminal_id: cx.terminal_id(),
        ..StatusInformation::default()
    };
    cx.master(info.to_apdu().map_err(codec)?).await?;
    cx.print(vec![
        "END OF DAY".into(),
        format!("Transactions {count}"),
        format!(
            "Total {} {}",
            zvt::apdu::currency::label(currency),
            zvt::apdu::currency::from_wire(total, currency)
        ),
    ])
    .await?;
    let c = cx.success();
    cx.complete(c).await
}

async fn repeat_receipt<S: AsyncRead + AsyncWrite + Unpin>(cx: &mut Ctx<'_, S>) -> Res {
    let (last, tid, currency) = {
        let s = cx.control.lock();
        (
            s.last().cloned(),
            s.config.terminal_id.parse().ok(),
            s.currency,
        )
    };
    let Some(last) = last else {
        return cx.abort(Abort::new(rc::FUNCTION_NOT_POSSIBLE)).await;
    };
    cx.master(status_info(&last, tid).to_apdu().map_err(codec)?)
        .await?;
    cx.print(receipt_lines(&last, currency)).await?;
    let c = cx.success();
    cx.complete(c).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track2_packs_the_separator_as_d() {
        assert_eq!(track2_bcd("1234=56"), Some(vec![0x12, 0x34, 0xD5, 0x6F]));
        assert_eq!(track2_bcd("12a"), None);
        assert_eq!(track2_bcd(""), None);
    }
}
