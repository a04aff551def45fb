//! OAuth 2.0 Token Exchange (RFC 8693): a confidential client trades one of
//! Tessera's own access tokens (the subject) for a token addressed to one of
//! the client's registered resources, optionally acting in its own name (an
//! actor token, which leaves an `act` claim: delegation) or not
//! (impersonation).
//!
//! The server verifies the presented tokens' signatures and looks up their
//! revocation; everything else is decided here.

use std::fmt;

use crate::UnixTime;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::grant::client_credentials::parse_resources;
use crate::policy::TokenPolicy;
use crate::request::FormParams;
use crate::resource::Resource;
use crate::scope::{Scope, ScopeSet};
use crate::token::{AccessTokenClaims, AccessTokenGrant, Actor, client_resources, token_settings};

/// RFC 8693 §3: an OAuth access token; what Tessera issues and accepts.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8693 §3: a JWT; accepted as a subject or actor token when it is one of
/// Tessera's access tokens.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenExchangeRequest {
    pub subject_token: String,
    /// Present for delegation; `actor_token_type` came with it.
    pub actor_token: Option<String>,
    /// `None` when the request omitted `scope`.
    pub scope: Option<ScopeSet>,
    /// `resource`s or the `audience`: the target of the new token.
    pub resources: Vec<Resource>,
}

/// The tokens are credentials: never in a log line.
impl fmt::Debug for TokenExchangeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchangeRequest")
            .field("subject_token", &"<redacted>")
            .field("actor_token", &self.actor_token.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .field("resources", &self.resources)
            .finish()
    }
}

impl TokenExchangeRequest {
    pub fn parse(form: &FormParams) -> Result<TokenExchangeRequest, OAuthError> {
        let subject_token = form.require("subject_token")?.to_owned();
        ensure_supported_type("subject_token_type", form.require("subject_token_type")?)?;
        let actor_token = match (form.get("actor_token"), form.get("actor_token_type")) {
            (Some(token), Some(token_type)) => {
                ensure_supported_type("actor_token_type", token_type)?;
                Some(token.to_owned())
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(ErrorCode::InvalidRequest.with("`actor_token` needs `actor_token_type`"));
            }
            (None, Some(_)) => {
                return Err(ErrorCode::InvalidRequest.with("`actor_token_type` without `actor_token`"));
            }
        };
        if let Some(requested) = form.get("requested_token_type")
            && requested != ACCESS_TOKEN_TYPE
        {
            return Err(ErrorCode::InvalidRequest.with(format!(
                "requested_token_type `{}` is not supported; supported: {ACCESS_TOKEN_TYPE}",
                requested.escape_default()
            )));
        }
        let scope = form.get("scope").map(ScopeSet::parse).transpose()?;
        Ok(TokenExchangeRequest { subject_token, actor_token, scope, resources: parse_resources(form)? })
    }
}

fn ensure_supported_type(parameter: &str, raw: &str) -> Result<(), OAuthError> {
    if raw == ACCESS_TOKEN_TYPE || raw == JWT_TOKEN_TYPE {
        return Ok(());
    }
    Err(ErrorCode::InvalidRequest.with(format!(
        "{parameter} `{}` is not supported; supported: {ACCESS_TOKEN_TYPE}, {JWT_TOKEN_TYPE}",
        raw.escape_default()
    )))
}

/// A subject or actor token as the server found it: `None` claims when it is
/// not an access token signed by this server's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken {
    pub claims: Option<AccessTokenClaims>,
    /// Its `jti` was revoked.
    pub revoked: bool,
    /// The client it was issued to exists and is enabled.
    pub client_active: bool,
}

/// RFC 8693 §2.2.2: a subject or actor token that is invalid for any reason,
/// or unacceptable by policy, is `invalid_request`. Every reason gives the
/// same answer.
fn unacceptable(parameter: &str) -> OAuthError {
    ErrorCode::InvalidRequest.with(format!("the {parameter} is invalid, expired or revoked"))
}

fn accept(
    policy: &TokenPolicy,
    token: PresentedToken,
    parameter: &str,
    now: UnixTime,
) -> Result<AccessTokenClaims, OAuthError> {
    match token.claims {
        Some(claims)
            if claims.iss == policy.issuer
                && claims.nbf <= now
                && now < claims.exp
                && !token.revoked
                && token.client_active =>
        {
            Ok(claims)
        }
        _ => Err(unacceptable(parameter)),
    }
}

