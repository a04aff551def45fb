//! The knobs a deployment sets for its tokens, built once from the server's config.

use std::collections::BTreeMap;

use crate::resource::{Resource, ResourceSettings};

/// Token rules that are the same for every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// `iss` of every token; the issuer identifier of RFC 8414.
    pub issuer: String,
    /// Lifetime of access tokens, in seconds.
    pub access_token_lifetime: u64,
    /// `aud` of a token when neither the request nor the client names a resource.
    pub default_audience: String,
    /// Token settings of the resources the deployment configured; any other
    /// resource gets [`ResourceSettings::default`].
    pub resources: BTreeMap<Resource, ResourceSettings>,
}
