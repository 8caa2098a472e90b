//! The streaming editor: shows a reply that grows in one message (and continuation messages
//! past the platform's length limit), kind to the platform's rate limits.
//!
//! A [`StreamEditor`] runs one task per reply. [`StreamEditor::update`] is cheap and synchronous
//! (the agent calls it for every streamed fragment); the task coalesces updates, so a message is
//! never edited with unchanged text. A reply that is complete within [`StreamConfig::settle`]
//! goes out as one formatted message with no typing indicator and no edits; otherwise the first
//! message goes out once the settle time has passed and there is text, and the final, formatted
//! version as soon as the reply is complete.
//!
//! How often messages change is the chat's budget ([`ChatPace`]), shared by every reply in the
//! chat: streamed edits are spaced by the platform's interval for the chat (and at least
//! [`StreamConfig::edit_interval`]) and keep room under its cap for the final text, which goes
//! out as soon as the cap allows. A rate-limit answer (`retry_after`) pauses all calls of the
//! reply; afterwards only the latest text is sent, never a stale one. When an edit of the final
//! text is asked to wait longer than [`StreamConfig::new_message_after`], the final text is sent
//! as new messages instead, and the messages it replaces are pointed at it once the wait is
//! over. Transient failures are retried with exponential backoff. Sends are retried only when the
//! platform certainly did not deliver the message, so a reply never appears twice. While the
//! assistant works, a typing indicator is refreshed every [`StreamConfig::typing_interval`].
//!
//! The text is laid out into messages by [`crate::channels::layout`], counted as the platform
//! counts it, and every message is formatted on its own from a self-contained piece. One rule
//! delivers every message of the final text: the formatted body, and when the platform refuses
//! it for any reason, the plain text; an empty body is never sent; and when a message still
//! cannot be delivered, the reply ends with a short plain note saying so. Nothing is dropped
//! without a word.
//!
//! The editor talks to the platform through [`ChatSurface`], so Telegram and Slack share it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::channels::layout;
use crate::channels::pace::ChatPace;

/// The note that ends a reply some part of which could not be delivered.
pub const UNDELIVERED: &str =
    "Sorry, I could not show all of this answer here. Ask again, perhaps for a shorter answer.";

/// What a message that an answer's final text replaced says once it may be edited again.
pub const CONTINUED_BELOW: &str = "(The full answer is in the message below.)";

/// How a platform measures text against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    /// Unicode scalar values.
    Chars,
    /// UTF-16 code units (Telegram counts these).
    Utf16,
}

impl LengthUnit {
    /// The length of `text` in this unit.
    #[must_use]
    pub fn measure(self, text: &str) -> usize {
        match self {
            Self::Chars => text.chars().count(),
            Self::Utf16 => text.encode_utf16().count(),
        }
    }
}

/// The body of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// Plain text, shown as is.
    Plain(&'a str),
    /// The platform's rich format (Telegram HTML, Slack mrkdwn), made by [`ChatSurface::format`].
    Formatted(&'a str),
}

/// Why a platform call failed, as far as the editor cares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurfaceError {
    /// The platform asked to wait this long before the next call.
    #[error("rate limited; retry after {0:?}")]
    RetryAfter(Duration),
    /// A failure that certainly changed nothing (connection refused, a 5xx); safe to retry.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// A failure after which the call may or may not have taken effect (a timeout).
    #[error("uncertain failure: {0}")]
    Uncertain(String),
    /// The edit changed nothing; counts as success.
    #[error("message not modified")]
    NotModified,
    /// The platform refused the formatted body (bad entities); plain text may still work.
    #[error("formatting rejected: {0}")]
    FormatRejected(String),
    /// The body is longer than the platform accepts.
    #[error("message too long")]
    TooLong,
    /// The chat cannot be written to any more (bot blocked, removed from the chat).
    #[error("chat unavailable: {0}")]
    Gone(String),
    /// Any other permanent failure.
    #[error("{0}")]
    Failed(String),
}

