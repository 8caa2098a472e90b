//! How a turn ended, as the agent tells the channel that asked for it.

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
