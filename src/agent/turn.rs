//! One turn of the agent loop.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::answer::{self, AfterEmpty, EmptyReplies};
use super::budget::{self, estimate_message};
use super::leak::{self, StreamGuard};
use super::offered::Offered;
use super::outcome::{ToolOutcome, TurnEnd, TurnOutcome};
use super::queue::{Interrupt, Waiting};
use super::sink::{Activity, ConfirmRequest, TurnSink};
use super::{Agent, AgentError, prompt, select, validate};
use crate::Principal;
use crate::llm::{ChatOutcome, ChatRequest, Message, Role, ToolCall, ToolSpec};
use crate::mcp::accounts::PendingMessage;
use crate::mcp::{Catalog, CatalogTool, ToolError};
use crate::store::audit::{AuditEntry, args_digest};
use crate::telemetry::metrics::{ServerLabels, TokenLabels, ToolLabels};

/// The most tool calls run from one model reply.
const MAX_CALLS_PER_ROUND: usize = 8;
/// The suffix of the stand-in tool offered for an OAuth server the person has not connected.
pub const CONNECT_SUFFIX: &str = "_connect";

/// The stand-in tool for `server`, which the person has not connected.
#[must_use]
pub fn connect_tool(server: &str) -> ToolSpec {
    ToolSpec {
        name: format!("{server}{CONNECT_SUFFIX}"),
        description: format!(
            "The person has not connected their {server} account, so the {server} tools are not              available. Call this when they ask for something in {server}: it shows them a link              to connect, and their request is answered once they have connected."
        ),
        parameters: serde_json::json!({"type": "object", "properties": {}}).into(),
    }
}

/// Adds the gateway's own tools (`assistant_*`, over each person's schedule) to a person's
/// catalog after the servers' tools, as every turn of a gateway that keeps a schedule does;
/// `route` shows the same catalog.
pub fn add_assistant_tools(catalog: &mut Catalog) {
    catalog.tools.extend(crate::schedule::tools::catalog());
}

/// The `<server>_connect` stand-ins a turn offers beside the selected tools, one for each OAuth
/// server the person has not connected, when the gateway can show connect links.
pub fn connect_tools(catalog: &Catalog) -> impl Iterator<Item = ToolSpec> + '_ {
    catalog.needs_connection.iter().map(|s| connect_tool(s))
}

/// One message to answer.
#[derive(Debug, Clone, Copy)]
pub struct TurnInput<'a> {
    /// Who wrote it.
    pub principal: &'a Principal,
    /// The chat it was written in (a Telegram chat id, a Slack channel and thread, `console`).
    pub chat: &'a str,
    /// What they wrote.
    pub text: &'a str,
}

/// How the requests of one turn are going: what the server counted beyond the estimate, the
/// empty replies so far, and what to tell the model with the next request.
struct Rounds {
    /// The factor by which the model server's token count exceeded the estimate (at least 1).
    scale: f64,
    /// The empty replies so far.
    empty: EmptyReplies,
    /// Whether the model is now asked for a plain answer, without tools.
    plain: bool,
    /// A nudge sent with the next request only.
    nudge: Option<&'static str>,
}

impl Rounds {
    fn new() -> Self {
        Self {
            scale: 1.0,
            empty: EmptyReplies::default(),
            plain: false,
            nudge: None,
        }
    }

    /// Learns from the server's count of a prompt that was estimated at `estimate` tokens.
    fn learn(&mut self, estimate: u32, outcome: &ChatOutcome) {
        if let Some(counted) = outcome.usage.prompt_tokens
            && estimate > 0
        {
            let ratio = f64::from(counted) / f64::from(estimate);
            if ratio > self.scale {
                self.scale = ratio.min(4.0);
            }
        }
    }
}

