//! `/reminders` and `/timezone`, and the cancel buttons under the list: what a person sees of
//! their schedule in a chat, the same on every platform.

use super::platform::{Button, Tone};
use crate::Principal;
use crate::schedule::{Schedule, ScheduleError};

/// What a cancel button's press carries before the entry's id.
pub const CANCEL_PREFIX: &str = "sched:cancel:";
/// The most cancel buttons under one list (Slack takes 25 elements in one block).
pub const MAX_BUTTONS: usize = 20;

/// The entry id a cancel button's `data` names.
#[must_use]
pub fn cancel_id(data: &str) -> Option<&str> {
    data.strip_prefix(CANCEL_PREFIX)
        .filter(|id| !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The reply to `/reminders`: the person's entries with their next times, and with `buttons` a
/// cancel button for each (up to [`MAX_BUTTONS`]); without, the text says how to cancel one.
pub async fn list(
    schedule: &Schedule,
    principal: &Principal,
    prefix: char,
    buttons: bool,
) -> (String, Vec<Button>) {
    let entries = match schedule.list(Some(principal)).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(error = %e, "could not read a person's schedule");
            return (
                "Sorry, I could not read your reminders just now. Please try again.".into(),
                Vec::new(),
            );
        }
    };
    let zone = match schedule.zone_of(principal).await {
        Ok(zone) => zone.name().to_owned(),
        Err(_) => "UTC".to_owned(),
    };
    if entries.is_empty() {
        return (
            format!(
                "You have no reminders or scheduled tasks. Ask me, for example: “remind me at 5pm to call the plumber” or “every weekday at 8, tell me what is on my calendar”. Times are in {zone}; change it with {prefix}timezone Area/City."
            ),
            Vec::new(),
        );
    }
    let now = schedule.now();
    let mut text = format!("Your reminders and scheduled tasks (times in {zone}):\n");
    for (i, listed) in entries.iter().enumerate() {
        text.push_str(&format!("{}. {}\n", i + 1, listed.line(now)));
    }
    if !buttons {
        text.push_str("To cancel one, ask me, e.g. “cancel the plumber reminder”.");
        return (text, Vec::new());
    }
    if entries.len() > MAX_BUTTONS {
        text.push_str(&format!(
            "The first {MAX_BUTTONS} have a cancel button; ask me to cancel any other."
        ));
    }
    let buttons = entries
        .iter()
        .take(MAX_BUTTONS)
        .enumerate()
        .map(|(i, listed)| Button::Callback {
            label: format!(
                "Cancel {}: {}",
                i + 1,
                listed.entry.text.chars().take(24).collect::<String>()
            ),
            data: format!("{CANCEL_PREFIX}{}", listed.entry.id),
            tone: Tone::No,
        })
        .collect();
    (text, buttons)
}

/// The note a cancel button's press gets.
pub async fn cancel(schedule: &Schedule, principal: &Principal, id: &str) -> String {
    match schedule.cancel(Some(principal), id).await {
        Ok(listed) => format!(
            "Cancelled: {}",
            listed.entry.text.chars().take(80).collect::<String>()
        ),
        Err(ScheduleError::NotFound(_)) => "That one is already cancelled or done.".into(),
        Err(e) => {
            tracing::warn!(error = %e, "could not cancel a scheduled entry");
            "Sorry, I could not cancel it just now. Please try again.".into()
        }
    }
}

/// The reply to `/timezone [name]` (`prefix` starts commands on the platform): the person's
/// zone, or the new one.
pub async fn timezone(
    schedule: &Schedule,
    principal: &Principal,
    name: Option<&str>,
    prefix: char,
) -> String {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return match schedule.own_zone(principal).await {
            Ok(Some(zone)) => format!(
                "Your time zone is {}. Change it with {prefix}timezone Area/City, e.g. {prefix}timezone Europe/Berlin.",
                zone.name()
            ),
            Ok(None) => match schedule.zone_of(principal).await {
                Ok(zone) => format!(
                    "You have not set a time zone, so I use {}. Set yours with {prefix}timezone Area/City, e.g. {prefix}timezone Europe/Berlin.",
                    zone.name()
                ),
                Err(_) => "Sorry, I could not read your time zone just now.".into(),
            },
            Err(_) => "Sorry, I could not read your time zone just now.".into(),
        };
    };
    match schedule.set_zone(principal, name).await {
        Ok(zone) => {
            let now = schedule.now().with_timezone(&zone);
            format!(
                "Your time zone is now {} (it is {} there). Your repeating reminders keep their times in it.",
                zone.name(),
                now.format("%H:%M")
            )
        }
        Err(ScheduleError::Zone(message)) => message,
        Err(e) => {
            tracing::warn!(error = %e, "could not set a time zone");
            "Sorry, I could not save your time zone just now. Please try again.".into()
        }
    }
}