/// One chat on a platform, as the editor needs it: send, edit and a typing indicator.
#[async_trait]
pub trait ChatSurface: Send + Sync + 'static {
    /// The platform's id of a sent message.
    type MessageId: Clone + Send + Sync + 'static;

    /// The most of its limit the platform lets one message use, as [`ChatSurface::counted`]
    /// counts.
    fn max_len(&self) -> usize;

    /// How much of the limit `body` uses, counted as the platform counts it: Telegram counts
    /// the text it shows once the formatting is parsed, Slack the text as sent, escapes
    /// included.
    fn counted(&self, body: Body<'_>) -> usize;

    /// The formatted body of a self-contained piece of the model's Markdown, or `None` to keep
    /// it plain.
    fn format(&self, plain: &str) -> Option<String>;

    /// Whether `piece` can be sent as one message both formatted and as plain text.
    fn fits(&self, piece: &str) -> bool {
        let max = self.max_len();
        self.counted(Body::Plain(piece)) <= max
            && self
                .format(piece)
                .is_none_or(|formatted| self.counted(Body::Formatted(&formatted)) <= max)
    }

    /// Sends a new message.
    async fn send(&self, body: Body<'_>) -> Result<Self::MessageId, SurfaceError>;

    /// Replaces the text of a message sent earlier.
    async fn edit(&self, id: &Self::MessageId, body: Body<'_>) -> Result<(), SurfaceError>;

    /// Shows that the assistant is working (Telegram's `typing` action).
    async fn typing(&self) -> Result<(), SurfaceError>;
}

/// The editor's pacing and retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// How long a reply may take before anything is shown: a reply finished within it goes out
    /// as one formatted message, with no typing indicator and no edits.
    pub settle: Duration,
    /// The least time between two calls that change messages, except for the final one.
    pub edit_interval: Duration,
    /// How often the typing indicator is refreshed while the assistant works.
    pub typing_interval: Duration,
    /// Attempts at one change before giving up on it (transient failures).
    pub max_attempts: u32,
    /// The first backoff after a transient failure; it doubles each attempt.
    pub backoff: Duration,
    /// The longest `retry_after` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// How long the final text may wait for an edit before it is sent as new messages instead.
    pub new_message_after: Duration,
}

impl Default for StreamConfig {
    /// Nothing shown for the first 300 ms, then about one edit a second and a typing refresh
    /// every four seconds (the indicator lasts five).
    fn default() -> Self {
        Self {
            settle: Duration::from_millis(300),
            edit_interval: Duration::from_secs(1),
            typing_interval: Duration::from_secs(4),
            max_attempts: 5,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(300),
            new_message_after: Duration::from_secs(5),
        }
    }
}

/// What reached the chat once a reply was finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// How many messages the reply occupies.
    pub messages: usize,
    /// Whether every message shows its final text.
    pub complete: bool,
    /// Whether the final text was shown formatted (as opposed to the plain fallback).
    pub formatted: bool,
}

/// What the task reads from the editor handle.
#[derive(Debug, Default)]
struct Shared {
    text: String,
    version: u64,
    /// The reply as it should finally be shown, once it is known.
    finished: Option<String>,
    /// Whether `finished` can no longer change ([`StreamEditor::finish`] was called).
    sealed: bool,
    working: bool,
    /// Whether the typing indicator should be shown again now rather than at its next refresh.
    typing_now: bool,
}

/// Shows one growing reply; see the module documentation.
#[derive(Debug)]
pub struct StreamEditor {
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    task: Option<JoinHandle<Delivery>>,
}