impl Agent {
    /// Answers one message, streaming the reply into `sink`.
    ///
    /// # Errors
    /// Fails when the model cannot answer or the conversation cannot be stored; the error's
    /// [`AgentError::user_message`] says so to the person. The message is stored either way.
    pub async fn run_turn(
        &self,
        input: TurnInput<'_>,
        sink: &dyn TurnSink,
        cancel: &CancellationToken,
    ) -> Result<TurnOutcome, AgentError> {
        let started = Instant::now();
        let deadline = started + self.inner.config.turn_timeout;
        let mut catalog = self.inner.tools.catalog(input.principal).await;
        if self.inner.schedule.is_some() {
            add_assistant_tools(&mut catalog);
        }
        self.inner.metrics.know_tools(
            catalog
                .tools
                .iter()
                .map(|t| (t.server.as_str(), t.tool.as_str())),
        );
        let by_name: HashMap<&str, &CatalogTool> = catalog
            .tools
            .iter()
            .map(|t| (t.qualified.as_str(), t))
            .collect();
        let conversation = conversation_key(input.principal, input.chat);
        let mut offered = self
            .offered_tools(&conversation, &catalog, input.text)
            .await;
        if self.inner.accounts.is_some() {
            offered.extend(connect_tools(&catalog));
        }
        let user = Message::user(input.text);
        let mut new_messages = vec![user.clone()];

        let result = self
            .converse(
                input,
                &conversation,
                &catalog,
                &by_name,
                offered,
                &mut new_messages,
                sink,
                cancel,
                deadline,
            )
            .await;
        if let Ok(outcome) = &result {
            sink.answered(outcome);
        }
        let to_store: Vec<(Message, u32)> = new_messages
            .into_iter()
            .map(|m| {
                let tokens = estimate_message(&m);
                (m, tokens)
            })
            .collect();
        let stored = self
            .inner
            .store
            .append_turn(input.principal, input.chat, to_store)
            .await;
        self.inner
            .metrics
            .turn_duration
            .observe(started.elapsed().as_secs_f64());
        self.inner
            .metrics
            .live
            .turn_ended(result.is_err() || stored.is_err());
        let outcome = result?;
        stored?;
        Ok(outcome)
    }

    /// The tools offered to the model this turn, in a stable order: every tool under `"all"` or
    /// a small catalog, else the conversation's selected set (see [`super::select`]).
    async fn offered_tools(&self, conversation: &str, catalog: &Catalog, message: &str) -> Offered {
        let selection = self
            .inner
            .selector
            .select(conversation, catalog, message)
            .await;
        let offered = Offered::new(selection.specs(catalog));
        let m = &self.inner.metrics;
        m.offered_tools.observe(selection.tools.len() as f64);
        m.offered_schema_bytes
            .observe(offered.schema_bytes() as f64);
        offered
    }

