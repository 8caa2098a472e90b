//! The application behind an authorization request, as this server knows it: registered with
//! it, or described by the client metadata document its `client_id` URL names.

use super::AuthServer;
use super::client_doc::is_document_url;
use super::errors::ErrorPage;

/// A client known to this server, registered or described by a metadata document.
#[derive(Debug, Clone)]
pub struct KnownClient {
    /// Its client id.
    pub client_id: String,
    /// Its name, when it gave one.
    pub name: Option<String>,
    /// Where authorization answers may go.
    pub redirect_uris: Vec<String>,
    /// Whether the client id is a metadata document URL.
    pub is_document: bool,
}

/// Looks up a registered client, or fetches the metadata document a URL client id names.
///
/// # Errors
/// An error page naming what is wrong.
pub async fn known_client(auth: &AuthServer, client_id: &str) -> Result<KnownClient, ErrorPage> {
    if is_document_url(client_id) {
        let doc = auth.client_docs().get(client_id).await.map_err(|e| {
            tracing::info!(server = %auth.kind(), error = %e, "client metadata document refused");
            auth.metrics().refusal("client_document", "refused");
            ErrorPage::bad_request(
                "Unknown application",
                format!(
                    "The application's client_id could not be used: {}.",
                    e.public_message()
                ),
            )
        })?;
        return Ok(KnownClient {
            client_id: client_id.to_owned(),
            name: doc.client_name,
            redirect_uris: doc.redirect_uris,
            is_document: true,
        });
    }
    match auth.store().client(client_id).await {
        Ok(Some(row)) => Ok(KnownClient {
            client_id: row.client_id,
            name: row.client_name,
            redirect_uris: row.redirect_uris,
            is_document: false,
        }),
        Ok(None) => Err(ErrorPage::bad_request(
            "Unknown application",
            "This application is not registered with this server. Remove the connection in the application and connect again, so it registers anew.",
        )),
        Err(e) => {
            tracing::error!(server = %auth.kind(), error = %e, "cannot read a client");
            Err(ErrorPage::server_error())
        }
    }
}
