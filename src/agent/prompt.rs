//! The system prompt: the operator's file, or a built-in prompt written for small local models.

use crate::config::AgentConfig;

/// The built-in system prompt.
const DEFAULT_PROMPT: &str = "You are a helpful personal assistant in a chat app. Answer briefly and plainly.\n\
When the person asks about their own data or wants something done (notes, pages, tasks, calendar events), \
use the tools you are given; never invent results. If a tool needs an id you do not have, search first. \
If a tool result says something failed, tell the person in one sentence what happened and what they can do. \
If no tool fits the request, say so honestly instead of guessing.";

/// Why the system prompt could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the system prompt file {path}: {reason}")]
pub struct PromptError {
    /// The file.
    pub path: String,
    /// What failed.
    pub reason: String,
}

/// The largest system prompt file accepted.
const MAX_PROMPT_BYTES: u64 = 256 * 1024;

/// Loads the configured system prompt, or the built-in one.
///
/// # Errors
/// Fails when the configured file cannot be read or is too large.
pub fn load(config: &AgentConfig) -> Result<String, PromptError> {
    let Some(path) = &config.system_prompt_file else {
        return Ok(DEFAULT_PROMPT.to_owned());
    };
    let err = |reason: String| PromptError {
        path: path.display().to_string(),
        reason,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > MAX_PROMPT_BYTES {
        return Err(err(format!("it is larger than {MAX_PROMPT_BYTES} bytes")));
    }
    std::fs::read_to_string(path)
        .map_err(|e| err(e.to_string()))
        .map(|s| s.trim().to_owned())
}

/// The system message for a turn: the prompt, today's date in `zone`, and the summary of
/// earlier turns.
///
/// Only the date (not the time) is included, so the prompt's prefix stays the same all day and
/// the model server can reuse its cache.
#[must_use]
pub fn system_message(prompt: &str, zone: chrono_tz::Tz, summary: Option<&str>) -> String {
    system_message_at(prompt, zone, summary, chrono::Utc::now())
}

fn system_message_at(
    prompt: &str,
    zone: chrono_tz::Tz,
    summary: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let today = now.with_timezone(&zone).format("%A, %Y-%m-%d");
    let mut out = format!("{prompt}\n\nToday is {today} ({}).", zone.name());
    if let Some(summary) = summary.filter(|s| !s.is_empty()) {
        out.push_str("\n\nSummary of the earlier conversation:\n");
        out.push_str(summary);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_the_one_in_the_configured_zone() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T23:30:00Z")
            .unwrap()
            .to_utc();
        let utc = system_message_at("Be brief.", chrono_tz::Tz::UTC, None, now);
        assert!(
            utc.ends_with("Today is Wednesday, 2026-11-25 (UTC)."),
            "{utc}"
        );
        let tokyo = system_message_at(
            "Be brief.",
            chrono_tz::Asia::Tokyo,
            Some("Asked about trains."),
            now,
        );
        assert!(
            tokyo.contains("Today is Thursday, 2026-11-26 (Asia/Tokyo)."),
            "{tokyo}"
        );
        assert!(tokyo.ends_with("Asked about trains."), "{tokyo}");
    }
}
