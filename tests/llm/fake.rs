//! The fake Ollama itself: its wire format matches Ollama's, so tests built on it mean something.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::fake_ollama::{FakeOllama, Reply};

async fn post(url: String, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("the fake answers")
}

/// Streamed chunks and the final chunk carry Ollama's field names and types.
#[tokio::test]
async fn streams_ollama_field_names() {
    let fake = FakeOllama::start(|_| Reply::text("Hello there")).await;
    let response = post(
        format!("{}/api/chat", fake.url()),
        json!({"model": "qwen2.5:7b", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-ndjson")
    );
    let text = response.text().await.expect("body");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3);
    for chunk in &lines[..2] {
        assert_eq!(chunk["model"], "qwen2.5:7b");
        assert!(chunk["created_at"].is_string());
        assert_eq!(chunk["message"]["role"], "assistant");
        assert_eq!(chunk["done"], false);
    }
    assert_eq!(lines[0]["message"]["content"], "Hello ");
    let last = &lines[2];
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    for field in [
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    ] {
        assert!(last[field].is_u64(), "{field} in {last}");
    }
}

/// Tool calls use Ollama's shape: an id `call_` + 8 lowercase letters or digits, and
/// `function.{index,name,arguments}` with object arguments.
#[tokio::test]
async fn tool_calls_in_ollama_shape() {
    let fake = FakeOllama::start(|_| Reply::tool_call("t", json!({"a": 1}))).await;
    let text = post(format!("{}/api/chat", fake.url()), json!({"model": "m"}))
        .await
        .text()
        .await
        .expect("body");
    let first: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
    let call = &first["message"]["tool_calls"][0];
    let id = call["id"].as_str().expect("id");
    assert!(
        id.len() == 13
            && id[5..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
    assert_eq!(
        call["function"],
        json!({"index": 0, "name": "t", "arguments": {"a": 1}})
    );
}

/// `split_inside_utf8` really cuts a character between two HTTP chunks.
#[tokio::test]
async fn splits_inside_a_character() {
    let fake = FakeOllama::start(|_| Reply::chunks(["é"]).split_inside_utf8()).await;
    let response = post(format!("{}/api/chat", fake.url()), json!({"model": "m"})).await;
    let chunks: Vec<_> = response.bytes_stream().collect().await;
    let chunks: Vec<_> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    assert!(chunks.len() >= 2, "{chunks:?}");
    assert!(
        std::str::from_utf8(&chunks[0]).is_err(),
        "first chunk ends inside é: {chunks:?}"
    );
}

/// `"stream": false` gets one object; a request without a model gets Ollama's 400.
#[tokio::test]
async fn non_streaming_and_bad_requests() {
    let fake = FakeOllama::start(|_| Reply::text("whole reply")).await;
    let whole: Value = post(
        format!("{}/api/chat", fake.url()),
        json!({"model": "m", "stream": false}),
    )
    .await
    .json()
    .await
    .expect("one object");
    assert_eq!(whole["message"]["content"], "whole reply");
    assert_eq!(whole["done"], true);
    let missing = post(format!("{}/api/chat", fake.url()), json!({"messages": []})).await;
    assert_eq!(missing.status(), 400);
    assert_eq!(fake.chat_requests().len(), 2);
    assert_eq!(fake.replies_sent(), 1);
}

/// The OpenAI route ends with a finish chunk, a usage chunk when asked, and `[DONE]`.
#[tokio::test]
async fn openai_route_ends_properly() {
    let fake = FakeOllama::start(|_| Reply::text("hi")).await;
    let text = post(
        format!("{}/v1/chat/completions", fake.url()),
        json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await
    .text()
    .await
    .expect("body");
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let usage: Value =
        serde_json::from_str(&events[events.len() - 2]["data: ".len()..]).expect("JSON");
    assert!(usage["usage"]["prompt_tokens"].is_u64());
    let finish: Value =
        serde_json::from_str(&events[events.len() - 3]["data: ".len()..]).expect("JSON");
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
}

/// Dropping the fake stops it: new connections are refused.
#[tokio::test]
async fn stops_when_dropped() {
    let fake = FakeOllama::start(|_| Reply::text("x")).await;
    let url = fake.url();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let result = reqwest::Client::new()
        .get(format!("{url}/api/tags"))
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_connect()));
}
