//! Pushed Authorization Requests (RFC 9126). The client posts the parameters
//! of an authorization request to `/par`, authenticated as at the token
//! endpoint, and gets back a one-time `request_uri` that it sends the browser
//! to `/authorize` with instead of the parameters.
//!
//! A pushed request is validated exactly as an authorization request
//! ([`validate_authorization_request`]) when it is pushed, and again when its
//! `request_uri` is used: the client or the policy may have changed in between.

use crate::UnixTime;
use crate::authorize::{
    AuthorizationRequest, AuthorizeError, AuthorizePolicy, validate_authorization_request,
};
use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::request::FormParams;
use crate::secret::SecretHash;

/// RFC 9126 §2.2: the URN namespace of the `request_uri` values this server issues.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a `request_uri` may be used, in seconds (`expires_in`). Long
/// enough for a browser redirect, short enough not to be kept around.
pub const PUSHED_REQUEST_LIFETIME: u64 = 60;

/// The least random part a `request_uri` needs: 128 bits as unpadded base64url.
const MIN_RANDOM_CHARS: usize = 22;

/// Body parameters that authenticate the client at `/par`: they are never
/// stored with the request.
const CREDENTIALS: &[&str] = &["client_secret", "client_assertion", "client_assertion_type"];

/// A pushed authorization request as stored: the hash of its `request_uri`,
/// never the URI itself, which is a bearer reference to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    pub request_uri_hash: SecretHash,
    pub client_id: String,
    /// The authorization request's parameters, form-encoded: `client_id`
    /// included, client credentials left out.
    pub params: String,
    pub expires_at: UnixTime,
}

/// The `request_uri` for a freshly generated random part (at least 128 bits,
/// base64url).
pub fn new_request_uri(random: &str) -> String {
    debug_assert!(random.len() >= MIN_RANDOM_CHARS, "a request_uri needs at least 128 random bits");
    format!("{REQUEST_URI_PREFIX}{random}")
}

/// Validates the parameters `client` (already authenticated) pushed, and
/// returns the record to store under `request_uri` until `now` plus
/// [`PUSHED_REQUEST_LIFETIME`]. Errors are the token endpoint's (RFC 9126
/// §2.3): a bad redirect URI is `invalid_request`, never a redirect.
pub fn push_authorization_request(
    policy: &AuthorizePolicy,
    client: &Client,
    params: &FormParams,
    request_uri: &str,
    now: UnixTime,
) -> Result<PushedRequest, OAuthError> {
    // RFC 9126 §2.1: the one authorization request parameter a push must not carry.
    if params.contains("request_uri") {
        return Err(
            ErrorCode::InvalidRequest.with("request_uri must not be sent in a pushed authorization request")
        );
    }
    if params.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(ErrorCode::InvalidRequest.with("client_id differs from the authenticated client"));
    }
    let request = authorization_params(client, params)?;
    match validate_authorization_request(policy, Some(client), &request) {
        Ok(_) => {}
        Err(AuthorizeError::Page(error) | AuthorizeError::Redirect { error, .. }) => return Err(error),
    }
    Ok(PushedRequest {
        request_uri_hash: SecretHash::of(request_uri),
        client_id: client.client_id.clone(),
        params: request.encode(),
        expires_at: now + PUSHED_REQUEST_LIFETIME,
    })
}

/// The pushed parameters as an authorization request: the authenticated
/// client's `client_id` first (Basic authentication leaves it out of the
/// body), and no credentials.
fn authorization_params(client: &Client, params: &FormParams) -> Result<FormParams, OAuthError> {
    let rest = ["client_id"]
        .iter()
        .chain(CREDENTIALS)
        .fold(params.clone(), |kept, name| kept.with_value_filtered(name, |_| String::new()))
        .encode();
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    encoded.append_pair("client_id", &client.client_id);
    let mut encoded = encoded.finish();
    if !rest.is_empty() {
        encoded.push('&');
        encoded.push_str(&rest);
    }
    FormParams::parse(encoded.as_bytes())
}

