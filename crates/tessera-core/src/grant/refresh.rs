//! The refresh token grant (RFC 6749 §6, RFC 9700 §4.14): a refresh token is
//! exchanged for a new access token and a successor refresh token; the scope
//! and the resources (RFC 8707 §2.2) may narrow, never widen.

use crate::UnixTime;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::policy::TokenPolicy;
use crate::request::FormParams;
use crate::resource::{Resource, ensure_registered, narrow_resources, requested_resources};
use crate::scope::ScopeSet;
use crate::secret::SecretHash;
use crate::token::{AccessTokenGrant, token_settings};

/// `grant_type=refresh_token` with `refresh_token`, and an optional narrower
/// `scope` and `resource`s.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshTokenRequest {
    pub refresh_token: String,
    pub scope: Option<ScopeSet>,
    /// Some of the family's resources; none: all of them.
    pub resources: Vec<Resource>,
}

impl std::fmt::Debug for RefreshTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshTokenRequest")
            .field("scope", &self.scope)
            .field("resources", &self.resources)
            .finish_non_exhaustive()
    }
}

impl RefreshTokenRequest {
    pub fn parse(form: &FormParams) -> Result<RefreshTokenRequest, OAuthError> {
        Ok(RefreshTokenRequest {
            refresh_token: form.require("refresh_token")?.to_owned(),
            scope: form.get("scope").map(ScopeSet::parse).transpose()?,
            resources: requested_resources(form)?,
        })
    }
}

/// A refresh token as stored (by hash). Tokens of one grant share a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub token_hash: SecretHash,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    /// The scope originally granted; every successor keeps it.
    pub scope: ScopeSet,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    /// The family's absolute end: successors inherit it.
    pub expires_at: UnixTime,
    /// RFC 9449 §5: the thumbprint of the DPoP key a public client's family is
    /// bound to; successors inherit it.
    pub dpop_jkt: Option<String>,
    /// The resources the grant was for (RFC 8707): every successor keeps them.
    pub resources: Vec<Resource>,
}

impl RefreshTokenRecord {
    /// The first token of a new family.
    pub fn first(
        policy: &RefreshPolicy,
        token: &str,
        family: NewFamily,
        now: UnixTime,
    ) -> RefreshTokenRecord {
        RefreshTokenRecord {
            token_hash: SecretHash::of(token),
            family_id: family.family_id,
            client_id: family.client_id,
            user_id: family.user_id,
            scope: family.scope,
            auth_time: family.auth_time,
            created_at: now,
            expires_at: now + policy.lifetime,
            dpop_jkt: None,
            resources: family.resources,
        }
    }

    /// This record, bound to the DPoP key with thumbprint `jkt` (if any).
    pub fn bound_to(self, jkt: Option<String>) -> RefreshTokenRecord {
        RefreshTokenRecord { dpop_jkt: jkt, ..self }
    }

    /// The record of the token that replaces this one.
    pub fn successor(&self, successor_token: &str, now: UnixTime) -> RefreshTokenRecord {
        RefreshTokenRecord { token_hash: SecretHash::of(successor_token), created_at: now, ..self.clone() }
    }
}

/// What a new family of refresh tokens is for: one grant of `scope` and
/// `resources` to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily {
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: ScopeSet,
    pub auth_time: UnixTime,
    /// What the code was granted, not what its first token narrowed to.
    pub resources: Vec<Resource>,
}

/// Refresh token rules a deployment sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Absolute lifetime of a family, in seconds.
    pub lifetime: u64,
    /// Seconds after a rotation in which the rotated token, presented again,
    /// gets the same successor instead of revoking the family (0: never).
    pub reuse_grace: u64,
}

/// What presenting an already rotated token means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotatedTokenUse {
    /// Within the grace window: answer with the same successor.
    SameSuccessor,
    /// A replay: revoke the family (RFC 9700 §4.14.2).
    Reuse,
}

pub fn rotated_token_use(policy: &RefreshPolicy, rotated_at: UnixTime, now: UnixTime) -> RotatedTokenUse {
    if policy.reuse_grace > 0 && now.saturating_sub(rotated_at) <= policy.reuse_grace {
        RotatedTokenUse::SameSuccessor
    } else {
        RotatedTokenUse::Reuse
    }
}

