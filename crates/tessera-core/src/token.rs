//! Claims of the tokens Tessera signs, and the choice of their audience.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::policy::TokenPolicy;
use crate::resource::Resource;
use crate::scope::ScopeSet;

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// An access token's claims, per the JWT profile of RFC 9068 §2.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    /// Space-delimited (RFC 9068 §2.2.3); read from an array too, the form the
    /// `myp` dialect signs.
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "space_delimited")]
    pub scope: String,
    pub iat: UnixTime,
    pub nbf: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    /// RFC 9449 §6.1: the DPoP key the token is bound to; absent for a Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// RFC 8693 §4.1: the acting party of a delegated token; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
}

/// The `act` claim (RFC 8693 §4.1): who acts for the subject, and for whom
/// that actor was itself acting (the nested `act`, most recent actor outermost).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

/// The `cnf` claim (RFC 7800) of a DPoP-bound token (RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638) of the client's DPoP key.
    pub jkt: String,
}

/// A scope claim as a string, or as an array of scopes joined with spaces.
pub fn space_delimited<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ScopeClaim {
        Delimited(String),
        List(Vec<String>),
    }
    Ok(match ScopeClaim::deserialize(deserializer)? {
        ScopeClaim::Delimited(scope) => scope,
        ScopeClaim::List(scopes) => scopes.join(" "),
    })
}

/// `aud`: a string when there is one audience, an array when there are several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn from_resources(resources: Vec<String>) -> Audience {
        match <[String; 1]>::try_from(resources) {
            Ok([one]) => Audience::One(one),
            Err(many) => Audience::Many(many),
        }
    }
}

/// A decision to issue an access token, ready to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenGrant {
    pub claims: AccessTokenClaims,
    pub scope: ScopeSet,
    pub expires_in: u64,
}

impl AccessTokenGrant {
    /// Builds the claims of a token for `subject`, issued to `client` at `now`.
    pub fn new(
        policy: &TokenPolicy,
        client: &Client,
        subject: String,
        audience: Audience,
        scope: ScopeSet,
        now: UnixTime,
        token_id: String,
    ) -> AccessTokenGrant {
        let lifetime = client.access_token_lifetime(policy.access_token_lifetime);
        let claims = AccessTokenClaims {
            iss: policy.issuer.clone(),
            sub: subject,
            aud: audience,
            client_id: client.client_id.clone(),
            scope: scope.to_string(),
            iat: now,
            nbf: now,
            exp: now + lifetime,
            jti: token_id,
            cnf: None,
            act: None,
        };
        AccessTokenGrant { claims, scope, expires_in: lifetime }
    }
}

/// Chooses `aud` (RFC 8707): the requested resources, which the client must have
/// been registered for; else every resource of the client; else the default.
pub fn resolve_audience(
    policy: &TokenPolicy,
    client: &Client,
    requested: Vec<Resource>,
) -> Result<Audience, OAuthError> {
    if requested.is_empty() {
        if client.resources.is_empty() {
            return Ok(Audience::One(policy.default_audience.clone()));
        }
        let all = client.resources.iter().map(|r| r.as_str().to_owned()).collect();
        return Ok(Audience::from_resources(all));
    }
    if let Some(foreign) = requested.iter().find(|r| !client.resources.contains(r)) {
        return Err(ErrorCode::InvalidTarget
            .with(format!("the client is not registered for the resource `{foreign}`")));
    }
    let mut names: Vec<String> = requested.into_iter().map(|r| r.as_str().to_owned()).collect();
    names.dedup();
    Ok(Audience::from_resources(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_claims_read_as_a_string_or_an_array() {
        let base = r#""iss":"i","sub":"s","aud":"a","client_id":"c","iat":1,"nbf":1,"exp":2,"jti":"j""#;
        for scope in [r#""a b""#, r#"["a","b"]"#] {
            let claims: AccessTokenClaims =
                serde_json::from_str(&format!("{{{base},\"scope\":{scope}}}")).expect("claims");
            assert_eq!(claims.scope, "a b", "{scope}");
        }
        let without: AccessTokenClaims = serde_json::from_str(&format!("{{{base}}}")).expect("claims");
        assert_eq!(without.scope, "");
    }
}