impl StreamEditor {
    /// Starts the editor's task for one reply on `surface`, with the typing indicator on,
    /// changing messages within the chat's budget `pace`.
    #[must_use]
    pub fn start<S: ChatSurface>(
        surface: Arc<S>,
        config: StreamConfig,
        pace: Arc<ChatPace>,
    ) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            working: true,
            ..Shared::default()
        }));
        let wake = Arc::new(Notify::new());
        let pump = Pump::new(
            surface,
            config,
            pace,
            Arc::clone(&shared),
            Arc::clone(&wake),
        );
        let task = tokio::spawn(pump.run());
        Self {
            shared,
            wake,
            task: Some(task),
        }
    }

    /// The reply so far, in full. Cheap; unchanged text is ignored.
    pub fn update(&self, text: &str) {
        let mut s = self.shared.lock();
        if s.finished.is_some() || s.text == text {
            return;
        }
        text.clone_into(&mut s.text);
        s.version += 1;
        drop(s);
        self.wake.notify_one();
    }

    /// Turns the typing indicator on (the assistant works) or off (it waits for the person).
    pub fn set_working(&self, working: bool) {
        let mut s = self.shared.lock();
        if s.working != working {
            s.working = working;
            drop(s);
            self.wake.notify_one();
        }
    }

    /// Shows the typing indicator again at once, while the assistant works: a message the bot
    /// sent in between (such as a place in line) clears it in the person's app.
    pub fn renew_typing(&self) {
        let mut s = self.shared.lock();
        if s.working {
            s.typing_now = true;
            drop(s);
            self.wake.notify_one();
        }
    }

    /// The text given to the last [`StreamEditor::update`].
    #[must_use]
    pub fn current_text(&self) -> String {
        self.shared.lock().text.clone()
    }

    /// Starts showing `text` as the final reply (formatted) without waiting for it, while the
    /// turn still has work to do that the person need not wait for (storing the conversation).
    /// [`StreamEditor::finish`] then waits for it, or replaces it when the turn's final text
    /// turned out different.
    pub fn complete(&self, text: &str) {
        {
            let mut s = self.shared.lock();
            if s.sealed {
                return;
            }
            s.finished = Some(text.to_owned());
            s.working = false;
        }
        self.wake.notify_one();
    }

    /// Shows `text` as the final reply (formatted) and waits until it is delivered or given up.
    /// When it is the text given to [`StreamEditor::complete`], nothing more is sent.
    pub async fn finish(mut self, text: &str) -> Delivery {
        {
            let mut s = self.shared.lock();
            if s.finished.as_deref() != Some(text) {
                s.finished = Some(text.to_owned());
            }
            s.sealed = true;
            s.working = false;
        }
        self.wake.notify_one();
        let failed = Delivery {
            messages: 0,
            complete: false,
            formatted: false,
        };
        let Some(task) = self.task.take() else {
            return failed;
        };
        match task.await {
            Ok(delivery) => delivery,
            Err(e) => {
                tracing::error!(error = %e, "the reply editor failed");
                failed
            }
        }
    }
}

/// One message of the reply as it is shown now.
struct Shown<Id> {
    /// `None` when a send may have arrived but its id is unknown: it is left alone.
    id: Option<Id>,
    text: String,
    formatted: bool,
}

/// How one pass over the messages ended.
enum Pass {
    /// Every message shows the target (or was refused for good, as counted in `refused`).
    Done,
    /// Stopped early; try again at the editor's next opportunity.
    Retry,
    /// The chat cannot be written to; stop.
    Gone,
}

/// The editor's task state.
struct Pump<S: ChatSurface> {
    surface: Arc<S>,
    config: StreamConfig,
    pace: Arc<ChatPace>,
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    shown: Vec<Shown<S::MessageId>>,
    /// Messages the final text was sent instead of, to point at it later.
    replaced: Vec<S::MessageId>,
    /// When the last call that changed messages was made.
    last_change: Option<Instant>,
    /// No call before this (a `retry_after` or a backoff).
    paused_until: Option<Instant>,
    /// Whether the pause comes from the platform refusing an edit for a while.
    edits_limited: bool,
    /// Consecutive failed attempts.
    failures: u32,
    next_typing: Instant,
    /// Whether the final text was shown formatted everywhere.
    formatted: bool,
    /// Messages of the final text the platform refused even as plain text.
    refused: usize,
}

