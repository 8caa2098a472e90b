//! The upstream OAuth providers behind our authorization server: Notion and Google.
//!
//! Both go through the `oauth2` crate over our own reqwest client, which follows no redirects and
//! bounds time and response size. The profiles differ where the providers do:
//! - Notion: `owner=user` on the authorize URL, no scopes, no PKCE; the token and revocation
//!   endpoints take HTTP Basic client authentication, a JSON body and the `Notion-Version` header
//!   Notion requires on every request; the account is the response's `bot_id` (with
//!   `workspace_id` and `owner.user.id` recorded, and the workspace's name as its label);
//!   refresh tokens rotate. Errors may come in Notion's own shape
//!   (`{"object": "error", "status", "code", "message"}`) instead of RFC 6749's; they are read
//!   as the RFC 6749 error they stand for.
//! - Google: `access_type=offline`, `prompt=consent`, scopes `openid`, `email` and Calendar, PKCE
//!   S256; the token endpoint takes a form body with the client credentials in it; the account is
//!   the `sub` of the id_token, which we receive directly from the token endpoint over TLS, and
//!   its label the `email`; the granted scope must include Calendar (Google's consent screen lets
//!   the person untick it, and the token response's `scope` then lacks it). Revocation is a form
//!   post of the token to Google's revocation endpoint.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::servers::ServerKind;
use crate::servers::notion::NOTION_VERSION;

/// Google's scope for full Calendar access, which the Calendar tools need.
pub const GOOGLE_CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";
/// The largest token response accepted from an upstream.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The longest an upstream token request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest an id_token may be.
const MAX_ID_TOKEN_CHARS: usize = 16 * 1024;

/// The upstream OAuth client's credentials, read from `client_id_file` / `client_secret_file`.
#[derive(Debug, Clone)]
pub struct UpstreamCredentials {
    /// The client id the upstream issued to us.
    pub client_id: String,
    /// The client secret the upstream issued to us.
    pub client_secret: SecretString,
}

/// Fields of the providers' token responses beyond RFC 6749's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpstreamFields {
    /// Notion: the bot (integration installation) the token acts as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bot_id: Option<String>,
    /// Notion: the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    /// Notion: the workspace's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_name: Option<String>,
    /// Notion: who installed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<serde_json::Value>,
    /// Google: the OpenID Connect id_token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for UpstreamFields {}

type UpstreamTokenResponse = StandardTokenResponse<UpstreamFields, BasicTokenType>;

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    UpstreamTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Why an upstream client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    /// The callback URL derived from `public_url` is not a valid URL.
    #[error("the upstream callback URL {0} is not valid")]
    Callback(String),
    /// The HTTP client could not be built.
    #[error("cannot build the upstream HTTP client: {0}")]
    Http(String),
}

/// Why an upstream token request failed. Never carries a token or a response body.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream refused the code or refresh token (`invalid_grant`).
    #[error("the upstream refused the grant (invalid_grant)")]
    InvalidGrant,
    /// The upstream answered with another OAuth error.
    #[error("the upstream answered with the OAuth error `{0}`")]
    Refused(String),
    /// The upstream could not be reached or did not answer in time.
    #[error("the upstream token endpoint could not be reached: {0}")]
    Unreachable(String),
    /// The upstream answered something we cannot use.
    #[error("the upstream token response is not usable: {0}")]
    BadResponse(String),
    /// Google did not grant the Calendar scope.
    #[error("the Google account did not grant Calendar access")]
    ScopeNotGranted,
}

/// An upstream account just connected.
#[derive(Debug)]
pub struct Connected {
    /// The stable account identity (Notion `bot_id`, Google `sub`).
    pub account: String,
    /// The Notion workspace id.
    pub workspace_id: Option<String>,
    /// The Notion owner's user id.
    pub owner_id: Option<String>,
    /// A label for operators: the workspace name or the email.
    pub label: Option<String>,
    /// The tokens.
    pub tokens: Refreshed,
    /// The granted scope, space-separated, when the upstream said.
    pub scope: Option<String>,
}

/// Upstream tokens from an exchange or a refresh.
#[derive(Debug)]
pub struct Refreshed {
    /// The access token.
    pub access_token: SecretString,
    /// A (new) refresh token, when the upstream sent one.
    pub refresh_token: Option<SecretString>,
    /// How long the access token lives, when the upstream said.
    pub expires_in: Option<Duration>,
}

