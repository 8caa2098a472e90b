//! The streaming editor: shows a reply that grows in one message (and continuation messages
//! past the platform's length limit), kind to the platform's rate limits.
//!
//! A [`StreamEditor`] runs one task per reply. [`StreamEditor::update`] is cheap and synchronous
//! (the agent calls it for every streamed fragment); the task coalesces updates, so a message is
//! edited at most once per [`StreamConfig::edit_interval`] and never with unchanged text. A reply
//! that is complete within [`StreamConfig::settle`] goes out as one formatted message with no
//! typing indicator and no edits; otherwise the first message goes out once the settle time has
//! passed and there is text, and the final, formatted version as soon as the reply is complete. A rate-limit answer (`retry_after`) pauses all calls for the chat;
//! afterwards only the latest text is sent, never the stale one. Transient failures are retried
//! with exponential backoff. Sends are retried only when the platform certainly did not deliver
//! the message, so a reply never appears twice. While the assistant works, a typing indicator is
//! refreshed every [`StreamConfig::typing_interval`].
//!
//! The editor talks to the platform through [`ChatSurface`], so Telegram and Slack share it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How a surface measures message length against its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    /// Unicode scalar values.
    Chars,
    /// UTF-16 code units (Telegram counts these).
    Utf16,
}

impl LengthUnit {
    fn of_char(self, c: char) -> usize {
        match self {
            Self::Chars => 1,
            Self::Utf16 => c.len_utf16(),
        }
    }

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

    /// The longest message the platform accepts, in [`ChatSurface::unit`].
    fn max_len(&self) -> usize;

    /// How the platform measures message length.
    fn unit(&self) -> LengthUnit;

    /// The final, formatted body of a plain-text chunk, or `None` to keep it plain.
    ///
    /// The formatted body must not show more characters than the plain chunk.
    fn format(&self, plain: &str) -> Option<String>;

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

/// Splits `text` into chunks of at most `limit` (in `unit`), at paragraph breaks, else line
/// breaks, else spaces, else anywhere between characters. Whitespace at the cuts is dropped.
///
/// Splitting is stable as text grows: every chunk but the last stays the same once the text has
/// moved past it, so streamed messages never change retroactively.
#[must_use]
pub fn split_message(text: &str, limit: usize, unit: LengthUnit) -> Vec<&str> {
    let limit = limit.max(1);
    let mut chunks = Vec::new();
    let mut rest = text.trim_start();
    loop {
        // The byte index where `limit` units end, or `None` when the rest fits.
        let mut used = 0;
        let mut cut = None;
        for (i, c) in rest.char_indices() {
            used += unit.of_char(c);
            if used > limit {
                cut = Some(i);
                break;
            }
        }
        let Some(cut) = cut else {
            let last = rest.trim_end();
            if !last.is_empty() {
                chunks.push(last);
            }
            return chunks;
        };
        let window = &rest[..cut];
        let at = break_point(window).unwrap_or(cut);
        let chunk = rest[..at].trim_end();
        if !chunk.is_empty() {
            chunks.push(chunk);
        }
        rest = rest[at..].trim_start();
        if rest.is_empty() {
            return chunks;
        }
    }
}

/// The best place to cut `window`: after its last paragraph break, line break or space, as long
/// as that keeps at least a quarter of the window (otherwise a worse kind of break is tried).
fn break_point(window: &str) -> Option<usize> {
    let min = window.len() / 4;
    let good = |i: &usize| *i > min;
    window
        .rfind("\n\n")
        .map(|i| i + 2)
        .filter(good)
        .or_else(|| window.rfind('\n').map(|i| i + 1).filter(good))
        .or_else(|| {
            window
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
                .map(|(i, c)| i + c.len_utf8())
                .filter(good)
        })
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
}

/// Shows one growing reply; see the module documentation.
#[derive(Debug)]
pub struct StreamEditor {
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    task: Option<JoinHandle<Delivery>>,
}

impl StreamEditor {
    /// Starts the editor's task for one reply on `surface`, with the typing indicator on.
    #[must_use]
    pub fn start<S: ChatSurface>(surface: Arc<S>, config: StreamConfig) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            working: true,
            ..Shared::default()
        }));
        let wake = Arc::new(Notify::new());
        let task =
            tokio::spawn(Pump::new(surface, config, Arc::clone(&shared), Arc::clone(&wake)).run());
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
    /// Every message shows the target.
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
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    shown: Vec<Shown<S::MessageId>>,
    /// When the last call that changed messages was made.
    last_change: Option<Instant>,
    /// No call before this (a `retry_after` or a backoff).
    paused_until: Option<Instant>,
    /// Consecutive failed attempts.
    failures: u32,
    next_typing: Instant,
    /// Whether the final text was shown formatted everywhere.
    formatted: bool,
}

