//! The fake Ollama itself: its wire format and its behaviour match Ollama 0.12.11's, so tests
//! built on it mean something.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::fake_ollama::{FakeOllama, ModelSpec, REPEAT_LIMIT, Reply};

async fn post(url: String, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("the fake answers")
}

/// A chat request to `model` with one user message.
fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// The NDJSON lines of a streamed answer.
async fn lines(response: reqwest::Response) -> Vec<Value> {
    response
        .text()
        .await
        .expect("body")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn tool(name: &str) -> Value {
    json!({"type": "function", "function": {"name": name, "description": "A tool",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}})
}

/// Streamed chunks and the final chunk carry Ollama's field names and types.
#[tokio::test]
async fn streams_ollama_field_names() {
    let fake = FakeOllama::start(|_| Reply::text("Hello there")).await;
    let response = post(format!("{}/api/chat", fake.url()), ask("qwen2.5:7b", "hi")).await;
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-ndjson")
    );
    let lines = lines(response).await;
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
    assert_eq!(
        last["prompt_eval_count"].as_u64(),
        Some(fake.seen()[0].tokens as u64),
        "the prompt is counted as the model saw it"
    );
}

/// Tool calls use Ollama's shape: an id `call_` + 8 lowercase letters or digits, and
/// `function.{index,name,arguments}` with object arguments; text before the call is content.
#[tokio::test]
async fn tool_calls_in_ollama_shape() {
    let fake =
        FakeOllama::start(|_| Reply::tool_call("t", json!({"a": 1})).with_text("Let me see. "))
            .await;
    let mut request = ask("qwen2.5:7b", "x");
    request["tools"] = json!([tool("t")]);
    let lines = lines(post(format!("{}/api/chat", fake.url()), request).await).await;
    let content: String = lines
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect();
    assert_eq!(content, "Let me see. ");
    let calls: Vec<&Value> = lines
        .iter()
        .filter_map(|l| l["message"]["tool_calls"].as_array())
        .flatten()
        .collect();
    let [call] = calls.as_slice() else {
        panic!("one call: {lines:?}");
    };
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

/// Without tools in the request there is no parser: the markup is plain content.
#[tokio::test]
async fn without_tools_the_markup_is_content() {
    let fake = FakeOllama::start(|_| Reply::tool_call("t", json!({"a": 1}))).await;
    let lines = lines(post(format!("{}/api/chat", fake.url()), ask("qwen2.5:7b", "x")).await).await;
    let content: String = lines
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect();
    assert_eq!(
        content,
        "<tool_call>\n{\"name\": \"t\", \"arguments\": {\"a\":1}}\n</tool_call>"
    );
}

/// Ollama's parser swallows, after `<tool_call>`, whatever it does not accept: a call without
/// arguments, a call to a tool not offered, broken JSON, and text after a call. Text before the
/// tag still comes through.
#[tokio::test]
async fn the_parser_swallows_what_it_does_not_accept() {
    let outputs = [
        "<tool_call>\n{\"name\": \"notion_search\"}\n</tool_call>",
        "<tool_call>\n{\"name\": \"gcal_list_events\", \"arguments\": {\"q\": \"x\"}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"notion_search\", \"arguments\": {\"q\": \"x\"\n</tool_call>",
        "Sure. <tool_call>\nI will look that up for you now.",
    ];
    for output in outputs {
        let fake = FakeOllama::start(move |_| Reply::generated(output)).await;
        let mut request = ask("qwen2.5:7b", "x");
        request["tools"] = json!([tool("notion_search")]);
        let lines = lines(post(format!("{}/api/chat", fake.url()), request).await).await;
        let content: String = lines
            .iter()
            .filter_map(|l| l["message"]["content"].as_str())
            .collect();
        let expected = output.split("<tool_call>").next().unwrap_or_default();
        assert_eq!(content, expected, "{output:?}");
        assert!(
            lines
                .iter()
                .all(|l| l["message"].get("tool_calls").is_none()),
            "{output:?}: {lines:?}"
        );
        assert_eq!(lines.last().map(|l| l["done"].clone()), Some(json!(true)));
    }
    // What the parser does accept: arguments as a string holding an object, and a second call
    // whose text after it is swallowed.
    let fake = FakeOllama::start(|_| {
        Reply::generated(
            "<tool_call>\n{\"name\": \"notion_search\", \"arguments\": \"{\\\"q\\\": \\\"x\\\"}\"}\n</tool_call>\n<tool_call>\n{\"name\": \"notion_search\", \"arguments\": {}}\n</tool_call> Done!",
        )
    })
    .await;
    let mut request = ask("qwen2.5:7b", "x");
    request["tools"] = json!([tool("notion_search")]);
    let lines = lines(post(format!("{}/api/chat", fake.url()), request).await).await;
    let calls: Vec<Value> = lines
        .iter()
        .filter_map(|l| l["message"]["tool_calls"].as_array())
        .flatten()
        .map(|c| c["function"].clone())
        .collect();
    assert_eq!(
        calls,
        [
            json!({"index": 0, "name": "notion_search", "arguments": {"q": "x"}}),
            json!({"index": 1, "name": "notion_search", "arguments": {}}),
        ]
    );
    assert!(lines.iter().all(|l| {
        l["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    }));
}

/// One slot: a second request gets no status and no headers until the first has finished, and
/// the model never answers two at once.
#[tokio::test]
async fn one_request_at_a_time_and_no_headers_before_output() {
    let fake = FakeOllama::start(|_| Reply::text("done")).await;
    fake.set_request_time(Duration::from_millis(400));
    let url = format!("{}/api/chat", fake.url());
    let started = Instant::now();
    let first = tokio::spawn(post(url.clone(), ask("qwen2.5:7b", "one")));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = post(url, ask("qwen2.5:7b", "two")).await;
    let headers_after = started.elapsed();
    assert!(
        headers_after >= Duration::from_millis(750),
        "the second waited for the first and its own prompt: {headers_after:?}"
    );
    assert_eq!(second.status(), 200);
    assert_eq!(first.await.expect("task").status(), 200);
    assert_eq!(fake.most_at_once(), 1);
    let seen = fake.seen();
    assert!(seen[1].slot_at.duration_since(seen[0].slot_at) >= Duration::from_millis(400));

    fake.set_parallel(2);
    let url = format!("{}/api/chat", fake.url());
    let _ = futures::future::join(
        post(url.clone(), ask("qwen2.5:7b", "a")),
        post(url, ask("qwen2.5:7b", "b")),
    )
    .await;
    assert_eq!(fake.most_at_once(), 2, "two slots answer two at once");
}

/// A prompt longer than the context loses whole messages from the front, without an error; the
/// system message and the last message stay. Without `num_ctx` the context is 4096.
#[tokio::test]
async fn truncation_from_the_front() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let long = "word ".repeat(3000);
    let request = json!({"model": "qwen2.5:7b", "options": {"num_ctx": 2048}, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": format!("first question {long}")},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
    ]});
    let response = post(format!("{}/api/chat", fake.url()), request).await;
    assert_eq!(response.status(), 200);
    let seen = &fake.seen()[0];
    assert_eq!(seen.num_ctx, 2048);
    assert_eq!(seen.dropped, 1);
    assert!(seen.prompt.contains("Be brief."), "{}", seen.prompt);
    assert!(seen.prompt.contains("first answer"));
    assert!(seen.prompt.contains("second question"));
    assert!(!seen.prompt.contains("first question"));
    assert!(seen.tokens <= 2048);

    let _ = post(format!("{}/api/chat", fake.url()), ask("qwen2.5:7b", "hi")).await;
    assert_eq!(fake.seen()[1].num_ctx, 4096);
}

/// A change of `num_ctx` reloads the model; the same options reuse it.
#[tokio::test]
async fn changed_runner_options_reload_the_model() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let url = format!("{}/api/chat", fake.url());
    let with_ctx = |n: u64| {
        json!({"model": "qwen2.5:7b", "options": {"num_ctx": n},
            "messages": [{"role": "user", "content": "hi"}]})
    };
    let _ = post(url.clone(), with_ctx(16384)).await;
    let _ = post(url.clone(), with_ctx(16384)).await;
    assert_eq!(fake.loads(), 1);
    let _ = post(url.clone(), ask("qwen2.5:7b", "hi")).await;
    let _ = post(url, with_ctx(16384)).await;
    assert_eq!(
        fake.loads(),
        3,
        "another client's default context costs two reloads"
    );
    let ps: Value = reqwest::get(format!("{}/api/ps", fake.url()))
        .await
        .expect("ps")
        .json()
        .await
        .expect("JSON");
    assert_eq!(ps["models"][0]["context_length"], 16384);
}

/// A thinking model thinks unless told not to; `think: true` for another model is a 400.
#[tokio::test]
async fn thinking_is_on_by_default_for_thinking_models() {
    let fake =
        FakeOllama::start(|_| Reply::text("Answer.").with_thinking("Hmm, let me see.")).await;
    fake.set_models(vec!["qwen3:8b".into(), "qwen2.5:7b".into()]);
    let url = format!("{}/api/chat", fake.url());
    let thinking = |lines: &[Value]| -> String {
        lines
            .iter()
            .filter_map(|l| l["message"]["thinking"].as_str())
            .collect()
    };
    let default = lines(post(url.clone(), ask("qwen3:8b", "hi")).await).await;
    assert_eq!(thinking(&default), "Hmm, let me see.");
    let mut off = ask("qwen3:8b", "hi");
    off["think"] = json!(false);
    let off = lines(post(url.clone(), off).await).await;
    assert_eq!(thinking(&off), "");
    let seen = fake.seen();
    assert!(seen[0].thought && !seen[1].thought);
    assert!(seen[0].prompt.contains("hi /think"), "{}", seen[0].prompt);
    assert!(
        seen[1].prompt.contains("hi /no_think"),
        "{}",
        seen[1].prompt
    );
    assert!(seen[1].prompt.ends_with("<think>\n\n</think>\n\n"));

    let mut plain = ask("qwen2.5:7b", "hi");
    plain["think"] = json!(false);
    assert_eq!(post(url.clone(), plain).await.status(), 200);
    let mut refused = ask("qwen2.5:7b", "hi");
    refused["think"] = json!(true);
    let refused = post(url, refused).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"], "\"qwen2.5:7b\" does not support thinking");
}

/// The qwen template renders an assistant message with text as its text only, and its tool
/// calls only when it has no text.
#[tokio::test]
async fn an_assistant_message_with_text_hides_its_calls() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let call = json!([{"function": {"name": "t", "arguments": {"q": "x"}}}]);
    let request = |content: &str| {
        json!({"model": "qwen2.5:7b", "tools": [tool("t")], "messages": [
            {"role": "user", "content": "find x"},
            {"role": "assistant", "content": content, "tool_calls": call},
            {"role": "tool", "content": "found x", "tool_name": "t"},
        ]})
    };
    let url = format!("{}/api/chat", fake.url());
    let _ = post(url.clone(), request("Let me look.")).await;
    let _ = post(url, request("")).await;
    let seen = fake.seen();
    assert!(
        seen[0]
            .prompt
            .contains("<|im_start|>assistant\nLet me look.<|im_end|>")
    );
    assert!(!seen[0].prompt.contains("{\"name\": \"t\""));
    assert!(seen[1].prompt.contains(
        "<|im_start|>assistant\n<tool_call>\n{\"name\": \"t\", \"arguments\": {\"q\":\"x\"}}\n</tool_call><|im_end|>"
    ));
    assert!(
        seen[1]
            .prompt
            .contains("<tool_response>\nfound x\n</tool_response>")
    );
}

