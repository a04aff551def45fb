//! The guard's calls to the issuer (discovery, JWKS, introspection) and the
//! proxy's calls upstream go through hyper-util's pooled client, over rustls
//! with aws-lc-rs (the same crypto as the rest of Tessera). Trust anchors are
//! the system's roots when it has any, else Mozilla's (webpki-roots).

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use crate::error::GuardError;

/// HTTP or HTTPS, chosen by the URL's scheme.
pub(crate) type Connector = HttpsConnector<HttpConnector>;

/// The largest issuer document the guard reads (discovery, JWKS, introspection).
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

pub(crate) fn connector() -> Connector {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let builder = match HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone()) {
        Ok(builder) => builder,
        Err(_) => match HttpsConnectorBuilder::new().with_provider_and_webpki_roots(provider) {
            Ok(builder) => builder,
            // Only reachable if aws-lc-rs offered no protocol version at all.
            Err(_) => HttpsConnectorBuilder::new().with_webpki_roots(),
        },
    };
    builder.https_or_http().enable_http1().build()
}

/// A small client for JSON documents from the issuer.
#[derive(Clone)]
pub(crate) struct IssuerClient {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl IssuerClient {
    pub(crate) fn new(timeout: Duration) -> IssuerClient {
        IssuerClient { client: Client::builder(TokioExecutor::new()).build(connector()), timeout }
    }

    /// GETs `uri`; `Ok(None)` on 404 (discovery tries two paths).
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, uri: &Uri) -> Result<Option<T>, GuardError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri.clone())
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|err| GuardError::Config(format!("cannot build a request to {uri}: {err}")))?;
        self.send(uri, request).await
    }

    /// POSTs a form with HTTP Basic credentials.
    pub(crate) async fn post_form<T: DeserializeOwned>(
        &self,
        uri: &Uri,
        authorization: &HeaderValue,
        form: String,
    ) -> Result<T, GuardError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, authorization)
            .body(Full::new(Bytes::from(form)))
            .map_err(|err| GuardError::Config(format!("cannot build a request to {uri}: {err}")))?;
        self.send(uri, request).await?.ok_or_else(|| GuardError::Unavailable(format!("{uri} answered 404")))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        uri: &Uri,
        request: Request<Full<Bytes>>,
    ) -> Result<Option<T>, GuardError> {
        let unavailable = |reason: String| GuardError::Unavailable(format!("{uri}: {reason}"));
        let exchange = async {
            let response = self.client.request(request).await.map_err(|err| unavailable(err.to_string()))?;
            let status = response.status();
            if status == http::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(unavailable(format!("answered {status}")));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|err| unavailable(format!("reading the body failed: {err}")))?
                .to_bytes();
            serde_json::from_slice(&body)
                .map(Some)
                .map_err(|err| unavailable(format!("not the JSON expected: {err}")))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unavailable(format!("no answer within {:?}", self.timeout)))?
    }
}

/// Parses a URL given in the configuration, naming the setting when it is wrong.
pub(crate) fn parse_uri(setting: &str, raw: &str) -> Result<Uri, GuardError> {
    let uri: Uri = raw.parse().map_err(|_| GuardError::Config(format!("{setting} `{raw}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Ok(uri),
        _ => Err(GuardError::Config(format!("{setting} `{raw}` must be an absolute http(s) URL"))),
    }
}
