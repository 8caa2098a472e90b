//! The Telegram channel against a fake Bot API (teloxide pointed at it through `api_url`), with an
//! in-process scripted model and tool host.

#[path = "support/chat_fixtures.rs"]
mod chat_fixtures;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;
#[path = "support/scripted_agent.rs"]
mod scripted_agent;

#[path = "telegram/access.rs"]
mod access;
#[path = "telegram/buttons.rs"]
mod buttons;
#[path = "telegram/common.rs"]
mod common;
#[path = "telegram/links.rs"]
mod links;
#[path = "telegram/rules.rs"]
mod rules;
#[path = "telegram/sessions.rs"]
mod sessions;
#[path = "telegram/streaming.rs"]
mod streaming;
