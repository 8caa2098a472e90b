//! The HTTP client under MCP sessions: rmcp's reqwest client, with id-less errors attributed.
//!
//! A server that rejects a POSTed request before reading it (the TypeScript SDK's example servers
//! answer an unknown session with HTTP 400 and a JSON-RPC error) may leave the error's `id` out.
//! rmcp cannot route such an error to the waiting request and drops it, so the request would wait
//! until its deadline. Since the body of the answer to a POST of one request can only be about
//! that request, this client gives the error the request's id. Everything else, including every
//! size limit, is rmcp's own reqwest client.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

/// rmcp's streamable HTTP client over one shared `reqwest::Client`.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    pub(crate) fn new(inner: reqwest::Client) -> Self {
        Self { inner }
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
        self.inner
            .post_message(uri, message, session_id, auth_header, custom_headers)
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
        self.inner
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
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
        self.inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                limits,
            )
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
        self.inner
            .delete_session(uri, session_id, auth_header, custom_headers)
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
        self.inner
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
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
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
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