    #[allow(clippy::too_many_arguments)] // the pieces of one turn, kept apart for borrowing
    async fn converse(
        &self,
        input: TurnInput<'_>,
        conversation: &str,
        catalog: &Catalog,
        by_name: &HashMap<&str, &CatalogTool>,
        mut offered: Offered,
        new_messages: &mut Vec<Message>,
        sink: &dyn TurnSink,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<TurnOutcome, AgentError> {
        let mut waiting = Waiting::new(sink, cancel, deadline);
        let mut messages = self
            .prompt_messages(input, &offered, catalog, &mut waiting)
            .await?;
        let mut question = messages.len();
        messages.extend(new_messages.iter().cloned());
        let selecting = self.inner.selector.selects(catalog);
        let mut visible = String::new();
        let mut calls_made: u32 = 0;
        let max_rounds = self.inner.config.max_tool_rounds;
        let mut round = 0;
        let mut rounds = Rounds::new();
        loop {
            // The last round offers no tools, so the model must answer in words.
            let offer = round < max_rounds && !rounds.plain;
            let (tools, tool_tokens): (&[ToolSpec], u32) = if offer {
                (offered.specs(), offered.tokens())
            } else {
                (&[], 0)
            };
            sink.activity(Activity::Thinking).await;
            let nudge = rounds.nudge.take();
            if let Some(text) = nudge {
                messages.push(Message::user(text));
            }
            let estimate = self.fit_round(&mut messages, &mut question, tool_tokens, rounds.scale);
            let reply = self
                .stream_reply(&messages, tools, &visible, &mut waiting)
                .await?;
            if nudge.is_some() {
                messages.pop();
            }
            let outcome = match reply {
                Ok(outcome) => outcome,
                Err(interrupt) => {
                    let (end, note) = match interrupt {
                        Interrupt::Cancelled => (TurnEnd::Cancelled, "(stopped)"),
                        Interrupt::TimedOut => (TurnEnd::TimedOut, "(stopped: this took too long)"),
                    };
                    let reply = join_visible(&visible, note);
                    new_messages.push(Message::assistant(reply.clone()));
                    return Ok(TurnOutcome {
                        reply,
                        end,
                        tool_calls: calls_made,
                    });
                }
            };
            rounds.learn(estimate, &outcome);
            let offered_names: Vec<&str> = if offer {
                offered.specs().iter().map(|t| t.name.as_str()).collect()
            } else {
                Vec::new()
            };
            let extracted = leak::extract(&outcome.content, &offered_names);
            let calls: Vec<ToolCall> = if outcome.tool_calls.is_empty() {
                extracted.calls
            } else {
                outcome.tool_calls
            };
            // Calls are only honoured while tools are offered; the last round must answer in words.
            let wanted_more = !calls.is_empty() && !offer;
            let calls: Vec<ToolCall> = if !offer {
                Vec::new()
            } else {
                calls.into_iter().take(MAX_CALLS_PER_ROUND).collect()
            };
            let mut text = extracted.text;
            if calls.is_empty() && outcome.cut.is_some() {
                text = answer::trim_runaway(&text).to_owned();
            }
            let mut closing: Option<&str> = outcome.cut.map(answer::cut_note);
            if calls.is_empty() && text.trim().is_empty() {
                // Nothing came: a call the server swallowed, markup for a tool not offered, or
                // silence. Ask again, then for a plain answer, then apologise.
                let tried_a_call = wanted_more || !outcome.content.trim().is_empty();
                if tried_a_call && round >= max_rounds {
                    text = STEPS_EXHAUSTED.to_owned();
                } else {
                    tracing::info!(round, offered = offer, "the model's reply was empty");
                    match rounds.empty.next(offer) {
                        AfterEmpty::Retry => {
                            rounds.nudge = Some(answer::NUDGE_TOOLS);
                            continue;
                        }
                        AfterEmpty::Plain => {
                            rounds.plain = true;
                            rounds.nudge = Some(answer::NUDGE_PLAIN);
                            continue;
                        }
                        AfterEmpty::GiveUp => text = answer::NO_ANSWER.to_owned(),
                    }
                }
                closing = None;
            }
            visible = join_visible(&visible, &text);
            sink.progress(&visible);
            let assistant = Message {
                tool_calls: calls.clone(),
                ..Message::assistant(text)
            };
            messages.push(assistant.clone());
            new_messages.push(assistant);
            if calls.is_empty() {
                let reply = match closing {
                    Some(note) => join_visible(&visible, note),
                    None => visible,
                };
                return Ok(TurnOutcome {
                    reply,
                    end: TurnEnd::Answered,
                    tool_calls: calls_made,
                });
            }
            for call in &calls {
                if cancel.is_cancelled() || Instant::now() >= deadline {
                    break;
                }
                let connect_server = catalog.needs_connection.iter().find(|s| {
                    call.name.strip_suffix(CONNECT_SUFFIX) == Some(s.as_str())
                        && !by_name.contains_key(call.name.as_str())
                });
                let result = if let Some(server) = connect_server {
                    self.offer_link(input, server, sink).await
                } else if selecting && call.name == select::FIND_TOOLS {
                    self.find_tools(conversation, catalog, by_name, call, &mut offered)
                } else {
                    let held = selecting
                        && by_name
                            .get(call.name.as_str())
                            .is_some_and(|t| t.hints.destructive);
                    if selecting {
                        self.note_call(conversation, by_name, call, &mut offered);
                    }
                    if held {
                        self.inner.selector.hold(conversation, &call.name);
                    }
                    let result = self
                        .run_tool(input, call, by_name, sink, cancel, deadline)
                        .await;
                    if held {
                        self.inner.selector.release(conversation, &call.name);
                    }
                    result
                };
                calls_made += 1;
                let message = Message::tool_result(call, result);
                messages.push(message.clone());
                new_messages.push(message);
            }
            round += 1;
        }
    }

    /// Makes the turn's next request fit the model's context (see [`budget::fit_request`]);
    /// returns its estimate in tokens, to learn from the server's count.
    fn fit_round(
        &self,
        messages: &mut Vec<Message>,
        question: &mut usize,
        tool_tokens: u32,
        scale: f64,
    ) -> u32 {
        let fitted = budget::fit_request(budget::Request {
            messages,
            question: *question,
            tool_tokens,
            num_ctx: self.inner.model.context_tokens(),
            scale,
        });
        if fitted.dropped_history + fitted.cut_results + fitted.dropped_rounds > 0 {
            tracing::info!(
                dropped_history = fitted.dropped_history,
                cut_results = fitted.cut_results,
                dropped_rounds = fitted.dropped_rounds,
                estimate = fitted.estimate,
                scale,
                "made the request fit the model's context"
            );
        }
        *question = fitted.question;
        fitted.estimate
    }

    /// Shows the person a link to connect `server`, remembering their message so that it is
    /// answered once they have connected, and saying why when an earlier connection ended;
    /// returns what the model reads.
    async fn offer_link(&self, input: TurnInput<'_>, server: &str, sink: &dyn TurnSink) -> String {
        let Some(accounts) = &self.inner.accounts else {
            return format!(
                "Error: connecting {server} is not available on this gateway. Tell the person."
            );
        };
        let pending = PendingMessage {
            chat: input.chat.to_owned(),
            text: input.text.to_owned(),
        };
        let ended = accounts.ended(input.principal, server).await;
        match accounts
            .connect_link_for(input.principal, server, Some(pending))
            .await
        {
            Ok(url) => {
                match &ended {
                    Some(ended) => sink.reconnect_link(server, &url, ended).await,
                    None => sink.connect_link(server, &url).await,
                }
                format!(
                    "A link to connect {server} was shown to the person. Tell them in one short \
                     sentence to open it; their request will be answered once they have \
                     connected. Do not write the link yourself."
                )
            }
            Err(e) => {
                format!("Error: could not create a link to connect {server}: {e}. Tell the person.")
            }
        }
    }

    /// Runs the `find_tools` meta-tool: the tools found are offered from the next request on.
    fn find_tools(
        &self,
        conversation: &str,
        catalog: &Catalog,
        by_name: &HashMap<&str, &CatalogTool>,
        call: &ToolCall,
        offered: &mut Offered,
    ) -> String {
        self.inner.metrics.find_tools_calls.inc();
        let query = call
            .arguments
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let found = self.inner.selector.find(conversation, catalog, query);
        for (name, _) in &found.tools {
            if !offered.contains(name)
                && let Some(tool) = by_name.get(name.as_str())
            {
                offered.push(tool.spec());
            }
        }
        tracing::debug!(query = %truncate_chars(query, 100), found = found.tools.len(), "find_tools");
        found.message()
    }

    /// Keeps a called tool in the conversation's set; a catalog tool that was not offered is
    /// counted, and offered from the next request on.
    fn note_call(
        &self,
        conversation: &str,
        by_name: &HashMap<&str, &CatalogTool>,
        call: &ToolCall,
        offered: &mut Offered,
    ) {
        let Some(tool) = by_name.get(call.name.as_str()) else {
            return;
        };
        self.inner.selector.called(conversation, &call.name);
        if !offered.contains(&call.name) {
            self.inner
                .metrics
                .unoffered_tool_calls
                .get_or_create(&ServerLabels {
                    server: tool.server.clone(),
                })
                .inc();
            offered.push(tool.spec());
        }
    }

    /// The system message and the history that fits the budget, compacting when it overflows.
    async fn prompt_messages(
        &self,
        input: TurnInput<'_>,
        offered: &Offered,
        catalog: &Catalog,
        waiting: &mut Waiting<'_>,
    ) -> Result<Vec<Message>, AgentError> {
        let store = &self.inner.store;
        let mut conversation = store.load_conversation(input.principal, input.chat).await?;
        let num_ctx = self.inner.model.context_tokens();
        let system_tokens = budget::estimate_text(&self.inner.system_prompt) + 64;
        let budget = budget::history_budget(
            num_ctx,
            self.inner.config.history_share,
            system_tokens,
            offered.tokens(),
        );
        let total: u32 = conversation.messages.iter().map(|m| m.tokens).sum::<u32>()
            + conversation
                .summary
                .as_deref()
                .map_or(0, budget::estimate_text);
        if total > budget && conversation.messages.len() > 1 {
            // Keep the newest half of the budget verbatim; summarise the rest.
            let keep = budget::keep_from(&conversation.messages, budget / 2);
            if keep > 0 {
                match self
                    .summarise(
                        conversation.summary.as_deref(),
                        &conversation.messages[..keep],
                        waiting,
                    )
                    .await
                {
                    Ok(summary) => {
                        let through = conversation.messages[keep - 1].id;
                        let tokens = budget::estimate_text(&summary);
                        store
                            .compact_conversation(
                                input.principal,
                                input.chat,
                                through,
                                summary.clone(),
                                tokens,
                            )
                            .await?;
                        conversation.messages.drain(..keep);
                        conversation.summary = Some(summary);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "compaction failed; leaving the oldest turns out of this request instead");
                        conversation.messages.drain(..keep);
                    }
                }
            }
        }
        let keep = budget::keep_from(&conversation.messages, budget);
        let mut system = prompt::system_message(
            &self.inner.system_prompt,
            self.inner.config.time_zone,
            conversation.summary.as_deref(),
        );
        for (server, reason) in &catalog.unavailable {
            system.push_str(&format!(
                "\n\nThe `{server}` tools are unavailable right now ({reason}); if the person needs them, say so."
            ));
        }
        let mut messages = vec![Message::system(system)];
        messages.extend(
            conversation
                .messages
                .into_iter()
                .skip(keep)
                .map(|m| m.message),
        );
        Ok(messages)
    }

