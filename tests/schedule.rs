//! Proactive messages through `mcp-gateway serve` against the fake Bot API, the fake Slack and a
//! scripted fake Ollama: reminders and tasks the model schedules arrive with no message in
//! between, are listed and cancelled by tool, command, button and the operator's CLI, survive
//! kill -9, fire once after downtime, and a task past its grace period is reported missed; the
//! `up` console receives its own reminders.

#[path = "support/fake_ollama.rs"]
mod fake_ollama;
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

#[path = "schedule/gateway.rs"]
mod gateway;
#[path = "schedule/serve.rs"]
mod serve;
#[path = "schedule/up.rs"]
mod up;
