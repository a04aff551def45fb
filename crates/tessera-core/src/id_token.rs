//! OpenID Connect: the ID token (Core §2, §3.1.3.6) and the claims a user
//! shares by scope (Core §5.4).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::UnixTime;
use crate::policy::TokenPolicy;
use crate::scope::ScopeSet;
use crate::user::User;

/// The JOSE `typ` of an ID token.
pub const ID_TOKEN_TYP: &str = "JWT";

/// ID token claims for the authorization code flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Left half of SHA-256 of the access token (Core §3.1.3.6, RS256/ES256).
    pub at_hash: String,
    pub azp: String,
}

/// Whether a grant of `scope` comes with an ID token.
pub fn issues_id_token(scope: &ScopeSet) -> bool {
    scope.contains("openid")
}

/// The ID token for `user_id`, issued to `client_id` with `access_token`.
pub fn id_token_claims(
    policy: &TokenPolicy,
    client_id: &str,
    user_id: &str,
    auth_time: UnixTime,
    nonce: Option<String>,
    access_token: &str,
    now: UnixTime,
) -> IdTokenClaims {
    let digest = Sha256::digest(access_token.as_bytes());
    IdTokenClaims {
        iss: policy.issuer.clone(),
        sub: user_id.to_owned(),
        aud: client_id.to_owned(),
        exp: now + policy.access_token_lifetime,
        iat: now,
        auth_time,
        nonce,
        at_hash: URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]),
        azp: client_id.to_owned(),
    }
}

/// The claims about `user` that `scope` releases (Core §5.4): always `sub`;
/// `profile` adds name and username, `email` the address and its verification.
pub fn user_claims(user: &User, scope: &ScopeSet) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), Value::String(user.user_id.clone()));
    if scope.contains("profile") {
        claims.insert("preferred_username".into(), Value::String(user.username.to_string()));
        if let Some(name) = &user.name {
            claims.insert("name".into(), Value::String(name.clone()));
        }
    }
    if let Some(email) = user.email.as_ref().filter(|_| scope.contains("email")) {
        claims.insert("email".into(), Value::String(email.clone()));
        claims.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::policy;
    use crate::user::Username;

    #[test]
    fn id_token_claims_and_at_hash() {
        // OpenID Connect Core appendix A.3 example: at_hash of this access token.
        let claims = id_token_claims(
            &policy(),
            "app",
            "user-1",
            90,
            Some("n-0S6_WzA2Mj".into()),
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
            100,
        );
        assert_eq!(claims.at_hash, "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!((claims.aud.as_str(), claims.azp.as_str(), claims.sub.as_str()), ("app", "app", "user-1"));
        assert_eq!((claims.iat, claims.exp, claims.auth_time), (100, 3700, 90));
        let json = serde_json::to_value(&claims).expect("json");
        assert_eq!(json["nonce"], "n-0S6_WzA2Mj");
        let without_nonce = id_token_claims(&policy(), "app", "u", 1, None, "t", 2);
        assert!(serde_json::to_value(&without_nonce).expect("json").get("nonce").is_none());
    }

    #[test]
    fn claims_follow_the_scopes() {
        let user = User {
            user_id: "u-1".into(),
            username: Username::parse("alice").expect("name"),
            email: Some("alice@example.com".into()),
            email_verified: true,
            name: Some("Alice".into()),
            password_hash: "$argon2id$x".into(),
            disabled: false,
            role: crate::user::Role::User,
            created_at: 0,
        };
        let scope = |raw: &str| ScopeSet::parse(raw).expect("scope");
        assert_eq!(
            serde_json::Value::Object(user_claims(&user, &scope("openid"))),
            serde_json::json!({"sub": "u-1"})
        );
        assert_eq!(
            serde_json::Value::Object(user_claims(&user, &scope("openid profile email"))),
            serde_json::json!({"sub": "u-1", "preferred_username": "alice", "name": "Alice", "email": "alice@example.com", "email_verified": true})
        );
        assert!(issues_id_token(&scope("openid email")));
        assert!(!issues_id_token(&scope("email")));
    }
}