/// A model that repeats one token is stopped: the repeats up to the limit arrive, then the
/// stream ends cleanly without a final chunk.
#[tokio::test]
async fn the_repeat_guard_ends_the_stream_without_done() {
    let fake = FakeOllama::start(|_| Reply::repeating("The answer is ", "very ", 100)).await;
    let response = post(format!("{}/api/chat", fake.url()), ask("qwen2.5:7b", "x")).await;
    let lines = lines(response).await;
    assert!(lines.iter().all(|l| l["done"] == false));
    let repeats = lines
        .iter()
        .filter(|l| l["message"]["content"] == "very ")
        .count();
    assert_eq!(repeats, REPEAT_LIMIT + 1);
}

/// `/api/show` lists capabilities; tools for a model without them are Ollama's 400, and so is
/// an unknown model's chat a 404.
#[tokio::test]
async fn capabilities_and_their_errors() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    fake.add_model(ModelSpec::without_tools("gemma2:2b"));
    let show = |model: &str| {
        let url = format!("{}/api/show", fake.url());
        let body = json!({"model": model});
        async move { post(url, body).await.json::<Value>().await.expect("JSON") }
    };
    assert_eq!(
        show("qwen2.5:7b").await["capabilities"],
        json!(["completion", "tools"])
    );
    assert_eq!(
        show("gemma2:2b").await["capabilities"],
        json!(["completion"])
    );
    let mut request = ask("gemma2:2b", "x");
    request["tools"] = json!([tool("t")]);
    let refused = post(format!("{}/api/chat", fake.url()), request).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(
        body["error"],
        "registry.ollama.ai/library/gemma2:2b does not support tools"
    );
    let unknown = post(format!("{}/api/chat", fake.url()), ask("llama3:8b", "x")).await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.expect("JSON");
    assert_eq!(body["error"], "model 'llama3:8b' not found");
}

