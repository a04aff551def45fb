//! The HTTP surface: which path goes to which handler, and the layers around them.

mod account;
mod admin_api;
pub(crate) mod authorize;
mod client_auth;
mod consent;
mod console;
mod discovery;
pub(crate) mod extract;
pub(crate) mod health;
mod introspect;
mod login;
mod logout;
mod par;
mod register;
mod request_id;
mod revoke;
pub(crate) mod token;
mod userinfo;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ServerError;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The complete application, ready to serve.
pub fn app(state: AppState) -> Router {
    let request_timeout = state.settings().limits.request_timeout;
    Router::new()
        .route("/token", post(token::token).fallback(not_post))
        .route("/authorize", get(authorize::authorize_get).post(authorize::authorize_post))
        .route("/login", post(login::login))
        .route("/consent", post(consent::consent))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/account/applications", get(account::applications))
        .route("/account/applications/revoke", post(account::revoke))
        .route("/assets/tessera.css", get(crate::pages::stylesheet))
        .route("/par", post(par::par).fallback(not_post))
        .route("/introspect", post(introspect::introspect).fallback(not_post))
        .route("/revoke", post(revoke::revoke).fallback(not_post))
        .route("/register", post(register::register).fallback(not_post))
        .route("/register/{client_id}", get(register::read).put(register::update).delete(register::delete))
        .route("/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/jwks.json", get(discovery::jwks))
        .route("/.well-known/openid-configuration", get(discovery::metadata))
        .route("/.well-known/oauth-authorization-server", get(discovery::metadata))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/readyz", get(health::readyz))
        .merge(crate::dialects::routes(&state.settings().dialects))
        .merge(admin_api::routes())
        .merge(console::routes())
        // Only matched routes: a metric per unmatched path would let anyone add series.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .fallback(not_found)
        // A request that outlives this (a body trickled in, a stuck store) gets 408; dropping
        // its future rolls back whatever transaction it had open.
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        // The path only: a query string may carry a secret its sender should not have put there.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|id| id.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        // Every response names its request, and every log line inside it too: a
        // caller's own `X-Request-Id` is kept, others get a fresh one.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, request_id::RequestIds::new()))
        .with_state(state)
}

async fn not_post() -> ServerError {
    ServerError::MethodNotAllowed("POST")
}

async fn not_found() -> ServerError {
    ServerError::NotFound
}
