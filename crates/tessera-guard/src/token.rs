//! What a handler gets: the verified claims, with the scope already split.
//!
//! Tessera's claims are `tessera_core::token::AccessTokenClaims`, but the wire
//! form is read through a struct of our own, because the `myp` dialect sends
//! `scope` as a JSON array and other issuers may omit `nbf`.

use serde::Deserialize;
use tessera_core::token::{AccessTokenClaims, Audience};

/// A token that passed every check of the guard. The guard puts it in the
/// request's extensions; with axum, read it as `Extension<VerifiedToken>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The RFC 9068 claims. `scope` is space-delimited here whatever the wire
    /// form was, and `nbf` is `iat` when the token had none.
    pub claims: AccessTokenClaims,
    /// The granted scopes, one per entry, in the token's order.
    pub scopes: Vec<String>,
}

impl VerifiedToken {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }

    /// The `client_id` claim: the application the token was issued to.
    pub fn client_id(&self) -> &str {
        &self.claims.client_id
    }

    /// The `sub` claim: the user, or the client itself for client_credentials.
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }
}

/// The claims as they come off the wire.
#[derive(Deserialize)]
pub(crate) struct WireClaims {
    iss: String,
    sub: String,
    aud: Audience,
    client_id: String,
    /// Space-delimited, or an array (IdentityServer style, the `myp`
    /// dialect): the core's reader takes both.
    #[serde(default, deserialize_with = "tessera_core::token::space_delimited")]
    scope: String,
    iat: u64,
    #[serde(default)]
    nbf: Option<u64>,
    exp: u64,
    jti: String,
    /// RFC 9449 §6.1: the DPoP key a bound token is bound to.
    #[serde(default)]
    cnf: Option<tessera_core::token::Confirmation>,
}

impl WireClaims {
    pub(crate) fn issuer(&self) -> &str {
        &self.iss
    }

    pub(crate) fn audience(&self) -> &Audience {
        &self.aud
    }

    pub(crate) fn expires_at(&self) -> u64 {
        self.exp
    }

    pub(crate) fn not_before(&self) -> u64 {
        self.nbf.unwrap_or(self.iat)
    }

    pub(crate) fn into_verified(self) -> VerifiedToken {
        let scopes: Vec<String> =
            self.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let nbf = self.not_before();
        VerifiedToken {
            claims: AccessTokenClaims {
                iss: self.iss,
                sub: self.sub,
                aud: self.aud,
                client_id: self.client_id,
                scope: scopes.join(" "),
                iat: self.iat,
                nbf,
                exp: self.exp,
                jti: self.jti,
                cnf: self.cnf,
                act: None,
            },
            scopes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(json: &str) -> VerifiedToken {
        serde_json::from_str::<WireClaims>(json).expect("claims parse").into_verified()
    }

    #[test]
    fn scope_may_be_a_string_or_an_array() {
        let base = r#""iss":"i","sub":"s","aud":"a","client_id":"c","iat":1,"exp":2,"jti":"j""#;
        let text = verified(&format!(r#"{{{base},"scope":"read  write"}}"#));
        assert_eq!(text.scopes, ["read", "write"]);
        let list = verified(&format!(r#"{{{base},"scope":["read","write"]}}"#));
        assert_eq!(list.scopes, ["read", "write"]);
        assert_eq!(list.claims.scope, "read write");
        assert_eq!(list.claims.nbf, 1);
        assert!(verified(&format!("{{{base}}}")).scopes.is_empty());
    }

    #[test]
    fn wrongly_typed_time_claims_are_refused() {
        let claims = r#"{"iss":"i","sub":"s","aud":"a","client_id":"c","iat":1,"exp":"2","jti":"j"}"#;
        assert!(serde_json::from_str::<WireClaims>(claims).is_err());
    }
}
