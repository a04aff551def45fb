//! Token introspection (RFC 7662): whether a token is active, and what a
//! caller may learn about it.
//!
//! Every reason a token is not usable gives the same `Inactive` answer, so
//! introspection never tells a caller why (RFC 7662 §2.2).
//!
//! A caller may ask for the answer as a signed JWT instead (RFC 9701): the
//! choice from its `Accept` header ([`IntrospectionFormat::negotiate`]) and the
//! claims that wrap the answer ([`introspection_response_claims`]) are here.

use serde::Serialize;

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

/// The media type a resource server names in `Accept` to get the answer as a
/// signed JWT, and that answer's `Content-Type` (RFC 9701 §4, §5).
pub const INTROSPECTION_JWT_MEDIA_TYPE: &str = "application/token-introspection+jwt";

/// The JOSE `typ` of a signed introspection answer (RFC 9701 §5). Explicit
/// typing keeps it from passing for an access token (`at+jwt`) or an ID token
/// (RFC 9701 §8.1).
pub const INTROSPECTION_JWT_TYP: &str = "token-introspection+jwt";

/// How the introspection answer goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntrospectionFormat {
    /// The RFC 7662 JSON object: the default.
    Json,
    /// The same object inside a signed JWT (RFC 9701).
    Jwt,
}

impl IntrospectionFormat {
    /// Chooses from the request's `Accept` field (several header lines joined
    /// with commas), following RFC 9110 §12.5.1.
    ///
    /// The JWT only when the caller names its media type explicitly, with a
    /// quality above zero and at least that of `application/json` (whose
    /// quality is the most specific range matching it, wildcards included).
    /// A tie goes to the JWT, which the caller named on purpose. No header,
    /// `*/*`, `application/*` or `application/json` keep the JSON every RFC
    /// 7662 client expects. A range with a malformed `q` is ignored.
    pub fn negotiate(accept: Option<&str>) -> IntrospectionFormat {
        let Some(accept) = accept else { return IntrospectionFormat::Json };
        let ranges: Vec<MediaRange<'_>> = accept.split(',').filter_map(MediaRange::parse).collect();
        let (jwt_type, jwt_subtype) =
            INTROSPECTION_JWT_MEDIA_TYPE.split_once('/').unwrap_or((INTROSPECTION_JWT_MEDIA_TYPE, ""));
        let named = ranges.iter().find(|range| range.specificity(jwt_type, jwt_subtype) == Some(3));
        let json = quality(&ranges, "application", "json").unwrap_or(0);
        match named {
            Some(range) if range.q > 0 && range.q >= json => IntrospectionFormat::Jwt,
            _ => IntrospectionFormat::Json,
        }
    }
}

/// One element of an `Accept` field, its quality in thousandths.
struct MediaRange<'a> {
    type_: &'a str,
    subtype: &'a str,
    q: u16,
}

impl<'a> MediaRange<'a> {
    fn parse(element: &'a str) -> Option<MediaRange<'a>> {
        let mut parts = element.split(';');
        let (type_, subtype) = parts.next()?.trim().split_once('/')?;
        let (type_, subtype) = (type_.trim(), subtype.trim());
        if type_.is_empty() || subtype.is_empty() {
            return None;
        }
        let mut q = 1000;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else { continue };
            if name.trim().eq_ignore_ascii_case("q") {
                q = qvalue(value.trim())?;
                // Whatever follows `q` is an accept extension, not the type's.
                break;
            }
        }
        Some(MediaRange { type_, subtype, q })
    }

    /// 3 for the exact type, 2 for `type/*`, 1 for `*/*`; `None` if it does not match.
    fn specificity(&self, type_: &str, subtype: &str) -> Option<u8> {
        let type_matches = self.type_.eq_ignore_ascii_case(type_);
        if type_matches && self.subtype.eq_ignore_ascii_case(subtype) {
            Some(3)
        } else if type_matches && self.subtype == "*" {
            Some(2)
        } else if self.type_ == "*" && self.subtype == "*" {
            Some(1)
        } else {
            None
        }
    }
}

/// The quality the most specific matching range gives a media type, if any does.
fn quality(ranges: &[MediaRange<'_>], type_: &str, subtype: &str) -> Option<u16> {
    let mut best: Option<(u8, u16)> = None;
    for range in ranges {
        if let Some(specificity) = range.specificity(type_, subtype)
            && best.is_none_or(|(seen, _)| specificity > seen)
        {
            best = Some((specificity, range.q));
        }
    }
    best.map(|(_, q)| q)
}

/// RFC 9110 §12.4.2 `qvalue` in thousandths: `0`, `0.5`, `1.000`, not `1.5` or `.5`.
fn qvalue(raw: &str) -> Option<u16> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The claims of a signed introspection answer (RFC 9701 §5): who answers
/// (`iss`), to which resource server (`aud`), when (`iat`), and the RFC 7662
/// answer itself, nested whole in `token_introspection`.
///
/// Nothing else sits at the top level: no `sub` or `exp` (§5's SHOULD NOT), no
/// `jti`, and no `scope` or `client_id` outside the nested answer, so the
/// signed answer cannot be replayed as an access token (§8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntrospectionResponseClaims<A> {
    pub iss: String,
    pub aud: String,
    pub iat: UnixTime,
    pub token_introspection: A,
}

