//! Chat channels: the console, Telegram and Slack, each turning its platform's updates into agent
//! turns and the agent's [`crate::agent::TurnSink`] calls into its platform's messages.

pub mod console;
pub mod slack;
