//! The HTTP client under MCP sessions: rmcp's reqwest client, with id-less errors attributed.
//!
//! A server that rejects a POSTed request before reading it (the TypeScript SDK's example servers
//! answer an unknown session with HTTP 400 and a JSON-RPC error) may leave the error's `id` out.
//! rmcp cannot route such an error to the waiting request and drops it, so the request would wait
//! until its deadline. Since the body of the answer to a POST of one request can only be about
//! that request, this client gives the error the request's id. Everything else, including every
//! size limit, is rmcp's own reqwest client.
//!
//! A session that belongs to one person on an `auth = "oauth"` server carries a [`Bearer`]: every
//! request asks it for the person's current access token (so a refreshed token is used without
//! opening a new session), and a request the server answers with 401 is sent once more with the
//! token the bearer gives after the refusal (a refreshed one, or none when the connection is gone).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, SseError, StreamableHttpClient, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use sse_stream::Sse;

/// The start of the error text of a request that could not get a token because the refresh
/// failed for now.
pub(crate) const REFRESH_FAILED: &str = "the access token could not be refreshed";

/// Why a [`Bearer`] has no token to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BearerError {
    /// The person has no usable connection.
    NotConnected,
    /// The token could not be refreshed for now.
    Unavailable(String),
}

/// Where a person's session gets its access token.
#[async_trait]
pub(crate) trait Bearer: Send + Sync {
    /// The token to send now.
    async fn token(&self) -> Result<String, BearerError>;
    /// The token to send after the server refused `used`.
    async fn rejected(&self, used: &str) -> Result<String, BearerError>;
}

/// rmcp's streamable HTTP client over one shared `reqwest::Client`.
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: reqwest::Client,
    bearer: Option<Arc<dyn Bearer>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("bearer", &self.bearer.is_some())
            .finish_non_exhaustive()
    }
}

type HttpError = StreamableHttpError<reqwest::Error>;

impl HttpClient {
    pub(crate) fn new(inner: reqwest::Client) -> Self {
        Self {
            inner,
            bearer: None,
        }
    }

    /// The same client, sending `bearer`'s token on every request.
    pub(crate) fn with_bearer(&self, bearer: Arc<dyn Bearer>) -> Self {
        Self {
            inner: self.inner.clone(),
            bearer: Some(bearer),
        }
    }

    /// Sends with the given header, or with the bearer's token and once more after a 401.
    async fn authorized<T, F, Fut>(&self, given: Option<String>, send: F) -> Result<T, HttpError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<T, HttpError>>,
    {
        let Some(bearer) = &self.bearer else {
            return send(given).await;
        };
        let token = bearer.token().await.map_err(no_token)?;
        match send(Some(token.clone())).await {
            Err(e) if is_unauthorized(&e) => {
                let fresh = bearer.rejected(&token).await.map_err(no_token)?;
                send(Some(fresh)).await
            }
            other => other,
        }
    }
}

fn no_token(error: BearerError) -> HttpError {
    match error {
        BearerError::NotConnected => {
            StreamableHttpError::AuthRequired(AuthRequiredError::new(String::new()))
        }
        BearerError::Unavailable(reason) => StreamableHttpError::UnexpectedServerResponse(
            format!("{REFRESH_FAILED}: {reason}").into(),
        ),
    }
}

fn is_unauthorized(error: &HttpError) -> bool {
    match error {
        StreamableHttpError::AuthRequired(_) => true,
        StreamableHttpError::UnexpectedServerResponse(text) => text.starts_with("HTTP 401"),
        _ => false,
    }
}

/// Gives an id-less error answering `message` the id of `message`, when it is a request.
fn attribute(
    message_id: Option<rmcp::model::RequestId>,
    response: StreamableHttpPostResponse,
) -> StreamableHttpPostResponse {
    match (message_id, response) {
        (Some(id), StreamableHttpPostResponse::Json(JsonRpcMessage::Error(mut error), session))
            if error.id.is_none() =>
        {
            error.id = Some(id);
            StreamableHttpPostResponse::Json(ServerJsonRpcMessage::Error(error), session)
        }
        (_, response) => response,
    }
}

fn request_id(message: &ClientJsonRpcMessage) -> Option<rmcp::model::RequestId> {
    match message {
        JsonRpcMessage::Request(request) => Some(request.id.clone()),
        _ => None,
    }
}

impl StreamableHttpClient for HttpClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let id = request_id(&message);
        self.authorized(auth_header, |auth| {
            self.inner.post_message(
                Arc::clone(&uri),
                message.clone(),
                session_id.clone(),
                auth,
                custom_headers.clone(),
            )
        })
        .await
        .map(|response| attribute(id, response))
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let id = request_id(&message);
        self.authorized(auth_header, |auth| {
            self.inner.post_message_with_max_sse_event_size(
                Arc::clone(&uri),
                message.clone(),
                session_id.clone(),
                auth,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
        .map(|response| attribute(id, response))
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let id = request_id(&message);
        self.authorized(auth_header, |auth| {
            self.inner.post_message_with_response_limits(
                Arc::clone(&uri),
                message.clone(),
                session_id.clone(),
                auth,
                custom_headers.clone(),
                limits,
            )
        })
        .await
        .map(|response| attribute(id, response))
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.authorized(auth_header, |auth| {
            self.inner.delete_session(
                Arc::clone(&uri),
                Arc::clone(&session_id),
                auth,
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.authorized(auth_header, |auth| {
            self.inner.get_stream(
                Arc::clone(&uri),
                session_id.clone(),
                last_event_id.clone(),
                auth,
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.authorized(auth_header, |auth| {
            self.inner.get_stream_with_max_sse_event_size(
                Arc::clone(&uri),
                session_id.clone(),
                last_event_id.clone(),
                auth,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{ErrorCode, ErrorData, JsonRpcError, RequestId};

    use super::*;

    #[test]
    fn id_less_errors_get_the_request_id() {
        let error = ServerJsonRpcMessage::Error(JsonRpcError::new(
            None,
            ErrorData::new(
                ErrorCode(-32000),
                "Bad Request: No valid session ID provided",
                None,
            ),
        ));
        let response = StreamableHttpPostResponse::Json(error, None);
        let StreamableHttpPostResponse::Json(JsonRpcMessage::Error(error), _) =
            attribute(Some(RequestId::Number(7)), response)
        else {
            panic!("not an error")
        };
        assert_eq!(error.id, Some(RequestId::Number(7)));
    }

    #[test]
    fn errors_with_an_id_and_other_answers_are_untouched() {
        let error = ServerJsonRpcMessage::Error(JsonRpcError::new(
            Some(RequestId::Number(3)),
            ErrorData::new(ErrorCode(-32602), "bad", None),
        ));
        let response = StreamableHttpPostResponse::Json(error, None);
        let StreamableHttpPostResponse::Json(JsonRpcMessage::Error(error), _) =
            attribute(Some(RequestId::Number(7)), response)
        else {
            panic!("not an error")
        };
        assert_eq!(error.id, Some(RequestId::Number(3)));
        assert!(matches!(
            attribute(None, StreamableHttpPostResponse::Accepted),
            StreamableHttpPostResponse::Accepted
        ));
    }
}
