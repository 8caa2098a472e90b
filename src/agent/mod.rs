//! The agent: one turn from a person's message to the assistant's answer, using tools on the way.