impl<S: ChatSurface> Pump<S> {
    fn new(
        surface: Arc<S>,
        config: StreamConfig,
        pace: Arc<ChatPace>,
        shared: Arc<Mutex<Shared>>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            surface,
            config,
            pace,
            shared,
            wake,
            shown: Vec::new(),
            replaced: Vec::new(),
            last_change: None,
            paused_until: None,
            edits_limited: false,
            failures: 0,
            next_typing: Instant::now(),
            formatted: false,
            refused: 0,
        }
    }

    async fn run(mut self) -> Delivery {
        let mut synced_version = 0;
        let settled_at = Instant::now() + self.config.settle;
        self.next_typing = settled_at;
        // The final text shown last and how that went.
        let mut delivered: Option<(String, Delivery)> = None;
        loop {
            let now = Instant::now();
            let (text, version, finished, sealed, working) = {
                let mut s = self.shared.lock();
                if std::mem::take(&mut s.typing_now) && s.working {
                    self.next_typing = now;
                }
                let text = if s.finished.is_some() {
                    String::new()
                } else {
                    s.text.clone()
                };
                (text, s.version, s.finished.clone(), s.sealed, s.working)
            };
            let paused = self.paused_until.filter(|t| *t > now);
            if let Some(final_text) = finished {
                match delivered {
                    Some((shown, delivery)) if shown == final_text => {
                        if sealed || !delivery.complete {
                            self.point_replaced();
                            return delivery;
                        }
                        delivered = Some((shown, delivery));
                        // Shown; wait for the turn to seal it or to replace it.
                        self.wake.notified().await;
                    }
                    _ => {
                        let delivery = self.finish(&final_text).await;
                        delivered = Some((final_text, delivery));
                    }
                }
                continue;
            }
            let mut wake_at: Option<Instant> = None;
            if version != synced_version && !text.trim().is_empty() {
                // The chat's budget, keeping room for the final text's messages.
                let reserve = self.shown.len().max(1);
                let budget = self.pace.interim_at(now, 1, reserve);
                let due = budget.map(|budget| {
                    self.last_change
                        .map_or(settled_at, |t| t + self.config.edit_interval)
                        .max(paused.unwrap_or(now))
                        .max(budget)
                });
                match due {
                    Some(due) if due <= now => {
                        match self.pass(&text, false).await {
                            Pass::Done => synced_version = version,
                            Pass::Retry => {}
                            Pass::Gone => return self.delivery(false),
                        }
                        continue;
                    }
                    Some(due) => wake_at = Some(due),
                    // No room for streamed edits: the final text will show it all.
                    None => {}
                }
            }
            if working {
                let due = self.next_typing.max(paused.unwrap_or(now));
                if due <= now {
                    self.typing().await;
                    continue;
                }
                wake_at = Some(wake_at.map_or(due, |w| w.min(due)));
            }
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }

    async fn typing(&mut self) {
        self.next_typing = Instant::now() + self.config.typing_interval;
        match self.surface.typing().await {
            Ok(()) => {}
            Err(SurfaceError::RetryAfter(d)) => self.pause_for(d, false),
            Err(e) => tracing::debug!(error = %e, "typing indicator failed"),
        }
    }

    fn pause_for(&mut self, wait: Duration, edit: bool) {
        let until = Instant::now() + wait.min(self.config.max_retry_after);
        if self.paused_until.is_none_or(|p| until > p) {
            self.edits_limited = edit;
        }
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    fn back_off(&mut self) {
        self.failures += 1;
        let factor = 2u32.saturating_pow(self.failures.saturating_sub(1).min(10));
        self.pause_for(self.config.backoff.saturating_mul(factor), false);
    }

    /// Shows the final text, formatted, retrying within the configured attempts; ends with a
    /// plain note when some of it could not be delivered.
    async fn finish(&mut self, text: &str) -> Delivery {
        self.failures = 0;
        self.refused = 0;
        let text = if text.trim().is_empty() {
            "(no answer)"
        } else {
            text
        };
        loop {
            if let Some(until) = self.paused_until.filter(|t| *t > Instant::now()) {
                if self.edits_limited
                    && until - Instant::now() > self.config.new_message_after
                    && self.shown.iter().any(|s| s.id.is_some())
                {
                    // Editing must wait long: the final text goes out as new messages now.
                    tracing::info!(
                        wait = ?(until - Instant::now()),
                        "edits are refused for a while; sending the answer as a new message"
                    );
                    self.replaced
                        .extend(self.shown.drain(..).filter_map(|s| s.id));
                    self.paused_until = None;
                    self.edits_limited = false;
                } else {
                    tokio::time::sleep_until(until).await;
                }
            }
            match self.pass(text, true).await {
                Pass::Done if self.refused == 0 => return self.delivery(true),
                Pass::Done => {
                    self.note().await;
                    return self.delivery(false);
                }
                Pass::Gone => return self.delivery(false),
                Pass::Retry if self.failures >= self.config.max_attempts => {
                    tracing::warn!(attempts = self.failures, "gave up delivering a reply");
                    self.note().await;
                    return self.delivery(false);
                }
                Pass::Retry => {}
            }
        }
    }

    /// Tells the person that some of the reply could not be shown.
    async fn note(&mut self) {
        tracing::warn!(
            refused = self.refused,
            "a reply could not be delivered in full; telling the person"
        );
        if let Some(until) = self.paused_until.filter(|t| *t > Instant::now()) {
            tokio::time::sleep_until(until).await;
        }
        self.pace.take_final().await;
        if let Err(e) = self.surface.send(Body::Plain(UNDELIVERED)).await {
            tracing::warn!(error = %e, "could not say that a reply was not delivered");
        }
    }

    /// Points the messages the final text was sent instead of at it, once edits are allowed
    /// again, without holding the turn up.
    fn point_replaced(&mut self) {
        if self.replaced.is_empty() {
            return;
        }
        let replaced = std::mem::take(&mut self.replaced);
        let surface = Arc::clone(&self.surface);
        let pace = Arc::clone(&self.pace);
        let until = self.paused_until;
        tokio::spawn(async move {
            if let Some(until) = until {
                tokio::time::sleep_until(until).await;
            }
            for id in replaced {
                pace.take_final().await;
                if let Err(e) = surface.edit(&id, Body::Plain(CONTINUED_BELOW)).await {
                    tracing::debug!(error = %e, "could not point a replaced message at the answer");
                }
            }
        });
    }

    fn delivery(&self, complete: bool) -> Delivery {
        Delivery {
            messages: self.shown.len(),
            complete,
            formatted: complete && self.formatted,
        }
    }

    /// Makes every message show its piece of `text` (formatted, and within the chat's budget
    /// for final text, when `last`).
    async fn pass(&mut self, text: &str, last: bool) -> Pass {
        let surface = Arc::clone(&self.surface);
        let chunks = layout::split(text, &|piece: &str| surface.fits(piece));
        let mut all_formatted = true;
        let mut first_change = true;
        for (i, chunk) in chunks.iter().enumerate() {
            // An empty body is never sent: a piece that formats to nothing goes out plain.
            let formatted = if last {
                surface
                    .format(chunk)
                    .filter(|f| surface.counted(Body::Formatted(f)) > 0)
            } else {
                None
            };
            let want_formatted = formatted.is_some();
            if let Some(shown) = self.shown.get(i)
                && (shown.id.is_none()
                    || (shown.text == *chunk && shown.formatted == want_formatted))
            {
                all_formatted &= shown.formatted || shown.id.is_none();
                continue;
            }
            if last {
                self.pace.take_final().await;
            } else if first_change {
                self.pace.record(true);
            } else {
                self.pace.record(false);
            }
            first_change = false;
            let bodies: Vec<Body<'_>> = match &formatted {
                Some(f) => vec![Body::Formatted(f), Body::Plain(chunk)],
                None => vec![Body::Plain(chunk)],
            };
            let mut outcome = Err(SurfaceError::Failed("nothing tried".into()));
            let mut used_formatted = false;
            for body in bodies {
                let formatted_body = matches!(body, Body::Formatted(_));
                if !formatted_body && used_formatted && last {
                    self.pace.take_final().await;
                }
                outcome = self.apply(i, body).await;
                used_formatted = formatted_body;
                match &outcome {
                    Err(e) if formatted_body && refusal(e) => {
                        tracing::info!(reason = %e, "formatted reply refused; sending plain text");
                    }
                    _ => break,
                }
            }
            let editing = self.shown.get(i).is_some_and(|s| s.id.is_some());
            match outcome {
                Ok(id) => {
                    self.failures = 0;
                    self.last_change = Some(Instant::now());
                    let entry = Shown {
                        id,
                        text: chunk.clone(),
                        formatted: used_formatted,
                    };
                    if let Some(slot) = self.shown.get_mut(i) {
                        *slot = entry;
                    } else {
                        self.shown.push(entry);
                    }
                    all_formatted &= used_formatted;
                }
                Err(SurfaceError::RetryAfter(d)) => {
                    self.pause_for(d, editing);
                    return Pass::Retry;
                }
                Err(SurfaceError::Transient(reason) | SurfaceError::Uncertain(reason)) => {
                    tracing::debug!(reason = %reason, "message update failed; will retry");
                    self.back_off();
                    return Pass::Retry;
                }
                Err(SurfaceError::Gone(reason)) => {
                    tracing::info!(reason = %reason, "chat can no longer be written to");
                    return Pass::Gone;
                }
                Err(e) if last => {
                    // Refused as plain text too: retrying would be refused the same way.
                    tracing::warn!(error = %e, "a message of a reply was refused");
                    self.refused += 1;
                    all_formatted = false;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "a streamed update was refused");
                    self.back_off();
                    return Pass::Retry;
                }
            }
        }
        self.formatted = all_formatted;
        Pass::Done
    }

    /// Sends or edits message `i`. `Ok(None)` records a send that may have arrived without an id.
    async fn apply(
        &mut self,
        i: usize,
        body: Body<'_>,
    ) -> Result<Option<S::MessageId>, SurfaceError> {
        match self.shown.get(i).and_then(|s| s.id.clone()) {
            Some(id) => match self.surface.edit(&id, body).await {
                Ok(()) | Err(SurfaceError::NotModified) => Ok(Some(id)),
                Err(e) => Err(e),
            },
            None => match self.surface.send(body).await {
                Ok(id) => Ok(Some(id)),
                Err(SurfaceError::Uncertain(reason)) => {
                    // Sending again could show the message twice; leave this part as it is.
                    tracing::warn!(reason = %reason, "a message may not have been delivered; not sending it twice");
                    Ok(None)
                }
                Err(e) => Err(e),
            },
        }
    }
}

