//! The gateway core through its command line: configuration errors, `chat` against real MCP
//! peers and a fake Ollama, `doctor`, `backup`, and the first run with no configuration file;
//! and the shape of the crate's modules.

#[path = "support/fake_ollama.rs"]
mod fake_ollama;
#[path = "support/mcp_peers.rs"]
mod mcp_peers;

mod core {
    mod chat;
    mod cli;
    mod common;
    mod first_run;
    mod layers;
    mod metrics;
}
