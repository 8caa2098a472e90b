//! The embedding path against the fake's `/api/embed`, and its fallback when that fails.

use serde_json::Value;

use super::common::{FixtureTools, Setup, names, turn};
use crate::fake_ollama::{FakeOllama, Reply};

const EMBED: &str = "embed_name = \"nomic-embed-text\"";

/// With `embed_name`, tools are embedded once (cached in the store) and each message every turn.
#[tokio::test]
async fn tool_vectors_are_embedded_once_and_cached() {
    let ollama = FakeOllama::start(|_: &Value| Reply::text("ok")).await;
    ollama.set_models(vec!["qwen2.5:7b".into(), "nomic-embed-text".into()]);
    let setup = Setup::new(&ollama, EMBED, "");
    let agent = setup.agent(FixtureTools::new(setup.catalog()));
    turn(&agent, "whats on thurs").await;
    turn(&agent, "and friday?").await;
    let embeds = ollama.embed_requests();
    let inputs: Vec<usize> = embeds
        .iter()
        .map(|r| r["input"].as_array().map_or(1, Vec::len))
        .collect();
    assert_eq!(
        inputs,
        [53, 1, 1],
        "53 tool texts (the fixtures' 50 and the 3 built-in) once, then one message per turn"
    );
    assert!(embeds.iter().all(|r| r["model"] == "nomic-embed-text"));
    assert!(names(&ollama.chat_requests()[0]).contains(&"gcal_list_events".to_owned()));
    // A new agent on the same store reads the cached vectors instead of embedding again.
    let again = setup.agent(FixtureTools::new(setup.catalog()));
    turn(&again, "whats on monday").await;
    let count = ollama.embed_requests().len();
    assert_eq!(count, 4, "only the message was embedded");
    // `route` uses the same selector: it offers what a fresh turn offers.
    let printed = setup.route_json("whats on monday").await;
    let last = ollama.chat_requests().last().cloned().unwrap();
    assert_eq!(last["tools"], Value::Array(printed));
}

/// When `/api/embed` fails, the turn still answers and offers the lexical selection.
#[tokio::test]
async fn failing_embeddings_fall_back_to_words() {
    let lexical = {
        let ollama = FakeOllama::scripted(vec![Reply::text("ok")]).await;
        let setup = Setup::new(&ollama, "", "");
        setup.route_json("note to self: buy milk").await
    };
    let ollama = FakeOllama::scripted(vec![Reply::text("noted")]).await;
    ollama.set_embed_responder(|_| Reply::status(500, serde_json::json!({"error": "boom"})));
    let setup = Setup::new(&ollama, EMBED, "");
    let agent = setup.agent(FixtureTools::new(setup.catalog()));
    let outcome = turn(&agent, "note to self: buy milk").await;
    assert_eq!(outcome.reply, "noted");
    assert!(!ollama.embed_requests().is_empty(), "embeddings were tried");
    assert_eq!(ollama.chat_requests()[0]["tools"], Value::Array(lexical));
}
