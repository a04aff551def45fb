//! The authorization code grant's token step (RFC 6749 §4.1.3, RFC 7636 §4.6):
//! a code the store has just consumed is checked against the request that
//! presents it.

use crate::UnixTime;
use crate::authorize::AuthorizationCode;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::policy::TokenPolicy;
use crate::request::FormParams;
use crate::resource::{Resource, ensure_registered, narrow_resources, requested_resources};
use crate::token::{AccessTokenGrant, token_settings};

/// `grant_type=authorization_code` with `code`, `redirect_uri`,
/// `code_verifier` and the `resource`s the token is for.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRequest {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// RFC 8707 §2.2: some of the code's resources; none: all of them.
    pub resources: Vec<Resource>,
}

impl std::fmt::Debug for AuthorizationCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationCodeRequest")
            .field("redirect_uri", &self.redirect_uri)
            .field("resources", &self.resources)
            .finish_non_exhaustive()
    }
}

impl AuthorizationCodeRequest {
    pub fn parse(form: &FormParams) -> Result<AuthorizationCodeRequest, OAuthError> {
        Ok(AuthorizationCodeRequest {
            code: form.require("code")?.to_owned(),
            redirect_uri: form.get("redirect_uri").map(str::to_owned),
            code_verifier: form.get("code_verifier").map(str::to_owned),
            resources: requested_resources(form)?,
        })
    }
}

