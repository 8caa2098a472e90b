//! Chat channels: the console, Telegram and Slack, each turning its platform's updates into agent
//! turns and the agent's [`crate::agent::TurnSink`] calls into its platform's messages.
//!
//! The machinery every chat platform shares lives here, platform-free:
//! - [`access`]: the `pairing`, `allowlist` and `open` policies;
//! - [`pairing`]: pairing codes and the senders approved with them;
//! - [`approved`]: the approved senders, kept in memory and read again every few seconds;
//! - [`rate_limit`]: a per-sender token bucket with a polite reply;
//! - [`sessions`]: one ordered work queue per conversation with a cancellable running turn;
//! - [`stream`]: the streaming editor that shows a growing reply within the platform's limits;
//! - [`reply`]: the text a finished turn leaves in the chat;
//! - [`confirm`]: confirmations of destructive tools answered with buttons;
//! - [`commands`]: the chat commands (`/help`, `/status`, `/connect`, ...) and their replies;
//! - [`listener`]: finished account connections passed to a running channel.

pub mod access;
pub mod approved;
pub mod commands;
pub mod confirm;
pub mod console;
pub mod listener;
pub mod pairing;
pub mod rate_limit;
pub mod reply;
pub mod sessions;
pub mod slack;
pub mod stream;
pub mod telegram;
