//! The Slack channel against a fake Slack (Web API + Socket Mode WebSocket), with an in-process
//! scripted model and tool host.

#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/scripted_agent.rs"]
mod scripted_agent;

mod slack {
    mod channel;
    mod transport;
}
