//! Error answers of the authorization server: RFC 6749 JSON errors for the token, registration
//! and revocation endpoints, and HTML error pages for the browser-facing endpoints.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::page as html;

/// An RFC 6749 §5.2 error: `{"error": ..., "error_description": ...}`, never cached.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    basic_challenge: bool,
    retry_after: Option<std::time::Duration>,
}

impl OAuthError {
    /// An error with HTTP 400.
    #[must_use]
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// `temporarily_unavailable` with HTTP 503 and `Retry-After`: a limit of the server, not
    /// the request, stands in the way.
    #[must_use]
    pub fn unavailable(description: impl Into<String>, retry_after: std::time::Duration) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: description.into(),
            basic_challenge: false,
            retry_after: Some(retry_after),
        }
    }

    /// `temporarily_unavailable` with HTTP 503 and no `Retry-After`: our part is done, but the
    /// upstream did not confirm its own (RFC 7009 §2.2.1 lets a revocation endpoint answer so);
    /// the description says what the person can do.
    #[must_use]
    pub fn unconfirmed(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// `invalid_request`.
    #[must_use]
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// `invalid_grant`.
    #[must_use]
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    /// `invalid_client`; with HTTP 401 and a `Basic` challenge when the client tried HTTP Basic
    /// authentication (RFC 6749 §5.2), else HTTP 400.
    #[must_use]
    pub fn invalid_client(description: impl Into<String>, used_basic: bool) -> Self {
        Self {
            status: if used_basic {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            },
            code: "invalid_client",
            description: description.into(),
            basic_challenge: used_basic,
            retry_after: None,
        }
    }

    /// `server_error` with HTTP 500, for failures on our side (the details go to the log).
    #[must_use]
    pub fn server_error() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "server_error",
            description: "the authorization server failed; try again".to_owned(),
            basic_challenge: false,
            retry_after: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code,
            "error_description": self.description,
        });
        let mut response = (self.status, no_store(), Json(body)).into_response();
        if let Some(wait) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, for every answer that carries a secret.
#[must_use]
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// An HTML error page for a browser, used when the error cannot safely be sent to the client's
/// redirect URI.
#[derive(Debug)]
pub struct ErrorPage {
    status: StatusCode,
    title: &'static str,
    message: String,
    retry_after: Option<std::time::Duration>,
}

impl ErrorPage {
    /// A page with `status`, a short title and a message saying what to do.
    #[must_use]
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            retry_after: None,
        }
    }

    /// HTTP 503 with `Retry-After`: a limit of the server stands in the way.
    #[must_use]
    pub fn unavailable(
        title: &'static str,
        message: impl Into<String>,
        retry_after: std::time::Duration,
    ) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, title, message)
        }
    }

    /// HTTP 400.
    #[must_use]
    pub fn bad_request(title: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, title, message)
    }

    /// HTTP 500, for failures on our side (the details go to the log).
    #[must_use]
    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The authorization server failed. Start again from your application in a moment.",
        )
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let mut response =
            html::page_response(self.status, self.title, &html::paragraph(&self.message));
        if let Some(wait) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