    /// Asks the model for a short summary of old turns (and the previous summary), in its turn
    /// in the model server's queue.
    async fn summarise(
        &self,
        previous: Option<&str>,
        old: &[crate::store::history::StoredMessage],
        waiting: &mut Waiting<'_>,
    ) -> Result<String, String> {
        let mut transcript = String::new();
        if let Some(previous) = previous {
            transcript.push_str("Earlier summary: ");
            transcript.push_str(previous);
            transcript.push('\n');
        }
        for m in old {
            let who = match m.message.role {
                Role::User => "Person",
                Role::Assistant => "Assistant",
                Role::Tool => "Tool result",
                Role::System => continue,
            };
            let text: String = m.message.content.chars().take(2000).collect();
            transcript.push_str(&format!("{who}: {text}\n"));
        }
        let request = [
            Message::system(
                "Summarise this conversation in at most 10 short lines. Keep names, ids, dates, decisions and open requests. Write only the summary.",
            ),
            Message::user(transcript),
        ];
        let _slot = self.model_slot(waiting).await.map_err(|interrupt| {
            format!("the turn stopped ({interrupt:?}) while waiting for the model server")
        })?;
        let outcome = self
            .inner
            .model
            .chat(
                &ChatRequest {
                    messages: &request,
                    tools: &[],
                },
                &|_: &str| {},
            )
            .await
            .map_err(|e| e.to_string())?;
        let summary: String = outcome.content.trim().chars().take(4000).collect();
        Ok(summary)
    }