/// One upstream OAuth provider, configured for this server.
#[derive(Debug)]
pub struct Upstream {
    kind: ServerKind,
    client: OAuthClient,
    client_id: String,
    client_secret: SecretString,
    revoke_url: Url,
    http: reqwest::Client,
}

/// The reqwest client for upstream token requests: no redirects, bounded time.
fn token_http_client() -> Result<reqwest::Client, UpstreamSetupError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| UpstreamSetupError::Http(e.to_string()))
}

impl Upstream {
    /// The provider for `kind`, with our credentials, its endpoints and our callback URL.
    ///
    /// # Errors
    /// Fails when the callback URL is invalid or the HTTP client cannot be built.
    pub fn new(
        kind: ServerKind,
        credentials: &UpstreamCredentials,
        authorize_url: &Url,
        token_url: &Url,
        revoke_url: &Url,
        callback_url: &str,
    ) -> Result<Self, UpstreamSetupError> {
        let redirect = RedirectUrl::new(callback_url.to_owned())
            .map_err(|_| UpstreamSetupError::Callback(callback_url.to_owned()))?;
        let auth_type = match kind {
            ServerKind::Notion => AuthType::BasicAuth,
            ServerKind::Gcal => AuthType::RequestBody,
        };
        let client = oauth2::Client::new(ClientId::new(credentials.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                credentials.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(AuthUrl::from_url(authorize_url.clone()))
            .set_token_uri(TokenUrl::from_url(token_url.clone()))
            .set_redirect_uri(redirect)
            .set_auth_type(auth_type);
        Ok(Self {
            kind,
            client,
            client_id: credentials.client_id.clone(),
            client_secret: credentials.client_secret.clone(),
            revoke_url: revoke_url.clone(),
            http: token_http_client()?,
        })
    }

    /// The scopes we ask the upstream for, as shown on the consent page.
    #[must_use]
    pub fn scope_descriptions(&self) -> &'static [&'static str] {
        match self.kind {
            ServerKind::Notion => &[
                "Read and change the Notion pages and databases you choose to share on the next screen",
                "Read and add comments, and see the workspace's users",
            ],
            ServerKind::Gcal => &[
                "See, create, change and delete events in all your Google calendars (https://www.googleapis.com/auth/calendar)",
                "Know which Google account you used and its email address (openid, email), to show you which account is connected",
            ],
        }
    }

    /// What the person should know before going on to the upstream's own page, if anything.
    #[must_use]
    pub fn consent_note(&self) -> Option<&'static str> {
        match self.kind {
            ServerKind::Notion => Some(
                "On Notion's page, choose the workspace and the pages to share; the assistant sees only those.",
            ),
            ServerKind::Gcal => Some(
                "On Google's page, leave the box for Calendar access ticked: without it the connection cannot work. \
                 If Google says \"Access blocked\" or that the app is being tested, your Google account is not yet \
                 allowed to use it: ask the operator of this assistant to add it as a test user of the Google app \
                 (or to publish the app).",
            ),
        }
    }

    /// The upstream authorization URL for `state`, and the PKCE verifier to keep for the
    /// exchange (Google only).
    #[must_use]
    pub fn authorize_url(&self, state: &str) -> (Url, Option<SecretString>) {
        let state = state.to_owned();
        let request = self.client.authorize_url(move || CsrfToken::new(state));
        match self.kind {
            ServerKind::Notion => {
                let (url, _) = request.add_extra_param("owner", "user").url();
                (url, None)
            }
            ServerKind::Gcal => {
                let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                let (url, _) = request
                    .add_scope(Scope::new("openid".to_owned()))
                    .add_scope(Scope::new("email".to_owned()))
                    .add_scope(Scope::new(GOOGLE_CALENDAR_SCOPE.to_owned()))
                    .add_extra_param("access_type", "offline")
                    .add_extra_param("prompt", "consent")
                    .set_pkce_challenge(challenge)
                    .url();
                (url, Some(SecretString::from(verifier.secret().clone())))
            }
        }
    }

