//! The Slack channel over Socket Mode: no inbound port; direct messages and mentions in channels
//! (answered in the thread), replies streamed with `chat.update`, buttons for confirmations and
//! connect links.

pub mod api;
pub mod events;
pub mod mrkdwn;
pub mod socket;
