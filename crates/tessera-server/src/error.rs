//! The server's one error type, and how each error becomes an HTTP response.
//!
//! OAuth errors get their RFC status and a JSON body (RFC 6749 §5.2) with
//! `Cache-Control: no-store`; `invalid_client` is a 401 with a `WWW-Authenticate`
//! challenge. Internal errors are logged and answered with a bare 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_core::{ErrorCode, OAuthError};
use tessera_store::StoreError;

use crate::config::ConfigError;
use crate::limits::{RateLimited, with_retry_after};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The body is over the endpoint's limit, in bytes.
    #[error("request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    #[error("method not allowed; use {0}")]
    MethodNotAllowed(&'static str),
    #[error("not found")]
    NotFound,
    /// An admin resource that does not exist or that the caller may not see.
    #[error("{0}")]
    Missing(String),
    /// The admin console or API without valid credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
    /// Over a rate limit; the caller may retry after the wait.
    #[error("too many requests")]
    RateLimited(RateLimited),
}

impl From<RateLimited> for ServerError {
    fn from(limited: RateLimited) -> ServerError {
        ServerError::RateLimited(limited)
    }
}

impl From<tessera_core::jwt::SigningError> for ServerError {
    fn from(err: tessera_core::jwt::SigningError) -> ServerError {
        ServerError::Internal(err.to_string())
    }
}

/// The HTTP status of an OAuth error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Marks a response as never to be cached: it carries tokens, secrets or their state.
pub fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn oauth_json(status: StatusCode, code: &str, description: &str) -> Response {
    let body = json!({ "error": code, "error_description": description });
    no_store((status, axum::Json(body)))
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        match self {
            ServerError::OAuth(err) => {
                let mut response = oauth_json(status_of(err.code), err.code.as_str(), &err.description);
                // RFC 6749 §5.2, RFC 6750 §3 and RFC 9110 §11.6.1: a 401 names the scheme to use.
                let challenge = match err.code {
                    ErrorCode::InvalidClient => Some("Basic realm=\"tessera\", charset=\"UTF-8\""),
                    ErrorCode::InvalidToken => Some("Bearer realm=\"tessera\", error=\"invalid_token\""),
                    ErrorCode::InsufficientScope => {
                        Some("Bearer realm=\"tessera\", error=\"insufficient_scope\"")
                    }
                    _ => None,
                };
                if let Some(challenge) = challenge {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
                }
                response
            }
            ServerError::PayloadTooLarge(limit) => oauth_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                &format!("request body exceeds {limit} bytes"),
            ),
            ServerError::MethodNotAllowed(allowed) => {
                let mut response = oauth_json(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "invalid_request",
                    &format!("method not allowed; use {allowed} with a form body"),
                );
                response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allowed));
                response
            }
            ServerError::NotFound => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({ "error": "not_found", "error_description": "no such endpoint" })),
            )
                .into_response(),
            ServerError::Missing(what) => oauth_json(StatusCode::NOT_FOUND, "not_found", &what),
            ServerError::Unauthenticated => {
                let mut response = oauth_json(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "send an admin API token as `Authorization: Bearer <token>`",
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tessera-admin\""),
                );
                response
            }
            ServerError::Forbidden(why) => oauth_json(StatusCode::FORBIDDEN, "access_denied", &why),
            // RFC 6585 §4. OAuth has no code for this; `temporarily_unavailable`
            // (RFC 6749 §4.1.2.1) is the registered one that means "try later".
            ServerError::RateLimited(RateLimited { retry_after }) => with_retry_after(
                oauth_json(
                    StatusCode::TOO_MANY_REQUESTS,
                    "temporarily_unavailable",
                    "too many requests; retry after the time in Retry-After",
                ),
                retry_after,
            ),
            ServerError::Store(StoreError::Conflict(what)) => {
                oauth_json(StatusCode::CONFLICT, "conflict", &what)
            }
            internal => {
                tracing::error!(error = %internal, "internal error");
                oauth_json(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error")
            }
        }
    }
}
