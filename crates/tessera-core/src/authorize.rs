//! The authorization request (RFC 6749 §4.1.1, RFC 7636, OpenID Connect Core
//! §3.1.2) and the decisions around it: whether the user must log in or
//! consent, and the code it ends in.
//!
//! Errors fall in two kinds. Until the client and its redirect URI are known to
//! be good, an error is shown on a page and never redirected (RFC 6749
//! §4.1.2.1, RFC 9700 §4.1). After that, errors go back to the client.

use crate::UnixTime;
use crate::client::{Client, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::pkce::CodeChallenge;
use crate::redirect_uri::RedirectUri;
use crate::request::FormParams;
use crate::resource::{Resource, ensure_registered, requested_resources};
use crate::scope::ScopeSet;
use crate::secret::SecretHash;

/// How the authorization endpoint treats a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizePolicy {
    pub code_lifetime: u64,
    pub allow_plain_pkce: bool,
}

/// Where an authorization error goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the user; the redirect URI cannot be trusted.
    Page(OAuthError),
    /// Sent back to the client's redirect URI with `state`.
    Redirect { redirect_uri: RedirectUri, error: OAuthError, state: Option<String> },
}

/// `prompt` (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// Where the response goes: the URI sent, or the only registered one.
    pub redirect_uri: RedirectUri,
    /// Whether `redirect_uri` was sent; if so the token request must repeat it.
    pub redirect_uri_given: bool,
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// RFC 8707 `resource`s, each registered for the client; the code is
    /// granted for them, and the token requests choose among them.
    pub resources: Vec<Resource>,
    /// RFC 9449 §10 `dpop_jkt`: the code is redeemed only with a DPoP proof of this key.
    pub dpop_jkt: Option<String>,
}

/// Validates an authorization request for `client` (`None` if unknown).
pub fn validate_authorization_request(
    policy: &AuthorizePolicy,
    client: Option<&Client>,
    params: &FormParams,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let page = |code: ErrorCode, why: &str| AuthorizeError::Page(code.with(why));
    params.require("client_id").map_err(AuthorizeError::Page)?;
    let client = match client {
        Some(client) if !client.disabled => client,
        _ => return Err(page(ErrorCode::InvalidClient, "the application is unknown or disabled")),
    };
    let (redirect_uri, redirect_uri_given) = match params.get("redirect_uri") {
        Some(raw) => match registered_redirect(client, raw) {
            Some(uri) => (uri, true),
            None => {
                return Err(page(
                    ErrorCode::InvalidRequest,
                    "the redirect_uri is not registered for this application",
                ));
            }
        },
        None => match client.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            [] => return Err(page(ErrorCode::UnauthorizedClient, "the application has no redirect URI")),
            _ => {
                return Err(page(
                    ErrorCode::InvalidRequest,
                    "redirect_uri is required: the application has several",
                ));
            }
        },
    };
    let state = params.get("state").map(str::to_owned);
    let to_client = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        state: state.clone(),
    };
    validate_after_redirect(policy, client, params)
        .and_then(|validated| Ok((validated, allowed_resources(client, params)?)))
        .map(|((scope, code_challenge, prompt, max_age), resources)| AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            redirect_uri_given,
            scope,
            state: state.clone(),
            code_challenge,
            nonce: params.get("nonce").map(str::to_owned),
            prompt,
            max_age,
            login_hint: params.get("login_hint").map(str::to_owned),
            resources,
            // Checked in validate_after_redirect.
            dpop_jkt: params.get("dpop_jkt").map(str::to_owned),
        })
        .map_err(to_client)
}

/// RFC 8707 §2: the requested resources, absolute URIs without a fragment
/// that the client is registered for; otherwise `invalid_target`, sent back
/// to the client like any error after the redirect URI is trusted.
fn allowed_resources(client: &Client, params: &FormParams) -> Result<Vec<Resource>, OAuthError> {
    let resources = requested_resources(params)?;
    ensure_registered(client, &resources)?;
    Ok(resources)
}

type Validated = (ScopeSet, Option<CodeChallenge>, Prompt, Option<u64>);

