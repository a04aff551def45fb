//! The engine of `tessera proxy --upstream URL --config routes.toml`: a
//! reverse proxy that runs the guard on every request, enforces per-route
//! scopes, and forwards what passes to the upstream with the caller's
//! identity in `X-Tessera-Client-Id`, `X-Tessera-Subject` and
//! `X-Tessera-Scope` (any such header sent by the client is removed first).
//! Bodies are streamed both ways.
//!
//! # The routes file
//!
//! ```toml
//! # Tokens must come from this issuer (exactly its `iss`). The JWKS is found
//! # through its discovery document unless `jwks_uri` is given.
//! issuer = "https://auth.example.com"
//! # jwks_uri = "https://auth.example.com/jwks.json"
//! # Accepted `aud` values: a string or an array. Default: the issuer.
//! audience = "https://api.example.com"
//! # Optional: `realm` of the challenges, clock leeway in seconds (default 30).
//! realm = "invoices"
//! leeway_seconds = 30
//! # Optional: the public URL clients use. It turns on DPoP-bound tokens and
//! # the RFC 9728 metadata at /.well-known/oauth-protected-resource[/path].
//! # public_url = "https://api.example.com"
//! # resource_name = "Invoices API"
//! # A request no route matches: "forbidden" (403, default) or "not_found" (404).
//! unmatched = "forbidden"
//!
//! # Routes are tried in order; the first match decides.
//! # `match` is "METHOD /path" or "/path" (any method; "*" also means any).
//! # In the path, `*` is exactly one segment, `**` (last only) any rest,
//! # including nothing. A GET route also matches HEAD.
//! [[routes]]
//! match = "GET /invoices/*"
//! scopes = ["invoices:read"]       # all of them are needed
//!
//! [[routes]]
//! match = "POST /invoices"
//! scopes = ["invoices:write"]
//!
//! [[routes]]
//! match = "/admin/**"
//! scopes = ["admin"]
//!
//! [[routes]]
//! match = "GET /me"
//! scopes = []                      # any valid token
//!
//! [[routes]]
//! match = "GET /health"
//! public = true                    # no token needed
//! ```
//!
//! Paths are matched after percent-decoding; a path with `.`/`..` segments or
//! an encoded `/` or `\` is refused (400), since the upstream could resolve it
//! to another route than the one matched. Matching is case-sensitive.
//! The client's `Authorization` header is forwarded unchanged.

mod forward;
mod routes;

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Deserialize;
use tokio::net::TcpListener;
use tower::Service;

pub use forward::{CLIENT_ID_HEADER, SCOPE_HEADER, SUBJECT_HEADER};
pub use routes::{Access, Route, RouteTable, Unmatched};

use crate::config::GuardConfig;
use crate::error::GuardError;
use crate::guard::Guard;
use crate::http_client::{Connector, connector};
use crate::scope::check_scopes;
use forward::{PeerAddr, Upstream};
use routes::RouteEntry;

/// A boxed error, as bodies from either side carry.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every proxy response: the upstream's, streamed, or a rejection.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// Everything the proxy needs: where to forward, how to validate, which
/// routes need what.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The upstream base URL, such as `http://127.0.0.1:9000` (a path, if
    /// any, is prefixed to every forwarded path).
    pub upstream: String,
    /// How tokens are validated.
    pub guard: GuardConfig,
    /// Which requests need which scopes.
    pub routes: RouteTable,
    /// `resource_name` of the RFC 9728 metadata document.
    pub resource_name: Option<String>,
}

/// The routes file as written (see the module documentation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    issuer: String,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    audience: Option<OneOrMany>,
    #[serde(default)]
    realm: Option<String>,
    #[serde(default)]
    leeway_seconds: Option<u64>,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    resource_name: Option<String>,
    #[serde(default)]
    unmatched: Unmatched,
    #[serde(default)]
    routes: Vec<RouteEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl ProxyConfig {
    /// Reads a routes file (see the module documentation for its format).
    pub fn load(path: &Path, upstream: &str) -> Result<ProxyConfig, GuardError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| GuardError::Config(format!("cannot read {}: {err}", path.display())))?;
        ProxyConfig::from_toml(&text, upstream)
            .map_err(|err| GuardError::Config(format!("{}: {}", path.display(), config_message(err))))
    }

    /// Parses a routes file's text.
    pub fn from_toml(text: &str, upstream: &str) -> Result<ProxyConfig, GuardError> {
        let file: RoutesFile = toml::from_str(text).map_err(|err| GuardError::Config(err.to_string()))?;
        let mut guard = GuardConfig::new(file.issuer);
        if let Some(jwks_uri) = file.jwks_uri {
            guard = guard.jwks_uri(jwks_uri);
        }
        match file.audience {
            None => {}
            Some(OneOrMany::One(audience)) => guard = guard.audience(audience),
            Some(OneOrMany::Many(audiences)) => {
                for audience in audiences {
                    guard = guard.audience(audience);
                }
            }
        }
        if let Some(realm) = file.realm {
            guard = guard.realm(realm);
        }
        if let Some(seconds) = file.leeway_seconds {
            guard = guard.leeway(Duration::from_secs(seconds));
        }
        if let Some(public_url) = file.public_url {
            guard = guard.public_url(public_url);
        }
        let routes = RouteTable::from_entries(file.routes, file.unmatched)?;
        Upstream::parse(upstream)?;
        Ok(ProxyConfig { upstream: upstream.to_owned(), guard, routes, resource_name: file.resource_name })
    }
}

