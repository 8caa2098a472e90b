//! The gateway's own queue in front of a model server.
//!
//! Ollama runs `OLLAMA_NUM_PARALLEL` requests of a model at once (one unless told otherwise) and
//! holds the rest without a byte of answer, so a request waiting there cannot be told apart from
//! a model that hangs. [`Slots`] keeps that queue in the gateway instead: a request takes a slot
//! before it is sent and gives it back when its reply is finished, so the person waiting can be
//! told their place, and the server's limits only ever measure work.
//!
//! The queue is first come, first served, with one exception: a request that continues a turn
//! already under way (the round after a tool call) goes before requests that would start new
//! turns, so that a turn that has begun finishes instead of every turn finishing late.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// How urgent a request is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// The first request of a turn: waits behind everything already queued.
    Start,
    /// A later request of a turn under way: goes before every waiting [`Urgency::Start`].
    Continue,
}

/// The request slots of one model server.
#[derive(Debug, Clone)]
pub struct Slots {
    shared: Arc<Mutex<State>>,
    capacity: usize,
    notice: Duration,
}

#[derive(Debug)]
struct State {
    free: usize,
    next_id: u64,
    waiting: VecDeque<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    urgency: Urgency,
    wake: oneshot::Sender<()>,
}

impl Slots {
    /// A queue in front of a server that runs `parallel` requests at once (at least one); a
    /// person who has waited `notice` is told their place.
    #[must_use]
    pub fn new(parallel: usize, notice: Duration) -> Self {
        let capacity = parallel.max(1);
        Self {
            shared: Arc::new(Mutex::new(State {
                free: capacity,
                next_id: 0,
                waiting: VecDeque::new(),
            })),
            capacity,
            notice,
        }
    }

    /// How long a wait lasts before the person is told their place.
    #[must_use]
    pub fn notice_after(&self) -> Duration {
        self.notice
    }

    /// How many requests the server runs at once.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many requests wait for a slot now.
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.shared.lock().waiting.len()
    }

    /// Joins the queue; the ticket's [`Ticket::ready`] resolves once a slot is this request's.
    #[must_use]
    pub fn join(&self, urgency: Urgency) -> Ticket {
        let (wake, rx) = oneshot::channel();
        let mut state = self.shared.lock();
        let id = state.next_id;
        state.next_id += 1;
        let waiter = Waiter { id, urgency, wake };
        match urgency {
            Urgency::Start => state.waiting.push_back(waiter),
            Urgency::Continue => {
                let at = state
                    .waiting
                    .iter()
                    .position(|w| w.urgency == Urgency::Start)
                    .unwrap_or(state.waiting.len());
                state.waiting.insert(at, waiter);
            }
        }
        grant(&mut state);
        drop(state);
        Ticket {
            shared: Arc::clone(&self.shared),
            id,
            rx,
            granted: false,
            handed: false,
        }
    }
}

/// Hands free slots to the first waiters.
fn grant(state: &mut State) {
    while state.free > 0 {
        let Some(waiter) = state.waiting.pop_front() else {
            return;
        };
        // A waiter's receiver lives as long as it is in the queue (its ticket removes it under
        // the same lock before going), so the send succeeds.
        if waiter.wake.send(()).is_ok() {
            state.free -= 1;
        }
    }
}

/// Gives one slot back and hands it on.
fn release(shared: &Mutex<State>) {
    let mut state = shared.lock();
    state.free += 1;
    grant(&mut state);
}

/// A request's place in the queue; dropping it leaves the queue (or frees the slot it was given).
#[derive(Debug)]
pub struct Ticket {
    shared: Arc<Mutex<State>>,
    id: u64,
    rx: oneshot::Receiver<()>,
    granted: bool,
    handed: bool,
}

impl Ticket {
    /// The request's place among those waiting (1 = next), or `None` once it has a slot.
    #[must_use]
    pub fn place(&self) -> Option<usize> {
        let state = self.shared.lock();
        state
            .waiting
            .iter()
            .position(|w| w.id == self.id)
            .map(|i| i + 1)
    }

