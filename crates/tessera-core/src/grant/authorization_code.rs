//! The authorization code grant's token step (RFC 6749 §4.1.3, RFC 7636 §4.6):
//! a code the store has just consumed is checked against the request that
//! presents it.

use crate::UnixTime;
use crate::authorize::AuthorizationCode;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::policy::TokenPolicy;
use crate::request::FormParams;
use crate::token::{AccessTokenGrant, Audience};

/// `grant_type=authorization_code` with `code`, `redirect_uri` and `code_verifier`.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRequest {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

impl std::fmt::Debug for AuthorizationCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationCodeRequest")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl AuthorizationCodeRequest {
    pub fn parse(form: &FormParams) -> Result<AuthorizationCodeRequest, OAuthError> {
        Ok(AuthorizationCodeRequest {
            code: form.require("code")?.to_owned(),
            redirect_uri: form.get("redirect_uri").map(str::to_owned),
            code_verifier: form.get("code_verifier").map(str::to_owned),
        })
    }
}

/// Decides the tokens for a consumed code. Every mismatch is `invalid_grant`.
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
    let audience = Audience::One(policy.default_audience.clone());
    Ok(AccessTokenGrant::new(
        policy,
        client,
        code.user_id.clone(),
        audience,
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
        }
    }

    fn code_client() -> Client {
        Client { grant_types: vec![GrantType::AuthorizationCode], ..client("app") }
    }

    #[track_caller]
    fn check(body: &str, code: AuthorizationCode, expect: Expect) {
        let outcome = FormParams::parse(body.as_bytes())
            .and_then(|form| AuthorizationCodeRequest::parse(&form))
            .and_then(|request| exchange_code(&policy(), &code_client(), &request, &code, 100, "jti".into()));
        let actual = match outcome {
            Ok(grant) => format!("Ok sub={} scope={}", grant.claims.sub, grant.scope),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    fn body(extra: &str) -> String {
        format!("code=the-code&redirect_uri=https://app.example.com/cb&code_verifier={VERIFIER}{extra}")
    }

    #[test]
    fn a_good_exchange() {
        check(&body(""), code(), expect!["Ok sub=user-1 scope=contact.read openid"]);
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
    fn redirect_uri_may_be_omitted_when_the_authorization_request_omitted_it() {
        check(
            &body("").replace("&redirect_uri=https://app.example.com/cb", ""),
            AuthorizationCode { redirect_uri_given: false, ..code() },
            expect!["Ok sub=user-1 scope=contact.read openid"],
        );
    }
}
