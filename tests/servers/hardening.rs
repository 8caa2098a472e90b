//! The authorization server under abuse: spoofed client names, floods of registrations and
//! authorization requests, client ID metadata documents pointing inwards, racing sessions, and
//! slow clients.

use serde_json::{Value, json};

use crate::deployment::{Deployment, free_port};

/// A registered `client_name` with bidirectional controls shows on the consent page as the
/// characters it holds: "…elgooG yb deifireV" with U+202E cannot pass for "Verified by Google".
#[tokio::test]
async fn client_names_cannot_reorder_the_consent_page() {
    let d = Deployment::start().await;
    let http = reqwest::Client::new();
    let redirect = format!("http://127.0.0.1:{}/cb", free_port());
    let registered: Value = http
        .post(format!("{}/register", d.notion.base))
        .json(&json!({
            "client_name": "\u{202E}elgooG yb deifireV\u{2066}x\u{200F}",
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(registered["client_name"], "elgooG yb deifireVx");
    let client_id = registered["client_id"].as_str().unwrap();
    let (_, challenge) = crate::deployment::pkce();
    let page = http
        .get(format!("{}/authorize", d.notion.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", &redirect),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("elgooG yb deifireVx"), "{page}");
    for c in ['\u{202E}', '\u{2066}', '\u{200F}'] {
        assert!(!page.contains(c), "{c:?} reached the page");
    }
}
