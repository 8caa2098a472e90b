//! Failures over Ollama's native API: each maps to the `ModelError` that tells the operator what
//! happened, and none hangs or panics.

use std::time::{Duration, Instant};

use mcp_gateway::config::Provider;
use mcp_gateway::llm::ollama::OllamaClient;
use mcp_gateway::llm::{ChatModel, Cut, Message, ModelError};
use serde_json::json;

use crate::fake_ollama::{FakeOllama, ModelSpec, REPEAT_LIMIT, Reply};
use crate::{chat, model_config};

fn client(url: &str, timeout: Duration) -> OllamaClient {
    let mut config = model_config(Provider::Ollama, url);
    config.request_timeout = timeout;
    config.first_byte_timeout = timeout;
    config.idle_timeout = timeout;
    OllamaClient::new(&config).expect("client builds")
}

/// An `{"error":…}` line after text, with status 200, fails the reply with the server's message;
/// the text before it was already passed on.
#[tokio::test]
async fn error_line_mid_stream() {
    let fake = FakeOllama::start(|_| {
        Reply::error_mid_stream("Partial answer ", "model runner has unexpectedly stopped")
    })
    .await;
    let model = client(&fake.url(), Duration::from_secs(10));
    let (outcome, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    match outcome {
        Err(ModelError::Server {
            status: 200,
            message,
        }) => {
            assert_eq!(message, "model runner has unexpectedly stopped");
        }
        other => panic!("expected a mid-stream server error, got {other:?}"),
    }
    assert_eq!(deltas, ["Partial ", "answer "]);
}

/// A model that is not pulled gives `ModelNotFound`, whose message is the exact command to run,
/// for chat and for embeddings alike.
#[tokio::test]
async fn model_not_pulled() {
    let fake = FakeOllama::start(|_| Reply::model_not_found("qwen2.5:7b")).await;
    let model = client(&fake.url(), Duration::from_secs(10));
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    let error = outcome.expect_err("the model is missing");
    assert!(matches!(&error, ModelError::ModelNotFound { model } if model == "qwen2.5:7b"));
    assert!(
        error.to_string().contains("ollama pull qwen2.5:7b"),
        "{error}"
    );

    let error = model
        .embed("nomic-embed-text", &["hello".to_owned()])
        .await
        .expect_err("the embedding model is missing");
    assert!(
        error.to_string().contains("ollama pull nomic-embed-text"),
        "{error}"
    );
}

/// With nothing listening, the reply is `Unreachable` at once (no waiting for a timeout), and the
/// message names the URL and says to start Ollama.
#[tokio::test]
async fn ollama_down_is_unreachable_at_once() {
    let url = FakeOllama::unreachable_url();
    let model = client(&url, Duration::from_secs(60));
    let started = Instant::now();
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    let error = outcome.expect_err("nothing listens");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&error, ModelError::Unreachable { url: shown, .. } if *shown == url),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&url) && text.contains("ollama serve"),
        "{text}"
    );
    assert!(matches!(
        model.list_models().await,
        Err(ModelError::Unreachable { .. })
    ));
}

/// Connecting has its own short limit: a server whose listen queue is full (it accepts nothing
/// more, so the kernel drops new connection attempts) is reported unreachable after the connect
/// timeout, naming it, even though the first output may take a minute.
#[tokio::test]
async fn connecting_has_its_own_limit() {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("address");
    // Fill the listen queue, which is never accepted from, with connections of our own.
    let mut parked = Vec::new();
    for _ in 0..4 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => parked.push(stream),
            _ => break,
        }
    }
    let mut config = model_config(Provider::Ollama, &format!("http://{addr}"));
    config.connect_timeout = Duration::from_millis(400);
    config.first_byte_timeout = Duration::from_secs(60);
    config.idle_timeout = Duration::from_secs(60);
    let model = OllamaClient::new(&config).expect("client builds");
    let started = Instant::now();
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    let waited = started.elapsed();
    let error = outcome.expect_err("no connection");
    assert!(
        matches!(&error, ModelError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("[model].connect_timeout_secs"),
        "{error}"
    );
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
        "took {waited:?}"
    );
    drop(parked);
    drop(listener);
}