    /// Exchanges an upstream authorization code and works out which account it connected.
    ///
    /// # Errors
    /// Fails when the upstream refuses, cannot be reached, answers without an identity, or
    /// (Google) without the Calendar scope.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: Option<SecretString>,
    ) -> Result<Connected, UpstreamError> {
        let mut request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()));
        if let Some(verifier) = verifier {
            request = request
                .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()));
        }
        let client = self.token_http();
        let response = request.request_async(&client).await.map_err(classify)?;
        let scope = response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        });
        let fields = response.extra_fields().clone();
        let tokens = refreshed(&response);
        match self.kind {
            ServerKind::Notion => {
                let account = fields
                    .bot_id
                    .filter(|id| valid_identity(id))
                    .ok_or_else(|| {
                        UpstreamError::BadResponse("no bot_id in Notion's answer".into())
                    })?;
                let owner_id = fields
                    .owner
                    .as_ref()
                    .and_then(|o| o.get("user"))
                    .and_then(|u| u.get("id"))
                    .and_then(serde_json::Value::as_str)
                    .filter(|id| valid_identity(id))
                    .map(str::to_owned);
                Ok(Connected {
                    account,
                    workspace_id: fields.workspace_id.filter(|id| valid_identity(id)),
                    owner_id,
                    label: fields.workspace_name.map(|n| n.chars().take(200).collect()),
                    tokens,
                    scope,
                })
            }
            ServerKind::Gcal => {
                if let Some(granted) = &scope
                    && !granted.split(' ').any(|s| s == GOOGLE_CALENDAR_SCOPE)
                {
                    return Err(UpstreamError::ScopeNotGranted);
                }
                let id_token = fields.id_token.ok_or_else(|| {
                    UpstreamError::BadResponse("no id_token in Google's answer".into())
                })?;
                let claims = id_token_claims(&id_token, &self.client_id)?;
                Ok(Connected {
                    account: claims.sub,
                    workspace_id: None,
                    owner_id: None,
                    label: claims.email.map(|e| e.chars().take(200).collect()),
                    tokens,
                    scope,
                })
            }
        }
    }

    /// The HTTP client for this upstream's token endpoint (Notion wants a JSON body, its
    /// version header, and answers errors in its own shape).
    fn token_http(&self) -> TokenHttp {
        TokenHttp {
            http: self.http.clone(),
            notion: self.kind == ServerKind::Notion,
        }
    }

    /// Revokes the person's authorization at the upstream: Google's refresh token (which ends
    /// every token of the authorization; the access token when there is no refresh token), or
    /// Notion's access token. A token the upstream no longer knows counts as revoked.
    ///
    /// # Errors
    /// Fails when the upstream cannot be reached or refuses in another way; the error says how,
    /// without the token.
    pub async fn revoke(
        &self,
        access_token: Option<&SecretString>,
        refresh_token: Option<&SecretString>,
    ) -> Result<(), UpstreamError> {
        let token = match self.kind {
            ServerKind::Gcal => refresh_token.or(access_token),
            ServerKind::Notion => access_token.or(refresh_token),
        };
        let Some(token) = token else {
            return Ok(());
        };
        let request = self.http.post(self.revoke_url.clone());
        let request = match self.kind {
            ServerKind::Gcal => request.form(&[("token", token.expose_secret())]),
            ServerKind::Notion => request
                .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
                .header("notion-version", NOTION_VERSION)
                .json(&serde_json::json!({ "token": token.expose_secret() })),
        };
        let response = request
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(describe_reqwest(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = bounded_body(response).await.unwrap_or_default();
        let code = error_code(&body).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        match code.as_str() {
            // Already expired or revoked (Google's `invalid_token`, Notion's `invalid_grant`):
            // nothing is left to revoke.
            "invalid_token" | "invalid_grant" => Ok(()),
            "invalid_client" => Err(UpstreamError::Refused(
                "invalid_client: the upstream did not accept this server's client id and secret"
                    .to_owned(),
            )),
            _ if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                Err(UpstreamError::Unreachable(format!(
                    "the revocation endpoint answered HTTP {}",
                    status.as_u16()
                )))
            }
            _ => Err(UpstreamError::Refused(code)),
        }
    }

    /// Exchanges a refresh token for new tokens.
    ///
    /// # Errors
    /// [`UpstreamError::InvalidGrant`] when the upstream no longer accepts the refresh token;
    /// other variants when it cannot be reached or answers oddly.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Refreshed, UpstreamError> {
        let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
        let client = self.token_http();
        let response = self
            .client
            .exchange_refresh_token(&token)
            .request_async(&client)
            .await
            .map_err(classify)?;
        Ok(refreshed(&response))
    }
}