/// Whether a grant of `scope` to `client` comes with a refresh token: the client
/// must be registered for the grant, and an OpenID request must ask for
/// `offline_access` (OpenID Connect Core §11).
pub fn issues_refresh_token(client: &Client, scope: &ScopeSet) -> bool {
    client.has_grant_type(GrantType::RefreshToken)
        && (!scope.contains("openid") || scope.contains("offline_access"))
}

/// Decides the access token for a refresh; `record` is the presented token's.
pub fn refresh_access_token(
    policy: &TokenPolicy,
    client: &Client,
    request: &RefreshTokenRequest,
    record: &RefreshTokenRecord,
    now: UnixTime,
    token_id: String,
) -> Result<AccessTokenGrant, OAuthError> {
    client.ensure_grant_type(GrantType::RefreshToken)?;
    if record.client_id != client.client_id {
        return Err(ErrorCode::InvalidGrant.with("the refresh token was issued to another client"));
    }
    if now >= record.expires_at {
        return Err(ErrorCode::InvalidGrant.with("the refresh token has expired"));
    }
    let scope = match &request.scope {
        Some(requested) => {
            requested.ensure_within(&record.scope).map_err(|_| {
                ErrorCode::InvalidScope.with("a refresh may narrow the scope, never widen it")
            })?;
            requested.clone()
        }
        None => record.scope.clone(),
    };
    let resources = narrow_resources(&record.resources, request.resources.clone())?;
    ensure_registered(client, &resources)?;
    let settings = token_settings(policy, client, &resources)?;
    Ok(AccessTokenGrant::new(policy, client, record.user_id.clone(), settings, scope, now, token_id))
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::fixtures::{client, policy};

    const API: &str = "https://api.example.com";
    const FILES: &str = "https://files.example.com";

    fn resources(raw: &[&str]) -> Vec<Resource> {
        raw.iter().map(|raw| Resource::parse(raw).expect("resource")).collect()
    }

    fn refresh_client() -> Client {
        Client {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            resources: resources(&[API, FILES]),
            ..client("app")
        }
    }

    fn record() -> RefreshTokenRecord {
        let family = NewFamily {
            family_id: "family-1".into(),
            client_id: "app".into(),
            user_id: "user-1".into(),
            scope: ScopeSet::parse("contact.read contact.write").expect("scopes"),
            auth_time: 50,
            resources: vec![],
        };
        RefreshTokenRecord::first(&RefreshPolicy { lifetime: 1000, reuse_grace: 0 }, "rt-1", family, 100)
    }

    fn record_for_resources() -> RefreshTokenRecord {
        RefreshTokenRecord { resources: resources(&[API, FILES]), ..record() }
    }

    #[track_caller]
    fn check(body: &str, client: &Client, now: u64, expect: Expect) {
        check_record(body, client, &record(), now, expect);
    }

    #[track_caller]
    fn check_record(body: &str, client: &Client, record: &RefreshTokenRecord, now: u64, expect: Expect) {
        let outcome = FormParams::parse(body.as_bytes())
            .and_then(|form| RefreshTokenRequest::parse(&form))
            .and_then(|request| refresh_access_token(&policy(), client, &request, record, now, "jti".into()));
        let actual = match outcome {
            Ok(grant) => format!(
                "Ok sub={} scope={} aud={}",
                grant.claims.sub,
                grant.scope,
                serde_json::to_string(&grant.claims.aud).expect("json")
            ),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn refresh_keeps_or_narrows_the_scope() {
        check(
            "refresh_token=rt-1",
            &refresh_client(),
            200,
            expect![[r#"Ok sub=user-1 scope=contact.read contact.write aud="https://auth.example.com""#]],
        );
        check(
            "refresh_token=rt-1&scope=contact.read",
            &refresh_client(),
            200,
            expect![[r#"Ok sub=user-1 scope=contact.read aud="https://auth.example.com""#]],
        );
    }

    #[test]
    fn refresh_never_widens_the_scope() {
        check(
            "refresh_token=rt-1&scope=contact.read+admin",
            &refresh_client(),
            200,
            expect!["Err(invalid_scope: a refresh may narrow the scope, never widen it)"],
        );
    }

    #[test]
    fn refresh_keeps_or_narrows_the_resources() {
        check_record(
            "refresh_token=rt-1",
            &refresh_client(),
            &record_for_resources(),
            200,
            expect![[
                r#"Ok sub=user-1 scope=contact.read contact.write aud=["https://api.example.com","https://files.example.com"]"#
            ]],
        );
        check_record(
            "refresh_token=rt-1&resource=https://api.example.com",
            &refresh_client(),
            &record_for_resources(),
            200,
            expect![[r#"Ok sub=user-1 scope=contact.read contact.write aud="https://api.example.com""#]],
        );
    }

    #[test]
    fn refresh_never_widens_the_resources() {
        let api_only = RefreshTokenRecord { resources: resources(&[API]), ..record() };
        check_record(
            "refresh_token=rt-1&resource=https://api.example.com&resource=https://files.example.com",
            &refresh_client(),
            &api_only,
            200,
            expect![
                "Err(invalid_target: the resource `https://files.example.com` was not granted; ask for it at the authorization endpoint)"
            ],
        );
        check(
            "refresh_token=rt-1&resource=https://api.example.com",
            &refresh_client(),
            200,
            expect![
                "Err(invalid_target: the resource `https://api.example.com` was not granted; ask for it at the authorization endpoint)"
            ],
        );
        let without_files = Client { resources: resources(&[API]), ..refresh_client() };
        check_record(
            "refresh_token=rt-1",
            &without_files,
            &record_for_resources(),
            200,
            expect![
                "Err(invalid_target: the client is not registered for the resource `https://files.example.com`)"
            ],
        );
    }

    #[test]
    fn refresh_errors() {
        check(
            "refresh_token=rt-1",
            &refresh_client(),
            1100,
            expect!["Err(invalid_grant: the refresh token has expired)"],
        );
        let other = Client { client_id: "other".into(), ..refresh_client() };
        check(
            "refresh_token=rt-1",
            &other,
            200,
            expect!["Err(invalid_grant: the refresh token was issued to another client)"],
        );
        check(
            "refresh_token=rt-1",
            &client("app"),
            200,
            expect!["Err(unauthorized_client: the client is not allowed to use the `refresh_token` grant)"],
        );
        check(
            "scope=a",
            &refresh_client(),
            200,
            expect!["Err(invalid_request: missing required parameter `refresh_token`)"],
        );
    }

    #[test]
    fn grace_window_decides_between_same_successor_and_reuse() {
        let strict = RefreshPolicy { lifetime: 1000, reuse_grace: 0 };
        assert_eq!(rotated_token_use(&strict, 100, 100), RotatedTokenUse::Reuse);
        let lenient = RefreshPolicy { lifetime: 1000, reuse_grace: 5 };
        assert_eq!(rotated_token_use(&lenient, 100, 105), RotatedTokenUse::SameSuccessor);
        assert_eq!(rotated_token_use(&lenient, 100, 106), RotatedTokenUse::Reuse);
    }

    #[test]
    fn openid_grants_need_offline_access_for_a_refresh_token() {
        let scope = |raw: &str| ScopeSet::parse(raw).expect("scopes");
        assert!(issues_refresh_token(&refresh_client(), &scope("contact.read")));
        assert!(!issues_refresh_token(&refresh_client(), &scope("openid contact.read")));
        assert!(issues_refresh_token(&refresh_client(), &scope("openid offline_access")));
        assert!(!issues_refresh_token(&client("app"), &scope("contact.read")));
    }

    #[test]
    fn successors_keep_family_scope_and_end() {
        let next = record().successor("rt-2", 500);
        assert_eq!((next.family_id.as_str(), next.expires_at, next.created_at), ("family-1", 1100, 500));
        assert!(next.token_hash.matches("rt-2"));
        assert_eq!(next.scope, record().scope);
        let next = record_for_resources().successor("rt-2", 500);
        assert_eq!(next.resources, resources(&[API, FILES]), "the family keeps its resources");
    }
}
