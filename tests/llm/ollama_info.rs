//! Ollama's other endpoints: `/api/tags`, `/api/embed`, `/api/show` and `/api/version`.

use std::time::Duration;

use mcp_gateway::config::Provider;
use mcp_gateway::llm::ollama::OllamaClient;
use mcp_gateway::llm::{ChatModel, ModelError};
use serde_json::json;

use crate::fake_ollama::{EMBED_DIMS, FAKE_VERSION, FakeOllama, Reply, hash_embedding};
use crate::model_config;

fn client(fake: &FakeOllama) -> OllamaClient {
    OllamaClient::new(&model_config(Provider::Ollama, &fake.url())).expect("client builds")
}

/// `list_models` returns the pulled models by name.
#[tokio::test]
async fn lists_models() {
    let fake = FakeOllama::start(|_| Reply::text("")).await;
    let model = client(&fake);
    assert_eq!(model.list_models().await.expect("tags"), ["qwen2.5:7b"]);
    fake.set_models(vec!["llama3.2:3b".into(), "nomic-embed-text:latest".into()]);
    assert_eq!(
        model.list_models().await.expect("tags"),
        ["llama3.2:3b", "nomic-embed-text:latest"]
    );
}

/// `embed` sends `{"model","input":[...]}` and returns one vector per input, in order.
#[tokio::test]
async fn embeds_in_order() {
    let fake = FakeOllama::start(|_| Reply::text("")).await;
    fake.set_models(vec!["nomic-embed-text".into()]);
    let model = client(&fake);
    let inputs = vec![
        "search notion pages".to_owned(),
        "list calendar events".to_owned(),
    ];
    let vectors = model
        .embed("nomic-embed-text", &inputs)
        .await
        .expect("embeddings");
    assert_eq!(
        vectors,
        [hash_embedding(&inputs[0]), hash_embedding(&inputs[1])]
    );
    assert_eq!(vectors[0].len(), EMBED_DIMS);
    assert_eq!(
        fake.embed_requests(),
        [json!({"model": "nomic-embed-text", "input": inputs})]
    );
    assert!(
        model
            .embed("nomic-embed-text", &[])
            .await
            .expect("nothing to do")
            .is_empty()
    );
    assert_eq!(fake.embed_requests().len(), 1, "no request for no inputs");
}

/// A server that returns the wrong number of vectors is caught.
#[tokio::test]
async fn embedding_count_is_checked() {
    let fake = FakeOllama::start(|_| Reply::text("")).await;
    fake.set_embed_responder(|_| Reply::embeddings(vec![vec![1.0, 0.0]]));
    let error = client(&fake)
        .embed("any", &["a".to_owned(), "b".to_owned()])
        .await
        .expect_err("one vector for two inputs");
    assert!(
        matches!(error, ModelError::Decode(ref m) if m.contains("got 1")),
        "{error}"
    );
}

/// `show` reports capabilities and context length, and a missing model as not pulled;
/// `version` reports the server version.
#[tokio::test]
async fn show_and_version() {
    let fake = FakeOllama::start(|_| Reply::text("")).await;
    let model = client(&fake);
    let details = model.show("qwen2.5:7b").await.expect("show");
    assert!(details.supports_tools());
    assert_eq!(details.context_length, Some(32768));
    let missing = model.show("gemma3:1b").await.expect_err("not pulled");
    assert!(
        missing.to_string().contains("ollama pull gemma3:1b"),
        "{missing}"
    );
    assert_eq!(model.version().await.expect("version"), FAKE_VERSION);
}

/// Non-streaming requests are bounded by the request timeout as a whole.
#[tokio::test]
async fn embed_times_out() {
    let fake = FakeOllama::start(|_| Reply::text("")).await;
    fake.set_embed_responder(|_| {
        Reply::embeddings(vec![vec![0.0]]).with_header_delay(Duration::from_secs(5))
    });
    let mut config = model_config(Provider::Ollama, &fake.url());
    config.request_timeout = Duration::from_millis(200);
    let model = OllamaClient::new(&config).expect("client builds");
    let error = model
        .embed("m", &["a".to_owned()])
        .await
        .expect_err("too slow");
    assert!(matches!(error, ModelError::Timeout(_)), "{error:?}");
}