/// A reference to a pushed request at the authorization endpoint (RFC 9126
/// §4): the hash to look it up by and the `client_id` it must belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedReference {
    pub request_uri_hash: SecretHash,
    pub client_id: String,
}

/// Whether an authorization request refers to a pushed one: `None` if it
/// has no `request_uri`. Every other parameter but `client_id` is ignored
/// (RFC 9126 §4). A `request_uri` this server did not issue cannot name a
/// pushed request, and is refused without a lookup.
pub fn pushed_reference(params: &FormParams) -> Result<Option<PushedReference>, OAuthError> {
    let Some(request_uri) = params.get("request_uri") else { return Ok(None) };
    let Some(client_id) = params.get("client_id") else {
        return Err(ErrorCode::InvalidRequest.with("client_id is required with request_uri"));
    };
    let random = request_uri.strip_prefix(REQUEST_URI_PREFIX).unwrap_or_default();
    if random.len() < MIN_RANDOM_CHARS {
        return Err(unusable());
    }
    Ok(Some(PushedReference {
        request_uri_hash: SecretHash::of(request_uri),
        client_id: client_id.to_owned(),
    }))
}

/// The authorization request's parameters from the pushed request `taken`
/// (removed from the store, so used once), which must be unexpired at `now`
/// and pushed by the client the reference names. The result is validated as
/// any authorization request next.
pub fn resolve_pushed_request(
    reference: &PushedReference,
    taken: Option<PushedRequest>,
    now: UnixTime,
) -> Result<FormParams, OAuthError> {
    let Some(pushed) = taken.filter(|pushed| now < pushed.expires_at) else { return Err(unusable()) };
    if pushed.client_id != reference.client_id {
        return Err(ErrorCode::InvalidRequest.with("the request_uri was pushed by another client"));
    }
    let params = FormParams::parse(pushed.params.as_bytes()).map_err(|_| unusable())?;
    if params.get("client_id") != Some(pushed.client_id.as_str()) {
        return Err(unusable());
    }
    Ok(params)
}

/// RFC 9449 §10.1: a push that comes with a DPoP proof binds the code to the
/// proof's key, as if `dpop_jkt` named it; `dpop_jkt` and a proof that
/// disagree are refused. `proof_jkt` is the thumbprint of a verified proof.
pub fn bind_to_proof_key(params: &FormParams, proof_jkt: Option<&str>) -> Result<FormParams, OAuthError> {
    let Some(proof_jkt) = proof_jkt else { return Ok(params.clone()) };
    match params.get("dpop_jkt") {
        Some(named) if named == proof_jkt => Ok(params.clone()),
        Some(_) => {
            Err(ErrorCode::InvalidRequest.with("dpop_jkt is not the thumbprint of the DPoP proof's key"))
        }
        None => Ok(params.with_value("dpop_jkt", proof_jkt)),
    }
}

/// RFC 9126 §4: the server (`server_requires`) or the client may require
/// that every authorization request come from a push. Anything else is
/// `invalid_request`, sent back to the client: by now its redirect URI is
/// known to be registered. `pushed` says whether this request's parameters
/// are the ones a push stored.
pub fn ensure_pushed(
    server_requires: bool,
    client: &Client,
    request: &AuthorizationRequest,
    pushed: bool,
) -> Result<(), AuthorizeError> {
    if pushed || !(server_requires || client.require_pushed_authorization_requests) {
        return Ok(());
    }
    Err(AuthorizeError::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        error: ErrorCode::InvalidRequest
            .with("this application must push its authorization requests to the PAR endpoint first"),
        state: request.state.clone(),
    })
}