/// Decides the token `client` gets in exchange for `subject` (and `actor`,
/// which the server presents exactly when the request has an `actor_token`).
///
/// Policy: the client is confidential and registered for the grant; the target
/// is among its registered resources (`invalid_target`); the scope is within
/// both the subject token's and the client's (`invalid_scope`); an actor token
/// must be the client's own (issued to it, or naming it as `sub`). The new
/// token lives no longer than the subject or actor token.
pub fn grant_token_exchange(
    policy: &TokenPolicy,
    client: &Client,
    request: TokenExchangeRequest,
    subject: PresentedToken,
    actor: Option<PresentedToken>,
    now: UnixTime,
    token_id: String,
) -> Result<AccessTokenGrant, OAuthError> {
    client.ensure_grant_type(GrantType::TokenExchange)?;
    if client.is_public() {
        return Err(ErrorCode::UnauthorizedClient.with("public clients cannot exchange tokens"));
    }
    let subject = accept(policy, subject, "subject_token", now)?;
    let actor = match actor {
        Some(actor) => {
            let actor = accept(policy, actor, "actor_token", now)?;
            if actor.client_id != client.client_id && actor.sub != client.client_id {
                return Err(
                    ErrorCode::InvalidRequest.with("the actor_token was not issued to the requesting client")
                );
            }
            Some(actor)
        }
        None => None,
    };
    if client.resources.is_empty() {
        return Err(
            ErrorCode::InvalidTarget.with("the client is registered for no resource to exchange tokens for")
        );
    }
    let resources = client_resources(client, request.resources)?;
    let settings = token_settings(policy, client, &resources)?;

    let held: ScopeSet = ScopeSet::parse(&subject.scope).map_err(|_| unacceptable("subject_token"))?;
    let scope = match request.scope {
        Some(requested) => {
            let beyond: Vec<&str> = requested.missing_from(&held).map(Scope::as_str).collect();
            if !beyond.is_empty() {
                return Err(ErrorCode::InvalidScope
                    .with(format!("the subject_token does not carry the scope(s): {}", beyond.join(" "))));
            }
            requested.ensure_within(&client.scopes)?;
            requested
        }
        None => held.filtered(|scope: &Scope| client.scopes.contains(scope.as_str())),
    };

    let mut grant =
        AccessTokenGrant::new(policy, client, subject.sub.clone(), settings, scope, now, token_id);
    let mut exp = grant.claims.exp.min(subject.exp);
    if let Some(actor) = &actor {
        exp = exp.min(actor.exp);
    }
    grant.claims.exp = exp;
    grant.expires_in = exp.saturating_sub(now);
    grant.claims.act = exchanged_actor(subject.act, actor);
    Ok(grant)
}

