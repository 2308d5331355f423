//! Streaming a command's intermediate messages to the caller.

use std::future::Future;

use crate::exchange::Event;

/// Receives each message the terminal sends while a command runs: 04 FF intermediate
/// status, 04 0F status information, 06 D1/06 D3 print output, unsolicited messages.
///
/// The transport awaits [`EventSink::on_event`] **before** it acknowledges the message, so
/// a sink that journals each 04 0F (result, amount, trace, receipt) durably honours
/// "journal before ACK" (`zvt.md` §9 rule 2). Keep it short: the terminal waits T3 for the
/// acknowledgement. A message repeated at link level arrives again, so sinks must be
/// idempotent (trace and receipt numbers identify a status information).
pub trait EventSink: Send {
    /// Handles one event; the acknowledgement waits for the returned future.
    fn on_event(&mut self, event: &Event) -> impl Future<Output = ()> + Send;
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    async fn on_event(&mut self, _event: &Event) {}
}

/// A synchronous callback as a sink.
#[derive(Debug, Clone)]
pub struct FnSink<F>(pub F);

impl<F: FnMut(&Event) + Send> EventSink for FnSink<F> {
    async fn on_event(&mut self, event: &Event) {
        (self.0)(event)
    }
}

/// Forwards clones of the events into a channel; a closed channel is ignored.
impl EventSink for tokio::sync::mpsc::UnboundedSender<Event> {
    async fn on_event(&mut self, event: &Event) {
        let _ = self.send(event.clone());
    }
}

impl<S: EventSink> EventSink for &mut S {
    fn on_event(&mut self, event: &Event) -> impl Future<Output = ()> + Send {
        (**self).on_event(event)
    }
}