/// Decides the tokens for a consumed code. Every mismatch is `invalid_grant`;
/// a resource the code was not granted (or the client lost) is `invalid_target`.
pub fn exchange_code(
    policy: &TokenPolicy,
    client: &Client,
    request: &AuthorizationCodeRequest,
    code: &AuthorizationCode,
    now: UnixTime,
    token_id: String,
) -> Result<AccessTokenGrant, OAuthError> {
    client.ensure_grant_type(GrantType::AuthorizationCode)?;
    let invalid = |why: &str| Err(ErrorCode::InvalidGrant.with(why));
    if code.client_id != client.client_id {
        return invalid("the code was issued to another client");
    }
    if now >= code.expires_at {
        return invalid("the code has expired");
    }
    // RFC 6749 §4.1.3: required and identical when the authorization request had it.
    match (&request.redirect_uri, code.redirect_uri_given) {
        (Some(sent), _) if *sent != code.redirect_uri => {
            return invalid("redirect_uri differs from the authorization request's");
        }
        (None, true) => return invalid("redirect_uri is required: the authorization request had one"),
        _ => {}
    }
    match (&code.code_challenge, &request.code_verifier) {
        (Some(challenge), Some(verifier)) if challenge.is_answered_by(verifier) => {}
        (Some(_), Some(_)) => return invalid("code_verifier does not match the code_challenge"),
        (Some(_), None) => return invalid("code_verifier is required"),
        // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => return invalid("code_verifier sent for a code issued without code_challenge"),
        (None, None) => {}
    }
    let resources = narrow_resources(&code.resources, request.resources.clone())?;
    ensure_registered(client, &resources)?;
    let settings = token_settings(policy, client, &resources)?;
    Ok(AccessTokenGrant::new(
        policy,
        client,
        code.user_id.clone(),
        settings,
        code.scope.clone(),
        now,
        token_id,
    ))
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::fixtures::{client, policy};
    use crate::pkce::CodeChallenge;
    use crate::scope::ScopeSet;
    use crate::secret::SecretHash;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code() -> AuthorizationCode {
        AuthorizationCode {
            code_hash: SecretHash::of("the-code"),
            client_id: "app".into(),
            user_id: "user-1".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            redirect_uri_given: true,
            scope: ScopeSet::parse("openid contact.read").expect("scopes"),
            code_challenge: CodeChallenge::parse(Some(CHALLENGE), Some("S256"), false).expect("valid"),
            nonce: None,
            auth_time: 90,
            expires_at: 220,
            resources: vec![],
            dpop_jkt: None,
        }
    }

    fn code_client() -> Client {
        Client {
            grant_types: vec![GrantType::AuthorizationCode],
            resources: vec![resource(API), resource(FILES)],
            ..client("app")
        }
    }

    const API: &str = "https://api.example.com";
    const FILES: &str = "https://files.example.com";

    fn resource(raw: &str) -> Resource {
        Resource::parse(raw).expect("resource")
    }

    fn code_for_resources() -> AuthorizationCode {
        AuthorizationCode { resources: vec![resource(API), resource(FILES)], ..code() }
    }

    #[track_caller]
    fn check(body: &str, code: AuthorizationCode, expect: Expect) {
        let outcome = FormParams::parse(body.as_bytes())
            .and_then(|form| AuthorizationCodeRequest::parse(&form))
            .and_then(|request| exchange_code(&policy(), &code_client(), &request, &code, 100, "jti".into()));
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

    fn body(extra: &str) -> String {
        format!("code=the-code&redirect_uri=https://app.example.com/cb&code_verifier={VERIFIER}{extra}")
    }

    #[test]
    fn a_good_exchange() {
        check(
            &body(""),
            code(),
            expect![[r#"Ok sub=user-1 scope=contact.read openid aud="https://auth.example.com""#]],
        );
    }

    #[test]
    fn every_mismatch_is_invalid_grant() {
        check(
            &body(""),
            AuthorizationCode { client_id: "other".into(), ..code() },
            expect!["Err(invalid_grant: the code was issued to another client)"],
        );
        check(
            &body(""),
            AuthorizationCode { expires_at: 100, ..code() },
            expect!["Err(invalid_grant: the code has expired)"],
        );
        check(
            &body("").replace("/cb", "/cb2"),
            code(),
            expect!["Err(invalid_grant: redirect_uri differs from the authorization request's)"],
        );
        check(
            &body("").replace("&redirect_uri=https://app.example.com/cb", ""),
            code(),
            expect!["Err(invalid_grant: redirect_uri is required: the authorization request had one)"],
        );
        check(
            &body("").replace(VERIFIER, &VERIFIER.replace('d', "D")),
            code(),
            expect!["Err(invalid_grant: code_verifier does not match the code_challenge)"],
        );
        check(
            &body("").replace(&format!("&code_verifier={VERIFIER}"), ""),
            code(),
            expect!["Err(invalid_grant: code_verifier is required)"],
        );
        check(
            &body(""),
            AuthorizationCode { code_challenge: None, ..code() },
            expect!["Err(invalid_grant: code_verifier sent for a code issued without code_challenge)"],
        );
    }

    #[test]
    fn the_token_is_for_the_codes_resources_or_some_of_them() {
        check(
            &body(""),
            code_for_resources(),
            expect![[
                r#"Ok sub=user-1 scope=contact.read openid aud=["https://api.example.com","https://files.example.com"]"#
            ]],
        );
        check(
            &body("&resource=https://files.example.com"),
            code_for_resources(),
            expect![[r#"Ok sub=user-1 scope=contact.read openid aud="https://files.example.com""#]],
        );
    }

    #[test]
    fn a_resource_the_code_was_not_granted_is_invalid_target() {
        check(
            &body("&resource=https://files.example.com"),
            AuthorizationCode { resources: vec![resource(API)], ..code() },
            expect![
                "Err(invalid_target: the resource `https://files.example.com` was not granted; ask for it at the authorization endpoint)"
            ],
        );
        check(
            &body("&resource=https://api.example.com"),
            code(),
            expect![
                "Err(invalid_target: the resource `https://api.example.com` was not granted; ask for it at the authorization endpoint)"
            ],
        );
        check(
            &body("&resource=https://api.example.com%23x"),
            code_for_resources(),
            expect!["Err(invalid_target: resource `https://api.example.com#x` must not contain a fragment)"],
        );
    }

    #[test]
    fn a_resource_taken_from_the_client_since_is_invalid_target() {
        let code = AuthorizationCode { resources: vec![resource("https://old.example.com")], ..code() };
        check(
            &body(""),
            code,
            expect![
                "Err(invalid_target: the client is not registered for the resource `https://old.example.com`)"
            ],
        );
    }

    #[test]
    fn redirect_uri_may_be_omitted_when_the_authorization_request_omitted_it() {
        check(
            &body("").replace("&redirect_uri=https://app.example.com/cb", ""),
            AuthorizationCode { redirect_uri_given: false, ..code() },
            expect![[r#"Ok sub=user-1 scope=contact.read openid aud="https://auth.example.com""#]],
        );
    }
}
