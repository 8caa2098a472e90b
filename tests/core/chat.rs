//! `mcp-gateway chat` end to end: piped stdin, a fake Ollama, real MCP servers.

use serde_json::{Value, json};

use super::common::{Interactive, Setup, stderr, stdout};
use crate::fake_ollama::{FakeOllama, Reply};
use crate::mcp_peers::{EverythingServer, FastMcpOptions, FastMcpServer};

/// The tool names offered in a chat request.
fn offered(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The last message of a request.
fn last_message(request: &Value) -> Value {
    request["messages"]
        .as_array()
        .and_then(|m| m.last().cloned())
        .unwrap_or(Value::Null)
}

/// A model that calls `tool` with `args` on the first round and then repeats the tool's result.
fn calls_then_repeats(
    tool: &'static str,
    args: Value,
) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    move |request: &Value| {
        let last = last_message(request);
        if last["role"] == "tool" {
            Reply::text(&format!(
                "The tool said: {}",
                last["content"].as_str().unwrap_or_default()
            ))
        } else {
            Reply::tool_call(tool, args.clone())
        }
    }
}

fn config(ollama: &FakeOllama, servers: &str) -> String {
    format!(
        "[model]\nbase_url = \"{}\"\nnum_ctx = 8192\n[agent]\ntool_selection = \"all\"\n{servers}",
        ollama.url()
    )
}

/// The contract's example: `printf 'please echo\n' | mcp-gateway chat` with server-everything
/// prints the echoed text; the request carried `options.num_ctx` and offered `everything_echo`.
#[tokio::test]
async fn chat_echoes_through_server_everything() {
    let everything = EverythingServer::start().await;
    let ollama = FakeOllama::start(calls_then_repeats(
        "everything_echo",
        json!({"message": "hello from the test"}),
    ))
    .await;
    let setup = Setup::new(&config(
        &ollama,
        &format!(
            "[[servers]]\nname = \"everything\"\nurl = \"{}\"\nauth = \"none\"\n",
            everything.url()
        ),
    ));
    let out = setup.run(&["chat"], "please echo\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Echo: hello from the test"),
        "stdout: {text}\nstderr: {}",
        stderr(&out)
    );
    let requests = ollama.chat_requests();
    assert_eq!(requests[0]["options"]["num_ctx"], 8192);
    assert!(
        offered(&requests[0]).contains(&"everything_echo".to_owned()),
        "{:?}",
        offered(&requests[0])
    );
    // The seal key was created on first run.
    assert!(setup.path("secrets/seal.key").is_file());
}

/// Replies stream: the model's words reach stdout, and a second line continues the conversation.
#[tokio::test]
async fn chat_streams_and_keeps_history() {
    let ollama = FakeOllama::scripted(vec![
        Reply::text("Hello there, how can I help?"),
        Reply::text("You said hi before."),
    ])
    .await;
    let setup = Setup::new(&config(&ollama, ""));
    let out = setup.run(&["chat"], "hi\nwhat did I say?\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Hello there, how can I help?") && text.contains("You said hi before."),
        "{text}"
    );
    let second = &ollama.chat_requests()[1];
    let contents: Vec<&str> = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        contents.contains(&"hi") && contents.contains(&"Hello there, how can I help?"),
        "{contents:?}"
    );
}