/// Wraps `answer` for `caller`: issued by `policy.issuer` at `now`, addressed
/// to the authenticated caller and to no one else (RFC 9701 §5 `aud`).
pub fn introspection_response_claims<A>(
    policy: &TokenPolicy,
    caller: &Client,
    answer: A,
    now: UnixTime,
) -> IntrospectionResponseClaims<A> {
    IntrospectionResponseClaims {
        iss: policy.issuer.clone(),
        aud: caller.client_id.clone(),
        iat: now,
        token_introspection: answer,
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
            resources: vec![],
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

    #[test]
    fn accept_chooses_the_jwt_only_when_named_and_preferred() {
        use IntrospectionFormat::{Json, Jwt};
        let cases: &[(Option<&str>, IntrospectionFormat)] = &[
            (None, Json),
            (Some(""), Json),
            (Some("*/*"), Json),
            (Some("application/*"), Json),
            (Some("application/json"), Json),
            (Some("text/html"), Json),
            (Some("application/token-introspection+jwt"), Jwt),
            (Some("Application/Token-Introspection+JWT"), Jwt),
            (Some(" application/token-introspection+jwt ; charset=utf-8 "), Jwt),
            (Some("application/json;q=0.5, application/token-introspection+jwt"), Jwt),
            (Some("application/json, application/token-introspection+jwt"), Jwt),
            (Some("application/token-introspection+jwt, application/json"), Jwt),
            (Some("application/token-introspection+jwt;q=0.5, application/json"), Json),
            (Some("application/token-introspection+jwt;q=0.5, */*"), Json),
            (Some("application/token-introspection+jwt;q=0.5, application/*;q=0.4"), Jwt),
            (Some("application/token-introspection+jwt;q=0.5, application/*, application/json;q=0.1"), Jwt),
            (Some("*/*, application/token-introspection+jwt"), Jwt),
            (Some("application/token-introspection+jwt;q=0"), Json),
            (Some("application/token-introspection+jwt;q=0.000, application/json;q=0"), Json),
            (Some("application/token-introspection+jwt;q=0.001, application/json;q=0"), Jwt),
            (Some("application/token-introspection+jwt;q=1.000;ext=x"), Jwt),
            (Some("application/token-introspection+jwt;q=2"), Json),
            (Some("application/token-introspection+jwt;q=.5"), Json),
            (Some("application/token-introspection+jwt;q=0.5000"), Json),
            (Some("application/token-introspection+jwt;q=abc"), Json),
            (Some("application/token-introspection+jwtx"), Json),
            (Some("application/token-introspection"), Json),
            (Some("text/plain;x=\"application/token-introspection+jwt\""), Json),
        ];
        for (accept, expected) in cases {
            assert_eq!(IntrospectionFormat::negotiate(*accept), *expected, "{accept:?}");
        }
    }

    #[test]
    fn qvalues_follow_rfc_9110() {
        for (raw, q) in [
            ("0", 0),
            ("0.", 0),
            ("0.5", 500),
            ("0.25", 250),
            ("0.125", 125),
            ("1", 1000),
            ("1.0", 1000),
            ("1.000", 1000),
        ] {
            assert_eq!(qvalue(raw), Some(q), "{raw}");
        }
        for raw in ["", ".5", "1.5", "1.001", "2", "0.1234", "-0", "0.-1", "0.5x", "01"] {
            assert_eq!(qvalue(raw), None, "{raw}");
        }
    }

    #[test]
    fn the_signed_answer_has_only_the_rfc_9701_claims() {
        let caller = client("api");
        let answer = serde_json::json!({ "active": true, "sub": "app", "exp": 200, "scope": "a" });
        let claims = introspection_response_claims(&policy(), &caller, answer.clone(), 150);
        assert_eq!(
            serde_json::to_value(&claims).expect("serializes"),
            serde_json::json!({
                "iss": "https://auth.example.com",
                "aud": "api",
                "iat": 150,
                "token_introspection": answer,
            }),
            "no sub, exp or jti at the top level"
        );
        let inactive =
            introspection_response_claims(&policy(), &caller, serde_json::json!({"active": false}), 150);
        assert_eq!(inactive.token_introspection, serde_json::json!({ "active": false }));
    }
}