fn validate_after_redirect(
    policy: &AuthorizePolicy,
    client: &Client,
    params: &FormParams,
) -> Result<Validated, OAuthError> {
    if params.contains("request") {
        return Err(ErrorCode::RequestNotSupported.with("request objects are not supported"));
    }
    if params.contains("request_uri") {
        return Err(ErrorCode::RequestUriNotSupported.with("request_uri is not supported"));
    }
    match params.require("response_type")? {
        "code" => {}
        other => {
            return Err(ErrorCode::UnsupportedResponseType
                .with(format!("response_type `{other}` is not supported; use code")));
        }
    }
    if params.get("response_mode").is_some_and(|mode| mode != "query") {
        return Err(ErrorCode::InvalidRequest.with("only response_mode=query is supported"));
    }
    client.ensure_grant_type(GrantType::AuthorizationCode)?;
    let scope = match params.get("scope") {
        Some(raw) => {
            let requested = ScopeSet::parse(raw)?;
            requested.ensure_within(&client.scopes)?;
            requested
        }
        None => client.default_scopes.clone(),
    };
    let code_challenge = CodeChallenge::parse(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        policy.allow_plain_pkce,
    )?;
    if code_challenge.is_none() && (client.is_public() || client.require_pkce) {
        return Err(ErrorCode::InvalidRequest.with("code_challenge is required (PKCE with S256)"));
    }
    for (name, limit) in [("state", 2048), ("nonce", 512), ("login_hint", 256)] {
        if params.get(name).is_some_and(|value| value.len() > limit) {
            return Err(ErrorCode::InvalidRequest.with(format!("{name} is longer than {limit} bytes")));
        }
    }
    params.get("dpop_jkt").map(crate::dpop::parse_jkt).transpose()?;
    let prompt = parse_prompt(params.get("prompt"))?;
    let max_age = params
        .get("max_age")
        .map(|raw| {
            raw.parse::<u64>()
                .map_err(|_| ErrorCode::InvalidRequest.with("max_age must be a number of seconds"))
        })
        .transpose()?;
    Ok((scope, code_challenge, prompt, max_age))
}

fn parse_prompt(raw: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    let Some(raw) = raw else { return Ok(prompt) };
    for value in raw.split(' ').filter(|value| !value.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // One account per session: choosing an account is logging in.
            "select_account" => prompt.login = true,
            other => return Err(ErrorCode::InvalidRequest.with(format!("unknown prompt value `{other}`"))),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(ErrorCode::InvalidRequest.with("prompt=none cannot be combined with other values"));
    }
    Ok(prompt)
}

/// The registered redirect URI that `raw` names: an exact match, or for a
/// loopback IP literal any port (RFC 8252 §7.3).
fn registered_redirect(client: &Client, raw: &str) -> Option<RedirectUri> {
    let requested = RedirectUri::parse(raw).ok()?;
    client
        .redirect_uris
        .iter()
        .any(|registered| registered == &requested || same_except_loopback_port(registered, &requested))
        .then_some(requested)
}