/// `keep_alive` is read with Go's duration parser: "1d" is refused with Go's message, numbers
/// and "24h" are fine.
#[tokio::test]
async fn keep_alive_is_parsed_like_go() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let url = format!("{}/api/chat", fake.url());
    let with = |keep: Value| {
        let mut request = ask("qwen2.5:7b", "x");
        request["keep_alive"] = keep;
        request
    };
    for fine in [
        json!(-1),
        json!(3600),
        json!("24h"),
        json!("1h30m"),
        json!("0"),
    ] {
        assert_eq!(
            post(url.clone(), with(fine.clone())).await.status(),
            200,
            "{fine}"
        );
    }
    for (bad, message) in [
        (json!("1d"), r#"time: unknown unit "d" in duration "1d""#),
        (json!("3600"), r#"time: missing unit in duration "3600""#),
        (json!(true), "Unsupported type: 'bool'"),
    ] {
        let response = post(url.clone(), with(bad.clone())).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], message);
    }
}

/// Tool-call arguments in the history must be an object, as Ollama's binding requires.
#[tokio::test]
async fn history_call_arguments_must_be_objects() {
    let fake = FakeOllama::start(|_| Reply::text("ok")).await;
    let request = json!({"model": "qwen2.5:7b", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "t", "arguments": "{}"}}]},
    ]});
    let response = post(format!("{}/api/chat", fake.url()), request).await;
    assert_eq!(response.status(), 400);
}

