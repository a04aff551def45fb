//! The OAuth 2.1 protocol, as plain functions over plain data.
//!
//! `tessera-core` owns every protocol rule Tessera enforces: parsing form pairs
//! into typed requests, client authentication, scope math, grant decisions,
//! registration metadata checks and the claims of the tokens it signs.
//!
//! It must not do I/O, know HTTP or SQL, read a clock or draw randomness: the
//! current time, generated secrets and token identifiers come in as arguments,
//! and signing goes through the [`jwt::Signer`] trait implemented elsewhere. That
//! keeps every rule a synchronous function that a unit test can call directly.

pub mod authorize;
pub mod client;
pub mod client_assertion;
pub mod client_auth;
pub mod dpop;
pub mod dynamic_registration;
pub mod error;
pub mod grant;
pub mod id_token;
pub mod introspection;
pub mod jwt;
pub mod logout;
pub mod metadata_document;
pub mod par;
pub mod pkce;
pub mod policy;
pub mod public_key;
pub mod redirect_uri;
pub mod registration;
pub mod request;
pub mod resource;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod token;
pub mod user;

pub use error::{ErrorCode, OAuthError};

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod properties;

/// Seconds since the Unix epoch; the core's only notion of time.
pub type UnixTime = u64;
