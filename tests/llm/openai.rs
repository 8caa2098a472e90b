//! The OpenAI-compatible client against the fake's `/v1` routes (which Ollama also serves).

use std::time::Duration;

use mcp_gateway::config::Provider;
use mcp_gateway::llm::openai::OpenAiClient;
use mcp_gateway::llm::{ChatModel, Message, ModelError, ToolCall};
use serde_json::json;

use crate::fake_ollama::{FakeOllama, Reply, hash_embedding};
use crate::{chat, echo_tool, model_config};

fn client(url: &str) -> OpenAiClient {
    OpenAiClient::new(&model_config(Provider::OpenAi, url)).expect("client builds")
}

/// Text deltas stream, each tool call's fragments merge by index into parsed arguments with the
/// server's id, the finish reason and the usage chunk are read; the request asks for usage and
/// carries the tools in wire shape.
#[tokio::test]
async fn sse_stream_with_tool_calls() {
    let fake = FakeOllama::start(|_| {
        Reply::tool_calls(vec![
            ("everything_echo", json!({"message": "héllo wörld"})),
            ("everything_add", json!({"a": 1, "b": 2})),
        ])
        .with_text("Checking now ")
        .with_counts(30, 9)
    })
    .await;
    let model = client(&fake.url());
    let add = mcp_gateway::llm::ToolSpec {
        name: "everything_add".into(),
        ..echo_tool()
    };
    let tools = [echo_tool(), add];
    let (outcome, deltas) = chat(&model, &[Message::user("echo")], &tools).await;
    let outcome = outcome.expect("reply");
    assert_eq!(deltas, ["Checking ", "now "]);
    assert_eq!(outcome.content, "Checking now ");
    let calls: Vec<(&str, &serde_json::Value)> = outcome
        .tool_calls
        .iter()
        .map(|c| (c.name.as_str(), &c.arguments))
        .collect();
    assert_eq!(
        calls,
        [
            ("everything_echo", &json!({"message": "héllo wörld"})),
            ("everything_add", &json!({"a": 1, "b": 2})),
        ]
    );
    assert!(
        outcome
            .tool_calls
            .iter()
            .all(|c| c.id.as_deref().is_some_and(|id| id.starts_with("call_")))
    );
    assert_eq!(outcome.done_reason.as_deref(), Some("tool_calls"));
    assert_eq!(outcome.usage.prompt_tokens, Some(30));
    assert_eq!(outcome.usage.completion_tokens, Some(9));

    let request = &fake.chat_requests()[0];
    assert_eq!(fake.requests()[0].path, "/v1/chat/completions");
    assert_eq!(request["stream"], true);
    assert_eq!(request["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        request["tools"],
        json!([tools[0].to_wire(), tools[1].to_wire()])
    );
    assert!(request.get("options").is_none());
}

/// Fragments of two calls interleaved by index, as some servers send them, merge correctly,
/// even with the usage chunk and `[DONE]` cut at odd places.
#[tokio::test]
async fn interleaved_fragments_merge_by_index() {
    let fake = FakeOllama::start(|_| {
        Reply::raw_lines([
            r#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_first","type":"function","function":{"name":"a","arguments":"{\"x\""}}]}}]}"#,
            "",
            r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_second","type":"function","function":{"name":"b","arguments":"{}"}}]}}]}"#,
            "",
            ": comment lines are ignored",
            r#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":": 1}"}}]}}]}"#,
            "",
            r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "",
            "data: [DONE]",
            "",
        ])
    })
    .await;
    let (outcome, _) = chat(&client(&fake.url()), &[Message::user("x")], &[]).await;
    assert_eq!(
        outcome.expect("reply").tool_calls,
        [
            ToolCall {
                id: Some("call_first".into()),
                name: "a".into(),
                arguments: json!({"x": 1}),
            },
            ToolCall {
                id: Some("call_second".into()),
                name: "b".into(),
                arguments: json!({}),
            },
        ]
    );
}

/// A tool call and its result go back in the chat-completions shape: string arguments and
/// `tool_call_id`.
#[tokio::test]
async fn tool_round_trip_shape() {
    let fake = FakeOllama::scripted(vec![
        Reply::tool_call("everything_echo", json!({"message": "hi"})),
        Reply::text("done"),
    ])
    .await;
    let model = client(&fake.url());
    let mut messages = vec![Message::user("echo hi")];
    let (first, _) = chat(&model, &messages, &[echo_tool()]).await;
    let call = first.expect("reply").tool_calls.remove(0);
    messages.push(Message {
        tool_calls: vec![call.clone()],
        ..Message::assistant("")
    });
    messages.push(Message::tool_result(&call, "echo: hi"));
    let (second, _) = chat(&model, &messages, &[echo_tool()]).await;
    assert_eq!(second.expect("reply").content, "done");
    let id = call.id.expect("id");
    assert_eq!(
        fake.chat_requests()[1]["messages"],
        json!([
            {"role": "user", "content": "echo hi"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": id, "type": "function", "function": {"name": "everything_echo", "arguments": "{\"message\":\"hi\"}"}}
            ]},
            {"role": "tool", "content": "echo: hi", "tool_call_id": id},
        ])
    );
}