/// `split_inside_utf8` really cuts a character between two HTTP chunks.
#[tokio::test]
async fn splits_inside_a_character() {
    let fake = FakeOllama::start(|_| Reply::chunks(["é"]).split_inside_utf8()).await;
    let response = post(format!("{}/api/chat", fake.url()), ask("qwen2.5:7b", "x")).await;
    let chunks: Vec<_> = response.bytes_stream().collect().await;
    let chunks: Vec<_> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    assert!(chunks.len() >= 2, "{chunks:?}");
    assert!(
        std::str::from_utf8(&chunks[0]).is_err(),
        "first chunk ends inside é: {chunks:?}"
    );
}

/// `"stream": false` gets one object; a request without a model gets Ollama's 400; one without
/// messages only loads the model.
#[tokio::test]
async fn non_streaming_and_bad_requests() {
    let fake = FakeOllama::start(|_| Reply::text("whole reply")).await;
    let mut request = ask("qwen2.5:7b", "x");
    request["stream"] = json!(false);
    let whole: Value = post(format!("{}/api/chat", fake.url()), request)
        .await
        .json()
        .await
        .expect("one object");
    assert_eq!(whole["message"]["content"], "whole reply");
    assert_eq!(whole["done"], true);
    let missing = post(format!("{}/api/chat", fake.url()), json!({"messages": []})).await;
    assert_eq!(missing.status(), 400);
    let load: Value = post(
        format!("{}/api/chat", fake.url()),
        json!({"model": "qwen2.5:7b"}),
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert_eq!(load["done_reason"], "load");
    assert_eq!(fake.chat_requests().len(), 3);
    assert_eq!(fake.replies_sent(), 2);
}

/// The OpenAI route ends with a finish chunk, a usage chunk when asked, and `[DONE]`.
#[tokio::test]
async fn openai_route_ends_properly() {
    let fake = FakeOllama::start(|_| Reply::text("hi")).await;
    let mut request = ask("qwen2.5:7b", "x");
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});
    let text = post(format!("{}/v1/chat/completions", fake.url()), request)
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

