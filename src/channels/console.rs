//! The console channel: `mcp-gateway chat` reads lines from stdin and prints replies as they stream.
//!
//! Works the same with a terminal or piped input. Destructive tools are confirmed with `y`/`n` on
//! the next input line (end of input declines). `/reset` forgets the conversation, `/help` lists
//! the commands, `/quit` or end of input exits.
//!
//! Under `mcp-gateway up` the console also hears about connections the person finished in the
//! browser ([`ConsoleListener`]): it says so and answers the message that needed the connection.
//! There, end of input stops reading but connections are still answered.

use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, Lines};
use tokio_util::sync::CancellationToken;

use crate::Principal;
use crate::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnSink, queue_notice};
use crate::mcp::accounts::{ConnectListener, ConnectedNotice};
use crate::telemetry::metrics::MessageLabels;

/// The chat id of the console's one conversation.
pub const CONSOLE_CHAT: &str = "console";

/// The longest input line accepted; longer lines are cut with a note.
const MAX_LINE_CHARS: usize = 16_000;

const HELP: &str = "Commands: /connect SERVER shows a link to connect your account, /disconnect SERVER removes it, /reset forgets this conversation, /help shows this, /quit exits. Anything else is sent to the assistant.";

/// The console principal: `console:<$USER>`, or `console:local` when `USER` is unset or empty.
#[must_use]
pub fn principal_from_env(user: Option<&str>) -> Principal {
    let name = user
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.len() <= 64)
        .unwrap_or("local");
    Principal::console(name)
}

type SharedLines<R> = Arc<tokio::sync::Mutex<Lines<R>>>;
type SharedOut = Arc<Mutex<Box<dyn Write + Send>>>;

/// Passes finished connections of console principals to a running console.
#[derive(Debug, Clone)]
pub struct ConsoleListener {
    notices: tokio::sync::mpsc::UnboundedSender<ConnectedNotice>,
}

impl ConsoleListener {
    /// A listener and the receiving end to hand to [`run_with_notices`].
    #[must_use]
    pub fn new() -> (Self, tokio::sync::mpsc::UnboundedReceiver<ConnectedNotice>) {
        let (notices, receiver) = tokio::sync::mpsc::unbounded_channel();
        (Self { notices }, receiver)
    }
}

#[async_trait]
impl ConnectListener for ConsoleListener {
    async fn connected(&self, notice: ConnectedNotice) {
        let _ = self.notices.send(notice);
    }
}

/// Runs the console conversation until end of input or `/quit`.
///
/// # Errors
/// Fails only when the input cannot be read; model and tool failures are printed as replies.
pub async fn run<R>(
    agent: &Agent,
    principal: &Principal,
    input: R,
    output: Box<dyn Write + Send>,
    interactive: bool,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    run_with_notices(agent, principal, input, output, interactive, None).await
}

/// What the console reacts to next.
enum Event {
    Line(String),
    Notice(ConnectedNotice),
    Done,
}

/// Like [`run`], also answering finished connections of `principal` from `notices`: the
/// console says so and answers the message that needed the connection. With `notices`, end of
/// input stops reading but the console keeps answering connections until `/quit` or until the
/// notices end.
///
/// # Errors
/// Fails only when the input cannot be read.
pub async fn run_with_notices<R>(
    agent: &Agent,
    principal: &Principal,
    input: R,
    output: Box<dyn Write + Send>,
    interactive: bool,
    mut notices: Option<tokio::sync::mpsc::UnboundedReceiver<ConnectedNotice>>,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    let lines: SharedLines<R> = Arc::new(tokio::sync::Mutex::new(input.lines()));
    let out: SharedOut = Arc::new(Mutex::new(output));
    let mut input_open = true;
    loop {
        if interactive && input_open {
            write_flush(&out, "> ");
        }
        let event = match (&mut notices, input_open) {
            (None, _) => match lines.lock().await.next_line().await? {
                Some(line) => Event::Line(line),
                None => Event::Done,
            },
            (Some(rx), true) => {
                let mut guard = lines.lock().await;
                tokio::select! {
                    line = guard.next_line() => match line? {
                        Some(line) => Event::Line(line),
                        None => {
                            input_open = false;
                            continue;
                        }
                    },
                    notice = rx.recv() => notice.map_or(Event::Done, Event::Notice),
                }
            }
            (Some(rx), false) => rx.recv().await.map_or(Event::Done, Event::Notice),
        };
        let line = match event {
            Event::Done => break,
            Event::Line(line) => line,
            Event::Notice(notice) => {
                if &notice.principal != principal {
                    continue;
                }
                write_flush(
                    &out,
                    &format!("\nConnected your {} account.\n", notice.server),
                );
                if let Some(pending) = notice.pending {
                    answer(agent, principal, &pending.text, &out, &lines, interactive).await;
                }
                continue;
            }
        };
        let text = line.trim();
        match text {
            "" => continue,
            "/quit" | "/exit" => break,
            "/help" => {
                write_flush(&out, &format!("{HELP}\n"));
                continue;
            }
            "/reset" => {
                let reply = match agent
                    .store()
                    .reset_conversation(principal, CONSOLE_CHAT)
                    .await
                {
                    Ok(()) => "Conversation forgotten.\n".to_owned(),
                    Err(e) => format!("Could not reset the conversation: {e}\n"),
                };
                write_flush(&out, &reply);
                continue;
            }
            _ => {}
        }
        if let Some(command) = account_command(text) {
            let reply = accounts_reply(agent, principal, command).await;
            write_flush(&out, &format!("{reply}\n"));
            continue;
        }
        let text: String = if text.chars().count() > MAX_LINE_CHARS {
            write_flush(
                &out,
                &format!("(your message was cut to {MAX_LINE_CHARS} characters)\n"),
            );
            text.chars().take(MAX_LINE_CHARS).collect()
        } else {
            text.to_owned()
        };
        answer(agent, principal, &text, &out, &lines, interactive).await;
    }
    Ok(())
}