fn same_except_loopback_port(registered: &RedirectUri, requested: &RedirectUri) -> bool {
    let (Ok(registered), Ok(requested)) =
        (url::Url::parse(registered.as_str()), url::Url::parse(requested.as_str()))
    else {
        return false;
    };
    let is_loopback_ip = matches!(registered.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(registered.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    is_loopback_ip
        && registered.scheme() == "http"
        && requested.scheme() == "http"
        && registered.host() == requested.host()
        && registered.path() == requested.path()
        && registered.query() == requested.query()
}

/// Whether the user must (re-)authenticate: no session, `prompt=login`, or a
/// login older than `max_age`. `auth_time` is the session's, if there is one.
pub fn needs_login(request: &AuthorizationRequest, auth_time: Option<UnixTime>, now: UnixTime) -> bool {
    let Some(auth_time) = auth_time else { return true };
    let too_old = request.max_age.is_some_and(|max_age| now.saturating_sub(auth_time) > max_age);
    request.prompt.login || too_old
}

/// Whether the user must be asked: `prompt=consent`, or scopes beyond what
/// they already granted this client.
pub fn needs_consent(request: &AuthorizationRequest, granted: Option<&ScopeSet>) -> bool {
    request.prompt.consent || !granted.is_some_and(|granted| request.scope.is_subset_of(granted))
}

/// The scopes a user approved on the consent page: only requested ones count.
pub fn approved_scopes(request: &AuthorizationRequest, ticked: &ScopeSet) -> ScopeSet {
    request.scope.filtered(|scope| ticked.contains(scope.as_str()))
}

/// An authorization code as stored: everything the token request is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: SecretHash,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scope: ScopeSet,
    pub code_challenge: Option<CodeChallenge>,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
    /// The resources the code was granted for (RFC 8707); empty when the
    /// request named none.
    pub resources: Vec<Resource>,
    /// RFC 9449 §10: the DPoP key (thumbprint) the code is bound to.
    pub dpop_jkt: Option<String>,
}

/// The code for a user's approval of `request` with `scope`. `code` is freshly
/// generated (at least 128 bits); only its hash is kept.
pub fn issue_code(
    policy: &AuthorizePolicy,
    request: &AuthorizationRequest,
    user_id: &str,
    scope: ScopeSet,
    auth_time: UnixTime,
    code: &str,
    now: UnixTime,
) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: SecretHash::of(code),
        client_id: request.client_id.clone(),
        user_id: user_id.to_owned(),
        redirect_uri: request.redirect_uri.as_str().to_owned(),
        redirect_uri_given: request.redirect_uri_given,
        scope,
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        auth_time,
        expires_at: now + policy.code_lifetime,
        resources: request.resources.clone(),
        dpop_jkt: request.dpop_jkt.clone(),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::fixtures;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn policy() -> AuthorizePolicy {
        AuthorizePolicy { code_lifetime: 120, allow_plain_pkce: false }
    }

    fn client() -> Client {
        Client {
            redirect_uris: vec![
                RedirectUri::parse("https://app.example.com/cb").expect("uri"),
                RedirectUri::parse("http://127.0.0.1/native").expect("uri"),
            ],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: ScopeSet::parse("openid profile contact.read").expect("scopes"),
            default_scopes: ScopeSet::parse("openid").expect("scopes"),
            ..fixtures::client("app")
        }
    }

    #[track_caller]
    fn check_with(client: Option<&Client>, query: &str, expect: Expect) {
        let params = FormParams::parse(query.as_bytes()).expect("form");
        let actual = match validate_authorization_request(&policy(), client, &params) {
            Ok(request) => format!(
                "Ok redirect={} given={} scope={:?} state={:?} pkce={} prompt={:?} max_age={:?}",
                request.redirect_uri,
                request.redirect_uri_given,
                request.scope.to_string(),
                request.state,
                request.code_challenge.is_some(),
                request.prompt,
                request.max_age
            ),
            Err(AuthorizeError::Page(err)) => format!("Page({err})"),
            Err(AuthorizeError::Redirect { redirect_uri, error, state }) => {
                format!("Redirect({redirect_uri}, {error}, state={state:?})")
            }
        };
        expect.assert_eq(&actual);
    }

    #[track_caller]
    fn check(query: &str, expect: Expect) {
        check_with(Some(&client()), query, expect);
    }

    fn ok_query(extra: &str) -> String {
        format!(
            "client_id=app&response_type=code&redirect_uri=https://app.example.com/cb&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
        )
    }

    #[test]
    fn a_good_request() {
        check(
            &ok_query("&scope=openid+contact.read&max_age=60"),
            expect![[
                r#"Ok redirect=https://app.example.com/cb given=true scope="contact.read openid" state=Some("xyz") pkce=true prompt=Prompt { none: false, login: false, consent: false } max_age=Some(60)"#
            ]],
        );
    }

    #[test]
    fn errors_before_the_redirect_uri_is_trusted_go_to_a_page() {
        check("response_type=code", expect!["Page(invalid_request: missing required parameter `client_id`)"]);
        check_with(
            None,
            &ok_query(""),
            expect!["Page(invalid_client: the application is unknown or disabled)"],
        );
        check(
            &ok_query("").replace("https://app.example.com/cb", "https://evil.example.com/cb"),
            expect!["Page(invalid_request: the redirect_uri is not registered for this application)"],
        );
        check(
            &ok_query("").replace("https://app.example.com/cb", "https://app.example.com/cb/extra"),
            expect!["Page(invalid_request: the redirect_uri is not registered for this application)"],
        );
        check(
            &ok_query("").replace("&redirect_uri=https://app.example.com/cb", ""),
            expect!["Page(invalid_request: redirect_uri is required: the application has several)"],
        );
    }

    #[test]
    fn loopback_redirects_may_use_any_port() {
        check(
            &ok_query("").replace("https://app.example.com/cb", "http://127.0.0.1:51004/native"),
            expect![[
                r#"Ok redirect=http://127.0.0.1:51004/native given=true scope="openid" state=Some("xyz") pkce=true prompt=Prompt { none: false, login: false, consent: false } max_age=None"#
            ]],
        );
        check(
            &ok_query("").replace("https://app.example.com/cb", "http://127.0.0.1:51004/other"),
            expect!["Page(invalid_request: the redirect_uri is not registered for this application)"],
        );
    }

    #[test]
    fn errors_after_the_redirect_uri_is_trusted_go_back_to_the_client() {
        check(
            &ok_query("").replace("response_type=code", "response_type=token"),
            expect![[
                r#"Redirect(https://app.example.com/cb, unsupported_response_type: response_type `token` is not supported; use code, state=Some("xyz"))"#
            ]],
        );
        check(
            &ok_query("&scope=admin"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_scope: the client was not granted the scope(s): admin, state=Some("xyz"))"#
            ]],
        );
        check(
            &ok_query("").replace(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"), ""),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_request: code_challenge is required (PKCE with S256), state=Some("xyz"))"#
            ]],
        );
        check(
            &ok_query("").replace("code_challenge_method=S256", "code_challenge_method=plain"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_request: code_challenge_method must be S256, state=Some("xyz"))"#
            ]],
        );
        check(
            &ok_query("&prompt=none+login"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_request: prompt=none cannot be combined with other values, state=Some("xyz"))"#
            ]],
        );
        check(
            &ok_query("&request=eyJ"),
            expect![[
                r#"Redirect(https://app.example.com/cb, request_not_supported: request objects are not supported, state=Some("xyz"))"#
            ]],
        );
        check(
            &ok_query("&max_age=soon"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_request: max_age must be a number of seconds, state=Some("xyz"))"#
            ]],
        );
    }

    #[test]
    fn resources_must_be_registered_for_the_client() {
        let with_resources = Client {
            resources: vec![
                Resource::parse("https://api.example.com").expect("resource"),
                Resource::parse("urn:example:files").expect("resource"),
            ],
            ..client()
        };
        let params = FormParams::parse(
            ok_query(
                "&resource=urn:example:files&resource=https://api.example.com&resource=urn:example:files",
            )
            .as_bytes(),
        )
        .expect("form");
        let request =
            validate_authorization_request(&policy(), Some(&with_resources), &params).expect("valid");
        let granted: Vec<&str> = request.resources.iter().map(Resource::as_str).collect();
        assert_eq!(granted, ["urn:example:files", "https://api.example.com"], "in order, once each");
        let code = issue_code(&policy(), &request, "user-1", request.scope.clone(), 90, "the-code", 100);
        assert_eq!(code.resources, request.resources, "the code is granted the resources");

        check_with(
            Some(&with_resources),
            &ok_query("&resource=https://api.example.com&resource=https://evil.example.com"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_target: the client is not registered for the resource `https://evil.example.com`, state=Some("xyz"))"#
            ]],
        );
        check_with(
            Some(&with_resources),
            &ok_query("&resource=/relative"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_target: resource `/relative` is not an absolute URI, state=Some("xyz"))"#
            ]],
        );
        check_with(
            Some(&with_resources),
            &ok_query("&resource=https://api.example.com%23part"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_target: resource `https://api.example.com#part` must not contain a fragment, state=Some("xyz"))"#
            ]],
        );
    }

    #[test]
    fn dpop_jkt_binds_the_code_to_a_key() {
        const JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let params = FormParams::parse(ok_query(&format!("&dpop_jkt={JKT}")).as_bytes()).expect("form");
        let request = validate_authorization_request(&policy(), Some(&client()), &params).expect("valid");
        assert_eq!(request.dpop_jkt.as_deref(), Some(JKT));
        let code = issue_code(&policy(), &request, "user-1", request.scope.clone(), 90, "the-code", 100);
        assert_eq!(code.dpop_jkt.as_deref(), Some(JKT), "the code carries the key");
        check(
            &ok_query("&dpop_jkt=not-a-thumbprint"),
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_request: dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters), state=Some("xyz"))"#
            ]],
        );
    }

    #[test]
    fn pkce_may_be_optional_for_confidential_clients_only() {
        let without_pkce =
            ok_query("").replace(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"), "");
        let relaxed = Client { require_pkce: false, ..client() };
        check_with(
            Some(&relaxed),
            &without_pkce,
            expect![[
                r#"Ok redirect=https://app.example.com/cb given=true scope="openid" state=Some("xyz") pkce=false prompt=Prompt { none: false, login: false, consent: false } max_age=None"#
            ]],
        );
        let public = Client { secret_hash: None, ..relaxed };
        check_with(
            Some(&public),
            &without_pkce,
            expect![[
                r#"Redirect(https://app.example.com/cb, invalid_request: code_challenge is required (PKCE with S256), state=Some("xyz"))"#
            ]],
        );
    }

    #[test]
    fn login_and_consent_decisions() {
        let params =
            FormParams::parse(ok_query("&scope=openid+contact.read&max_age=60").as_bytes()).expect("form");
        let request = validate_authorization_request(&policy(), Some(&client()), &params).expect("valid");
        assert!(needs_login(&request, None, 1000));
        assert!(!needs_login(&request, Some(950), 1000));
        assert!(needs_login(&request, Some(900), 1000), "older than max_age");
        let forced =
            AuthorizationRequest { prompt: Prompt { login: true, ..Prompt::default() }, ..request.clone() };
        assert!(needs_login(&forced, Some(999), 1000));

        let all = ScopeSet::parse("openid contact.read profile").expect("scopes");
        let some = ScopeSet::parse("openid").expect("scopes");
        assert!(needs_consent(&request, None));
        assert!(needs_consent(&request, Some(&some)));
        assert!(!needs_consent(&request, Some(&all)));
        let again =
            AuthorizationRequest { prompt: Prompt { consent: true, ..Prompt::default() }, ..request.clone() };
        assert!(needs_consent(&again, Some(&all)));

        let ticked = ScopeSet::parse("contact.read profile").expect("scopes");
        assert_eq!(
            approved_scopes(&request, &ticked).to_string(),
            "contact.read",
            "unrequested scopes are ignored"
        );
    }
}