/// Whether `error` is the platform refusing a body (rather than a chat gone, a rate limit or a
/// failure that may pass): plain text may still be accepted.
fn refusal(error: &SurfaceError) -> bool {
    matches!(
        error,
        SurfaceError::FormatRejected(_) | SurfaceError::TooLong | SurfaceError::Failed(_)
    )
}

impl Drop for StreamEditor {
    fn drop(&mut self) {
        // An editor dropped without `finish` (its turn was abandoned) stops at once.
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::pace::Pace;

    /// A chat that records what the editor did to it.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
        changed: Notify,
        /// Bodies holding this are refused, formatted or plain.
        refuse: Option<&'static str>,
    }

    impl Recorder {
        fn refused(&self, body: Body<'_>) -> Result<(), SurfaceError> {
            let (Body::Plain(text) | Body::Formatted(text)) = body;
            match self.refuse {
                Some(word) if text.contains(word) => {
                    Err(SurfaceError::Failed("Bad Request: refused".into()))
                }
                _ => Ok(()),
            }
        }
    }

    #[async_trait]
    impl ChatSurface for Recorder {
        type MessageId = usize;

        fn max_len(&self) -> usize {
            100
        }

        fn counted(&self, body: Body<'_>) -> usize {
            let (Body::Plain(text) | Body::Formatted(text)) = body;
            text.chars().count()
        }

