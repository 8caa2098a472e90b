//! What the engine says in a conversation on its own account, the same on every platform.

use crate::channels::confirm::{Answer, Resolution};
use crate::mcp::accounts::ConnectionEnded;

/// The longest message text passed to the model; longer messages are cut with a note.
pub const MAX_INPUT_CHARS: usize = 16_000;

/// The reply to a message without text, in a chat with the bot alone.
pub const TEXT_ONLY: &str = "I can only read text messages for now.";

/// The question asked before a destructive tool runs.
#[must_use]
pub fn confirm_question(title: &str, tool: &str, arguments: &str) -> String {
    format!("Allow this action?\n\n{title} ({tool})\n{arguments}")
}

/// The line added under a confirmation's question once it is answered.
#[must_use]
pub fn confirm_outcome(answer: Answer) -> &'static str {
    match answer {
        Answer::Allowed => "Allowed.",
        Answer::Denied => "Declined; not done.",
        Answer::Expired => "No answer in time; not done.",
        Answer::Cancelled => "Stopped; not done.",
    }
}

/// What the person who pressed a confirmation's button is told; `None` for a press that
/// carried no confirmation at all.
#[must_use]
pub fn press_note(resolution: Option<Resolution>) -> &'static str {
    match resolution {
        Some(Resolution::Resolved { allow: true }) => "Allowed",
        Some(Resolution::Resolved { allow: false }) => "Declined",
        Some(Resolution::NotYours) => "Only the person who was asked can answer this.",
        Some(Resolution::Expired) | None => "This request has expired.",
    }
}

/// The reply to an unknown sender under `pairing`: the code to give the operator.
#[must_use]
pub fn pairing(code: &str) -> String {
    format!(
        "Hi! This assistant is private. To be let in, give this code to its operator:\n\n{code}\n\nThey approve it with: mcp-gateway pairing approve {code}\nThe code is valid for one hour."
    )
}

/// What each admin is sent about a new pairing request: who asks (as the platform names them,
/// `who`), on which platform, with which code.
#[must_use]
pub fn pairing_request(platform: &str, who: &str, code: &str) -> String {
    format!(
        "New pairing request on {platform}: {who}, code {code}.\nApprove to let them talk to the assistant (the same as: mcp-gateway pairing approve {code})."
    )
}

/// The line that replaces an admin's buttons once the request is answered: `approved` or not,
/// by `by`.
#[must_use]
pub fn pairing_outcome(approved: bool, by: &str) -> String {
    if approved {
        format!("Approved by {by}.")
    } else {
        format!("Declined by {by}.")
    }
}

/// The line that replaces an admin's buttons when the request was answered elsewhere or its
/// code expired.
pub const PAIRING_GONE: &str = "This request was already answered or has expired; `mcp-gateway pairing list` shows who is waiting.";

/// What the admin who tapped is told.
#[must_use]
pub fn pairing_press_note(approved: bool) -> &'static str {
    if approved { "Approved" } else { "Declined" }
}

/// What someone who is not an admin is told when they tap a pairing button.
pub const PAIRING_NOT_ADMIN: &str = "Only an admin can answer pairing requests.";

/// What the admin who tapped is told when the answer could not be written.
pub const PAIRING_NOT_RECORDED: &str =
    "The answer could not be recorded; try again, or use mcp-gateway pairing approve.";

/// What the requester is told once an admin approved them.
pub const PAIRING_APPROVED: &str = "An admin approved your request: you can talk to the assistant now. Write your question whenever you like.";

/// What the requester is told once an admin declined them.
pub const PAIRING_DECLINED: &str = "An admin declined your request to use this assistant.";

/// The reply to a sender refused under `allowlist`, naming the id the operator would add.
#[must_use]
pub fn denied(platform: &str, id: &str) -> String {
    format!(
        "Sorry, this assistant is private. If you should have access, ask its operator to add your {platform} user id {id} to allow_from."
    )
}

/// The note before a turn on a message that was cut to [`MAX_INPUT_CHARS`].
#[must_use]
pub fn cut() -> String {
    format!("Your message was long, so I read only its first {MAX_INPUT_CHARS} characters.")
}

/// What the person is told once they have connected their account on `server`, naming the
/// `account` when the server did.
#[must_use]
pub fn connected(server: &str, account: Option<&str>) -> String {
    match account {
        Some(account) => format!("Connected your {server} account as {account}."),
        None => format!("Connected your {server} account."),
    }
}

/// The text that goes with a connect link the agent shows during a turn.
#[must_use]
pub fn connect_link(server: &str) -> String {
    format!(
        "To use {server}, connect your account: open the link and sign in. The link is for you only."
    )
}

/// The text that goes with a link to connect `server` again after its connection ended, saying
/// why (`ended`) in words the person can act on.
#[must_use]
pub fn reconnect_link(server: &str, ended: &ConnectionEnded) -> String {
    match ended {
        ConnectionEnded::GoogleTesting => format!(
            "Google ended your {server} connection 7 days after it was made, as it does for apps still in testing; connect again with the link below \u{2014} your administrator can stop this by publishing the app. The link is for you only."
        ),
        ConnectionEnded::Said(reason) => format!(
            "Your {server} connection ended: {reason}. Connect again with the link below; it is for you only."
        ),
    }
}

/// What a shared chat is told when a connect link went to the person's private chat.
#[must_use]
pub fn link_sent(private_chat: &str, server: &str) -> String {
    format!("I've sent you a link to connect {server} in a {private_chat}.")
}

/// What a shared chat is told when the bot cannot write to the person privately: how to ask
/// there (`reach` ends where the command follows; `prefix` starts commands).
#[must_use]
pub fn link_refused(
    private_chat: &str,
    shared_chat: &str,
    reach: &str,
    prefix: char,
    server: &str,
) -> String {
    format!(
        "I can't send you a {private_chat}, and a connect link must not be posted in a {shared_chat}. {reach} send {prefix}connect {server} there."
    )
}

/// `text` cut to [`MAX_INPUT_CHARS`] characters, and whether it was cut.
#[must_use]
pub fn cap_input(text: &str) -> (&str, bool) {
    match text.char_indices().nth(MAX_INPUT_CHARS) {
        Some((i, _)) => (&text[..i], true),
        None => (text, false),
    }
}

/// What an admin's `/status` in a group gets: the operator's screen is not for the group.
pub const STATUS_IN_PRIVATE: &str =
    "I show the gateway's status only in our direct chat: send /status to me there.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_INPUT_CHARS + 5);
        let (kept, cut) = cap_input(&long);
        assert!(cut);
        assert_eq!(kept.chars().count(), MAX_INPUT_CHARS);
        assert_eq!(cap_input("short"), ("short", false));
        let exact = "a".repeat(MAX_INPUT_CHARS);
        assert_eq!(cap_input(&exact), (exact.as_str(), false));
    }

    #[test]
    fn a_reconnect_link_says_why_the_connection_ended() {
        let testing = reconnect_link("gcal", &ConnectionEnded::GoogleTesting);
        assert!(
            testing.starts_with("Google ended your gcal connection 7 days after it was made"),
            "{testing}"
        );
        assert!(testing.contains("publishing the app"), "{testing}");
        let said = reconnect_link(
            "notion",
            &ConnectionEnded::Said("it was removed".to_owned()),
        );
        assert_eq!(
            said,
            "Your notion connection ended: it was removed. Connect again with the link below; it is for you only."
        );
    }
}