    /// Streams one model reply into the sink, holding back tool-call markup, once the model
    /// server has a slot for it.
    async fn stream_reply(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        visible_before: &str,
        waiting: &mut Waiting<'_>,
    ) -> Result<Result<ChatOutcome, Interrupt>, AgentError> {
        let _slot = match self.model_slot(waiting).await {
            Ok(slot) => slot,
            Err(interrupt) => return Ok(Err(interrupt)),
        };
        let (sink, cancel, deadline) = (waiting.sink, waiting.cancel, waiting.deadline);
        let streamed = Mutex::new((String::new(), StreamGuard::default()));
        let on_delta = |delta: &str| {
            let mut state = streamed.lock();
            let (text, guard) = &mut *state;
            text.push_str(delta);
            let trimmed = text.trim_start();
            if !guard.advance(trimmed).is_empty() {
                let shown = &trimmed[..guard.shown()];
                sink.progress(&join_visible(visible_before, shown));
            }
        };
        let started = Instant::now();
        let request = ChatRequest { messages, tools };
        let result = tokio::select! {
            r = self.inner.model.chat(&request, &on_delta) => r,
            () = cancel.cancelled() => return Ok(Err(Interrupt::Cancelled)),
            () = tokio::time::sleep_until(deadline.into()) => return Ok(Err(Interrupt::TimedOut)),
        };
        let m = &self.inner.metrics;
        m.model_duration.observe(started.elapsed().as_secs_f64());
        let outcome = result?;
        if let Some(n) = outcome.usage.prompt_tokens {
            m.model_tokens
                .get_or_create(&TokenLabels {
                    kind: "prompt".into(),
                })
                .inc_by(u64::from(n));
        }
        if let Some(n) = outcome.usage.completion_tokens {
            m.model_tokens
                .get_or_create(&TokenLabels {
                    kind: "completion".into(),
                })
                .inc_by(u64::from(n));
        }
        Ok(Ok(outcome))
    }

