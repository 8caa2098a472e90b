//! Streaming replies and tool calls over Ollama's native `/api/chat`.

use std::sync::Arc;
use std::time::Duration;

use mcp_gateway::config::{KeepAlive, Provider};
use mcp_gateway::llm::ollama::OllamaClient;
use mcp_gateway::llm::{ChatModel, ChatRequest, Message, ToolCall, ToolSpec};
use serde_json::json;

use crate::fake_ollama::{FakeOllama, Reply};
use crate::{chat, echo_tool, model_config};

fn client(fake: &FakeOllama) -> OllamaClient {
    OllamaClient::new(&model_config(Provider::Ollama, &fake.url())).expect("client builds")
}

/// Text deltas reach `on_delta` one by one, in order, while the reply is still streaming; the
/// outcome holds the whole text, the stop reason and the final chunk's counts.
#[tokio::test]
async fn deltas_stream_in_order_as_they_arrive() {
    let fake = FakeOllama::start(|_| {
        Reply::chunks(["Hel", "lo, ", "wörld", "!"])
            .with_chunk_delay(Duration::from_millis(150))
            .with_counts(42, 4)
    })
    .await;
    let model = Arc::new(client(&fake));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let task = tokio::spawn({
        let model = Arc::clone(&model);
        async move {
            let messages = [Message::user("hi")];
            let request = ChatRequest {
                messages: &messages,
                tools: &[],
            };
            let sink = move |text: &str| {
                let _ = tx.send(text.to_owned());
            };
            model.chat(&request, &sink).await
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
    assert_eq!(first.ok().flatten().as_deref(), Some("Hel"));
    assert!(
        !task.is_finished(),
        "the first delta came before the reply was complete"
    );
    let outcome = task.await.expect("task ran").expect("reply succeeds");
    let mut rest = Vec::new();
    while let Ok(delta) = rx.try_recv() {
        rest.push(delta);
    }
    assert_eq!(rest, ["lo, ", "wörld", "!"]);
    assert_eq!(outcome.content, "Hello, wörld!");
    assert!(outcome.tool_calls.is_empty());
    assert_eq!(outcome.done_reason.as_deref(), Some("stop"));
    assert_eq!(outcome.usage.prompt_tokens, Some(42));
    assert_eq!(outcome.usage.completion_tokens, Some(4));
    assert!(
        outcome
            .usage
            .server_duration
            .is_some_and(|d| d >= Duration::from_millis(400))
    );
}

/// A tool call and its result make the round trip in Ollama's shape: the request carries
/// `options.num_ctx` (and the configured temperature and keep-alive), `think: false`, the tools
/// as `{"type":"function",...}`, the assistant's call with its id and object arguments (without
/// the text that came with it, which the qwen template would render instead of the call), and
/// the tool result with `tool_name`.
#[tokio::test]
async fn tool_call_round_trip_shape() {
    let fake = FakeOllama::scripted(vec![
        Reply::tool_call("everything_echo", json!({"message": "hi"})).with_text("Let me echo. "),
        Reply::text("It said hi."),
    ])
    .await;
    let mut config = model_config(Provider::Ollama, &fake.url());
    config.temperature = Some(0.3);
    config.keep_alive = Some(KeepAlive::Duration("10m".into()));
    let model = OllamaClient::new(&config).expect("client builds");
    let tools = [echo_tool()];
    let mut messages = vec![
        Message::system("Be brief."),
        Message::user("please echo hi"),
    ];

    let (first, deltas) = chat(&model, &messages, &tools).await;
    let first = first.expect("first reply");
    assert_eq!(deltas, ["Let ", "me ", "echo. "]);
    assert_eq!(first.content, "Let me echo. ");
    let [call] = first.tool_calls.as_slice() else {
        panic!("one call expected, got {:?}", first.tool_calls);
    };
    assert_eq!(call.name, "everything_echo");
    assert_eq!(call.arguments, json!({"message": "hi"}));
    let id = call.id.clone().expect("Ollama assigns ids");
    assert!(id.starts_with("call_") && id.len() == 13, "{id}");

    messages.push(Message {
        tool_calls: first.tool_calls.clone(),
        ..Message::assistant(first.content.clone())
    });
    messages.push(Message::tool_result(call, "echo: hi"));
    let (second, _) = chat(&model, &messages, &tools).await;
    assert_eq!(second.expect("second reply").content, "It said hi.");

    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request["model"], "qwen2.5:7b");
        assert_eq!(request["stream"], true);
        assert_eq!(
            request["options"],
            json!({"num_ctx": 8192, "temperature": 0.3})
        );
        assert_eq!(request["keep_alive"], "10m");
        assert_eq!(request["think"], false);
        assert_eq!(request["tools"], json!([echo_tool().to_wire()]));
    }
    let seen = fake.seen();
    assert!(
        seen[1].prompt.contains(
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"everything_echo\", \"arguments\": {\"message\":\"hi\"}}\n</tool_call><|im_end|>"
        ),
        "the model sees its own call: {}",
        seen[1].prompt
    );
    assert_eq!(
        requests[1]["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "please echo hi"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": id, "function": {"name": "everything_echo", "arguments": {"message": "hi"}}}
            ]},
            {"role": "tool", "content": "echo: hi", "tool_name": "everything_echo", "tool_call_id": id},
        ])
    );
}

