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
//! It is also the outlet of the person's schedule ([`ConsoleOutlet`]): the `assistant_*` tools
//! are offered, `/reminders` and `/timezone` answer, and a reminder or task that falls due is
//! printed between replies, with no input needed; what fell due while the console was not
//! running is printed when it next starts. There, end of input stops reading but connections
//! and scheduled entries are still answered.

use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, Lines};
use tokio_util::sync::CancellationToken;

use crate::Principal;
use crate::agent::{Activity, Agent, ConfirmRequest, TurnInput, TurnSink, queue_notice};
use crate::channels::commands::{self, ChatCommand, Commands};
use crate::channels::engine::{reminders, texts};
use crate::mcp::accounts::{ConnectListener, ConnectedNotice, ConnectionEnded};
use crate::schedule::{Delivered, Delivery, Outlet};
use crate::telemetry::metrics::MessageLabels;

/// The chat id of the console's one conversation.
pub const CONSOLE_CHAT: &str = "console";

/// The channel name of console principals, under which the console is the schedule's outlet.
pub const CONSOLE_CHANNEL: &str = "console";

/// How many due entries may wait for the console to finish what it is printing.
const WAITING_DELIVERIES: usize = 64;

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

/// A due entry handed to the running console, with where to say how it went.
#[derive(Debug)]
struct Handed {
    principal: Principal,
    delivery: Delivery,
    done: tokio::sync::oneshot::Sender<Delivered>,
}

/// Hands the schedule's due entries of console principals to the running console, which
/// prints them between replies; while no console runs they wait in the store.
#[derive(Debug, Clone)]
pub struct ConsoleOutlet {
    handed: tokio::sync::mpsc::Sender<Handed>,
}

/// The receiving end of a [`ConsoleOutlet`], for [`Inbox::deliveries`].
#[derive(Debug)]
pub struct Deliveries(tokio::sync::mpsc::Receiver<Handed>);

impl ConsoleOutlet {
    /// An outlet and the receiving end to hand to [`Console::run`].
    #[must_use]
    pub fn new() -> (Self, Deliveries) {
        let (handed, receiver) = tokio::sync::mpsc::channel(WAITING_DELIVERIES);
        (Self { handed }, Deliveries(receiver))
    }
}

#[async_trait]
impl Outlet for ConsoleOutlet {
    async fn deliver(&self, principal: &Principal, chat: &str, delivery: Delivery) -> Delivered {
        if chat != CONSOLE_CHAT {
            return Delivered::Failed(format!("`{chat}` is not the console's chat"));
        }
        let (done, printed) = tokio::sync::oneshot::channel();
        let handed = Handed {
            principal: principal.clone(),
            delivery,
            done,
        };
        if self.handed.send(handed).await.is_err() {
            return Delivered::Failed("the console has stopped".into());
        }
        printed
            .await
            .unwrap_or_else(|_| Delivered::Failed("the console stopped before printing it".into()))
    }
}

/// What a running console hears besides its input.
#[derive(Debug, Default)]
pub struct Inbox {
    /// Connections people finished in the browser.
    pub notices: Option<tokio::sync::mpsc::UnboundedReceiver<ConnectedNotice>>,
    /// Scheduled entries that fell due.
    pub deliveries: Option<Deliveries>,
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
    /// The input ended.
    Closed,
    Notice(ConnectedNotice),
    Due(Handed),
    /// A source other than the input ended.
    Quiet,
}