fn refreshed(response: &UpstreamTokenResponse) -> Refreshed {
    Refreshed {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().clone())),
        expires_in: response.expires_in(),
    }
}

/// Whether an upstream identifier is something we are willing to key rows by.
fn valid_identity(id: &str) -> bool {
    !id.is_empty() && id.len() <= 200 && !id.chars().any(char::is_control)
}

/// The claims we read from Google's id_token.
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
}

/// Reads the payload of an id_token received directly from Google's token endpoint over TLS
/// (OpenID Connect Core §3.1.3.7 lets such a token go without signature checks), checking that it
/// was issued by Google for our client.
fn id_token_claims(id_token: &str, client_id: &str) -> Result<IdClaims, UpstreamError> {
    let bad = |what: &str| UpstreamError::BadResponse(format!("the id_token {what}"));
    if id_token.len() > MAX_ID_TOKEN_CHARS {
        return Err(bad("is too long"));
    }
    let mut parts = id_token.split('.');
    let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(payload), Some(_), None) => payload,
        _ => return Err(bad("is not a JWT")),
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("payload is not base64url"))?;
    let claims: IdClaims =
        serde_json::from_slice(&bytes).map_err(|_| bad("payload is not the expected JSON"))?;
    if !valid_identity(&claims.sub) {
        return Err(bad("has no usable `sub`"));
    }
    match claims.iss.as_deref() {
        Some("https://accounts.google.com" | "accounts.google.com") => {}
        _ => return Err(bad("was not issued by Google")),
    }
    let for_us = match &claims.aud {
        Some(serde_json::Value::String(aud)) => aud == client_id,
        Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !for_us {
        return Err(bad("was issued for another client"));
    }
    Ok(claims)
}

/// Why the HTTP exchange with the upstream failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFailure(String);

/// Turns the `oauth2` crate's error into ours, keeping response bodies (which may hold tokens)
/// out of it.
fn classify(error: RequestTokenError<HttpFailure, BasicErrorResponse>) -> UpstreamError {
    match error {
        RequestTokenError::ServerResponse(response) => match response.error() {
            BasicErrorResponseType::InvalidGrant => UpstreamError::InvalidGrant,
            other => UpstreamError::Refused(other.as_ref().chars().take(64).collect()),
        },
        RequestTokenError::Request(e) => UpstreamError::Unreachable(e.0),
        RequestTokenError::Parse(e, _) => {
            UpstreamError::BadResponse(format!("unexpected JSON at `{}`", e.path()))
        }
        RequestTokenError::Other(message) => {
            UpstreamError::BadResponse(message.chars().take(200).collect())
        }
    }
}

/// The token endpoint's HTTP client, as the `oauth2` crate calls it. For Notion, the form body
/// the crate builds is sent as the equivalent JSON object, with `Notion-Version`, and an error in
/// Notion's shape is handed back in RFC 6749's.
struct TokenHttp {
    http: reqwest::Client,
    notion: bool,
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = HttpFailure;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, HttpFailure>> + Send + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(&self.http, self.notion, request))
    }
}

/// Sends one token request built by the `oauth2` crate.
async fn send(
    http: &reqwest::Client,
    notion: bool,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, HttpFailure> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    let mut builder = http.request(parts.method, &url);
    for (name, value) in &parts.headers {
        if notion && name == http::header::CONTENT_TYPE {
            continue;
        }
        builder = builder.header(name, value);
    }
    if notion {
        builder = builder.header("notion-version", NOTION_VERSION);
    }
    builder = if notion {
        let object: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
        builder.json(&object)
    } else {
        builder.body(body)
    };
    let response = builder
        .send()
        .await
        .map_err(|e| HttpFailure(describe_reqwest(&e)))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut bytes = bounded_body(response).await?;
    if notion
        && !status.is_success()
        && let Some(standard) = notion_error_as_standard(&bytes)
    {
        bytes = standard;
    }
    let mut out = http::Response::builder().status(status);
    for (name, value) in &headers {
        if notion && name == http::header::CONTENT_LENGTH {
            continue;
        }
        out = out.header(name, value);
    }
    out.body(bytes).map_err(|e| HttpFailure(e.to_string()))
}

