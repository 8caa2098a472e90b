//! The chat commands every channel offers, and their replies.
//!
//! Channels parse a message with [`parse`], handle `/stop` themselves (it needs the running
//! session), and ask [`Commands::reply`] for the rest. Replies are plain text plus, for
//! `/connect`, a link the channel shows as a button.
//!
//! `/connections` shows a person their own connections. `/status` is the operator's screen
//! (what `mcp-gateway status` prints) and answers admins only: anyone else gets exactly what an
//! unknown command gets, so the command's existence says nothing. The screen itself is made
//! above the channels and handed in as a [`StatusScreen`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Principal;
use crate::config::{ServerAuth, ServerConfig};
use crate::mcp::accounts::{AccountLinks, ConnectedAccount, Disconnected};
use crate::store::Store;

/// The answer to `/reminders` and `/timezone` where no schedule is kept (`mcp-gateway chat`).
pub const NO_SCHEDULE: &str = "Reminders and scheduled tasks are not kept here: run `mcp-gateway up` to set them at the terminal, or ask in a chat channel.";

/// The commands, as registered with the platform (name, description), in menu order.
pub const MENU: &[(&str, &str)] = &[
    ("start", "Start talking to the assistant"),
    ("help", "What the assistant can do and how"),
    ("connect", "Connect your account on a server"),
    ("disconnect", "Disconnect your account from a server"),
    (
        "connections",
        "Your connections and whether a reply is running",
    ),
    ("reminders", "Your reminders and scheduled tasks"),
    ("timezone", "Show or set your time zone"),
    ("reset", "Forget this conversation"),
    ("stop", "Stop the reply that is running"),
];

/// The reply to `/stop` when a turn was stopped.
pub const STOPPED: &str = "Stopped.";
/// The reply to `/stop` when nothing was running.
pub const NOTHING_TO_STOP: &str = "Nothing is running right now.";
/// The reply when a sender's queue is full.
pub const BUSY: &str =
    "I am still working on your earlier messages. Send /stop to cancel them, or wait a moment.";

const HELP: &str = "Write to me in plain words and I will answer, using the tools of the servers you have connected.\n\n\
/connect – connect your account on a server\n\
/disconnect – remove a connection\n\
/connections – your connections and whether I am working\n\
/reminders – your reminders and scheduled tasks\n\
/timezone Area/City – set your time zone for them\n\
/reset – forget our conversation\n\
/stop – stop the reply I am writing";

/// A chat command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCommand {
    /// `/start`.
    Start,
    /// `/help`.
    Help,
    /// `/connect [server]`.
    Connect(Option<String>),
    /// `/disconnect [server]`.
    Disconnect(Option<String>),
    /// `/connections`: the person's own connections.
    Connections,
    /// `/status`: the operator's screen, for admins.
    Status,
    /// `/reset`.
    Reset,
    /// `/stop`.
    Stop,
    /// `/reminders`.
    Reminders,
    /// `/timezone [Area/City]`.
    Timezone(Option<String>),
    /// Any other `/word`.
    Unknown(String),
}

/// Reads a command from a message. `bot_name` is the bot's own username: `/cmd@bot` for
/// another bot is not a command for this one (`None`), and neither is text without a leading `/`.
#[must_use]
pub fn parse(text: &str, bot_name: Option<&str>) -> Option<ChatCommand> {
    let rest = text.trim_start().strip_prefix('/')?;
    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (name, target) = word
        .split_once('@')
        .map_or((word, None), |(n, t)| (n, Some(t)));
    if let (Some(target), Some(me)) = (target, bot_name)
        && !target.eq_ignore_ascii_case(me)
    {
        return None;
    }
    if name.is_empty()
        || name.len() > 32
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    let arg = args
        .split_whitespace()
        .next()
        .map(|a| a.chars().take(64).collect::<String>());
    Some(match name.to_ascii_lowercase().as_str() {
        "start" => ChatCommand::Start,
        "help" => ChatCommand::Help,
        "connect" => ChatCommand::Connect(arg),
        "disconnect" => ChatCommand::Disconnect(arg),
        "connections" => ChatCommand::Connections,
        "status" => ChatCommand::Status,
        "reset" | "new" => ChatCommand::Reset,
        "stop" => ChatCommand::Stop,
        "reminders" => ChatCommand::Reminders,
        "timezone" => ChatCommand::Timezone(arg),
        other => ChatCommand::Unknown(other.to_owned()),
    })
}