/// An error body (`{"error":{"message":…}}`) gives its message; 401 points at the key file; an
/// error event mid-stream fails the reply.
#[tokio::test]
async fn error_bodies_and_events() {
    let fake = FakeOllama::scripted(vec![
        Reply::status(
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
        ),
        Reply::status(500, json!({"object": "error", "message": "engine died", "code": 500})),
        Reply::error_mid_stream("Some text ", "CUDA out of memory"),
    ])
    .await;
    let model = client(&fake.url());
    let (unauthorized, _) = chat(&model, &[Message::user("x")], &[]).await;
    match unauthorized {
        Err(ModelError::Server {
            status: 401,
            message,
        }) => {
            assert!(message.contains("Incorrect API key provided"), "{message}");
            assert!(message.contains("api_key_file"), "{message}");
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let (died, _) = chat(&model, &[Message::user("x")], &[]).await;
    assert!(
        matches!(&died, Err(ModelError::Server { status: 500, message }) if message == "engine died"),
        "{died:?}"
    );
    let (mid, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    assert!(
        matches!(&mid, Err(ModelError::Server { status: 200, message }) if message == "CUDA out of memory"),
        "{mid:?}"
    );
    assert_eq!(deltas, ["Some ", "text "]);
}

/// The key from `api_key_file` goes as a bearer header, and never shows in the client's debug
/// output.
#[tokio::test]
async fn bearer_key_from_file() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "sk-test-secret\n").expect("write key");
    let mut config = model_config(Provider::OpenAi, &fake.url());
    config.api_key_file = Some(key_file);
    let model = OpenAiClient::new(&config).expect("client builds");
    assert!(!format!("{model:?}").contains("sk-test-secret"));
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    assert_eq!(outcome.expect("reply").content, "ok");
    let request = &fake.requests()[0];
    assert_eq!(
        request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer sk-test-secret")
    );

    config.api_key_file = Some(dir.path().join("missing"));
    let error = OpenAiClient::new(&config).expect_err("no key file");
    assert!(error.to_string().contains("missing"), "{error}");
}

/// A base URL ending in `/v1` works as well as the server root; models and embeddings come from
/// `/v1/models` and `/v1/embeddings`.
#[tokio::test]
async fn v1_base_url_models_and_embeddings() {
    let fake = FakeOllama::start(|_| Reply::text("hello")).await;
    fake.set_models(vec!["qwen2.5:7b".into(), "nomic-embed-text".into()]);
    let model = client(&format!("{}/v1", fake.url()));
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    assert_eq!(outcome.expect("reply").content, "hello");
    assert_eq!(
        model.list_models().await.expect("models"),
        ["qwen2.5:7b", "nomic-embed-text:latest"]
    );
    let inputs = ["a b".to_owned(), "c".to_owned()];
    let vectors = model
        .embed("nomic-embed-text", &inputs)
        .await
        .expect("embeddings");
    assert_eq!(vectors, [hash_embedding("a b"), hash_embedding("c")]);
    let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/v1/chat/completions", "/v1/models", "/v1/embeddings"]
    );
}

/// Nothing listening gives `Unreachable` naming the URL; a stalled stream times out.
#[tokio::test]
async fn unreachable_and_idle() {
    let url = FakeOllama::unreachable_url();
    let (outcome, _) = chat(&client(&url), &[Message::user("x")], &[]).await;
    assert!(
        matches!(&outcome, Err(ModelError::Unreachable { url: shown, .. }) if *shown == url),
        "{outcome:?}"
    );

    let fake =
        FakeOllama::start(|_| Reply::chunks(["a", "b"]).with_chunk_delay(Duration::from_secs(5)))
            .await;
    let mut config = model_config(Provider::OpenAi, &fake.url());
    config.idle_timeout = Duration::from_millis(300);
    let model = OpenAiClient::new(&config).expect("client builds");
    let (outcome, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    assert!(
        matches!(outcome, Err(ModelError::Timeout(_))),
        "{outcome:?}"
    );
    assert_eq!(deltas, ["a"]);
}