/// The console answers the chat commands every channel answers: `/help` lists them with the
/// console's own `/quit`, an unknown command says so, and `/reset` forgets the conversation, also
/// the part a previous run of `chat` stored; neither command reaches the model.
#[tokio::test]
async fn console_answers_help_and_reset() {
    let ollama = FakeOllama::scripted(vec![
        Reply::text("Noted, your locker is 417."),
        Reply::text("I remember: 417."),
        Reply::text("I have nothing about a locker."),
    ])
    .await;
    let setup = Setup::new(&config(&ollama, ""));

    let first = setup.run(&["chat"], "my locker is 417\n").await;
    assert!(first.status.success(), "{}", stderr(&first));

    let out = setup
        .run(
            &["chat"],
            "/help\n/frobnicate\nwhat is my locker?\n/reset\nwhat is my locker?\n",
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "/connect",
        "/disconnect",
        "/reset – forget our conversation",
        "/stop",
        "/quit – leave",
    ] {
        assert!(text.contains(line), "/help lacks {line:?}: {text}");
    }
    assert!(text.contains("/frobnicate"), "unknown command: {text}");
    assert!(
        text.contains("Done: I have forgotten our conversation here."),
        "{text}"
    );
    assert!(
        text.contains("I remember: 417.") && text.contains("I have nothing about a locker."),
        "{text}"
    );

    let requests = ollama.chat_requests();
    assert_eq!(requests.len(), 3, "commands must not reach the model");
    let contents = |request: &Value| -> Vec<String> {
        request["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] != "system")
            .filter_map(|m| m["content"].as_str().map(str::to_owned))
            .collect()
    };
    let before_reset = contents(&requests[1]);
    assert!(
        before_reset.iter().any(|c| c == "my locker is 417"),
        "the earlier run's history: {before_reset:?}"
    );
    assert!(
        !before_reset.iter().any(|c| c.starts_with('/')),
        "{before_reset:?}"
    );
    let after_reset = contents(&requests[2]);
    assert_eq!(
        after_reset,
        vec!["what is my locker?".to_owned()],
        "after /reset only the new message is sent"
    );
}

/// Tool-call markup a model leaks into its text is run as a call and never printed.
#[tokio::test]
async fn leaked_tool_call_text_is_recovered() {
    let everything = EverythingServer::start().await;
    let ollama = FakeOllama::start(|request: &Value| {
        if last_message(request)["role"] == "tool" {
            Reply::text("Done echoing.")
        } else {
            Reply::text("<tool_call>\n{\"name\": \"everything_echo\", \"arguments\": {\"message\": \"leaky\"}}\n</tool_call>")
        }
    })
    .await;
    let setup = Setup::new(&config(
        &ollama,
        &format!(
            "[[servers]]\nname = \"everything\"\nurl = \"{}\"\n",
            everything.url()
        ),
    ));
    let out = setup.run(&["chat"], "echo leaky\n").await;
    let text = stdout(&out);
    assert!(text.contains("Done echoing."), "{text}");
    assert!(
        !text.contains("tool_call") && !text.contains("\"name\""),
        "markup leaked: {text}"
    );
    let tool_result = last_message(&ollama.chat_requests()[1]);
    assert_eq!(tool_result["content"], "Echo: leaky");
}

/// Invalid arguments go back to the model as an error it can correct; the corrected call runs.
#[tokio::test]
async fn invalid_arguments_are_returned_to_the_model() {
    let everything = EverythingServer::start().await;
    let ollama = FakeOllama::start(|request: &Value| {
        let last = last_message(request);
        let content = last["content"].as_str().unwrap_or_default();
        if last["role"] != "tool" {
            Reply::tool_call("everything_echo", json!({"text": "wrong key"}))
        } else if content.contains("Invalid arguments") {
            Reply::tool_call("everything_echo", json!({"message": "fixed"}))
        } else {
            Reply::text(&format!("Result: {content}"))
        }
    })
    .await;
    let setup = Setup::new(&config(
        &ollama,
        &format!(
            "[[servers]]\nname = \"everything\"\nurl = \"{}\"\n",
            everything.url()
        ),
    ));
    let out = setup.run(&["chat"], "echo please\n").await;
    assert!(
        stdout(&out).contains("Result: Echo: fixed"),
        "{}",
        stdout(&out)
    );
    let correction = last_message(&ollama.chat_requests()[1]);
    assert!(
        correction["content"]
            .as_str()
            .unwrap()
            .contains("missing required argument `message`"),
        "{correction}"
    );
}

/// A server restarted in the middle of a conversation: the next call re-initialises the session,
/// re-lists the tools and succeeds, in the same chat process.
#[tokio::test]
async fn server_restart_mid_conversation_is_survived() {
    let mut everything = EverythingServer::start().await;
    let ollama = FakeOllama::start(|request: &Value| {
        let last = last_message(request);
        if last["role"] == "tool" {
            Reply::text(&format!(
                "The tool said: {}",
                last["content"].as_str().unwrap_or_default()
            ))
        } else {
            let said = last["content"].as_str().unwrap_or_default().to_owned();
            Reply::tool_call("everything_echo", json!({ "message": said }))
        }
    })
    .await;
    let setup = Setup::new(&config(
        &ollama,
        &format!(
            "[[servers]]\nname = \"everything\"\nurl = \"{}\"\n",
            everything.url()
        ),
    ));
    let mut chat = Interactive::chat(&setup.config);
    chat.send("first").await;
    chat.expect("Echo: first").await;
    everything.restart().await;
    chat.send("second").await;
    chat.expect("Echo: second").await;
    assert!(chat.finish().await.success());
}

/// With Ollama down, chat answers with one clear line and exits 0.
#[tokio::test]
async fn ollama_down_gives_a_clear_line() {
    let setup = Setup::new(&format!(
        "[model]\nbase_url = \"{}\"\n",
        FakeOllama::unreachable_url()
    ));
    let out = setup.run(&["chat"], "hello\n").await;
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("language model is not reachable"), "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
}

/// A model that is not pulled is named, with the command that fixes it.
#[tokio::test]
async fn model_not_pulled_names_the_fix() {
    let ollama = FakeOllama::scripted(vec![Reply::model_not_found("qwen2.5:7b")]).await;
    ollama.set_models(vec!["llama3:latest".into()]);
    let setup = Setup::new(&config(&ollama, ""));
    let out = setup.run(&["chat"], "hello\n").await;
    assert!(
        stdout(&out).contains("ollama pull qwen2.5:7b"),
        "{}",
        stdout(&out)
    );
    let doctor = setup.run(&["doctor"], "").await;
    assert!(
        stdout(&doctor)
            .contains("FAIL model qwen2.5:7b is not pulled: run `ollama pull qwen2.5:7b`"),
        "{}",
        stdout(&doctor)
    );
}

/// A 10 MB tool result is cut before it goes back to the model, which is told how to ask for less.
#[tokio::test]
async fn huge_tool_results_are_bounded() {
    let fast = FastMcpServer::start(FastMcpOptions::default()).await;
    let ollama = FakeOllama::start(calls_then_repeats(
        "fast_big",
        json!({"size": 10 * 1024 * 1024}),
    ))
    .await;
    let setup = Setup::new(&config(
        &ollama,
        &format!("[[servers]]\nname = \"fast\"\nurl = \"{}\"\n", fast.url()),
    ));
    let out = setup.run(&["chat"], "give me everything\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let result = last_message(&ollama.chat_requests()[1]);
    let content = result["content"].as_str().unwrap();
    assert!(
        content.len() < 17_000,
        "{} bytes went back to the model",
        content.len()
    );
    assert!(content.contains("more characters were cut"), "{content}");
}

/// `doctor` reports the model, the model being pulled, and each server's tool count.
#[tokio::test]
async fn doctor_reports_every_dependency() {
    let everything = EverythingServer::start().await;
    let ollama = FakeOllama::scripted(vec![]).await;
    let setup = Setup::new(&config(
        &ollama,
        &format!(
            "[[servers]]\nname = \"everything\"\nurl = \"{}\"\n",
            everything.url()
        ),
    ));
    std::fs::create_dir_all(setup.path("secrets")).unwrap();
    std::fs::write(setup.path("secrets/seal.key"), "ab".repeat(32)).unwrap();
    private(&setup.path("secrets/seal.key"));
    let out = setup.run(&["doctor"], "").await;
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok   model qwen2.5:7b is pulled"), "{text}");
    assert!(
        text.contains("server everything") && text.contains("tools"),
        "{text}"
    );
}

/// A destructive tool waits for `y`/`n` on the next input line; `n` (or end of input) declines.
#[tokio::test]
async fn destructive_tools_are_confirmed_on_the_console() {
    let fast = FastMcpServer::start(FastMcpOptions::default()).await;
    for (answer, ran) in [("y", true), ("n", false)] {
        let ollama = FakeOllama::start(calls_then_repeats(
            "fast_delete_note",
            json!({"note_id": "n-42"}),
        ))
        .await;
        let setup = Setup::new(&config(
            &ollama,
            &format!("[[servers]]\nname = \"fast\"\nurl = \"{}\"\n", fast.url()),
        ));
        let out = setup
            .run(&["chat"], &format!("delete note n-42\n{answer}\n"))
            .await;
        let text = stdout(&out);
        assert!(
            text.contains("fast_delete_note") && text.contains("Allow it? [y/N]"),
            "{text}"
        );
        let result = last_message(&ollama.chat_requests()[1]);
        let content = result["content"].as_str().unwrap_or_default();
        if ran {
            assert_eq!(content, "deleted n-42", "{text}");
        } else {
            assert!(content.contains("declined"), "{content}");
        }
    }
}

/// Makes `path` readable by its owner alone, as a seal key must be.
fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
