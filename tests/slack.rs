//! The Slack channel against a fake Slack (Web API + Socket Mode WebSocket).

#[path = "support/fake_slack.rs"]
mod fake_slack;

mod slack {
    mod transport;
}
