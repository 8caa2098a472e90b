//! The gateway's own page in front of every connect link shown in a chat.
//!
//! An authorization link connects whoever opens it and signs in to the account of the person
//! who asked for it: opened by someone else (a link posted in a group, or forwarded), it would
//! connect *their* account to the asker's chat identity. So the chat shows a link to this page
//! (`[http].public_url` + `/connect/<id>`) instead of the authorization URL itself. The page names
//! the chat identity the account will be connected to ("Telegram user @ann (id 42)"), warns not
//! to continue with a link someone else sent, and leads on to the authorization URL. It works
//! the same for our MCP servers and for anyone else's.
//!
//! Pages live in memory for as long as the authorization's `state` is valid, at most
//! [`MAX_PAGES`] at once; after a restart a person asks for a new link.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::http::page::{escape, page_response, paragraph};

/// The path under `[http].public_url` where the pages are served.
pub const PAGE_PATH: &str = "/connect";
/// The most pages kept at once; the oldest goes first beyond it.
const MAX_PAGES: usize = 10_000;
/// The longest identity shown.
const MAX_WHO_CHARS: usize = 160;

#[derive(Debug, Clone)]
struct Page {
    authorize_url: String,
    server: String,
    who: String,
    created: Instant,
}

/// The connect-link pages of one gateway process.
#[derive(Debug)]
pub struct LinkPages {
    base: String,
    ttl: Duration,
    pages: parking_lot::Mutex<HashMap<String, Page>>,
}

impl LinkPages {
    /// Pages under `public_url`, each valid for `ttl`.
    #[must_use]
    pub fn new(public_url: &url::Url, ttl: Duration) -> Self {
        Self {
            base: public_url.as_str().trim_end_matches('/').to_owned(),
            ttl,
            pages: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    /// Publishes a page for `who` that leads to `authorize_url` on `server`; returns its URL.
    pub fn publish(&self, authorize_url: &str, server: &str, who: &str) -> String {
        let id = random_id();
        let now = Instant::now();
        let page = Page {
            authorize_url: authorize_url.to_owned(),
            server: crate::display::sanitize(server, 64),
            who: crate::display::sanitize(who, MAX_WHO_CHARS),
            created: now,
        };
        let mut pages = self.pages.lock();
        if pages.len() >= MAX_PAGES {
            let ttl = self.ttl;
            pages.retain(|_, p| now.duration_since(p.created) < ttl);
        }
        if pages.len() >= MAX_PAGES
            && let Some(oldest) = pages
                .iter()
                .min_by_key(|(_, p)| p.created)
                .map(|(k, _)| k.clone())
        {
            pages.remove(&oldest);
        }
        pages.insert(id.clone(), page);
        format!("{}{PAGE_PATH}/{id}", self.base)
    }

    /// The page `id`, or one saying that the link is unknown or has expired.
    #[must_use]
    pub fn render(&self, id: &str) -> Response {
        let page = {
            let mut pages = self.pages.lock();
            match pages.get(id) {
                Some(p) if p.created.elapsed() < self.ttl => Some(p.clone()),
                Some(_) => {
                    pages.remove(id);
                    None
                }
                None => None,
            }
        };
        let Some(page) = page else {
            return page_response(
                StatusCode::NOT_FOUND,
                "Link expired",
                &paragraph(
                    "This connect link is unknown or has expired. Nothing was connected. \
                     Ask for a new link in the chat.",
                ),
            )
            .into_response();
        };
        let body = format!(
            "<p>This link connects a <strong>{server}</strong> account to the assistant for \
             <strong>{who}</strong>. Whatever the assistant does with {server} for {who} will \
             use the account you sign in with.</p>\
             <p class=\"warn\">Continue only if you are {who} and asked for this link yourself \
             in the chat. If someone else sent you this link, do not continue: it would let \
             them use your {server} account.</p>\
             <p><a class=\"button\" id=\"continue\" href=\"{href}\">Continue to sign in</a></p>",
            server = escape(&page.server),
            who = escape(&page.who),
            href = escape(&page.authorize_url),
        );
        page_response(StatusCode::OK, &format!("Connect {}", page.server), &body)
    }
}

/// 32 random bytes as base64url: the page's unguessable id.
fn random_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_page_names_who_and_leads_to_the_authorization() {
        let pages = LinkPages::new(
            &url::Url::parse("https://gw.example/").unwrap(),
            Duration::from_secs(600),
        );
        let link = pages.publish(
            "https://as.example/authorize?a=1&b=2",
            "notion",
            "Telegram user @ann\u{202E}nimda (id 42)",
        );
        let id = link
            .strip_prefix("https://gw.example/connect/")
            .expect("under the public URL");
        let response = pages.render(id);
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("Telegram user @annnimda (id 42)"), "{html}");
        assert!(html.contains("If someone else sent you this link, do not continue"));
        assert!(html.contains("href=\"https://as.example/authorize?a=1&amp;b=2\""));
        assert_eq!(pages.render("nope").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn pages_expire_and_are_bounded() {
        let pages = LinkPages::new(
            &url::Url::parse("http://127.0.0.1:1").unwrap(),
            Duration::ZERO,
        );
        let link = pages.publish("https://as.example/a", "notion", "x");
        let id = link.rsplit('/').next().unwrap();
        assert_eq!(pages.render(id).status(), StatusCode::NOT_FOUND);
        for i in 0..MAX_PAGES + 5 {
            pages.publish("https://as.example/a", "notion", &i.to_string());
        }
        assert!(pages.pages.lock().len() <= MAX_PAGES);
    }
}