/// Without tools the request has no `tools` key, but `num_ctx` is still sent.
#[tokio::test]
async fn num_ctx_is_sent_without_tools() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let (outcome, _) = chat(&client(&fake), &[Message::user("hi")], &[]).await;
    assert_eq!(outcome.expect("reply").content, "ok");
    let request = &fake.chat_requests()[0];
    assert_eq!(request["options"], json!({"num_ctx": 8192}));
    assert!(request.get("tools").is_none());
    assert!(request.get("keep_alive").is_none());
}

/// Parallel calls spread over several chunks are all gathered, in order, each with its own id.
#[tokio::test]
async fn calls_are_gathered_from_every_chunk() {
    let fake = FakeOllama::start(|_| {
        Reply::tool_calls(vec![
            ("notion_search", json!({"query": "plans"})),
            ("gcal_list_events", json!({"day": "today"})),
        ])
    })
    .await;
    let named = |name: &str| ToolSpec {
        name: name.into(),
        ..echo_tool()
    };
    let tools = [named("notion_search"), named("gcal_list_events")];
    let (outcome, deltas) = chat(&client(&fake), &[Message::user("x")], &tools).await;
    let outcome = outcome.expect("reply");
    assert!(deltas.is_empty());
    let names: Vec<&str> = outcome.tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["notion_search", "gcal_list_events"]);
    assert_eq!(outcome.tool_calls[1].arguments, json!({"day": "today"}));
    assert_ne!(outcome.tool_calls[0].id, outcome.tool_calls[1].id);
}

/// Arguments a model writes as a string holding JSON reach the client as an object (Ollama's
/// parser decodes them); arguments that were never an object go back to Ollama as `{}`, which it
/// requires, so the tool's error can still be reported to the model.
#[tokio::test]
async fn string_encoded_arguments_are_accepted() {
    let fake = FakeOllama::scripted(vec![Reply::tool_call(
        "everything_echo",
        json!("{\"message\": \"from a string\"}"),
    )])
    .await;
    let model = client(&fake);
    let (good, _) = chat(&model, &[Message::user("x")], &[echo_tool()]).await;
    assert_eq!(
        good.expect("reply").tool_calls[0].arguments,
        json!({"message": "from a string"})
    );

    let call = ToolCall {
        id: Some("call_abcdefgh".into()),
        name: "everything_echo".into(),
        arguments: json!("{\"message\": "),
    };
    let messages = [
        Message::user("x"),
        Message {
            tool_calls: vec![call.clone()],
            ..Message::assistant("")
        },
        Message::tool_result(&call, "error: arguments are not valid JSON"),
    ];
    let fake2 = FakeOllama::start(|_| Reply::text("sorry")).await;
    let (outcome, _) = chat(&client(&fake2), &messages, &[]).await;
    assert_eq!(outcome.expect("Ollama takes it").content, "sorry");
    assert_eq!(
        fake2.chat_requests()[0]["messages"][1]["tool_calls"][0]["function"]["arguments"],
        json!({})
    );
}

/// Characters split across HTTP chunks, at the first multi-byte character of each line or at
/// every byte, arrive whole.
#[tokio::test]
async fn utf8_split_across_http_chunks_survives() {
    let fake = FakeOllama::scripted(vec![
        Reply::chunks(["café ", "日本語 ", "🎉"]).split_inside_utf8(),
        Reply::chunks(["naïve ", "ünïcödé"]).with_chunk_bytes(3),
    ])
    .await;
    let model = client(&fake);
    let (first, deltas) = chat(&model, &[Message::user("x")], &[]).await;
    assert_eq!(first.expect("reply").content, "café 日本語 🎉");
    assert_eq!(deltas, ["café ", "日本語 ", "🎉"]);
    let (second, _) = chat(&model, &[Message::user("x")], &[]).await;
    assert_eq!(second.expect("reply").content, "naïve ünïcödé");
}

/// An empty reply is fine and keeps the server's stop reason.
#[tokio::test]
async fn empty_reply_keeps_done_reason() {
    let fake = FakeOllama::start(|_| Reply::text("").with_done_reason("length")).await;
    let (outcome, deltas) = chat(&client(&fake), &[Message::user("x")], &[]).await;
    let outcome = outcome.expect("reply");
    assert!(outcome.content.is_empty() && deltas.is_empty());
    assert_eq!(outcome.done_reason.as_deref(), Some("length"));
}

/// `model_name` and `context_tokens` report the configuration.
#[tokio::test]
async fn reports_its_configuration() {
    let fake = FakeOllama::start(|_| Reply::text("")).await;
    let model = client(&fake);
    assert_eq!(model.model_name(), "qwen2.5:7b");
    assert_eq!(model.context_tokens(), 8192);
}
