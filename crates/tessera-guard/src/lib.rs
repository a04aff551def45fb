//! The resource-server side of Tessera: a tower [`Layer`](tower::Layer) that
//! validates the Bearer access tokens Tessera issues, offline, in front of any
//! tower or axum service. It owns token validation (JWKS cache, scopes, the
//! optional revocation and header checks) and the engine of `tessera proxy`.
//! It depends on tower and http, and on `tessera-core` for the claim types
//! only; never on the server.
//!
//! A request that passes continues with a [`VerifiedToken`] in its
//! extensions; one that fails gets an RFC 6750 answer: 401 with a bare
//! `WWW-Authenticate: Bearer` when there is no token, 401 `invalid_token` when
//! it is malformed, expired, revoked or not ours, 403 `insufficient_scope` when
//! a route needs more scope.
//!
//! What is checked (RFC 9068): the signature, with the key the JWKS publishes
//! under the header's `kid`, whose algorithm must be the header's `alg`
//! (ES256 or RS256 only; `none` and HMAC never verify); `typ` is `at+jwt`;
//! `iss` is the configured issuer exactly; `aud` names a configured audience;
//! `exp` and `nbf` hold, with a leeway.
//!
//! ```no_run
//! use axum::{Extension, Router, routing::get};
//! use tessera_guard::{Guard, GuardConfig, VerifiedToken};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::new(GuardConfig::new("https://auth.example.com").audience("https://api.example.com"))?;
//! let app = Router::new()
//!     .route("/invoices", get(|Extension(token): Extension<VerifiedToken>| async move {
//!         format!("invoices of {}", token.subject())
//!     }))
//!     .route_layer(guard.require_scope(["invoices:read"]))
//!     .route("/me", get(|Extension(token): Extension<VerifiedToken>| async move {
//!         token.client_id().to_owned()
//!     }))
//!     .layer(guard.layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Keys are fetched on the first request (or by [`Guard::refresh_keys`]) and
//! kept; a token naming an unknown `kid` triggers at most one refetch per
//! [`GuardConfig::jwks_refetch_interval`], shared by concurrent requests.
//!
//! Cost (`benches/validate.rs`, 2-core dev machine): a token seen for the
//! first time costs about 60 µs, nearly all of it the P-256 signature check
//! itself (aws-lc-rs, about 57 µs). Clients send the same token many times, so
//! verified tokens are remembered by their exact text (see
//! [`GuardConfig::token_cache_capacity`]); a repeat validates in about 0.6 µs.

#![warn(missing_docs)]

mod body;
mod config;
mod credentials;
mod dpop;
mod error;
mod guard;
mod http_client;
mod introspection;
mod jwks;
mod jwt;
mod layer;
mod scope;
mod token;

#[cfg(feature = "proxy")]
pub mod proxy;

pub use body::GuardBody;
pub use config::{Algorithm, GuardConfig};
pub use credentials::{
    CredentialDecision, CredentialFuture, CredentialRequest, CredentialVerifier, ResourceCredentials,
};
pub use error::GuardError;
pub use guard::Guard;
pub use introspection::Introspection;
pub use layer::{GuardLayer, GuardService, ResponseFuture};
pub use scope::{RequireScope, RequireScopeLayer, check_scopes};
pub use token::VerifiedToken;
