//! The few HTML pages the gateway and the MCP servers' authorization server show a person:
//! consent, connect links, errors.
//!
//! Every page forbids framing (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`), loads
//! nothing from elsewhere, is never cached, and escapes every value it shows.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The Content-Security-Policy of every page.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}\
h1{font-size:1.4rem}code{background:#f3f3f3;padding:0 .2rem;word-break:break-all}\
a.button{display:inline-block;background:#1a5fb4;color:#fff;text-decoration:none;font-size:1rem;padding:.5rem 1.2rem}\
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5rem 1rem}\
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}";

/// Escapes text for use in HTML content and double-quoted attribute values. Control characters
/// become spaces and other formatting characters (bidirectional overrides and the like, see
/// [`crate::display::is_formatting`]) are dropped, so text cannot rearrange how the page reads.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c if crate::display::is_formatting(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// One escaped paragraph.
#[must_use]
pub fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// A whole page: `title` (escaped) and `body` (already HTML), with the headers every page carries.
#[must_use]
pub fn page_response(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>\n"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt; "
        );
        assert_eq!(escape("\u{202E}elgooG yb deifireV"), "elgooG yb deifireV");
    }
}