/// A configured MCP server as chat commands describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSummary {
    /// The configured name (`notion`).
    pub name: String,
    /// Whether each person connects their own account (`auth = "oauth"`).
    pub oauth: bool,
}

impl ServerSummary {
    /// The summaries of the configured servers, in file order.
    #[must_use]
    pub fn from_config(servers: &[ServerConfig]) -> Vec<Self> {
        servers
            .iter()
            .map(|s| Self {
                name: s.name.clone(),
                oauth: s.auth == ServerAuth::OAuth,
            })
            .collect()
    }
}

/// A command's reply: text, and optionally a link to show as a button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// What to say.
    pub text: String,
    /// The connect link of `/connect`; channels show it only in the person's private chat.
    pub link: Option<ConnectLink>,
}

/// A link that connects the person's account on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    /// The configured server.
    pub server: String,
    /// The authorization URL.
    pub url: String,
}

impl CommandReply {
    fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            link: None,
        }
    }
}

/// Makes the operator's status screen (the text `mcp-gateway status` prints) for `/status`.
pub type StatusScreen = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync>;

/// What the commands need from the gateway.
#[derive(Clone)]
pub struct Commands {
    store: Store,
    servers: Vec<ServerSummary>,
    accounts: Option<Arc<dyn AccountLinks>>,
    /// A line `/help` adds for this channel.
    help_note: Option<&'static str>,
    /// The operator's screen `/status` shows admins.
    status_screen: Option<StatusScreen>,
}

impl std::fmt::Debug for Commands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commands")
            .field("servers", &self.servers)
            .field("accounts", &self.accounts.is_some())
            .field("status_screen", &self.status_screen.is_some())
            .finish()
    }
}

impl Commands {
    /// Commands over `store` and the configured `servers`; `accounts` is the OAuth client's hook,
    /// `None` while the gateway has none.
    #[must_use]
    pub fn new(
        store: Store,
        servers: Vec<ServerSummary>,
        accounts: Option<Arc<dyn AccountLinks>>,
    ) -> Self {
        Self {
            store,
            servers,
            accounts,
            help_note: None,
            status_screen: None,
        }
    }

    /// The same commands, with `screen` as what `/status` shows admins.
    #[must_use]
    pub fn with_status_screen(mut self, screen: Option<StatusScreen>) -> Self {
        self.status_screen = screen;
        self
    }

    /// The same commands, with `note` added to the help text (what only this channel has).
    #[must_use]
    pub fn with_help_note(mut self, note: &'static str) -> Self {
        self.help_note = Some(note);
        self
    }

    fn help(&self) -> String {
        match self.help_note {
            Some(note) => format!("{HELP}\n{note}"),
            None => HELP.to_owned(),
        }
    }