impl Console {
    /// Runs the conversation until end of input or `/quit`. With [`Inbox::notices`], it also
    /// answers the person's finished connections: it says so and answers the message that
    /// needed the connection. With [`Inbox::deliveries`], it prints the person's reminders and
    /// answers their tasks as they fall due. With either, end of input stops reading, but the
    /// console goes on answering them until `/quit` or until they end.
    ///
    /// # Errors
    /// Fails only when the input cannot be read; model and tool failures are printed as replies.
    pub async fn run<R>(
        &self,
        input: R,
        output: Box<dyn Write + Send>,
        inbox: Inbox,
    ) -> std::io::Result<()>
    where
        R: AsyncBufRead + Unpin + Send + 'static,
    {
        let lines: SharedLines<R> = Arc::new(tokio::sync::Mutex::new(input.lines()));
        let out: SharedOut = Arc::new(Mutex::new(output));
        let Inbox {
            mut notices,
            mut deliveries,
        } = inbox;
        let mut input_open = true;
        loop {
            if !input_open && notices.is_none() && deliveries.is_none() {
                break;
            }
            if self.interactive && input_open {
                write_flush(&out, "> ");
            }
            let event = {
                let mut guard = if input_open {
                    Some(lines.lock().await)
                } else {
                    None
                };
                tokio::select! {
                    line = async {
                        match guard.as_mut() {
                            Some(lines) => lines.next_line().await,
                            None => std::future::pending().await,
                        }
                    }, if input_open => line?.map_or(Event::Closed, Event::Line),
                    notice = async {
                        match notices.as_mut() {
                            Some(rx) => rx.recv().await,
                            None => std::future::pending().await,
                        }
                    }, if notices.is_some() => notice.map_or_else(|| {
                        notices = None;
                        Event::Quiet
                    }, Event::Notice),
                    handed = async {
                        match deliveries.as_mut() {
                            Some(rx) => rx.0.recv().await,
                            None => std::future::pending().await,
                        }
                    }, if deliveries.is_some() => handed.map_or_else(|| {
                        deliveries = None;
                        Event::Quiet
                    }, Event::Due),
                }
            };
            let line = match event {
                Event::Closed => {
                    input_open = false;
                    continue;
                }
                Event::Quiet => continue,
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
                Event::Due(handed) => {
                    let delivered = self
                        .deliver(handed.principal, handed.delivery, &out, &lines)
                        .await;
                    let _ = handed.done.send(delivered);
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
            self.count("in");
            self.answer(text, &out, &lines).await;
        }
        Ok(())
    }

    /// Prints a due entry of `principal`: a reminder's text, or a task's text followed by the
    /// answer of a turn on it. Another person's entry is not theirs to see at this terminal.
    async fn deliver<R>(
        &self,
        principal: Principal,
        delivery: Delivery,
        out: &SharedOut,
        lines: &SharedLines<R>,
    ) -> Delivered
    where
        R: AsyncBufRead + Unpin + Send + 'static,
    {
        if principal != self.principal {
            return Delivered::Failed(format!("{principal} is not at this terminal"));
        }
        // At a terminal the prompt is showing: start on a line of its own.
        let lead = if self.interactive { "\n" } else { "" };
        match delivery {
            Delivery::Say(text) => {
                write_flush(out, &format!("{lead}{text}\n"));
                self.count("out");
            }
            Delivery::Task(text) => {
                write_flush(out, &format!("{lead}⏰ Scheduled task: {text}\n"));
                self.answer(&text, out, lines).await;
            }
        }
        Delivered::Sent
    }

    /// Counts a message in `direction` (`in`, `out`) on the console.
    fn count(&self, direction: &str) {
        self.agent
            .metrics()
            .messages
            .get_or_create(&MessageLabels {
                channel: CONSOLE_CHANNEL.into(),
                direction: direction.into(),
            })
            .inc();
    }

    /// The reply to a chat command; a connect link is printed under its text.
    async fn command(&self, command: &ChatCommand) -> String {
        // A line is read only once the reply before it is finished.
        if *command == ChatCommand::Stop {
            return commands::NOTHING_TO_STOP.to_owned();
        }
        if let Some(schedule) = self.agent.schedule() {
            match command {
                ChatCommand::Reminders => {
                    return reminders::list(schedule, &self.principal, '/', false)
                        .await
                        .0;
                }
                ChatCommand::Timezone(name) => {
                    return reminders::timezone(schedule, &self.principal, name.as_deref(), '/')
                        .await;
                }
                _ => {}
            }
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
        self.count("out");
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

    async fn reconnect_link(&self, server: &str, url: &str, ended: &ConnectionEnded) {
        write_flush(
            &self.out,
            &format!("\n{}\n{url}\n", texts::reconnect_link(server, ended)),
        );
    }
}

#[cfg(test)]
mod tests;
