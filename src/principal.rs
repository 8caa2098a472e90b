//! Who is talking: the identity every session, connection and audit row is keyed by.

use std::fmt;

/// A person as seen by one channel: `telegram:<user id>`, `slack:<team>:<user>` or
/// `console:<name>`.
///
/// Sessions, OAuth connections and audit rows are all keyed by the principal, so two people never
/// share history or tokens even when they write in the same group chat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal(String);

impl Principal {
    /// The principal of a Telegram user.
    #[must_use]
    pub fn telegram(user_id: u64) -> Self {
        Self(format!("telegram:{user_id}"))
    }

    /// The principal of a Slack user in a workspace.
    #[must_use]
    pub fn slack(team: &str, user: &str) -> Self {
        Self(format!("slack:{team}:{user}"))
    }

    /// The principal of a console user.
    #[must_use]
    pub fn console(name: &str) -> Self {
        Self(format!("console:{name}"))
    }

    /// Parses a principal written as `<channel>:<id>`, as listed by `connections list`.
    ///
    /// Returns `None` when the text has no channel prefix or an empty id.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (channel, rest) = text.split_once(':')?;
        let known = matches!(channel, "telegram" | "slack" | "console");
        (known && !rest.is_empty() && text.len() <= 256).then(|| Self(text.to_owned()))
    }

    /// The principal as stored and logged.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The channel part of the principal (`telegram`, `slack` or `console`).
    #[must_use]
    pub fn channel(&self) -> &str {
        self.0.split_once(':').map_or("", |(c, _)| c)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_known_channels_only() {
        assert_eq!(
            Principal::parse("telegram:42"),
            Some(Principal::telegram(42))
        );
        assert_eq!(
            Principal::parse("slack:T1:U2"),
            Some(Principal::slack("T1", "U2"))
        );
        assert_eq!(
            Principal::parse("console:ann"),
            Some(Principal::console("ann"))
        );
        assert_eq!(Principal::parse("irc:x"), None);
        assert_eq!(Principal::parse("telegram:"), None);
        assert_eq!(Principal::parse("nocolon"), None);
    }
}