/// A stream that stops sending fails after the idle timeout, keeping what came before.
#[tokio::test]
async fn idle_timeout_between_lines() {
    let fake = FakeOllama::start(|_| {
        Reply::chunks(["first ", "second"]).with_chunk_delay(Duration::from_secs(5))
    })
    .await;
    let model = client(&fake.url(), Duration::from_millis(300));
    let (outcome, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    assert!(
        matches!(outcome, Err(ModelError::Timeout(d)) if d == Duration::from_millis(300)),
        "{outcome:?}"
    );
    assert_eq!(deltas, ["first "]);
}

/// A server that sends nothing, not even headers, within the first-byte timeout fails with an
/// error that names that limit.
#[tokio::test]
async fn no_headers_within_the_timeout() {
    let fake =
        FakeOllama::start(|_| Reply::text("late").with_header_delay(Duration::from_secs(5))).await;
    let model = client(&fake.url(), Duration::from_millis(300));
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    let error = outcome.expect_err("too slow");
    assert!(
        matches!(error, ModelError::NoFirstOutput(d) if d == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("first_byte_timeout_secs"),
        "{error}"
    );
}

/// The three limits are separate: a request may wait long for its first output (the server's
/// queue, the load, the prompt) and still be cut off by a short silence later.
#[tokio::test]
async fn first_output_and_silence_have_separate_limits() {
    let fake = FakeOllama::scripted(vec![
        Reply::chunks(["slow ", "start"]).with_header_delay(Duration::from_millis(800)),
        Reply::chunks(["quick ", "then silent"]).with_chunk_delay(Duration::from_millis(800)),
    ])
    .await;
    let mut config = model_config(Provider::Ollama, &fake.url());
    config.first_byte_timeout = Duration::from_secs(5);
    config.idle_timeout = Duration::from_millis(300);
    let model = OllamaClient::new(&config).expect("client builds");
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    assert_eq!(outcome.expect("a slow start is fine").content, "slow start");
    let (outcome, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    assert!(
        matches!(outcome, Err(ModelError::Timeout(d)) if d == Duration::from_millis(300)),
        "{outcome:?}"
    );
    assert_eq!(deltas, ["quick "]);
}

/// A slow but steady stream is not cut off: the timeout is between lines, not for the whole reply.
#[tokio::test]
async fn slow_steady_stream_is_not_cut_off() {
    let fake = FakeOllama::start(|_| {
        Reply::chunks(["a", "b", "c", "d", "e"]).with_chunk_delay(Duration::from_millis(150))
    })
    .await;
    let model = client(&fake.url(), Duration::from_millis(400));
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    assert_eq!(outcome.expect("reply").content, "abcde");
}

/// A line over 1 MiB is refused with a clear error instead of being buffered.
#[tokio::test]
async fn oversized_line_is_refused() {
    let huge = "x".repeat((1 << 20) + 10);
    let line =
        json!({"message": {"role": "assistant", "content": huge}, "done": false}).to_string();
    let fake = FakeOllama::start(move |_| Reply::raw_lines([line.clone()])).await;
    let model = client(&fake.url(), Duration::from_secs(10));
    let (outcome, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    match outcome {
        Err(ModelError::Decode(message)) => assert!(message.contains("longer than"), "{message}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(deltas.is_empty());
}

/// A reply whose text grows past 1 MiB in small chunks is cut off.
#[tokio::test]
async fn reply_size_is_bounded() {
    let chunk = "y".repeat(100_000);
    let fake = FakeOllama::start(move |_| Reply::chunks(vec![chunk.clone(); 12])).await;
    let model = client(&fake.url(), Duration::from_secs(10));
    let (outcome, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    assert!(
        matches!(&outcome, Err(ModelError::Decode(m)) if m.contains("grew past")),
        "{outcome:?}"
    );
    assert_eq!(deltas.len(), 10);
}

/// An error status carries the body's message, truncated.
#[tokio::test]
async fn error_status_message_is_truncated() {
    let fake = FakeOllama::start(|_| Reply::status(500, json!({"error": "é".repeat(5000)}))).await;
    let model = client(&fake.url(), Duration::from_secs(10));
    let (outcome, _) = chat(&model, &[Message::user("x")], &[]).await;
    match outcome {
        Err(ModelError::Server {
            status: 500,
            message,
        }) => {
            assert!(
                message.starts_with("éé") && message.chars().count() <= 401,
                "{message}"
            );
        }
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// Lines that are not chat chunks are errors; a bare final chunk is a reply.
#[tokio::test]
async fn broken_streams_are_errors() {
    let fake = FakeOllama::scripted(vec![
        Reply::raw_lines(["this is not json"]),
        Reply::raw_lines(["", r#"{"done":true,"done_reason":"stop"}"#]),
    ])
    .await;
    let model = client(&fake.url(), Duration::from_secs(10));
    let (garbage, _) = chat(&model, &[Message::user("x")], &[]).await;
    assert!(
        matches!(&garbage, Err(ModelError::Decode(m)) if m.contains("not json")),
        "{garbage:?}"
    );
    let (minimal, _) = chat(&model, &[Message::user("x")], &[]).await;
    let minimal = minimal.expect("a bare final chunk is a reply");
    assert_eq!(minimal.done_reason.as_deref(), Some("stop"));
    assert_eq!(minimal.cut, None);
}

/// The repeat guard's clean end without a final chunk keeps what came and marks it unfinished;
/// `done_reason: "length"` marks the reply as cut at the output limit.
#[tokio::test]
async fn replies_that_end_short_are_kept_and_marked() {
    let fake = FakeOllama::scripted(vec![
        Reply::repeating("It is ", "very ", 60),
        Reply::text("A long answer").with_done_reason("length"),
    ])
    .await;
    let model = client(&fake.url(), Duration::from_secs(10));
    let (repeated, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    let repeated = repeated.expect("what came is a reply");
    assert_eq!(repeated.cut, Some(Cut::Unfinished));
    assert!(
        repeated.content.starts_with("It is very very"),
        "{}",
        repeated.content
    );
    assert_eq!(deltas.len(), 2 + REPEAT_LIMIT + 1);
    let (long, _) = chat(&model, &[Message::user("x")], &[]).await;
    let long = long.expect("reply");
    assert_eq!(long.cut, Some(Cut::Length));
    assert_eq!(long.content, "A long answer");
}

/// A connection cut in the middle of a reply is an error, not a short reply.
#[tokio::test]
async fn a_cut_connection_is_an_error() {
    let fake = FakeOllama::start(|_| {
        Reply::chunks(["Hi ", "there"]).with_chunk_delay(Duration::from_secs(1))
    })
    .await;
    let model = std::sync::Arc::new(client(&fake.url(), Duration::from_secs(10)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let task = tokio::spawn({
        let model = std::sync::Arc::clone(&model);
        async move {
            let messages = [Message::user("x")];
            let request = mcp_gateway::llm::ChatRequest {
                messages: &messages,
                tools: &[],
            };
            let sink = move |text: &str| {
                let _ = tx.send(text.to_owned());
            };
            model.chat(&request, &sink).await
        }
    });
    assert_eq!(rx.recv().await.as_deref(), Some("Hi "));
    drop(fake);
    let outcome = task.await.expect("task");
    assert!(
        matches!(&outcome, Err(ModelError::Decode(m)) if m.contains("broke off")),
        "{outcome:?}"
    );
}

/// A thinking model's reasoning never reaches the text; `think` goes as configured.
#[tokio::test]
async fn thinking_is_never_text() {
    let fake =
        FakeOllama::start(|_| Reply::text("Paris.").with_thinking("The capital is Paris.")).await;
    fake.set_models(vec!["qwen3:8b".into()]);
    let mut config = model_config(Provider::Ollama, &fake.url());
    config.name = "qwen3:8b".into();
    config.think = true;
    let thinking = OllamaClient::new(&config).expect("client builds");
    let (outcome, deltas) = chat(&thinking, &[Message::user("capital?")], &[]).await;
    assert_eq!(outcome.expect("reply").content, "Paris.");
    assert_eq!(deltas, ["Paris."]);
    config.think = false;
    let quick = OllamaClient::new(&config).expect("client builds");
    let _ = chat(&quick, &[Message::user("capital?")], &[]).await;
    let requests = fake.chat_requests();
    assert_eq!(requests[0]["think"], true);
    assert_eq!(requests[1]["think"], false);
    let seen = fake.seen();
    assert!(seen[0].thought && !seen[1].thought);
}

/// Tools offered to a model without the capability give an error that names the fix.
#[tokio::test]
async fn a_model_without_tools_is_named() {
    let fake = FakeOllama::start(|_| Reply::text("hi")).await;
    fake.add_model(ModelSpec::without_tools("gemma2:2b"));
    let mut config = model_config(Provider::Ollama, &fake.url());
    config.name = "gemma2:2b".into();
    let model = OllamaClient::new(&config).expect("client builds");
    let (outcome, _) = chat(&model, &[Message::user("x")], &[crate::echo_tool()]).await;
    let error = outcome.expect_err("refused");
    assert!(
        matches!(&error, ModelError::ToolsUnsupported { model } if model == "gemma2:2b"),
        "{error:?}"
    );
    assert!(error.to_string().contains("tools capability"), "{error}");
}
