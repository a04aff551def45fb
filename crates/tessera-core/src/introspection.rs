//! Token introspection (RFC 7662): whether a token is active, and what a
//! caller may learn about it.
//!
//! Every reason a token is not usable gives the same `Inactive` answer, so
//! introspection never tells a caller why (RFC 7662 §2.2).

use crate::UnixTime;
use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::grant::refresh::RefreshTokenRecord;
use crate::policy::TokenPolicy;
use crate::request::FormParams;
use crate::token::AccessTokenClaims;

/// `token` plus an optional `token_type_hint` (RFC 7662 §2.1; RFC 7009 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequestByValue {
    pub token: String,
    /// Only a hint: an unknown value is ignored and every type is searched.
    pub token_type_hint: Option<String>,
}

impl TokenRequestByValue {
    pub fn parse(form: &FormParams) -> Result<TokenRequestByValue, OAuthError> {
        Ok(TokenRequestByValue {
            token: form.require("token")?.to_owned(),
            token_type_hint: form.get("token_type_hint").map(str::to_owned),
        })
    }
}

/// The answer to an introspection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspection {
    Active(AccessTokenClaims),
    ActiveRefreshToken(RefreshTokenRecord),
    Inactive,
}

/// Only confidential clients introspect: a public client proves nothing.
pub fn ensure_may_introspect(caller: &Client) -> Result<(), OAuthError> {
    if caller.is_public() {
        return Err(ErrorCode::InvalidClient.with("public clients cannot introspect tokens"));
    }
    Ok(())
}

/// Decides whether a signature-verified access token is active for `caller`.
///
/// `issuing_client` is the token's client as stored now (`None` once deleted);
/// `revoked` says whether its `jti` was revoked.
pub fn introspect_access_token(
    policy: &TokenPolicy,
    caller: &Client,
    claims: AccessTokenClaims,
    issuing_client: Option<&Client>,
    revoked: bool,
    now: UnixTime,
) -> Introspection {
    let issuer_ok = claims.iss == policy.issuer;
    let time_ok = claims.nbf <= now && now < claims.exp;
    let client_ok = issuing_client.is_some_and(|client| !client.disabled);
    let caller_ok = caller.may_introspect_any_token || caller.client_id == claims.client_id;
    if issuer_ok && time_ok && client_ok && caller_ok && !revoked {
        Introspection::Active(claims)
    } else {
        Introspection::Inactive
    }
}

/// Decides whether a stored refresh token is active for `caller`: the current
/// token of a live family, unexpired, of an enabled client.
pub fn introspect_refresh_token(
    caller: &Client,
    record: RefreshTokenRecord,
    rotated: bool,
    revoked: bool,
    issuing_client: Option<&Client>,
    now: UnixTime,
) -> Introspection {
    let live = !rotated && !revoked && now < record.expires_at;
    let client_ok = issuing_client.is_some_and(|client| !client.disabled);
    let caller_ok = caller.may_introspect_any_token || caller.client_id == record.client_id;
    if live && client_ok && caller_ok {
        Introspection::ActiveRefreshToken(record)
    } else {
        Introspection::Inactive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{claims, client, policy};

    fn active(
        caller: &Client,
        claims: AccessTokenClaims,
        issuer: Option<&Client>,
        revoked: bool,
        now: u64,
    ) -> bool {
        matches!(
            introspect_access_token(&policy(), caller, claims, issuer, revoked, now),
            Introspection::Active(_)
        )
    }

    #[test]
    fn own_live_token_is_active() {
        let app = client("app");
        assert!(active(&app, claims("app"), Some(&app), false, 150));
    }

    #[test]
    fn every_reason_to_be_inactive() {
        let app = client("app");
        assert!(!active(&app, claims("app"), Some(&app), false, 200), "expired");
        assert!(!active(&app, claims("app"), Some(&app), false, 99), "not yet valid");
        assert!(!active(&app, claims("app"), Some(&app), true, 150), "revoked");
        assert!(!active(&app, claims("app"), None, false, 150), "client deleted");
        let mut disabled = client("app");
        disabled.disabled = true;
        assert!(!active(&app, claims("app"), Some(&disabled), false, 150), "client disabled");
        let mut foreign = claims("app");
        foreign.iss = "https://elsewhere.example.com".into();
        assert!(!active(&app, foreign, Some(&app), false, 150), "another issuer");
    }

    #[test]
    fn other_clients_tokens_need_the_permission() {
        let owner = client("owner");
        let mut api = client("api");
        assert!(!active(&api, claims("owner"), Some(&owner), false, 150));
        api.may_introspect_any_token = true;
        assert!(active(&api, claims("owner"), Some(&owner), false, 150));
    }

    #[test]
    fn refresh_tokens_are_active_only_while_current() {
        use crate::grant::refresh::{NewFamily, RefreshPolicy};
        let app = client("app");
        let family = NewFamily {
            family_id: "fam".into(),
            client_id: "app".into(),
            user_id: "user".into(),
            scope: crate::scope::ScopeSet::default(),
            auth_time: 0,
        };
        let record =
            RefreshTokenRecord::first(&RefreshPolicy { lifetime: 100, reuse_grace: 0 }, "rt", family, 0);
        let active = |rotated, revoked, now| {
            matches!(
                introspect_refresh_token(&app, record.clone(), rotated, revoked, Some(&app), now),
                Introspection::ActiveRefreshToken(_)
            )
        };
        assert!(active(false, false, 50));
        assert!(!active(true, false, 50), "rotated");
        assert!(!active(false, true, 50), "revoked");
        assert!(!active(false, false, 100), "expired");
        let stranger = client("stranger");
        assert!(!matches!(
            introspect_refresh_token(&stranger, record, false, false, Some(&app), 50),
            Introspection::ActiveRefreshToken(_)
        ));
    }

    #[test]
    fn public_clients_cannot_introspect() {
        let mut public = client("spa");
        public.secret_hash = None;
        assert_eq!(ensure_may_introspect(&public).map_err(|e| e.code), Err(ErrorCode::InvalidClient));
    }
}