fn config_message(error: GuardError) -> String {
    match error {
        GuardError::Config(message) => message,
        other => other.to_string(),
    }
}

/// The proxy as a tower service, for embedding; [`serve_proxy`] serves it.
#[derive(Clone)]
pub struct ProxyService {
    inner: Arc<ProxyInner>,
}

struct ProxyInner {
    guard: Guard,
    routes: RouteTable,
    upstream: Upstream,
    client: Client<Connector, ProxyBody>,
    /// The RFC 9728 metadata path and document, when a public URL is set.
    metadata: Option<(String, Bytes)>,
}

/// Builds the proxy service (no I/O yet: keys are fetched on first use).
pub fn proxy_service(config: ProxyConfig) -> Result<ProxyService, GuardError> {
    let upstream = Upstream::parse(&config.upstream)?;
    let guard = Guard::new(config.guard)?;
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let mut scopes: Vec<String> = Vec::new();
    for route in config.routes.routes() {
        if let routes::Access::Scopes(required) = &route.access {
            for scope in required {
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
        }
    }
    let metadata = guard.resource_metadata_path().zip(
        guard
            .resource_metadata(&scopes, config.resource_name.as_deref())
            .map(|document| Bytes::from(document.to_string())),
    );
    Ok(ProxyService {
        inner: Arc::new(ProxyInner { guard, routes: config.routes, upstream, client, metadata }),
    })
}

impl ProxyService {
    /// The guard the proxy validates with.
    pub fn guard(&self) -> &Guard {
        &self.inner.guard
    }
}

impl ProxyInner {
    async fn handle<B>(&self, request: Request<B>) -> Response<ProxyBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = request.into_parts();
        if let Some((path, document)) = &self.metadata
            && parts.uri.path() == path
            && (parts.method == http::Method::GET || parts.method == http::Method::HEAD)
        {
            let mut response = Response::new(
                http_body_util::Full::new(document.clone()).map_err(|never| match never {}).boxed_unsync(),
            );
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            return response;
        }
        let route = match self.routes.find(&parts.method, parts.uri.path()) {
            Ok(route) => route,
            Err(error) => return self.reject(&error),
        };
        let token = match &route.access {
            routes::Access::Public => None,
            routes::Access::Scopes(scopes) => {
                let token = match self.guard.authorize(&parts).await {
                    Ok(token) => token,
                    Err(error) => return self.reject(&error),
                };
                if let Err(error) = check_scopes(Some(&token), scopes) {
                    return self.reject(&error);
                }
                Some(token)
            }
        };
        if let Err(error) = forward::rewrite_request(&mut parts, &self.upstream, token.as_ref()) {
            return self.reject(&error);
        }
        let body = body.map_err(Into::into).boxed_unsync();
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                forward::rewrite_response(&mut parts.headers);
                Response::from_parts(parts, body.map_err(BoxError::from).boxed_unsync())
            }
            Err(error) => {
                tracing::warn!(%error, "the upstream request failed");
                self.reject(&GuardError::Upstream(error.to_string()))
            }
        }
    }

    fn reject(&self, error: &GuardError) -> Response<ProxyBody> {
        self.guard.rejection(error).map(|body| body.map_err(|never| match never {}).boxed_unsync())
    }
}

impl<B> Service<Request<B>> for ProxyService
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { Ok(inner.handle(request).await) })
    }
}

/// How long open connections may take to finish after shutdown is asked.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves the proxy on `listener` (HTTP/1.1 and HTTP/2) until `shutdown`
/// completes, then lets open connections finish (30 s at most). This is what
/// `tessera proxy` runs. It fetches the issuer's keys first and only warns if
/// that fails: the issuer may start after the proxy.
pub async fn serve_proxy(
    config: ProxyConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GuardError> {
    let service = proxy_service(config)?;
    if let Err(error) = service.guard().refresh_keys().await {
        tracing::warn!(%error, "cannot fetch the issuer's keys yet; will retry on the first request");
    }
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: pause, do not spin.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = service.clone();
                let per_connection = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(PeerAddr(peer));
                    let mut service = service.clone();
                    async move { service.call(request).await }
                });
                let connection = builder.serve_connection(TokioIo::new(stream), per_connection).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "a proxy connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
    Ok(())
}
