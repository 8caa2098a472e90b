//! How a turn ended, as the agent tells the channel that asked for it, and how each tool call
//! in it ended, as the audit log and the metrics count it.

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// The model answered.
    Answered,
    /// The person cancelled it.
    Cancelled,
    /// It ran past the turn deadline.
    TimedOut,
}

/// The result of a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnOutcome {
    /// The reply as the person should finally see it.
    pub reply: String,
    /// How the turn ended.
    pub end: TurnEnd,
    /// How many tool calls were made.
    pub tool_calls: u32,
}

/// How one tool call ended; its [`ToolOutcome::label`] is what the audit log and
/// `mcp_gateway_tool_calls_total{outcome}` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolOutcome {
    /// The tool answered.
    Ok,
    /// The tool or its server reported an error.
    Error,
    /// The arguments did not fit the tool's schema; the model was told what to fix.
    Invalid,
    /// The person declined the action.
    Denied,
    /// The person has not connected their account on the tool's server.
    NotConnected,
    /// The tool did not answer in time.
    Timeout,
    /// The tool's server could not be reached.
    Unavailable,
    /// The turn was cancelled while the tool ran.
    Cancelled,
}

impl ToolOutcome {
    /// The outcome as recorded.
    #[must_use]
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Invalid => "invalid",
            Self::Denied => "denied",
            Self::NotConnected => "not_connected",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Cancelled => "cancelled",
        }
    }
}