/// Unknown, expired and used `request_uri` values look the same to the caller.
fn unusable() -> OAuthError {
    ErrorCode::InvalidRequest
        .with("the request_uri is unknown, expired or already used; push the request again")
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::client::GrantType;
    use crate::fixtures;
    use crate::redirect_uri::RedirectUri;
    use crate::scope::ScopeSet;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const URI: &str = "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c";

    fn policy() -> AuthorizePolicy {
        AuthorizePolicy { code_lifetime: 120, allow_plain_pkce: false }
    }

    fn client() -> Client {
        Client {
            redirect_uris: vec![RedirectUri::parse("https://app.example.com/cb").expect("uri")],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: ScopeSet::parse("openid contact.read").expect("scopes"),
            default_scopes: ScopeSet::parse("openid").expect("scopes"),
            ..fixtures::client("app")
        }
    }

    fn good(extra: &str) -> String {
        format!(
            "response_type=code&redirect_uri=https://app.example.com/cb&state=af0ifjsldkj&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
        )
    }

    #[track_caller]
    fn check_push(body: &str, expect: Expect) {
        let params = FormParams::parse(body.as_bytes()).expect("form");
        let actual = match push_authorization_request(&policy(), &client(), &params, URI, 1000) {
            Ok(pushed) => format!(
                "Ok client={} expires_at={} hash_of_uri={} params={}",
                pushed.client_id,
                pushed.expires_at,
                pushed.request_uri_hash == SecretHash::of(URI),
                pushed.params
            ),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn a_good_push_is_stored_with_its_client_and_without_credentials() {
        check_push(
            &good("&scope=contact.read&client_secret=s3cret"),
            expect![[
                r#"Ok client=app expires_at=1060 hash_of_uri=true params=client_id=app&response_type=code&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=af0ifjsldkj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=contact.read"#
            ]],
        );
        check_push(
            &format!("client_id=app&{}", good("")),
            expect![[
                r#"Ok client=app expires_at=1060 hash_of_uri=true params=client_id=app&response_type=code&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=af0ifjsldkj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"#
            ]],
        );
    }

    #[test]
    fn bad_pushes_get_token_endpoint_errors() {
        check_push(
            &good(&format!("&request_uri={URI}")),
            expect!["Err(invalid_request: request_uri must not be sent in a pushed authorization request)"],
        );
        check_push(
            &format!("client_id=other&{}", good("")),
            expect!["Err(invalid_request: client_id differs from the authenticated client)"],
        );
        check_push(
            &good("").replace("https://app.example.com/cb", "https://evil.example.com/cb"),
            expect!["Err(invalid_request: the redirect_uri is not registered for this application)"],
        );
        check_push(
            &good("&scope=admin"),
            expect!["Err(invalid_scope: the client was not granted the scope(s): admin)"],
        );
        check_push(
            &good("").replace(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"), ""),
            expect!["Err(invalid_request: code_challenge is required (PKCE with S256))"],
        );
        check_push(
            &good("").replace("response_type=code", "response_type=token"),
            expect!["Err(unsupported_response_type: response_type `token` is not supported; use code)"],
        );
    }

    #[track_caller]
    fn check_reference(query: &str, expect: Expect) {
        let params = FormParams::parse(query.as_bytes()).expect("form");
        let actual = match pushed_reference(&params) {
            Ok(None) => "None".to_owned(),
            Ok(Some(reference)) => format!(
                "Some(client={} hash_of_uri={})",
                reference.client_id,
                reference.request_uri_hash == SecretHash::of(URI)
            ),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn references_need_a_client_id_and_a_uri_of_ours() {
        check_reference(&good("&client_id=app"), expect!["None"]);
        check_reference(
            &format!("client_id=app&request_uri={URI}&scope=ignored"),
            expect!["Some(client=app hash_of_uri=true)"],
        );
        check_reference(
            &format!("request_uri={URI}"),
            expect!["Err(invalid_request: client_id is required with request_uri)"],
        );
        check_reference(
            "client_id=app&request_uri=https://app.example.com/request.jwt",
            expect![
                "Err(invalid_request: the request_uri is unknown, expired or already used; push the request again)"
            ],
        );
        check_reference(
            "client_id=app&request_uri=urn:ietf:params:oauth:request_uri:short",
            expect![
                "Err(invalid_request: the request_uri is unknown, expired or already used; push the request again)"
            ],
        );
    }

    #[test]
    fn resolving_takes_an_unexpired_request_of_the_same_client() {
        let params = FormParams::parse(good("&scope=contact.read").as_bytes()).expect("form");
        let pushed = push_authorization_request(&policy(), &client(), &params, URI, 1000).expect("pushed");
        let reference = |client_id: &str| PushedReference {
            request_uri_hash: SecretHash::of(URI),
            client_id: client_id.into(),
        };
        let resolved =
            resolve_pushed_request(&reference("app"), Some(pushed.clone()), 1059).expect("resolved");
        assert_eq!(resolved.get("client_id"), Some("app"));
        assert_eq!(resolved.get("state"), Some("af0ifjsldkj"));
        assert!(validate_authorization_request(&policy(), Some(&client()), &resolved).is_ok());

        let describe = |result: Result<FormParams, OAuthError>| match result {
            Ok(_) => "Ok".to_owned(),
            Err(err) => err.to_string(),
        };
        expect![
            "invalid_request: the request_uri is unknown, expired or already used; push the request again"
        ]
        .assert_eq(&describe(resolve_pushed_request(&reference("app"), Some(pushed.clone()), 1060)));
        expect![
            "invalid_request: the request_uri is unknown, expired or already used; push the request again"
        ]
        .assert_eq(&describe(resolve_pushed_request(&reference("app"), None, 1000)));
        expect!["invalid_request: the request_uri was pushed by another client"]
            .assert_eq(&describe(resolve_pushed_request(&reference("other"), Some(pushed), 1000)));
    }

    #[test]
    fn a_proof_at_the_push_binds_the_code_to_its_key() {
        const JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let params = FormParams::parse(good("").as_bytes()).expect("form");
        assert_eq!(bind_to_proof_key(&params, None), Ok(params.clone()));
        let bound = bind_to_proof_key(&params, Some(JKT)).expect("bound");
        assert_eq!(bound.get("dpop_jkt"), Some(JKT));
        assert_eq!(bound.get("state"), Some("af0ifjsldkj"), "the rest is kept");
        let named = FormParams::parse(good(&format!("&dpop_jkt={JKT}")).as_bytes()).expect("form");
        assert_eq!(bind_to_proof_key(&named, Some(JKT)), Ok(named.clone()));
        let other = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        assert_eq!(
            bind_to_proof_key(&named, Some(other)).map_err(|e| e.to_string()),
            Err("invalid_request: dpop_jkt is not the thumbprint of the DPoP proof's key".to_owned())
        );
    }

    #[test]
    fn a_required_push_is_checked_after_the_redirect_uri() {
        let params = FormParams::parse(good("&client_id=app").as_bytes()).expect("form");
        let request = validate_authorization_request(&policy(), Some(&client()), &params).expect("valid");
        let describe = |result: Result<(), AuthorizeError>| match result {
            Ok(()) => "Ok".to_owned(),
            Err(AuthorizeError::Redirect { redirect_uri, error, state }) => {
                format!("Redirect({}, {error}, state={state:?})", redirect_uri.as_str())
            }
            Err(AuthorizeError::Page(error)) => format!("Page({error})"),
        };
        let requiring = Client { require_pushed_authorization_requests: true, ..client() };
        expect!["Ok"].assert_eq(&describe(ensure_pushed(false, &client(), &request, false)));
        expect!["Ok"].assert_eq(&describe(ensure_pushed(true, &client(), &request, true)));
        expect!["Ok"].assert_eq(&describe(ensure_pushed(false, &requiring, &request, true)));
        expect![[
            r#"Redirect(https://app.example.com/cb, invalid_request: this application must push its authorization requests to the PAR endpoint first, state=Some("af0ifjsldkj"))"#
        ]]
        .assert_eq(&describe(ensure_pushed(true, &client(), &request, false)));
        expect![[
            r#"Redirect(https://app.example.com/cb, invalid_request: this application must push its authorization requests to the PAR endpoint first, state=Some("af0ifjsldkj"))"#
        ]]
        .assert_eq(&describe(ensure_pushed(false, &requiring, &request, false)));
    }

    #[test]
    fn request_uris_carry_the_urn_prefix() {
        let uri = new_request_uri("6esc_11ACC5bwc014ltc14eY22c");
        assert_eq!(uri, URI);
        let params = FormParams::parse(format!("client_id=app&request_uri={uri}").as_bytes()).expect("form");
        assert!(pushed_reference(&params).expect("ours").is_some());
    }
}
