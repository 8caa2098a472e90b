//! Per-turn tool selection through real agent turns against a fake Ollama, and `mcp-gateway
//! route` through the built binary, over the Notion and Calendar catalog fixtures.

#[path = "support/fake_ollama.rs"]
mod fake_ollama;
#[path = "support/fixture_agent.rs"]
mod fixture_agent;

mod select {
    mod common;
    mod embeddings;
    mod route;
    mod schemas;
    mod turns;
}