/// RFC 8693 §4.1: the new token's `act`. With an actor, the actor outermost
/// and the subject token's own `act` (prior actors) nested inside; without
/// one (impersonation), the subject token's `act` is kept, so that exchanging
/// never erases who acted before.
pub fn exchanged_actor(prior: Option<Actor>, actor: Option<AccessTokenClaims>) -> Option<Actor> {
    match actor {
        Some(actor) => Some(Actor {
            client_id: (actor.client_id != actor.sub).then_some(actor.client_id),
            sub: actor.sub,
            act: prior.map(Box::new),
        }),
        None => prior,
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::fixtures::{claims, policy};

    const NOW: UnixTime = 1_700_000_000;

    fn gateway() -> Client {
        Client {
            grant_types: vec![GrantType::ClientCredentials, GrantType::TokenExchange],
            scopes: ScopeSet::parse("orders.read orders.write profile").expect("scopes"),
            resources: vec![
                Resource::parse("https://orders.example.com").expect("resource"),
                Resource::parse("https://billing.example.com").expect("resource"),
            ],
            ..crate::fixtures::client("gateway")
        }
    }

    /// A user's token, issued to `web`, valid for ten more minutes.
    fn user_token() -> AccessTokenClaims {
        AccessTokenClaims {
            sub: "alice".into(),
            scope: "openid orders.read orders.write".into(),
            iat: NOW - 60,
            nbf: NOW - 60,
            exp: NOW + 600,
            ..claims("web")
        }
    }

    fn valid(claims: AccessTokenClaims) -> PresentedToken {
        PresentedToken { claims: Some(claims), revoked: false, client_active: true }
    }

    /// The gateway's own client_credentials token.
    fn gateway_token() -> AccessTokenClaims {
        AccessTokenClaims { exp: NOW + 3000, iat: NOW, nbf: NOW, ..claims("gateway") }
    }

    fn run(client: &Client, body: &str, subject: PresentedToken, actor: Option<PresentedToken>) -> String {
        let outcome = FormParams::parse(body.as_bytes())
            .and_then(|form| TokenExchangeRequest::parse(&form))
            .and_then(|request| {
                grant_token_exchange(&policy(), client, request, subject, actor, NOW, "jti-new".into())
            });
        match outcome {
            Ok(grant) => format!(
                "expires_in={} scope={:?}\n{}",
                grant.expires_in,
                grant.scope.to_string(),
                serde_json::to_string_pretty(&grant.claims).expect("json")
            ),
            Err(err) => format!("Err({err})"),
        }
    }

    #[track_caller]
    fn check_with(
        client: &Client,
        body: &str,
        subject: PresentedToken,
        actor: Option<PresentedToken>,
        expect: Expect,
    ) {
        expect.assert_eq(&run(client, body, subject, actor));
    }

    const BASE: &str = "subject_token=s&subject_token_type=urn:ietf:params:oauth:token-type:access_token";

    #[track_caller]
    fn check(extra: &str, expect: Expect) {
        check_with(&gateway(), &format!("{BASE}{extra}"), valid(user_token()), None, expect);
    }

    #[test]
    fn parses_and_redacts() {
        let form = FormParams::parse(
            format!("{BASE}&actor_token=a&actor_token_type=urn:ietf:params:oauth:token-type:jwt&audience=https://x.example&scope=b+a").as_bytes(),
        )
        .expect("form");
        expect![[
            r#"TokenExchangeRequest { subject_token: "<redacted>", actor_token: Some("<redacted>"), scope: Some(ScopeSet({Scope("a"), Scope("b")})), resources: [Resource("https://x.example")] }"#
        ]]
        .assert_eq(&format!("{:?}", TokenExchangeRequest::parse(&form).expect("request")));
    }

    #[test]
    fn parse_errors() {
        #[track_caller]
        fn parse_err(body: &str, expect: Expect) {
            let err = FormParams::parse(body.as_bytes())
                .and_then(|form| TokenExchangeRequest::parse(&form))
                .expect_err("refused");
            expect.assert_eq(&err.to_string());
        }
        parse_err(
            "subject_token_type=urn:ietf:params:oauth:token-type:access_token",
            expect!["invalid_request: missing required parameter `subject_token`"],
        );
        parse_err(
            "subject_token=s",
            expect!["invalid_request: missing required parameter `subject_token_type`"],
        );
        parse_err(
            "subject_token=s&subject_token_type=urn:ietf:params:oauth:token-type:saml2",
            expect![
                "invalid_request: subject_token_type `urn:ietf:params:oauth:token-type:saml2` is not supported; supported: urn:ietf:params:oauth:token-type:access_token, urn:ietf:params:oauth:token-type:jwt"
            ],
        );
        parse_err(
            &format!("{BASE}&actor_token=a"),
            expect!["invalid_request: `actor_token` needs `actor_token_type`"],
        );
        parse_err(
            &format!("{BASE}&actor_token_type=urn:ietf:params:oauth:token-type:jwt"),
            expect!["invalid_request: `actor_token_type` without `actor_token`"],
        );
        parse_err(
            &format!("{BASE}&actor_token=a&actor_token_type=urn:ietf:params:oauth:token-type:id_token"),
            expect![
                "invalid_request: actor_token_type `urn:ietf:params:oauth:token-type:id_token` is not supported; supported: urn:ietf:params:oauth:token-type:access_token, urn:ietf:params:oauth:token-type:jwt"
            ],
        );
        parse_err(
            &format!("{BASE}&requested_token_type=urn:ietf:params:oauth:token-type:refresh_token"),
            expect![
                "invalid_request: requested_token_type `urn:ietf:params:oauth:token-type:refresh_token` is not supported; supported: urn:ietf:params:oauth:token-type:access_token"
            ],
        );
    }

    #[test]
    fn impersonation_narrows_scope_and_targets_one_resource() {
        check(
            "&requested_token_type=urn:ietf:params:oauth:token-type:access_token&audience=https://orders.example.com&scope=orders.read",
            expect![[r#"
                expires_in=600 scope="orders.read"
                {
                  "iss": "https://auth.example.com",
                  "sub": "alice",
                  "aud": "https://orders.example.com",
                  "client_id": "gateway",
                  "scope": "orders.read",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700000600,
                  "jti": "jti-new"
                }"#]],
        );
    }

    #[test]
    fn omitted_scope_is_what_both_the_subject_and_the_client_hold() {
        check(
            "&resource=https://billing.example.com",
            expect![[r#"
                expires_in=600 scope="orders.read orders.write"
                {
                  "iss": "https://auth.example.com",
                  "sub": "alice",
                  "aud": "https://billing.example.com",
                  "client_id": "gateway",
                  "scope": "orders.read orders.write",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700000600,
                  "jti": "jti-new"
                }"#]],
        );
    }

    #[test]
    fn delegation_adds_act_and_nests_prior_actors() {
        let body = format!(
            "{BASE}&actor_token=a&actor_token_type=urn:ietf:params:oauth:token-type:access_token&audience=https://orders.example.com&scope=orders.read"
        );
        check_with(
            &gateway(),
            &body,
            valid(user_token()),
            Some(valid(gateway_token())),
            expect![[r#"
                expires_in=600 scope="orders.read"
                {
                  "iss": "https://auth.example.com",
                  "sub": "alice",
                  "aud": "https://orders.example.com",
                  "client_id": "gateway",
                  "scope": "orders.read",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700000600,
                  "jti": "jti-new",
                  "act": {
                    "sub": "gateway"
                  }
                }"#]],
        );
        let delegated = AccessTokenClaims {
            act: Some(Actor { sub: "frontend".into(), client_id: None, act: None }),
            ..user_token()
        };
        let actor = AccessTokenClaims { sub: "svc-user".into(), exp: NOW + 100, ..gateway_token() };
        check_with(
            &gateway(),
            &body,
            valid(delegated.clone()),
            Some(valid(actor)),
            expect![[r#"
                expires_in=100 scope="orders.read"
                {
                  "iss": "https://auth.example.com",
                  "sub": "alice",
                  "aud": "https://orders.example.com",
                  "client_id": "gateway",
                  "scope": "orders.read",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700000100,
                  "jti": "jti-new",
                  "act": {
                    "sub": "svc-user",
                    "client_id": "gateway",
                    "act": {
                      "sub": "frontend"
                    }
                  }
                }"#]],
        );
        // Impersonation keeps the chain it was handed.
        check_with(
            &gateway(),
            &format!("{BASE}&audience=https://orders.example.com&scope=orders.read"),
            valid(delegated),
            None,
            expect![[r#"
                expires_in=600 scope="orders.read"
                {
                  "iss": "https://auth.example.com",
                  "sub": "alice",
                  "aud": "https://orders.example.com",
                  "client_id": "gateway",
                  "scope": "orders.read",
                  "iat": 1700000000,
                  "nbf": 1700000000,
                  "exp": 1700000600,
                  "jti": "jti-new",
                  "act": {
                    "sub": "frontend"
                  }
                }"#]],
        );
    }

    #[test]
    fn policy_refusals() {
        let mut plain = gateway();
        plain.grant_types = vec![GrantType::ClientCredentials];
        check_with(
            &plain,
            BASE,
            valid(user_token()),
            None,
            expect![
                "Err(unauthorized_client: the client is not allowed to use the `urn:ietf:params:oauth:grant-type:token-exchange` grant)"
            ],
        );
        let mut public = gateway();
        public.secret_hash = None;
        check_with(
            &public,
            BASE,
            valid(user_token()),
            None,
            expect!["Err(unauthorized_client: public clients cannot exchange tokens)"],
        );
        check(
            "&audience=https://evil.example.com",
            expect![
                "Err(invalid_target: the client is not registered for the resource `https://evil.example.com`)"
            ],
        );
        let mut nowhere = gateway();
        nowhere.resources.clear();
        check_with(
            &nowhere,
            BASE,
            valid(user_token()),
            None,
            expect!["Err(invalid_target: the client is registered for no resource to exchange tokens for)"],
        );
        check(
            "&scope=orders.read+orders.admin",
            expect!["Err(invalid_scope: the subject_token does not carry the scope(s): orders.admin)"],
        );
        check(
            "&scope=openid",
            expect!["Err(invalid_scope: the client was not granted the scope(s): openid)"],
        );
    }

    #[test]
    fn unusable_tokens_are_invalid_request() {
        let unusable = [
            PresentedToken { claims: None, revoked: false, client_active: true },
            PresentedToken { revoked: true, ..valid(user_token()) },
            PresentedToken { client_active: false, ..valid(user_token()) },
            valid(AccessTokenClaims { exp: NOW, ..user_token() }),
            valid(AccessTokenClaims { nbf: NOW + 1, ..user_token() }),
            valid(AccessTokenClaims { iss: "https://other.example".into(), ..user_token() }),
        ];
        for subject in unusable {
            assert_eq!(
                run(&gateway(), BASE, subject.clone(), None),
                "Err(invalid_request: the subject_token is invalid, expired or revoked)",
                "{subject:?}"
            );
        }

        let body = format!("{BASE}&actor_token=a&actor_token_type=urn:ietf:params:oauth:token-type:jwt");
        check_with(
            &gateway(),
            &body,
            valid(user_token()),
            Some(valid(user_token())),
            expect!["Err(invalid_request: the actor_token was not issued to the requesting client)"],
        );
        check_with(
            &gateway(),
            &body,
            valid(user_token()),
            Some(PresentedToken { revoked: true, ..valid(gateway_token()) }),
            expect!["Err(invalid_request: the actor_token is invalid, expired or revoked)"],
        );
    }
}