/// A response body, read up to [`MAX_RESPONSE_BYTES`].
async fn bounded_body(mut response: reqwest::Response) -> Result<Vec<u8>, HttpFailure> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpFailure(describe_reqwest(&e)))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpFailure(format!(
                "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The RFC 6749 error an error of Notion's own shape stands for: the codes RFC 6749 defines keep
/// their meaning; `unauthorized` (Notion did not accept the HTTP Basic client credentials) is
/// `invalid_client`; the request-shape errors are `invalid_request`; anything else keeps its
/// code (and is then an error to try again later).
fn standard_code(notion_code: &str) -> &str {
    match notion_code {
        "unauthorized" => "invalid_client",
        "validation_error" | "invalid_json" | "missing_version" | "invalid_request_url" => {
            "invalid_request"
        }
        other => other,
    }
}

/// A Notion error body (`{"object": "error", "status", "code", "message"}`) rewritten as RFC
/// 6749's `{"error", "error_description"}`; `None` for any other body, which is left as it is.
fn notion_error_as_standard(body: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("error").is_some() || value.get("object")?.as_str()? != "error" {
        return None;
    }
    let code = value.get("code")?.as_str()?;
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    let message: String = value
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "error": standard_code(&code),
        "error_description": message,
    }))
    .ok()
}

/// The error code of an error body in either shape (RFC 6749's `error`, or Notion's `code`
/// read as [`standard_code`]), reduced to characters safe to log.
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = match value.get("error").and_then(serde_json::Value::as_str) {
        Some(code) => code,
        None => standard_code(value.get("code")?.as_str()?),
    };
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    (!code.is_empty()).then_some(code)
}

/// A short description of a reqwest error without its URL (which carries no secret here, but
/// keeps logs short).
fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(payload.to_string())
        )
    }

    #[test]
    fn notion_errors_read_as_the_standard_ones() {
        let read = |body: serde_json::Value| {
            let bytes = notion_error_as_standard(body.to_string().as_bytes())
                .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap());
            bytes.map(|v| v["error"].as_str().unwrap().to_owned())
        };
        let notion = |status: u16, code: &str| serde_json::json!({"object": "error", "status": status, "code": code, "message": "m"});
        assert_eq!(
            read(notion(400, "invalid_grant")).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(
            read(notion(401, "unauthorized")).as_deref(),
            Some("invalid_client")
        );
        assert_eq!(
            read(notion(400, "missing_version")).as_deref(),
            Some("invalid_request")
        );
        assert_eq!(
            read(notion(429, "rate_limited")).as_deref(),
            Some("rate_limited")
        );
        // The standard shape, and bodies that are neither, are left alone.
        assert_eq!(read(serde_json::json!({"error": "invalid_grant"})), None);
        assert_eq!(notion_error_as_standard(b"<html>"), None);
        assert_eq!(
            error_code(notion(400, "invalid_grant").to_string().as_bytes()).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(
            error_code(
                br#"{"error":"invalid_token","error_description":"Token expired or revoked"}"#
            )
            .as_deref(),
            Some("invalid_token")
        );
    }

    #[test]
    fn id_token_checks_issuer_audience_and_subject() {
        let ok = jwt(
            &serde_json::json!({"iss": "https://accounts.google.com", "aud": "cid", "sub": "123", "email": "a@b.c"}),
        );
        let claims = id_token_claims(&ok, "cid").unwrap();
        assert_eq!(claims.sub, "123");
        assert_eq!(claims.email.as_deref(), Some("a@b.c"));
        let other_aud =
            jwt(&serde_json::json!({"iss": "accounts.google.com", "aud": "x", "sub": "1"}));
        assert!(id_token_claims(&other_aud, "cid").is_err());
        let other_iss = jwt(&serde_json::json!({"iss": "https://evil", "aud": "cid", "sub": "1"}));
        assert!(id_token_claims(&other_iss, "cid").is_err());
        let no_sub =
            jwt(&serde_json::json!({"iss": "accounts.google.com", "aud": "cid", "sub": ""}));
        assert!(id_token_claims(&no_sub, "cid").is_err());
        assert!(id_token_claims("a.b", "cid").is_err());
        assert!(id_token_claims("a.!!!.c", "cid").is_err());
    }
}