impl<S: ChatSurface> Pump<S> {
    fn new(
        surface: Arc<S>,
        config: StreamConfig,
        shared: Arc<Mutex<Shared>>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            surface,
            config,
            shared,
            wake,
            shown: Vec::new(),
            last_change: None,
            paused_until: None,
            failures: 0,
            next_typing: Instant::now(),
            formatted: false,
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
                let s = self.shared.lock();
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
                            return delivery;
                        }
                        delivered = Some((shown, delivery));
                        // Shown; wait for the turn to seal it or to replace it.
                        self.wake.notified().await;
                    }
                    _ => {
                        if let Some(until) = paused {
                            tokio::time::sleep_until(until).await;
                        }
                        let delivery = self.finish(&final_text).await;
                        delivered = Some((final_text, delivery));
                    }
                }
                continue;
            }
            let mut wake_at: Option<Instant> = None;
            if version != synced_version && !text.trim().is_empty() {
                let due = self
                    .last_change
                    .map_or(settled_at, |t| t + self.config.edit_interval)
                    .max(paused.unwrap_or(now));
                if due <= now {
                    match self.pass(&text, false).await {
                        Pass::Done => synced_version = version,
                        Pass::Retry => {}
                        Pass::Gone => return self.delivery(false),
                    }
                    continue;
                }
                wake_at = Some(due);
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
            Err(SurfaceError::RetryAfter(d)) => self.pause_for(d),
            Err(e) => tracing::debug!(error = %e, "typing indicator failed"),
        }
    }

    fn pause_for(&mut self, wait: Duration) {
        let until = Instant::now() + wait.min(self.config.max_retry_after);
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    fn back_off(&mut self) {
        self.failures += 1;
        let factor = 2u32.saturating_pow(self.failures.saturating_sub(1).min(10));
        self.pause_for(self.config.backoff.saturating_mul(factor));
    }

    /// Shows the final text, formatted, retrying within the configured attempts.
    async fn finish(&mut self, text: &str) -> Delivery {
        self.failures = 0;
        let text = if text.trim().is_empty() {
            "(no answer)"
        } else {
            text
        };
        loop {
            if let Some(until) = self.paused_until.filter(|t| *t > Instant::now()) {
                tokio::time::sleep_until(until).await;
            }
            match self.pass(text, true).await {
                Pass::Done => return self.delivery(true),
                Pass::Gone => return self.delivery(false),
                Pass::Retry if self.failures >= self.config.max_attempts => {
                    tracing::warn!(attempts = self.failures, "gave up delivering a reply");
                    return self.delivery(false);
                }
                Pass::Retry => {}
            }
        }
    }

    fn delivery(&self, complete: bool) -> Delivery {
        Delivery {
            messages: self.shown.len(),
            complete,
            formatted: complete && self.formatted,
        }
    }

    /// Makes every message show its chunk of `text` (formatted when `last`).
    async fn pass(&mut self, text: &str, last: bool) -> Pass {
        let surface = Arc::clone(&self.surface);
        let chunks = split_message(text, surface.max_len(), surface.unit());
        let mut all_formatted = true;
        for (i, chunk) in chunks.iter().enumerate() {
            let formatted = if last { surface.format(chunk) } else { None };
            let want_formatted = formatted.is_some();
            if let Some(shown) = self.shown.get(i)
                && (shown.id.is_none()
                    || (shown.text == *chunk && shown.formatted == want_formatted))
            {
                all_formatted &= shown.formatted || shown.id.is_none();
                continue;
            }
            let bodies: Vec<Body<'_>> = match &formatted {
                Some(f) => vec![Body::Formatted(f), Body::Plain(chunk)],
                None => vec![Body::Plain(chunk)],
            };
            let mut outcome = Err(SurfaceError::Failed("nothing tried".into()));
            let mut used_formatted = false;
            for body in bodies {
                outcome = self.apply(i, body).await;
                used_formatted = matches!(body, Body::Formatted(_));
                match &outcome {
                    Err(SurfaceError::FormatRejected(reason)) => {
                        tracing::info!(reason = %reason, "formatted reply rejected; sending plain text");
                    }
                    Err(SurfaceError::TooLong) if used_formatted => {}
                    _ => break,
                }
            }
            match outcome {
                Ok(id) => {
                    self.failures = 0;
                    self.last_change = Some(Instant::now());
                    let entry = Shown {
                        id,
                        text: (*chunk).to_owned(),
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
                    self.pause_for(d);
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
                Err(e) => {
                    tracing::warn!(error = %e, "message update refused");
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

    /// A chat that records what the editor did to it.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
        changed: Notify,
    }

    #[async_trait]
    impl ChatSurface for Recorder {
        type MessageId = usize;

        fn max_len(&self) -> usize {
            100
        }

        fn unit(&self) -> LengthUnit {
            LengthUnit::Chars
        }

        fn format(&self, plain: &str) -> Option<String> {
            Some(format!("<b>{plain}</b>"))
        }

        async fn send(&self, body: Body<'_>) -> Result<usize, SurfaceError> {
            let mut calls = self.calls.lock();
            calls.push(format!("send {body:?}"));
            let id = calls.len();
            drop(calls);
            self.changed.notify_waiters();
            Ok(id)
        }

        async fn edit(&self, id: &usize, body: Body<'_>) -> Result<(), SurfaceError> {
            self.calls.lock().push(format!("edit {id} {body:?}"));
            self.changed.notify_waiters();
            Ok(())
        }

        async fn typing(&self) -> Result<(), SurfaceError> {
            self.calls.lock().push("typing".into());
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
        let editor = StreamEditor::start(Arc::clone(&surface), StreamConfig::default());
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

    #[tokio::test]
    async fn a_completed_reply_is_replaced_when_the_turn_ends_differently() {
        let surface = Arc::new(Recorder::default());
        let editor = StreamEditor::start(Arc::clone(&surface), StreamConfig::default());
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

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(
            split_message("  hello \n", 10, LengthUnit::Chars),
            vec!["hello"]
        );
        assert!(split_message("   ", 10, LengthUnit::Chars).is_empty());
    }

    #[test]
    fn splits_at_paragraphs_then_lines_then_words() {
        let text = "aaaa aaaa\n\nbbbb bbbb\ncccc";
        assert_eq!(
            split_message(text, 12, LengthUnit::Chars),
            vec!["aaaa aaaa", "bbbb bbbb", "cccc"]
        );
        assert_eq!(
            split_message("one two three four", 9, LengthUnit::Chars),
            vec!["one two", "three", "four"]
        );
        assert_eq!(
            split_message("abcdefghij", 4, LengthUnit::Chars),
            vec!["abcd", "efgh", "ij"]
        );
    }

    #[test]
    fn counts_utf16_and_never_cuts_inside_a_character() {
        let text = "😀".repeat(5);
        let chunks = split_message(&text, 4, LengthUnit::Utf16);
        assert_eq!(chunks, vec!["😀😀", "😀😀", "😀"]);
        let text = "é".repeat(10);
        assert!(
            split_message(&text, 3, LengthUnit::Chars)
                .iter()
                .all(|c| c.chars().count() <= 3)
        );
    }

    #[test]
    fn splitting_is_stable_as_text_grows() {
        let full: String = (0..400).map(|i| format!("word{i} ")).collect::<String>() + "\n\nend";
        let final_chunks = split_message(&full, 100, LengthUnit::Chars);
        for n in (1..full.len()).step_by(7) {
            let prefix = &full[..n];
            let chunks = split_message(prefix, 100, LengthUnit::Chars);
            if let Some((_, done)) = chunks.split_last() {
                assert_eq!(done, &final_chunks[..done.len()], "prefix of {n} bytes");
            }
        }
    }
}