    /// Waits for a slot and returns it. Cancel-safe: dropped half-way, nothing is lost, and
    /// calling it again goes on waiting in the same place. Only the first permit holds the
    /// slot; asking again after that gives an empty one.
    pub async fn ready(&mut self) -> Permit {
        if !self.granted {
            // The sender only goes after sending (see `grant`) or with the queue, which this
            // ticket keeps alive.
            let _ = (&mut self.rx).await;
            self.granted = true;
        }
        let shared = (!self.handed).then(|| Arc::clone(&self.shared));
        self.handed = true;
        Permit { shared }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.handed {
            return;
        }
        if self.granted {
            release(&self.shared);
            return;
        }
        let mut state = self.shared.lock();
        if let Some(i) = state.waiting.iter().position(|w| w.id == self.id) {
            state.waiting.remove(i);
        } else if self.rx.try_recv().is_ok() {
            // Granted but never taken: the slot goes to the next waiter.
            state.free += 1;
            grant(&mut state);
        }
    }
}

/// A slot on the model server, held until dropped.
#[derive(Debug)]
pub struct Permit {
    shared: Option<Arc<Mutex<State>>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            release(&shared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE: Duration = Duration::from_secs(4);

    /// One slot: the second and third wait in order and learn their places; each gets the slot
    /// when the one before lets it go.
    #[tokio::test]
    async fn one_slot_serves_in_order() {
        let slots = Slots::new(1, NOTICE);
        let mut first = slots.join(Urgency::Start);
        let mut second = slots.join(Urgency::Start);
        let mut third = slots.join(Urgency::Start);
        assert_eq!(first.place(), None);
        assert_eq!(second.place(), Some(1));
        assert_eq!(third.place(), Some(2));
        let held = first.ready().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(20), second.ready())
                .await
                .is_err(),
            "the slot is taken"
        );
        assert_eq!(second.place(), Some(1), "waiting again keeps the place");
        drop(held);
        let held = second.ready().await;
        assert_eq!(third.place(), Some(1));
        drop(held);
        let _held = third.ready().await;
        assert_eq!(slots.waiting(), 0);
    }

    /// A turn under way goes before turns that have not started, but not before another turn
    /// under way that asked first.
    #[tokio::test]
    async fn continuing_turns_go_first() {
        let slots = Slots::new(1, NOTICE);
        let mut busy = slots.join(Urgency::Start);
        let held = busy.ready().await;
        let new_a = slots.join(Urgency::Start);
        let new_b = slots.join(Urgency::Start);
        let going_on = slots.join(Urgency::Continue);
        let going_on_too = slots.join(Urgency::Continue);
        assert_eq!(going_on.place(), Some(1));
        assert_eq!(going_on_too.place(), Some(2));
        assert_eq!(new_a.place(), Some(3));
        assert_eq!(new_b.place(), Some(4));
        drop(held);
        assert_eq!(going_on.place(), None, "granted");
        assert_eq!(new_a.place(), Some(2));
    }

    /// Leaving the queue, before or after being granted a slot, never loses a slot.
    #[tokio::test]
    async fn leaving_frees_what_was_held() {
        let slots = Slots::new(1, NOTICE);
        let mut first = slots.join(Urgency::Start);
        let held = first.ready().await;
        let second = slots.join(Urgency::Start);
        let third = slots.join(Urgency::Start);
        drop(second);
        assert_eq!(third.place(), Some(1));
        drop(held);
        // The third was granted the slot; it leaves without taking it.
        drop(third);
        let mut fourth = slots.join(Urgency::Start);
        let _held = tokio::time::timeout(Duration::from_secs(1), fourth.ready())
            .await
            .expect("the slot came back");
        drop(first);
    }

    /// Two slots let two requests run together.
    #[tokio::test]
    async fn parallel_slots() {
        let slots = Slots::new(2, NOTICE);
        assert_eq!(slots.capacity(), 2);
        let mut a = slots.join(Urgency::Start);
        let mut b = slots.join(Urgency::Start);
        let c = slots.join(Urgency::Start);
        let _a = a.ready().await;
        let _b = b.ready().await;
        assert_eq!(c.place(), Some(1));
        assert_eq!(Slots::new(0, NOTICE).capacity(), 1);
    }
}
