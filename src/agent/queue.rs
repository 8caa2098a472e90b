//! Waiting for the model server's slot, visibly.
//!
//! Every request of a turn first takes a slot in the gateway's queue for the model server
//! ([`crate::llm::Slots`]): the first request of a turn waits behind everything queued, the later
//! ones go first, so a turn that has begun finishes. While it waits, the turn's deadline and
//! cancellation still apply, the channel keeps its typing indicator going, and once the wait
//! has lasted the configured notice time the person is told their place, once per turn.

use std::time::Instant;

use super::Agent;
use super::sink::{Activity, TurnSink};
use crate::llm::slots::{Permit, Urgency};

/// Why a wait (or a request) of a turn stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Interrupt {
    /// The person cancelled the turn.
    Cancelled,
    /// The turn ran past its deadline.
    TimedOut,
}

/// One turn's side of the queue: where to tell, what stops the wait, and what was said.
pub(super) struct Waiting<'a> {
    pub sink: &'a dyn TurnSink,
    pub cancel: &'a tokio_util::sync::CancellationToken,
    pub deadline: Instant,
    /// Whether a request of this turn has already been sent, which makes the next ones urgent.
    pub under_way: bool,
    /// Whether the person was already told their place in this turn.
    pub told: bool,
}

impl<'a> Waiting<'a> {
    /// A turn that has sent nothing yet.
    pub fn new(
        sink: &'a dyn TurnSink,
        cancel: &'a tokio_util::sync::CancellationToken,
        deadline: Instant,
    ) -> Self {
        Self {
            sink,
            cancel,
            deadline,
            under_way: false,
            told: false,
        }
    }
}

impl Agent {
    /// Takes a slot on the model server for the turn's next request, or `None` when the model
    /// needs no queue. Tells the person their place once the wait has lasted the notice time.
    pub(super) async fn model_slot(
        &self,
        waiting: &mut Waiting<'_>,
    ) -> Result<Option<Permit>, Interrupt> {
        let Some(slots) = self.inner.model.slots() else {
            return Ok(None);
        };
        let urgency = if waiting.under_way {
            Urgency::Continue
        } else {
            Urgency::Start
        };
        waiting.under_way = true;
        let mut ticket = slots.join(urgency);
        let started = Instant::now();
        let notice_at = started + slots.notice_after();
        let metrics = &self.inner.metrics;
        loop {
            tokio::select! {
                permit = ticket.ready() => {
                    metrics.model_queue_wait.observe(started.elapsed().as_secs_f64());
                    return Ok(Some(permit));
                }
                () = waiting.cancel.cancelled() => return Err(Interrupt::Cancelled),
                () = tokio::time::sleep_until(waiting.deadline.into()) => {
                    return Err(Interrupt::TimedOut);
                }
                () = tokio::time::sleep_until(notice_at.into()), if !waiting.told => {
                    waiting.told = true;
                    if let Some(place) = ticket.place() {
                        tracing::info!(place, waited_ms = started.elapsed().as_millis(), "a turn waits for the model server");
                        waiting.sink.activity(Activity::Queued { place }).await;
                    }
                }
            }
        }
    }
}
