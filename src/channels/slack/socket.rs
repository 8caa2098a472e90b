//! The Socket Mode connection: open it with the app token, acknowledge every envelope at once,
//! hand what it carries to the channel, and reconnect on `disconnect` or a dropped socket.
//!
//! Slack delivers an event again when it did not see the acknowledgement in time (the envelope
//! says `retry_attempt` and `retry_reason`), with the same event id; an event already handed on
//! is acknowledged and not handed on again, also when it comes back on a new connection.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use super::api::SlackApi;
use super::events::{Frame, Inbound, MAX_ENVELOPE_BYTES, parse_frame};

/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How many recent event ids are remembered to recognise a redelivery. Slack retries within
/// minutes; far more events than this do not arrive in that time.
const REMEMBERED_EVENTS: usize = 4096;

/// The ids of the events handed on most recently.
#[derive(Debug, Default)]
struct Seen {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Seen {
    /// Records `id`; `false` when it was handed on before.
    fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= REMEMBERED_EVENTS
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        self.order.push_back(id.to_owned());
        self.ids.insert(id.to_owned());
        true
    }
}

/// Keeps a Socket Mode connection open until `shutdown`, sending what arrives into `inbound`,
/// and telling `connected` when Slack's `hello` arrives and when the connection ends.
///
/// Every envelope is acknowledged before it is handed on, well inside Slack's three seconds.
pub async fn run(
    api: SlackApi,
    inbound: mpsc::Sender<Inbound>,
    connected: impl Fn(bool) + Send + Sync,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(250);
    let mut seen = Seen::default();
    while !shutdown.is_cancelled() {
        let ended = connect_once(&api, &inbound, &mut seen, &connected, &shutdown).await;
        connected(false);
        match ended {
            Ok(reason) => {
                tracing::info!(reason, "Slack socket closed; reconnecting");
                backoff = Duration::from_millis(250);
            }
            Err(e) => {
                tracing::warn!(error = %e, wait_ms = backoff.as_millis(), "Slack socket failed; reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Runs one connection; returns why it ended normally, or an error to back off from.
async fn connect_once(
    api: &SlackApi,
    inbound: &mpsc::Sender<Inbound>,
    seen: &mut Seen,
    connected: &impl Fn(bool),
    shutdown: &CancellationToken,
) -> Result<&'static str, String> {
    let url = api.open_connection().await.map_err(|e| e.to_string())?;
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_ENVELOPE_BYTES))
        .max_frame_size(Some(MAX_ENVELOPE_BYTES));
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false)
            .await
            .map_err(|e| format!("cannot open the Socket Mode WebSocket: {e}"))?;
    loop {
        let frame = tokio::select! {
            f = ws.next() => f,
            () = shutdown.cancelled() => {
                let _ = ws.close(None).await;
                return Ok("shutdown");
            }
        };
        let text = match frame {
            None => return Err("the socket closed".into()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(WsMessage::Text(text))) => text,
            Some(Ok(WsMessage::Close(_))) => return Ok("closed by Slack"),
            Some(Ok(_)) => continue,
        };
        match parse_frame(&text) {
            Frame::Hello => connected(true),
            Frame::Other => {}
            Frame::Disconnect { reason } => {
                tracing::info!(reason, "Slack asked to reconnect");
                let _ = ws.close(None).await;
                return Ok("disconnect requested");
            }
            Frame::Envelope {
                envelope_id,
                event_id,
                retry_attempt,
                inbound: event,
            } => {
                let ack = serde_json::json!({ "envelope_id": envelope_id }).to_string();
                ws.send(WsMessage::Text(ack.into()))
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(id) = &event_id
                    && !seen.first_time(id)
                {
                    tracing::info!(
                        retry_attempt,
                        "Slack delivered an event again; it was handled already"
                    );
                    continue;
                }
                if let Some(event) = event
                    && inbound.send(event).await.is_err()
                {
                    return Ok("the channel stopped");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_handed_on_once_and_old_ids_are_forgotten() {
        let mut seen = Seen::default();
        assert!(seen.first_time("Ev1"));
        assert!(!seen.first_time("Ev1"));
        for i in 0..REMEMBERED_EVENTS {
            assert!(seen.first_time(&format!("Ev-{i}")));
        }
        assert_eq!(seen.order.len(), REMEMBERED_EVENTS);
        assert!(seen.first_time("Ev1"), "forgotten after many others");
    }
}