    /// The reply to `command` from `principal` in `chat`; `busy` says whether a turn of theirs is
    /// running, and `admin` whether they are one of the channel's admins. `/stop` is the
    /// channel's own business and gets the help text here.
    pub async fn reply(
        &self,
        command: &ChatCommand,
        principal: &Principal,
        chat: &str,
        busy: bool,
        admin: bool,
    ) -> CommandReply {
        match command {
            ChatCommand::Start => {
                CommandReply::text(format!("Hello! I am your assistant.\n\n{}", self.help()))
            }
            ChatCommand::Help | ChatCommand::Stop => CommandReply::text(self.help()),
            ChatCommand::Unknown(name) => self.unknown(name),
            ChatCommand::Status => match (&self.status_screen, admin) {
                (Some(screen), true) => CommandReply::text(screen().await),
                _ => self.unknown("status"),
            },
            ChatCommand::Reset => match self.store.reset_conversation(principal, chat).await {
                Ok(()) => CommandReply::text("Done: I have forgotten our conversation here."),
                Err(e) => {
                    tracing::error!(error = %e, "could not reset a conversation");
                    CommandReply::text(
                        "Sorry, I could not forget our conversation just now. Please try again.",
                    )
                }
            },
            ChatCommand::Connections => CommandReply::text(self.connections(principal, busy).await),
            ChatCommand::Connect(arg) => self.connect(principal, arg.as_deref()).await,
            ChatCommand::Disconnect(arg) => {
                CommandReply::text(self.disconnect(principal, arg.as_deref()).await)
            }
            // The engine answers these from the schedule; without one there is none.
            ChatCommand::Reminders | ChatCommand::Timezone(_) => CommandReply::text(NO_SCHEDULE),
        }
    }

    fn server_list(&self) -> String {
        if self.servers.is_empty() {
            return "No servers are configured.".to_owned();
        }
        let names: Vec<String> = self
            .servers
            .iter()
            .map(|s| {
                if s.oauth {
                    format!("{} (connect your account)", s.name)
                } else {
                    format!("{} (no account needed)", s.name)
                }
            })
            .collect();
        format!("Configured servers: {}.", names.join(", "))
    }

