//! The Slack channel against a fake Slack (Web API + Socket Mode WebSocket), with an in-process
//! scripted model and tool host; and `serve` running Telegram and Slack at once, with their admins.

#[path = "support/chat_fixtures.rs"]
mod chat_fixtures;
#[path = "support/fake_ollama.rs"]
mod fake_ollama;
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;
#[path = "support/scripted_agent.rs"]
mod scripted_agent;

mod slack {
    mod admins;
    mod channel;
    mod rules;
    mod serve;
    mod transport;
}