/// Dropping the fake stops it: new connections are refused, and a reply still streaming is cut
/// rather than ended cleanly.
#[tokio::test]
async fn stops_when_dropped() {
    let fake = FakeOllama::start(|_| {
        Reply::chunks(["a", "b", "c"]).with_chunk_delay(Duration::from_millis(300))
    })
    .await;
    let url = fake.url();
    let response = post(format!("{url}/api/chat"), ask("qwen2.5:7b", "x")).await;
    drop(fake);
    let body = response.text().await;
    assert!(body.is_err(), "the body was cut: {body:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let result = reqwest::Client::new()
        .get(format!("{url}/api/tags"))
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_connect()));
}

/// The model sees tools as Ollama decodes them: a property keeps only `anyOf`, `type`, `items`,
/// `description` and `enum` in 0.12.11 (`properties` from 0.13.5, `required` from 0.20), and
/// `$ref`, `oneOf`, `format`, bounds and defaults are gone; what is dropped is reported.
#[tokio::test]
async fn tools_reach_the_model_as_ollama_decodes_them() {
    use crate::fake_ollama::decode::{self, Fields};

    let ollama = FakeOllama::scripted(vec![Reply::text("ok")]).await;
    let sent = json!({"type": "function", "function": {"name": "find", "description": "Find.",
    "parameters": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"Dir": {"oneOf": [{"const": "asc"}, {"const": "desc"}]}},
        "properties": {
            "dir": {"anyOf": [{"$ref": "#/$defs/Dir"}, {"type": "null"}], "description": "Order."},
            "limit": {"type": "integer", "minimum": 1, "default": 5, "format": "uint32"},
            "where": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": false}
        },
        "required": ["dir"]
    }}});
    let mut body = ask("qwen2.5:7b", "hi");
    body["tools"] = json!([sent.clone()]);
    body["stream"] = json!(false);
    let response = post(format!("{}/api/chat", ollama.url()), body).await;
    assert_eq!(response.status(), 200);
    let seen = &ollama.seen()[0].tools[0];
    let properties = &seen["parameters"]["properties"];
    assert_eq!(
        properties["dir"],
        json!({"anyOf": [{}, {"type": "null"}], "description": "Order."})
    );
    assert_eq!(properties["limit"], json!({"type": "integer"}));
    assert_eq!(properties["where"], json!({"type": "object"}));
    assert!(
        ollama.seen()[0]
            .prompt
            .contains("\"limit\":{\"type\":\"integer\"}")
    );
    assert_eq!(
        decode::property(
            &sent["function"]["parameters"]["properties"]["where"],
            Fields::V0_20
        ),
        json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]})
    );
    let losses = decode::losses(&sent, Fields::V0_20);
    for expected in [
        "find.dir: no type",
        "find.dir|0: `$ref` dropped",
        "find.dir|0: no type",
        "find.limit: `minimum` dropped",
        "find.limit: `default` dropped",
        "find.limit: `format` dropped",
        "find.where: `additionalProperties` dropped",
        "find: `$defs` left in what the model sees",
    ] {
        assert!(
            losses.iter().any(|l| l == expected),
            "{expected} in {losses:?}"
        );
    }
    assert!(
        !losses.iter().any(|l| l.contains("$schema")),
        "$schema may go: {losses:?}"
    );
}