        fn format(&self, plain: &str) -> Option<String> {
            Some(format!("<b>{plain}</b>"))
        }

        async fn send(&self, body: Body<'_>) -> Result<usize, SurfaceError> {
            let mut calls = self.calls.lock();
            calls.push(format!("send {body:?}"));
            self.refused(body)?;
            let id = calls.len();
            drop(calls);
            self.changed.notify_waiters();
            Ok(id)
        }

        async fn edit(&self, id: &usize, body: Body<'_>) -> Result<(), SurfaceError> {
            self.calls.lock().push(format!("edit {id} {body:?}"));
            self.refused(body)?;
            self.changed.notify_waiters();
            Ok(())
        }

        async fn typing(&self) -> Result<(), SurfaceError> {
            self.calls.lock().push("typing".into());
            self.changed.notify_waiters();
            Ok(())
        }
    }

    impl Recorder {
        async fn wait_for(&self, count: usize) -> Vec<String> {
            tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    let changed = self.changed.notified();
                    let calls = self.calls.lock().clone();
                    if calls.len() >= count {
                        return calls;
                    }
                    changed.await;
                }
            })
            .await
            .expect("the editor made the calls")
        }
    }

    #[tokio::test]
    async fn a_completed_reply_goes_out_before_the_turn_finishes() {
        let surface = Arc::new(Recorder::default());
        let editor = StreamEditor::start(
            Arc::clone(&surface),
            StreamConfig::default(),
            ChatPace::new(Pace::FREE),
        );
        editor.update("Hello");
        editor.complete("Hello there");
        // Shown while the turn still runs (the settle time does not hold a finished reply back).
        let calls = surface.wait_for(1).await;
        assert_eq!(calls, vec![r#"send Formatted("<b>Hello there</b>")"#]);
        let delivery = editor.finish("Hello there").await;
        assert!(delivery.complete && delivery.formatted);
        assert_eq!(
            surface.calls.lock().len(),
            1,
            "nothing more for the same text"
        );
    }

    /// The typing indicator, refreshed every four seconds, comes back at once when renewed
    /// (after a message of the bot's cleared it), and not while the assistant waits.
    #[tokio::test]
    async fn renewed_typing_shows_at_once() {
        let surface = Arc::new(Recorder::default());
        let editor = StreamEditor::start(
            Arc::clone(&surface),
            StreamConfig::default(),
            ChatPace::new(Pace::FREE),
        );
        assert_eq!(surface.wait_for(1).await, ["typing"]);
        editor.renew_typing();
        let again = tokio::time::timeout(Duration::from_secs(1), surface.wait_for(2)).await;
        assert_eq!(again.expect("typing again at once"), ["typing", "typing"]);
        editor.set_working(false);
        editor.renew_typing();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(surface.calls.lock().len(), 2, "no typing while waiting");
    }

    #[tokio::test]
    async fn a_completed_reply_is_replaced_when_the_turn_ends_differently() {
        let surface = Arc::new(Recorder::default());
        let editor = StreamEditor::start(
            Arc::clone(&surface),
            StreamConfig::default(),
            ChatPace::new(Pace::FREE),
        );
        editor.complete("Answer");
        surface.wait_for(1).await;
        let delivery = editor
            .finish("Answer\n\nSorry, it could not be saved.")
            .await;
        assert!(delivery.complete);
        assert_eq!(
            surface.calls.lock().clone(),
            vec![
                r#"send Formatted("<b>Answer</b>")"#.to_owned(),
                r#"edit 1 Formatted("<b>Answer\n\nSorry, it could not be saved.</b>")"#.to_owned(),
            ]
        );
    }

    #[tokio::test]
    async fn a_message_refused_formatted_and_plain_ends_the_reply_with_a_note() {
        let surface = Arc::new(Recorder {
            refuse: Some("forbidden"),
            ..Recorder::default()
        });
        let editor = StreamEditor::start(
            Arc::clone(&surface),
            StreamConfig::default(),
            ChatPace::new(Pace::FREE),
        );
        let delivery = editor.finish("a forbidden word").await;
        assert!(!delivery.complete);
        assert_eq!(
            surface.calls.lock().clone(),
            vec![
                r#"send Formatted("<b>a forbidden word</b>")"#.to_owned(),
                r#"send Plain("a forbidden word")"#.to_owned(),
                format!("send Plain({UNDELIVERED:?})"),
            ],
            "tried formatted, then plain, then said so; never again"
        );
    }
}
