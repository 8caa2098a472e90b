//! mcp-gateway: a self-hosted AI assistant appliance.
//!
//! People talk to the assistant in Telegram, Slack or a terminal; a local model served by Ollama
//! answers; and it acts on each person's own Notion workspace and Google Calendar through MCP
//! servers that this crate also provides, each person connecting their own accounts with OAuth.
//!
//! # Layout
//! - [`config`]: the TOML configuration contract, validated into typed settings.
//! - [`store`]: SQLite (migrations, chat history, audit log) and sealing of secrets at rest.
//! - [`llm`]: the chat model boundary: Ollama's native API and OpenAI-compatible servers.
//! - [`mcp`]: the MCP client pool and the tool catalog offered to the model.
//! - [`agent`]: the turn loop: prompt assembly, tool selection, tool rounds, confirmations.
//! - [`schedule`]: each person's reminders and scheduled tasks, their time zone, and the timer
//!   that delivers them.
//! - [`channels`]: chat surfaces (console, Telegram, Slack) behind one trait.
//! - [`servers`]: the Notion and Google Calendar MCP servers and their OAuth authorization server.
//! - [`http`]: the gateway's own HTTP surface.
//! - [`telemetry`]: logging and Prometheus metrics.
//! - [`ops`]: operator commands (`doctor`, `check-config`, `backup`, ...).
//! - [`app`]: assembling the running gateway from its configuration.
//! - [`cli`]: the command line, parsed in `main.rs` and dispatched here.
//! - [`process`]: what the process sets up for itself at start (descriptor table, open-file limit).
//! - [`display`]: names chosen by others, made safe to show on a page or in a message.

pub mod agent;
pub mod app;
pub mod channels;
pub mod cli;
pub mod config;
pub(crate) mod display;
pub(crate) mod http;
pub mod llm;
pub(crate) mod local_time;
pub mod mcp;
pub mod ops;
pub mod process;
pub mod schedule;
pub mod servers;
pub mod store;
pub mod telemetry;

pub(crate) mod principal;
pub use principal::Principal;
