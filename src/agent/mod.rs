//! The agent: one turn from a person's message to the assistant's answer, using tools on the way.
//!
//! [`Agent::run_turn`] loads the person's conversation, fits it into the model's context (compacting
//! old turns into a summary), offers tools, streams the model's reply to the channel through a
//! [`TurnSink`], runs the tools the model calls (checking arguments, asking for confirmation of
//! destructive ones, bounding results), and stores the turn. A turn has a deadline, a limit on tool
//! rounds, and can be cancelled at once.

mod answer;
mod budget;
mod leak;
mod offered;
mod outcome;
mod prompt;
mod queue;
pub mod select;
mod sink;
mod turn;
mod validate;

use std::sync::Arc;

pub use outcome::{TurnEnd, TurnOutcome};
pub use select::ToolSelector;
pub use sink::{Activity, ConfirmRequest, TurnSink, queue_notice};
pub use turn::{TurnInput, add_assistant_tools, connect_tools};

use crate::config::{AgentConfig, ServerConfig};
use crate::llm::{ChatModel, ModelError};
use crate::mcp::ToolHost;
use crate::mcp::accounts::AccountLinks;
use crate::store::{Store, StoreError};
use crate::telemetry::metrics::Metrics;

/// Why a turn failed; [`AgentError::user_message`] is what the person is told.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The model could not answer.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The conversation could not be read or stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AgentError {
    /// A short, honest reply for the person; details go to the operator's log.
    #[must_use]
    pub fn user_message(&self) -> String {
        match self {
            Self::Model(ModelError::Unreachable {
                ever_reached: false,
                ..
            }) => "Sorry, the language model is not running, so I cannot answer yet. Please tell the operator.".into(),
            Self::Model(ModelError::Unreachable { .. }) => {
                "Sorry, the language model is not reachable right now. Please try again in a minute.".into()
            }
            Self::Model(ModelError::ModelNotFound { model }) => {
                format!("Sorry, the model `{model}` is not installed on the model server yet. The operator can fix this with `ollama pull {model}`.")
            }
            Self::Model(ModelError::Timeout(_) | ModelError::NoFirstOutput(_)) => "Sorry, the model took too long to answer. Please try again.".into(),
            Self::Model(ModelError::ToolsUnsupported { model }) => {
                format!("Sorry, the model `{model}` cannot use tools, so I cannot help with this. The operator can fix this by choosing a model that supports tools, such as qwen2.5:7b.")
            }
            Self::Model(_) => "Sorry, the model failed while answering. Please try again.".into(),
            Self::Store(_) => "Sorry, I could not read or save our conversation. Please try again.".into(),
        }
    }

    /// What the console tells its user, who runs the gateway and can act on the cause: for a model
    /// server never reached, the address and how to start it; otherwise [`Self::user_message`].
    #[must_use]
    pub fn operator_message(&self) -> String {
        match self {
            Self::Model(ModelError::Unreachable {
                url,
                reason,
                ever_reached: false,
            }) => format!("The language model is not reachable at {url}: {reason}."),
            _ => self.user_message(),
        }
    }
}

/// The agent shared by every channel; cheap to clone.
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    model: Arc<dyn ChatModel>,
    tools: Arc<dyn ToolHost>,
    store: Store,
    config: AgentConfig,
    servers: Vec<ServerConfig>,
    system_prompt: String,
    metrics: Metrics,
    selector: ToolSelector,
    /// The OAuth client's links, for `<server>_connect` and for connections that broke.
    accounts: Option<Arc<dyn AccountLinks>>,
    /// Each person's schedule, behind the built-in `assistant_*` tools, when the gateway keeps one.
    schedule: Option<crate::schedule::Schedule>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("model", &self.inner.model.model_name())
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// Assembles an agent.
    ///
    /// # Errors
    /// Fails when the configured system prompt file cannot be read.
    pub fn new(
        model: Arc<dyn ChatModel>,
        tools: Arc<dyn ToolHost>,
        store: Store,
        config: AgentConfig,
        servers: Vec<ServerConfig>,
        metrics: Metrics,
    ) -> Result<Self, prompt::PromptError> {
        let system_prompt = prompt::load(&config)?;
        let selector = ToolSelector::new(&config, &servers);
        Ok(Self {
            inner: Arc::new(Inner {
                model,
                tools,
                store,
                config,
                servers,
                system_prompt,
                metrics,
                selector,
                accounts: None,
                schedule: None,
            }),
        })
    }

    /// Uses the Ollama embedding model `embed_name` (on the agent's model server) in tool
    /// selection, caching tool vectors in the agent's store; `None` keeps selection lexical.
    /// Clones made before are agents of their own and keep their selection.
    #[must_use]
    pub fn with_embed_model(mut self, embed_name: Option<String>) -> Self {
        let Some(name) = embed_name else {
            return self;
        };
        let inner = Arc::make_mut(&mut self.inner);
        inner.selector = ToolSelector::with_embeddings(
            &inner.config,
            &inner.servers,
            Arc::clone(&inner.model),
            name,
            Some(inner.store.clone()),
        );
        self
    }

    /// Lets the agent offer `<server>_connect` for every OAuth server a principal has not
    /// connected, and show links through `accounts`. Clones made before are agents of their own
    /// and offer no links.
    #[must_use]
    pub fn with_accounts(mut self, accounts: Arc<dyn AccountLinks>) -> Self {
        Arc::make_mut(&mut self.inner).accounts = Some(accounts);
        self
    }

    /// Offers the built-in `assistant_*` tools over `schedule` in every person's catalog.
    /// Clones made before are agents of their own and offer no schedule.
    #[must_use]
    pub fn with_schedule(mut self, schedule: crate::schedule::Schedule) -> Self {
        Arc::make_mut(&mut self.inner).schedule = Some(schedule);
        self
    }

    /// The schedule behind the built-in tools, when the agent has one.
    #[must_use]
    pub fn schedule(&self) -> Option<&crate::schedule::Schedule> {
        self.inner.schedule.as_ref()
    }

    /// The OAuth client's links, when the agent has them.
    #[must_use]
    pub fn accounts(&self) -> Option<&Arc<dyn AccountLinks>> {
        self.inner.accounts.as_ref()
    }

    /// The tool selector the agent's turns use.
    #[must_use]
    pub fn selector(&self) -> &ToolSelector {
        &self.inner.selector
    }

    /// The store the agent keeps conversations in.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The MCP side the agent calls tools through.
    #[must_use]
    pub fn tools(&self) -> &Arc<dyn ToolHost> {
        &self.inner.tools
    }

    /// The metrics the agent updates.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
}

#[cfg(test)]
mod tests;