    /// Runs one tool call and returns the text the model reads back.
    async fn run_tool(
        &self,
        input: TurnInput<'_>,
        call: &ToolCall,
        by_name: &HashMap<&str, &CatalogTool>,
        sink: &dyn TurnSink,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> String {
        let Some(tool) = by_name.get(call.name.as_str()).copied() else {
            let mut names: Vec<&str> = by_name.keys().copied().collect();
            names.sort_unstable();
            names.truncate(30);
            return format!(
                "Error: there is no tool named `{}`. Available tools: {}.",
                call.name,
                names.join(", ")
            );
        };
        let started = Instant::now();
        let digest = args_digest(&call.arguments);
        let (outcome, text) = match validate::validate(
            &call.name,
            &tool.input_schema,
            &call.arguments,
        ) {
            Err(message) => (ToolOutcome::Invalid, message),
            Ok(args) => {
                if tool.hints.destructive && !self.confirm(tool, &call.arguments, sink).await {
                    (ToolOutcome::Denied, "The person declined this action, so it was not done. Do not retry it unless they ask again.".to_owned())
                } else {
                    sink.activity(Activity::Tool(call.name.clone())).await;
                    let called = match &self.inner.schedule {
                        Some(schedule) if tool.server == crate::schedule::ASSISTANT => {
                            let answer = crate::schedule::tools::call(
                                schedule,
                                input.principal,
                                input.chat,
                                &tool.tool,
                                &args,
                            )
                            .await;
                            if answer.is_error {
                                (
                                    ToolOutcome::Error,
                                    format!("The tool reported an error: {}", answer.text),
                                )
                            } else {
                                (ToolOutcome::Ok, answer.text)
                            }
                        }
                        _ => {
                            self.call_tool(input.principal, tool, args, cancel, deadline)
                                .await
                        }
                    };
                    match called {
                        (ToolOutcome::NotConnected, _) => (
                            ToolOutcome::NotConnected,
                            self.offer_link(input, &tool.server, sink).await,
                        ),
                        other => other,
                    }
                }
            }
        };
        let latency = started.elapsed();
        self.record(input.principal, tool, digest, outcome, latency)
            .await;
        bound_result(&text, self.inner.config.max_tool_result_chars)
    }

    async fn confirm(&self, tool: &CatalogTool, arguments: &Value, sink: &dyn TurnSink) -> bool {
        let pretty = serde_json::to_string_pretty(arguments).unwrap_or_default();
        let request = ConfirmRequest {
            tool: tool.qualified.clone(),
            title: tool
                .title
                .clone()
                .unwrap_or_else(|| tool.description.chars().take(120).collect()),
            arguments: truncate_chars(&pretty, 600),
        };
        sink.confirm(&request).await
    }

    async fn call_tool(
        &self,
        principal: &Principal,
        tool: &CatalogTool,
        args: serde_json::Map<String, Value>,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> (ToolOutcome, String) {
        let per_call = self
            .inner
            .servers
            .iter()
            .find(|s| s.name == tool.server)
            .and_then(|s| s.timeout)
            .unwrap_or(self.inner.config.tool_timeout);
        let limit = per_call.min(deadline.saturating_duration_since(Instant::now()));
        let call = self
            .inner
            .tools
            .call(principal, &tool.server, &tool.tool, args);
        let result = tokio::select! {
            r = tokio::time::timeout(limit, call) => r,
            () = cancel.cancelled() => return (ToolOutcome::Cancelled, "The person cancelled this turn.".to_owned()),
        };
        match result {
            Err(_) => (
                ToolOutcome::Timeout,
                format!(
                    "Error: the tool did not answer within {} seconds. Tell the person it timed out.",
                    limit.as_secs()
                ),
            ),
            Ok(Err(ToolError::Timeout { secs, .. })) => (
                ToolOutcome::Timeout,
                format!(
                    "Error: the tool did not answer within {secs} seconds. Tell the person it timed out."
                ),
            ),
            Ok(Err(ToolError::NotConnected(server))) => (
                ToolOutcome::NotConnected,
                format!("Error: `{server}` is not connected for this user."),
            ),
            Ok(Err(e @ ToolError::Unavailable { .. })) => (
                ToolOutcome::Unavailable,
                format!("Error: {e}. Tell the person; do not retry now."),
            ),
            Ok(Err(e)) => (ToolOutcome::Error, format!("Error: {e}")),
            Ok(Ok(output)) => {
                let mut text = output.text;
                if text.trim().is_empty()
                    && let Some(structured) = &output.structured
                {
                    text = structured.to_string();
                }
                if output.is_error {
                    (
                        ToolOutcome::Error,
                        format!("The tool reported an error: {text}"),
                    )
                } else {
                    (ToolOutcome::Ok, text)
                }
            }
        }
    }

    async fn record(
        &self,
        principal: &Principal,
        tool: &CatalogTool,
        digest: String,
        outcome: ToolOutcome,
        latency: Duration,
    ) {
        let outcome = outcome.label();
        let m = &self.inner.metrics;
        if matches!(outcome, "error" | "timeout" | "unavailable") {
            m.live.tool_failed();
        }
        m.tool_calls
            .get_or_create(&ToolLabels {
                server: tool.server.clone(),
                tool: tool.tool.clone(),
                outcome: outcome.to_owned(),
            })
            .inc();
        m.tool_duration
            .get_or_create(&ServerLabels {
                server: tool.server.clone(),
            })
            .observe(latency.as_secs_f64());
        let entry = AuditEntry {
            principal: principal.clone(),
            server: tool.server.clone(),
            tool: tool.tool.clone(),
            args_sha256: digest,
            outcome: outcome.to_owned(),
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        };
        if let Err(e) = self.inner.store.record_tool_call(entry).await {
            tracing::error!(error = %e, "could not write the tool-call audit row");
        }
        tracing::info!(principal = %principal, server = %tool.server, tool = %tool.tool, outcome, latency_ms = latency.as_millis(), "tool call");
    }
}

/// The key of a conversation in the tool selector: one per principal and chat.
fn conversation_key(principal: &Principal, chat: &str) -> String {
    format!("{principal}\u{1f}{chat}")
}

/// What the person reads when the model still wanted tools after the last round.
const STEPS_EXHAUSTED: &str = "I could not finish this within the allowed number of steps. Please ask again, more specifically.";

/// Appends a round's text to what the person already sees.
fn join_visible(before: &str, more: &str) -> String {
    let more = more.trim();
    match (before.is_empty(), more.is_empty()) {
        (_, true) => before.to_owned(),
        (true, false) => more.to_owned(),
        (false, false) => format!("{before}\n\n{more}"),
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Cuts a tool result to `max` characters, telling the model that it was cut and how to get less.
fn bound_result(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((i, _)) => {
            let dropped = text[i..].chars().count();
            format!(
                "{}\n[... {dropped} more characters were cut. If you need them, call the tool again asking for less (a filter, a smaller page size or a specific id).]",
                &text[..i]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_bounded_with_a_note() {
        assert_eq!(bound_result("short", 10), "short");
        let big = "é".repeat(1000);
        let cut = bound_result(&big, 100);
        assert!(cut.starts_with(&"é".repeat(100)));
        assert!(cut.contains("900 more characters were cut"));
    }

    /// The estimate grows with the server's count, never shrinks, and stays bounded.
    #[test]
    fn rounds_learn_from_the_servers_count() {
        let counted = |n: u32| ChatOutcome {
            usage: crate::llm::Usage {
                prompt_tokens: Some(n),
                ..crate::llm::Usage::default()
            },
            ..ChatOutcome::default()
        };
        let mut rounds = Rounds::new();
        rounds.learn(1000, &counted(1300));
        assert!((rounds.scale - 1.3).abs() < 1e-9);
        rounds.learn(1000, &counted(900));
        assert!(
            (rounds.scale - 1.3).abs() < 1e-9,
            "a lower count keeps the margin"
        );
        rounds.learn(1000, &counted(90_000));
        assert!((rounds.scale - 4.0).abs() < 1e-9);
        rounds.learn(0, &counted(10));
        rounds.learn(1000, &ChatOutcome::default());
        assert!((rounds.scale - 4.0).abs() < 1e-9);
    }

    #[test]
    fn visible_text_joins_rounds() {
        assert_eq!(join_visible("", " a "), "a");
        assert_eq!(join_visible("a", "b"), "a\n\nb");
        assert_eq!(join_visible("a", "  "), "a");
    }
}
