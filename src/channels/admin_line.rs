//! The line from the rest of the gateway to the admins of every running channel: what an
//! operator must hear (an alert from Alertmanager) is said to each admin of each channel, in
//! their direct chat with the bot.
//!
//! Each channel's engine joins the line when it starts and leaves it when it stops (the line
//! keeps no engine alive); [`AdminLine::tell`] hands the text to every channel joined at that
//! moment, each of which sends it on its own tasks.

use std::sync::Arc;

use parking_lot::Mutex;

/// One channel on the line: sends a text to its admins and says to how many, or `None` once the
/// channel has stopped.
type Desk = Box<dyn Fn(&str) -> Option<usize> + Send + Sync>;

/// The admins of every running channel; see the module documentation. Clones share the line.
#[derive(Clone, Default)]
pub struct AdminLine {
    desks: Arc<Mutex<Vec<Desk>>>,
}

impl std::fmt::Debug for AdminLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminLine")
            .field("channels", &self.desks.lock().len())
            .finish()
    }
}

impl AdminLine {
    /// Adds a channel: `desk` sends a text to its admins, returning how many, or `None` once the
    /// channel is gone (it is then dropped from the line).
    pub fn join(&self, desk: impl Fn(&str) -> Option<usize> + Send + Sync + 'static) {
        self.desks.lock().push(Box::new(desk));
    }

    /// Says `text` to every admin of every running channel; returns how many admins it was
    /// handed to (sending happens afterwards, on each channel's tasks).
    #[must_use]
    pub fn tell(&self, text: &str) -> usize {
        let mut told = 0;
        self.desks.lock().retain(|desk| match desk(text) {
            Some(n) => {
                told += n;
                true
            }
            None => false,
        });
        told
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_text_reaches_every_running_channel_and_stopped_ones_leave() {
        let line = AdminLine::default();
        assert_eq!(line.tell("nobody listens"), 0);
        let heard = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&heard);
        line.join(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            Some(2)
        });
        let gone = Arc::new(());
        let weak = Arc::downgrade(&gone);
        line.join(move |_| weak.upgrade().map(|_| 1));
        assert_eq!(line.tell("first"), 3);
        drop(gone);
        assert_eq!(line.clone().tell("second"), 2);
        assert_eq!(heard.load(Ordering::SeqCst), 2);
        assert_eq!(line.desks.lock().len(), 1);
    }
}