/// `/connect SERVER` or `/disconnect SERVER`.
enum AccountCommand<'a> {
    Connect(&'a str),
    Disconnect(&'a str),
}

fn account_command(text: &str) -> Option<AccountCommand<'_>> {
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let server = rest.trim();
    match word {
        "/connect" => Some(AccountCommand::Connect(server)),
        "/disconnect" => Some(AccountCommand::Disconnect(server)),
        _ => None,
    }
}

/// The console's answer to `/connect` and `/disconnect`.
async fn accounts_reply(
    agent: &Agent,
    principal: &Principal,
    command: AccountCommand<'_>,
) -> String {
    let Some(accounts) = agent.accounts() else {
        return "Connecting accounts is not available here.".to_owned();
    };
    match command {
        AccountCommand::Connect("") | AccountCommand::Disconnect("") => {
            "Name the server: /connect SERVER or /disconnect SERVER.".to_owned()
        }
        AccountCommand::Connect(server) => match accounts.connect_link(principal, server).await {
            Ok(url) => format!("To connect {server}, open this link in your browser:\n{url}"),
            Err(e) => format!("Could not start connecting {server}: {e}"),
        },
        AccountCommand::Disconnect(server) => match accounts.disconnect(principal, server).await {
            Ok(true) => format!("Disconnected your {server} account."),
            Ok(false) => format!("Your {server} account was not connected."),
            Err(e) => format!("Could not disconnect {server}: {e}"),
        },
    }
}

/// Runs one turn for `text` and prints the reply as it grows.
async fn answer<R>(
    agent: &Agent,
    principal: &Principal,
    text: &str,
    out: &SharedOut,
    lines: &SharedLines<R>,
    interactive: bool,
) where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    let labels_in = MessageLabels {
        channel: "console".into(),
        direction: "in".into(),
    };
    let labels_out = MessageLabels {
        channel: "console".into(),
        direction: "out".into(),
    };
    {
        agent.metrics().messages.get_or_create(&labels_in).inc();
        let sink = ConsoleSink {
            out: Arc::clone(out),
            printed: Mutex::new(String::new()),
            lines: Arc::clone(lines),
            interactive,
        };
        let cancel = CancellationToken::new();
        let stop = spawn_ctrl_c(&cancel, interactive);
        let result = agent
            .run_turn(
                TurnInput {
                    principal,
                    chat: CONSOLE_CHAT,
                    text,
                },
                &sink,
                &cancel,
            )
            .await;
        stop.abort();
        let reply = match result {
            Ok(outcome) => outcome.reply,
            Err(e) => {
                tracing::warn!(error = %e, "turn failed");
                e.operator_message()
            }
        };
        sink.finish(&reply);
        agent.metrics().messages.get_or_create(&labels_out).inc();
    }
}

/// In a terminal, Ctrl-C stops the running turn instead of the program.
fn spawn_ctrl_c(cancel: &CancellationToken, interactive: bool) -> tokio::task::JoinHandle<()> {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        if interactive && tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    })
}

fn write_flush(out: &SharedOut, text: &str) {
    let mut out = out.lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Prints one turn's reply as it grows.
struct ConsoleSink<R> {
    out: SharedOut,
    /// What has been printed of the reply so far.
    printed: Mutex<String>,
    lines: SharedLines<R>,
    interactive: bool,
}

impl<R> ConsoleSink<R> {
    /// Prints whatever of `text` extends what is already shown.
    fn show(&self, text: &str) {
        let mut printed = self.printed.lock();
        if let Some(rest) = text.strip_prefix(printed.as_str()) {
            if !rest.is_empty() {
                write_flush(&self.out, rest);
                printed.push_str(rest);
            }
        } else if !text.is_empty() {
            // The reply changed in a way that is not an extension: print it afresh.
            write_flush(&self.out, &format!("\n{text}"));
            *printed = text.to_owned();
        }
    }

    fn finish(&self, reply: &str) {
        self.show(reply);
        write_flush(&self.out, "\n");
    }
}

#[async_trait]
impl<R> TurnSink for ConsoleSink<R>
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    fn progress(&self, text: &str) {
        self.show(text);
    }

    async fn activity(&self, activity: Activity) {
        match activity {
            Activity::Tool(name) if self.interactive => eprintln!("[using {name}]"),
            Activity::Queued { place } => {
                write_flush(&self.out, &format!("({})\n", queue_notice(place)));
                // What was printed of the reply is now followed by the notice; start afresh.
                self.printed.lock().clear();
            }
            _ => {}
        }
    }

    async fn confirm(&self, request: &ConfirmRequest) -> bool {
        write_flush(
            &self.out,
            &format!(
                "\nThe assistant wants to run {} ({}) with:\n{}\nAllow it? [y/N] ",
                request.tool, request.title, request.arguments
            ),
        );
        let answer = self
            .lines
            .lock()
            .await
            .next_line()
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let yes = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
        write_flush(&self.out, if yes { "(allowed)\n" } else { "(declined)\n" });
        // What was printed of the reply is now followed by the prompt; start afresh.
        self.printed.lock().clear();
        yes
    }

    async fn connect_link(&self, server: &str, url: &str) {
        write_flush(
            &self.out,
            &format!("\nTo connect {server}, open this link in your browser:\n{url}\n"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_uses_user_or_local() {
        assert_eq!(principal_from_env(Some("ann")), Principal::console("ann"));
        assert_eq!(principal_from_env(Some("")), Principal::console("local"));
        assert_eq!(principal_from_env(None), Principal::console("local"));
    }
}