    /// Finds the server a `/connect` or `/disconnect` is about, or says why it cannot.
    fn target(&self, arg: Option<&str>, verb: &str) -> Result<&ServerSummary, String> {
        let oauth: Vec<&ServerSummary> = self.servers.iter().filter(|s| s.oauth).collect();
        let server = match arg {
            Some(name) => self
                .servers
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    format!(
                        "There is no server named \"{name}\". {}",
                        self.server_list()
                    )
                })?,
            None => match oauth.as_slice() {
                [only] => only,
                [] => {
                    return Err(format!(
                        "No configured server has an OAuth connection, so there is nothing to {verb}. {}",
                        self.server_list()
                    ));
                }
                _ => {
                    let names: Vec<&str> = oauth.iter().map(|s| s.name.as_str()).collect();
                    return Err(format!(
                        "Which one? Send /{verb} followed by one of: {}.",
                        names.join(", ")
                    ));
                }
            },
        };
        if !server.oauth {
            return Err(format!(
                "The server \"{}\" has no OAuth connection configured; it works without connecting an account. {}",
                server.name,
                self.server_list()
            ));
        }
        Ok(server)
    }

    async fn connect(&self, principal: &Principal, arg: Option<&str>) -> CommandReply {
        let server = match self.target(arg, "connect") {
            Ok(s) => s,
            Err(text) => return CommandReply::text(text),
        };
        let Some(accounts) = &self.accounts else {
            return CommandReply::text(format!(
                "Connecting accounts is not available on this gateway: no OAuth connection is configured for \"{}\". {}",
                server.name,
                self.server_list()
            ));
        };
        match accounts.connect_link(principal, &server.name).await {
            Ok(url) => CommandReply {
                text: format!(
                    "To connect your {} account, open this link and sign in. The link is for you only.",
                    server.name
                ),
                link: Some(ConnectLink {
                    server: server.name.clone(),
                    url,
                }),
            },
            Err(e) => CommandReply::text(format!(
                "Sorry, I could not start connecting {}: {e}",
                server.name
            )),
        }
    }

    async fn disconnect(&self, principal: &Principal, arg: Option<&str>) -> String {
        let server = match self.target(arg, "disconnect") {
            Ok(s) => s,
            Err(text) => return text,
        };
        let Some(accounts) = &self.accounts else {
            return format!(
                "There is nothing to disconnect: no OAuth connection is configured for \"{}\" on this gateway.",
                server.name
            );
        };
        match accounts.disconnect(principal, &server.name).await {
            Ok(Disconnected {
                was_connected: false,
                ..
            }) => format!("Your {} account was not connected.", server.name),
            Ok(Disconnected {
                unconfirmed: None, ..
            }) => format!(
                "Disconnected your {} account, and its access was revoked.",
                server.name
            ),
            Ok(Disconnected {
                unconfirmed: Some(why),
                ..
            }) => format!(
                "Disconnected your {} account here, but the server could not confirm that the access was revoked: {why}.",
                server.name
            ),
            Err(e) => format!("Sorry, I could not disconnect {}: {e}", server.name),
        }
    }

    /// What any unknown command gets.
    fn unknown(&self, name: &str) -> CommandReply {
        CommandReply::text(format!(
            "I do not know the command /{name}.\n\n{}",
            self.help()
        ))
    }

    async fn connections(&self, principal: &Principal, busy: bool) -> String {
        let mut lines = vec![if busy {
            "I am working on a reply for you (send /stop to cancel it).".to_owned()
        } else {
            "I am not working on anything for you right now.".to_owned()
        }];
        let connected = match &self.accounts {
            Some(accounts) => accounts.accounts(principal).await.ok(),
            None => None,
        };
        for s in &self.servers {
            let state = match (&connected, s.oauth) {
                (_, false) => "ready, no account needed".to_owned(),
                (Some(list), true) => match list.iter().find(|c| c.server == s.name) {
                    Some(ConnectedAccount {
                        account: Some(account),
                        ..
                    }) => format!("connected as {account}"),
                    Some(_) => "connected".to_owned(),
                    None => "not connected (send /connect)".to_owned(),
                },
                (None, true) => {
                    "needs an account connection, which this gateway cannot make yet".to_owned()
                }
            };
            lines.push(format!("{}: {state}", s.name));
        }
        if self.servers.is_empty() {
            lines.push("No servers are configured.".to_owned());
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_for_this_bot_only() {
        assert_eq!(parse("/start", Some("bot")), Some(ChatCommand::Start));
        assert_eq!(parse("/STOP@Bot", Some("bot")), Some(ChatCommand::Stop));
        assert_eq!(parse("/stop@other_bot", Some("bot")), None);
        assert_eq!(
            parse("/connect notion now", None),
            Some(ChatCommand::Connect(Some("notion".into())))
        );
        assert_eq!(
            parse("/what", None),
            Some(ChatCommand::Unknown("what".into()))
        );
        assert_eq!(parse("hello /start", None), None);
        assert_eq!(parse("/", None), None);
        assert_eq!(parse("/../etc", None), None);
    }

    fn commands(servers: &[(&str, bool)]) -> Commands {
        let servers = servers
            .iter()
            .map(|(n, o)| ServerSummary {
                name: (*n).to_owned(),
                oauth: *o,
            })
            .collect();
        Commands::new(Store::open_in_memory().unwrap(), servers, None)
    }

    #[tokio::test]
    async fn connect_without_an_oauth_client_says_so_and_lists_servers() {
        let c = commands(&[("notion", true), ("files", false)]);
        let ann = Principal::telegram(1);
        let r = c
            .reply(&ChatCommand::Connect(None), &ann, "1", false, false)
            .await;
        assert!(r.link.is_none());
        assert!(
            r.text
                .contains("no OAuth connection is configured for \"notion\""),
            "{}",
            r.text
        );
        assert!(r.text.contains("files (no account needed)"), "{}", r.text);
        let r = c
            .reply(
                &ChatCommand::Connect(Some("files".into())),
                &ann,
                "1",
                false,
                false,
            )
            .await;
        assert!(
            r.text
                .contains("\"files\" has no OAuth connection configured"),
            "{}",
            r.text
        );
        let r = c
            .reply(
                &ChatCommand::Disconnect(Some("nope".into())),
                &ann,
                "1",
                false,
                false,
            )
            .await;
        assert!(r.text.contains("no server named \"nope\""), "{}", r.text);
    }

    /// Account links with one connection, `notion` as "Acme", whose revocation the server
    /// `confirms` or not.
    struct OneConnection {
        confirms: bool,
    }

    #[async_trait::async_trait]
    impl AccountLinks for OneConnection {
        async fn connect_link(
            &self,
            _: &Principal,
            _: &str,
        ) -> Result<String, crate::mcp::accounts::AccountError> {
            Ok(String::new())
        }
        async fn disconnect(
            &self,
            _: &Principal,
            _: &str,
        ) -> Result<Disconnected, crate::mcp::accounts::AccountError> {
            Ok(Disconnected {
                was_connected: true,
                unconfirmed: (!self.confirms)
                    .then(|| "Google did not confirm that it revoked the access".to_owned()),
            })
        }
        async fn connected(
            &self,
            _: &Principal,
        ) -> Result<Vec<String>, crate::mcp::accounts::AccountError> {
            Ok(vec!["notion".to_owned()])
        }
        async fn accounts(
            &self,
            _: &Principal,
        ) -> Result<Vec<ConnectedAccount>, crate::mcp::accounts::AccountError> {
            Ok(vec![ConnectedAccount {
                server: "notion".to_owned(),
                account: Some("Acme".to_owned()),
            }])
        }
    }

    fn with(confirms: bool) -> Commands {
        Commands::new(
            Store::open_in_memory().unwrap(),
            vec![ServerSummary {
                name: "notion".into(),
                oauth: true,
            }],
            Some(Arc::new(OneConnection { confirms })),
        )
    }

    #[tokio::test]
    async fn connections_names_the_account_and_disconnect_reports_an_unconfirmed_revocation() {
        let ann = Principal::telegram(1);
        let status = with(true)
            .reply(&ChatCommand::Connections, &ann, "1", false, false)
            .await;
        assert!(
            status.text.contains("notion: connected as Acme"),
            "{}",
            status.text
        );
        let done = with(true)
            .reply(&ChatCommand::Disconnect(None), &ann, "1", false, false)
            .await;
        assert!(
            done.text.contains("its access was revoked"),
            "{}",
            done.text
        );
        let unconfirmed = with(false)
            .reply(&ChatCommand::Disconnect(None), &ann, "1", false, false)
            .await;
        assert!(
            unconfirmed.text.contains("could not confirm")
                && unconfirmed.text.contains("Google did not confirm"),
            "{}",
            unconfirmed.text
        );
    }

    #[tokio::test]
    async fn status_shows_admins_the_screen_and_anyone_else_the_unknown_command_answer() {
        let screen: StatusScreen =
            Arc::new(|| Box::pin(async { "mcp-gateway 9.9.9, up 1m".to_owned() }));
        let c = with(true).with_status_screen(Some(screen));
        let ann = Principal::telegram(1);
        let admin = c.reply(&ChatCommand::Status, &ann, "1", false, true).await;
        assert_eq!(admin.text, "mcp-gateway 9.9.9, up 1m");
        let other = c.reply(&ChatCommand::Status, &ann, "1", false, false).await;
        let unknown = c
            .reply(
                &ChatCommand::Unknown("status".into()),
                &ann,
                "1",
                false,
                false,
            )
            .await;
        assert_eq!(other, unknown);
        assert!(other.text.starts_with("I do not know the command /status."));
        // Without a screen, not even an admin learns that the command exists.
        let bare = with(true)
            .reply(&ChatCommand::Status, &ann, "1", false, true)
            .await;
        assert_eq!(bare, unknown);
        assert_eq!(parse("/connections", None), Some(ChatCommand::Connections));
        assert_eq!(parse("/status@bot", Some("bot")), Some(ChatCommand::Status));
    }
}
