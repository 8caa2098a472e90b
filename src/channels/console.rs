//! The console channel: `mcp-gateway chat` reads lines from stdin and prints replies as they stream.
//!
//! Works the same with a terminal or piped input. A terminal is read one line after another, so
//! the console answers each line before it reads the next: it does not go through the engine's
//! sessions, but speaks the engine's words (the input cap, connect links, "Connected your ...
//! account") and answers the same chat [`commands`] (`/help`, `/reset`, `/connect`, ...);
//! `/quit` or end of input exits. The person at the terminal runs the gateway, so `/status` shows
//! them the operator's screen as it shows a channel's admins. Destructive tools are confirmed with `y`/`n` on the next input
//! line (end of input declines), and Ctrl-C stops a running reply.
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
use crate::channels::commands::{self, ChatCommand, Commands};
use crate::channels::engine::texts;
use crate::mcp::accounts::{ConnectListener, ConnectedNotice};
use crate::telemetry::metrics::MessageLabels;

/// The chat id of the console's one conversation.
pub const CONSOLE_CHAT: &str = "console";

/// What `/help` adds on the console.
pub const HELP_NOTE: &str = "/quit – leave (Ctrl-C stops a reply I am writing)";

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
    /// A listener and the receiving end to hand to [`Console::run`].
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

/// One person's conversation on this terminal.
#[derive(Debug)]
pub struct Console {
    /// The agent that answers.
    pub agent: Agent,
    /// The chat commands, as every channel answers them.
    pub commands: Commands,
    /// Who is typing.
    pub principal: Principal,
    /// Whether a person types (a prompt is shown and Ctrl-C stops a reply) or input is piped.
    pub interactive: bool,
}

/// What the console reacts to next.
enum Event {
    Line(String),
    Notice(ConnectedNotice),
    Done,
}

impl Console {
    /// Runs the conversation until end of input or `/quit`. With `notices`, it also answers
    /// the person's finished connections: it says so and answers the message that needed the
    /// connection; end of input then stops reading, but connections are answered until `/quit`
    /// or until the notices end.
    ///
    /// # Errors
    /// Fails only when the input cannot be read; model and tool failures are printed as replies.
    pub async fn run<R>(
        &self,
        input: R,
        output: Box<dyn Write + Send>,
        mut notices: Option<tokio::sync::mpsc::UnboundedReceiver<ConnectedNotice>>,
    ) -> std::io::Result<()>
    where
        R: AsyncBufRead + Unpin + Send + 'static,
    {
        let lines: SharedLines<R> = Arc::new(tokio::sync::Mutex::new(input.lines()));
        let out: SharedOut = Arc::new(Mutex::new(output));
        let mut input_open = true;
        loop {
            if self.interactive && input_open {
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
                    if notice.principal != self.principal {
                        continue;
                    }
                    write_flush(
                        &out,
                        &format!(
                            "\n{}\n",
                            texts::connected(&notice.server, notice.account.as_deref())
                        ),
                    );
                    if let Some(pending) = notice.pending {
                        self.answer(&pending.text, &out, &lines).await;
                    }
                    continue;
                }
            };
            let text = line.trim();
            match text {
                "" => continue,
                "/quit" | "/exit" => break,
                _ => {}
            }
            if let Some(command) = commands::parse(text, None) {
                let reply = self.command(&command).await;
                write_flush(&out, &format!("{reply}\n"));
                continue;
            }
            let (text, cut) = texts::cap_input(text);
            if cut {
                write_flush(&out, &format!("({})\n", texts::cut()));
            }
            self.answer(text, &out, &lines).await;
        }
        Ok(())
    }

    /// The reply to a chat command; a connect link is printed under its text.
    async fn command(&self, command: &ChatCommand) -> String {
        // A line is read only once the reply before it is finished.
        if *command == ChatCommand::Stop {
            return commands::NOTHING_TO_STOP.to_owned();
        }
        let reply = self
            .commands
            .reply(command, &self.principal, CONSOLE_CHAT, false, true)
            .await;
        match reply.link {
            Some(link) => format!("{}\n{}", reply.text, link.url),
            None => reply.text,
        }
    }

    /// Runs one turn for `text` and prints the reply as it grows.
    async fn answer<R>(&self, text: &str, out: &SharedOut, lines: &SharedLines<R>)
    where
        R: AsyncBufRead + Unpin + Send + 'static,
    {
        let count = |direction: &str| {
            self.agent
                .metrics()
                .messages
                .get_or_create(&MessageLabels {
                    channel: "console".into(),
                    direction: direction.into(),
                })
                .inc();
        };
        count("in");
        let sink = ConsoleSink {
            out: Arc::clone(out),
            printed: Mutex::new(String::new()),
            lines: Arc::clone(lines),
            interactive: self.interactive,
        };
        let cancel = CancellationToken::new();
        let stop = spawn_ctrl_c(&cancel, self.interactive);
        let input = TurnInput {
            principal: &self.principal,
            chat: CONSOLE_CHAT,
            text,
        };
        let result = self.agent.run_turn(input, &sink, &cancel).await;
        stop.abort();
        let reply = match result {
            Ok(outcome) => outcome.reply,
            Err(e) => {
                tracing::warn!(error = %e, "turn failed");
                e.operator_message()
            }
        };
        sink.finish(&reply);
        count("out");
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
            &format!("\n{}\n{url}\n", texts::connect_link(server)),
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
