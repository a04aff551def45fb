//! Test fixtures shared by the core's unit tests.

use crate::client::{Client, GrantType};
use crate::client_auth::AuthMethod;
use crate::policy::TokenPolicy;
use crate::scope::ScopeSet;
use crate::secret::SecretHash;
use crate::token::{AccessTokenClaims, Audience};

/// A confidential client_credentials client whose secret is `secret`.
pub(crate) fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: id.into(),
        org_url: None,
        secret_hash: Some(SecretHash::of("secret")),
        previous_secret: None,
        auth_method: AuthMethod::ClientSecretBasic,
        disabled: false,
        may_introspect_any_token: false,
        require_pkce: true,
        registration_token_hash: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        scopes: ScopeSet::default(),
        default_scopes: ScopeSet::default(),
        resources: vec![],
        access_token_lifetime: None,
        jwks: None,
        jwks_uri: None,
        dpop_bound_access_tokens: false,
        require_pushed_authorization_requests: false,
        owner: None,
        created_at: 0,
    }
}

/// Claims of a token issued to `client_id` by `https://auth.example.com`, valid in [100, 200).
pub(crate) fn claims(client_id: &str) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "https://auth.example.com".into(),
        sub: client_id.into(),
        aud: Audience::One("https://api.example.com".into()),
        client_id: client_id.into(),
        scope: "a".into(),
        iat: 100,
        nbf: 100,
        exp: 200,
        jti: "jti-1".into(),
        cnf: None,
        act: None,
    }
}

/// Tokens from `https://auth.example.com`, valid for an hour, `aud` defaulting to the issuer.
pub(crate) fn policy() -> TokenPolicy {
    TokenPolicy {
        issuer: "https://auth.example.com".into(),
        access_token_lifetime: 3600,
        default_audience: "https://auth.example.com".into(),
        resources: Default::default(),
    }
}
