//! A registered client (RFC 6749 §2) as the protocol sees it.

use std::fmt;

use crate::UnixTime;
use crate::client_assertion::JwkSet;
use crate::client_auth::AuthMethod;
use crate::error::{ErrorCode, OAuthError};
use crate::redirect_uri::RedirectUri;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::secret::SecretHash;

/// A registered client application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub org_url: Option<String>,
    /// `None` for a public client, which cannot keep a secret.
    pub secret_hash: Option<SecretHash>,
    /// The secret replaced by the last rotation, accepted until its grace period ends.
    pub previous_secret: Option<PreviousSecret>,
    /// `token_endpoint_auth_method` as registered (RFC 7591 §2).
    pub auth_method: AuthMethod,
    /// A disabled client cannot authenticate, and its tokens are inactive.
    pub disabled: bool,
    /// May introspect tokens issued to other clients (a resource server's permission).
    pub may_introspect_any_token: bool,
    /// PKCE is required unless a confidential client was registered with it optional.
    pub require_pkce: bool,
    /// RFC 7592 registration access token, for clients registered through `/register`.
    pub registration_token_hash: Option<SecretHash>,
    pub redirect_uris: Vec<RedirectUri>,
    /// Where RP-initiated logout may send the browser (OpenID RP-Initiated Logout §3.1).
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    /// Every scope the client may be given.
    pub scopes: ScopeSet,
    /// The scopes a request without `scope` gets; a subset of `scopes`.
    pub default_scopes: ScopeSet,
    /// The resources (audiences) the client may ask tokens for.
    pub resources: Vec<Resource>,
    /// Access tokens of this client live this long (seconds) instead of the
    /// server's lifetime; never longer than it.
    pub access_token_lifetime: Option<u64>,
    /// The client's public keys (RFC 7591 `jwks`), for `private_key_jwt`.
    pub jwks: Option<JwkSet>,
    /// Where the client publishes its public keys (RFC 7591 `jwks_uri`).
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: every token request of this client must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: this client may start an authorization request only
    /// through a pushed request.
    pub require_pushed_authorization_requests: bool,
    /// The user who registered the client in the developer portal, if any.
    pub owner: Option<String>,
    pub created_at: UnixTime,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Seconds an access token of this client lives under `policy`.
    pub fn access_token_lifetime(&self, server_lifetime: u64) -> u64 {
        self.access_token_lifetime.map_or(server_lifetime, |own| own.min(server_lifetime))
    }

    pub fn has_grant_type(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    /// `unauthorized_client` unless the client was registered for `grant_type`.
    pub fn ensure_grant_type(&self, grant_type: GrantType) -> Result<(), OAuthError> {
        if self.has_grant_type(grant_type) {
            return Ok(());
        }
        Err(ErrorCode::UnauthorizedClient
            .with(format!("the client is not allowed to use the `{grant_type}` grant")))
    }
}

/// A rotated-out secret and the time it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub hash: SecretHash,
    pub expires_at: UnixTime,
}

/// The grant types Tessera knows (RFC 6749 §4, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
    /// RFC 8693: OAuth 2.0 Token Exchange.
    TokenExchange,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
        GrantType::TokenExchange,
    ];

    pub fn parse(raw: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|grant| grant.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
