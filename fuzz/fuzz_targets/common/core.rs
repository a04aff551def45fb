//! Bodies of the fuzz targets over `tessera-core`'s parsers.
//!
//! Shared, through `#[path]`, by the fuzz targets (`fuzz/fuzz_targets/*.rs`)
//! and by the test that replays every committed input on each `cargo test`
//! (`crates/tessera-core/tests/fuzz_regressions.rs`), so a crash found once
//! stays fixed. A body must never panic; its `assert!`s are the invariants.
//! Only `tessera-core` and its own dependencies may be used here.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use tessera_core::authorize::{
    AuthorizationRequest, AuthorizeError, AuthorizePolicy, approved_scopes, issue_code, needs_consent,
    needs_login, validate_authorization_request,
};
use tessera_core::client::{Client, GrantType, PreviousSecret};
use tessera_core::client_auth::{AuthMethod, authenticate, is_valid_client_id, presented_credentials};
use tessera_core::grant::authorization_code::exchange_code;
use tessera_core::grant::client_credentials::grant_client_credentials;
use tessera_core::grant::{AuthorizationCodeRequest, TokenRequest};
use tessera_core::introspection::TokenRequestByValue;
use tessera_core::jwt::{self, Algorithm, Signer, SigningError};
use tessera_core::logout::{AfterLogout, IdTokenHint, LogoutRequest, after_logout, logout_client_id};
use tessera_core::pkce::{ChallengeMethod, CodeChallenge};
use tessera_core::policy::TokenPolicy;
use tessera_core::redirect_uri::RedirectUri;
use tessera_core::registration::{
    ACCESS_TOKEN_LIFETIME_RANGE, ClientMetadata, ClientRegistration, register_client, reregister_client,
};
use tessera_core::request::FormParams;
use tessera_core::resource::Resource;
use tessera_core::scope::ScopeSet;
use tessera_core::secret::SecretHash;
use tessera_core::token::{AccessTokenClaims, Audience};
use tessera_core::user::{Role, Username, check_new_password, check_profile};
use tessera_core::{ErrorCode, UnixTime};

/// A fuzz target's name and body.
type Target = (&'static str, fn(&[u8]));

/// The fuzz targets of this module, by name (the name of their directory
/// under `fuzz/seeds/` and `fuzz/regressions/`).
pub(crate) const TARGETS: &[Target] = &[
    ("token_request", token_request),
    ("client_auth", client_auth),
    ("authorize", authorize),
    ("redirect_uri", redirect_uri),
    ("jwt", jwt),
    ("registration", registration),
    ("endpoint_forms", endpoint_forms),
];

const NOW: UnixTime = 1_700_000_000;
const ISSUER: &str = "https://auth.example.com";
const CLIENT_SECRET: &str = "secret";

fn token_policy() -> TokenPolicy {
    TokenPolicy {
        issuer: ISSUER.into(),
        access_token_lifetime: 3600,
        default_audience: ISSUER.into(),
        resources: Default::default(),
    }
}

fn scopes(raw: &str) -> ScopeSet {
    ScopeSet::parse(raw).expect("fixture scopes")
}

fn uris(raw: &[&str]) -> Vec<RedirectUri> {
    raw.iter().map(|uri| RedirectUri::parse(uri).expect("fixture redirect URI")).collect()
}

/// The scopes the fixtures' registry knows.
fn known_scopes() -> ScopeSet {
    scopes("openid profile email offline_access read write contact.read")
}

/// A confidential client allowed every grant, with loopback, custom-scheme and
/// https redirect URIs, a rotated secret and two resources. Built through
/// `register_client`, so that it meets every registration rule.
fn confidential_client() -> Client {
    let owned = |raw: &[&str]| raw.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let registration = ClientRegistration {
        name: "App".into(),
        redirect_uris: owned(&[
            "https://app.example.com/cb",
            "http://127.0.0.1/native",
            "http://[::1]:8080/cb?x=1",
            "com.example.app:/cb",
        ]),
        post_logout_redirect_uris: owned(&["https://app.example.com/bye"]),
        grant_types: GrantType::ALL.iter().map(|grant| grant.as_str().to_owned()).collect(),
        scopes: owned(&["openid", "profile", "email", "offline_access", "read", "write"]),
        default_scopes: Some(owned(&["openid", "read"])),
        resources: owned(&["https://api.example.com", "urn:example:billing"]),
        pkce_optional: true,
        access_token_lifetime: Some(600),
        ..ClientRegistration::default()
    };
    let client = register_client(registration, &known_scopes(), "app".into(), CLIENT_SECRET, 0)
        .expect("the fixture client registers");
    Client {
        previous_secret: Some(PreviousSecret { hash: SecretHash::of("old-secret"), expires_at: NOW + 60 }),
        ..client
    }
}

/// The client a request names: `app`, a public `spa` with one redirect URI,
/// a `disabled` one, a `machine` allowed only client_credentials, or none.
fn client_named(client_id: Option<&str>) -> Option<Client> {
    let app = confidential_client();
    match client_id? {
        "app" => Some(app),
        "spa" => Some(Client {
            client_id: "spa".into(),
            secret_hash: None,
            previous_secret: None,
            auth_method: AuthMethod::None,
            require_pkce: true,
            redirect_uris: uris(&["https://spa.example.com/cb"]),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..app
        }),
        "disabled" => Some(Client { client_id: "disabled".into(), disabled: true, ..app }),
        "machine" => Some(Client {
            client_id: "machine".into(),
            redirect_uris: Vec::new(),
            grant_types: vec![GrantType::ClientCredentials],
            ..app
        }),
        _ => None,
    }
}

/// The first line (without its `\n`) and the rest.
fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[]),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_scope_round_trips(scope: &ScopeSet) {
    assert_eq!(&ScopeSet::parse(&scope.to_string()).expect("a displayed scope set parses"), scope);
}

/// Whether `uri` is one `client` registered, or a registered loopback IP
/// literal with another port (RFC 8252 §7.3): the only places a browser may be sent.
fn is_registered_redirect(client: &Client, uri: &RedirectUri) -> bool {
    if client.redirect_uris.contains(uri) {
        return true;
    }
    let Ok(requested) = url::Url::parse(uri.as_str()) else { return false };
    client.redirect_uris.iter().any(|registered| {
        let Ok(registered) = url::Url::parse(registered.as_str()) else { return false };
        let loopback_ip = match registered.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        };
        loopback_ip
            && registered.scheme() == "http"
            && requested.scheme() == "http"
            && registered.host() == requested.host()
            && registered.path() == requested.path()
            && registered.query() == requested.query()
    })
}

/// What [`RedirectUri::parse`] promises about a URI it accepts.
fn assert_acceptable_redirect(uri: &RedirectUri) {
    let raw = uri.as_str();
    assert!(!raw.contains('#') && !raw.chars().any(char::is_control), "{raw:?}");
    let url = url::Url::parse(raw).expect("an accepted redirect URI is absolute");
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    };
    let scheme = url.scheme();
    let allowed = scheme == "https"
        || (scheme == "http" && loopback)
        || (scheme.contains('.')
            && !["javascript", "data", "vbscript", "file", "blob", "about"].contains(&scheme));
    assert!(allowed, "{raw:?} must be https, loopback http or a reversed-domain scheme");
    assert_eq!(uri.to_string(), raw, "kept exactly as sent");
}

/// 1. Token request: form body -> `FormParams` -> `TokenRequest`, and the
///    client_credentials decision for a fixed client.
pub(crate) fn token_request(data: &[u8]) {
    let Ok(form) = FormParams::parse(data) else { return };
    let reparsed = FormParams::parse(form.encode().as_bytes()).expect("an encoded form parses again");
    assert_eq!(reparsed, form, "encoding a form loses nothing");
    assert_eq!(form.with_value_filtered("scope", str::to_owned), form);
    let parsed = TokenRequest::parse(&form);
    assert_eq!(parsed, TokenRequest::parse(&reparsed));
    let Ok(request) = parsed else { return };
    assert_eq!(Some(request.grant_type().as_str()), form.get("grant_type"));
    match request {
        TokenRequest::ClientCredentials(request) => {
            if let Some(scope) = &request.scope {
                assert_scope_round_trips(scope);
            }
            for resource in &request.resources {
                assert_eq!(Resource::parse(resource.as_str()).as_ref(), Ok(resource));
            }
            let client = confidential_client();
            let Ok(grant) = grant_client_credentials(&token_policy(), &client, request, NOW, "jti".into())
            else {
                return;
            };
            assert!(grant.scope.is_subset_of(&client.scopes), "a client never gets more than it holds");
            assert!(grant.scope.iter().all(|scope| !scope.is_user_only()));
            let audiences: Vec<&str> = match &grant.claims.aud {
                Audience::One(one) => vec![one.as_str()],
                Audience::Many(many) => many.iter().map(String::as_str).collect(),
            };
            assert!(!audiences.is_empty());
            for aud in audiences {
                assert!(client.resources.iter().any(|r| r.as_str() == aud), "aud {aud} not registered");
            }
            assert!(grant.claims.exp > grant.claims.iat && grant.claims.sub == client.client_id);
        }
        TokenRequest::AuthorizationCode(request) => {
            assert_eq!(Some(request.code.as_str()), form.get("code"));
        }
        TokenRequest::RefreshToken(request) => {
            assert_eq!(Some(request.refresh_token.as_str()), form.get("refresh_token"));
            if let Some(scope) = &request.scope {
                assert_scope_round_trips(scope);
            }
        }
        TokenRequest::TokenExchange(request) => {
            assert_eq!(Some(request.subject_token.as_str()), form.get("subject_token"));
            if let Some(scope) = &request.scope {
                assert_scope_round_trips(scope);
            }
        }
    }
}

/// 2. Client credentials: an `Authorization` header (first line; an empty
///    line means none) and a form body (the rest). Then the same bytes as an
///    id (first line) and a secret (second line), sent both ways, must give
///    the same credentials: the Basic decoder undoes what RFC 6749 §2.3.1 encodes.
pub(crate) fn client_auth(data: &[u8]) {
    let (header_line, body) = split_line(data);
    let header = (!header_line.is_empty()).then(|| text(header_line));
    if let Ok(form) = FormParams::parse(body)
        && let Ok(presented) = presented_credentials(header.as_deref(), &form)
    {
        assert!(is_valid_client_id(&presented.client_id), "{:?}", presented.client_id);
        let assertion = form.contains("client_assertion_type") || form.contains("client_assertion");
        match &header {
            _ if assertion => {
                assert_eq!(presented.method, AuthMethod::PrivateKeyJwt);
                assert!(header.is_none() && !form.contains("client_secret"), "one method only");
                assert!(presented.assertion().is_some());
                assert!(authenticate(&confidential_client(), &presented, NOW).is_err());
            }
            Some(_) => {
                assert_eq!(presented.method, AuthMethod::ClientSecretBasic);
                let again = basic_header(&presented.client_id, "s");
                let reparsed = presented_credentials(Some(&again), &FormParams::default())
                    .expect("re-encoded Basic credentials parse");
                assert_eq!(reparsed.client_id, presented.client_id);
            }
            None => {
                assert_eq!(Some(presented.client_id.as_str()), form.get("client_id"));
                let expected = match form.get("client_secret") {
                    Some(_) => AuthMethod::ClientSecretPost,
                    None => AuthMethod::None,
                };
                assert_eq!(presented.method, expected);
                let secret_ok = matches!(form.get("client_secret"), Some(CLIENT_SECRET | "old-secret"));
                let proven = authenticate(&confidential_client(), &presented, NOW).is_ok();
                assert_eq!(proven, secret_ok, "only the client's secrets prove it");
            }
        }
    }

    let (id, rest) = split_line(data);
    let (secret, _) = split_line(rest);
    let (id, secret) = (text(id), text(secret));
    if id.is_empty() || secret.is_empty() {
        return;
    }
    let by_basic = presented_credentials(Some(&basic_header(&id, &secret)), &FormParams::default());
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.append_pair("client_id", &id).append_pair("client_secret", &secret);
    let form = FormParams::parse(body.finish().as_bytes()).expect("a serialized form parses");
    let by_post = presented_credentials(None, &form);
    let by_basic = by_basic.map(|mut presented| {
        assert_eq!(presented.method, AuthMethod::ClientSecretBasic);
        presented.method = AuthMethod::ClientSecretPost;
        presented
    });
    assert_eq!(by_basic, by_post, "Basic and client_secret_post disagree on {id:?} / {secret:?}");
}

fn basic_header(id: &str, secret: &str) -> String {
    let encode = |raw: &str| form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

/// 3. Authorization request: a query string, validated for a client chosen by
///    its `client_id`, under both PKCE policies; then the code it ends in is
///    exchanged with the query's `code_verifier` (and `token_redirect_uri`).
pub(crate) fn authorize(data: &[u8]) {
    let Ok(params) = FormParams::parse(data) else { return };
    let client = client_named(params.get("client_id"));
    let strict = AuthorizePolicy { code_lifetime: 120, allow_plain_pkce: false };
    let lenient = AuthorizePolicy { allow_plain_pkce: true, ..strict.clone() };
    let strict_result = validate_authorization_request(&strict, client.as_ref(), &params);
    let lenient_result = validate_authorization_request(&lenient, client.as_ref(), &params);
    if strict_result.is_ok() {
        assert_eq!(strict_result, lenient_result, "allowing plain PKCE only accepts more");
    }
    for (policy, result) in [(&strict, strict_result), (&lenient, lenient_result)] {
        match result {
            Ok(request) => check_authorization(policy, client.as_ref(), &params, &request),
            Err(AuthorizeError::Redirect { redirect_uri, state, .. }) => {
                let client = client.as_ref().expect("errors go to a client's redirect URI only");
                assert!(is_registered_redirect(client, &redirect_uri), "open redirect to {redirect_uri}");
                assert_eq!(state.as_deref(), params.get("state"));
            }
            Err(AuthorizeError::Page(_)) => {}
        }
    }
}

fn check_authorization(
    policy: &AuthorizePolicy,
    client: Option<&Client>,
    params: &FormParams,
    request: &AuthorizationRequest,
) {
    let client = client.expect("a valid request names a known client");
    assert!(!client.disabled);
    assert_eq!(request.client_id, client.client_id);
    assert!(is_registered_redirect(client, &request.redirect_uri), "{}", request.redirect_uri);
    assert_eq!(request.redirect_uri_given, params.contains("redirect_uri"));
    assert!(request.scope.is_subset_of(&client.scopes));
    assert_scope_round_trips(&request.scope);
    match &request.code_challenge {
        Some(challenge) => {
            let value = &challenge.value;
            assert!((43..=128).contains(&value.len()), "{value:?}");
            assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
            match challenge.method {
                ChallengeMethod::S256 => assert_eq!(value.len(), 43),
                ChallengeMethod::Plain => assert!(policy.allow_plain_pkce),
            }
        }
        None => assert!(!client.is_public() && !client.require_pkce, "PKCE is required"),
    }
    assert!(request.state.as_ref().is_none_or(|state| state.len() <= 2048));
    assert!(request.nonce.as_ref().is_none_or(|nonce| nonce.len() <= 512));
    assert!(request.login_hint.as_ref().is_none_or(|hint| hint.len() <= 256));
    assert!(!(request.prompt.none && (request.prompt.login || request.prompt.consent)));
    let _ = needs_login(request, Some(NOW - 100), NOW);
    assert!(needs_login(request, None, NOW));
    let ticked = ScopeSet::parse(params.get("ticked").unwrap_or_default()).unwrap_or_default();
    let approved = approved_scopes(request, &ticked);
    assert!(approved.is_subset_of(&request.scope) && approved.is_subset_of(&ticked));
    assert!(!needs_consent(request, Some(&request.scope)) || request.prompt.consent);

    let code = issue_code(policy, request, "user-1", approved.clone(), NOW - 5, "the-code", NOW);
    assert!(code.code_hash.matches("the-code") && code.expires_at > NOW);
    let token_request = AuthorizationCodeRequest {
        code: "the-code".into(),
        redirect_uri: params.get("token_redirect_uri").or(params.get("redirect_uri")).map(str::to_owned),
        code_verifier: params.get("code_verifier").map(str::to_owned),
        resources: Vec::new(),
    };
    if let Ok(grant) = exchange_code(&token_policy(), client, &token_request, &code, NOW, "jti".into()) {
        assert_eq!(grant.scope, approved);
        assert_eq!(grant.claims.sub, "user-1");
        match (&code.code_challenge, &token_request.code_verifier) {
            (Some(challenge), Some(verifier)) => assert!(challenge.is_answered_by(verifier)),
            (None, None) => {}
            _ => panic!("a code with a challenge needs a verifier, and only such a code takes one"),
        }
        if code.redirect_uri_given {
            assert_eq!(token_request.redirect_uri.as_deref(), Some(code.redirect_uri.as_str()));
        }
    }
    let expired = exchange_code(&token_policy(), client, &token_request, &code, code.expires_at, "j".into());
    assert_eq!(expired.map_err(|err| err.code), Err(ErrorCode::InvalidGrant), "an expired code never works");
}

/// 4. Redirect URIs and their matching: the first line is registered (if it
///    is a valid redirect URI), the second requested at `/authorize`. A match
///    is the registered URI itself or its loopback-port variant, nothing else.
///    Both lines also go through `Resource::parse` and PKCE challenge parsing.
pub(crate) fn redirect_uri(data: &[u8]) {
    let (first, rest) = split_line(data);
    let (second, _) = split_line(rest);
    let (registered_raw, requested_raw) = (text(first), text(second));
    for raw in [&registered_raw, &requested_raw] {
        if let Ok(uri) = RedirectUri::parse(raw) {
            assert_acceptable_redirect(&uri);
        }
        if let Ok(resource) = Resource::parse(raw) {
            let url = url::Url::parse(resource.as_str()).expect("a resource is an absolute URI");
            assert!(url.fragment().is_none() && resource.as_str() == raw.as_str());
        }
        for method in [None, Some("S256"), Some("plain")] {
            if let Ok(Some(challenge)) = CodeChallenge::parse(Some(raw), method, true) {
                assert!((43..=128).contains(&challenge.value.len()));
                assert!(!challenge.is_answered_by("short"));
                if challenge.method == ChallengeMethod::Plain {
                    assert!(challenge.is_answered_by(raw));
                }
            }
        }
    }
    let Ok(registered) = RedirectUri::parse(&registered_raw) else { return };
    let client = Client { redirect_uris: vec![registered], ..confidential_client() };
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", "app")
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &requested_raw)
        .append_pair("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        .append_pair("code_challenge_method", "S256");
    let Ok(params) = FormParams::parse(query.finish().as_bytes()) else { return };
    let policy = AuthorizePolicy { code_lifetime: 120, allow_plain_pkce: false };
    match validate_authorization_request(&policy, Some(&client), &params) {
        Ok(request) => {
            assert!(is_registered_redirect(&client, &request.redirect_uri), "{requested_raw:?}");
            match requested_raw.is_empty() {
                // An empty parameter is an omitted one: the only registered URI is used.
                true => {
                    assert!(!request.redirect_uri_given && client.redirect_uris == [request.redirect_uri])
                }
                false => assert_eq!(request.redirect_uri.as_str(), requested_raw),
            }
        }
        Err(AuthorizeError::Redirect { redirect_uri, .. }) => {
            assert!(is_registered_redirect(&client, &redirect_uri), "{redirect_uri}");
        }
        Err(AuthorizeError::Page(_)) => {}
    }
}

/// A stand-in signer: JWS assembly is what is fuzzed, not the crypto.
struct FakeSigner(Algorithm);

impl Signer for FakeSigner {
    fn algorithm(&self) -> Algorithm {
        self.0
    }
    fn key_id(&self) -> &str {
        "fuzz-key"
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        Ok(message.iter().rev().take(64).copied().collect())
    }
}

/// 5. Compact JWS: `jwt::split` on any text, the claims readers on its
///    payload, and an encode/split round trip of whatever claims parse.
pub(crate) fn jwt(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let Some(parts) = jwt::split(token) else { return };
    assert!(parts.header.crit.is_none());
    // base64url without padding decodes canonically: no two texts give the same parts.
    let (signing_input, signature) = token.rsplit_once('.').expect("split found the signature");
    assert_eq!(parts.signing_input, signing_input);
    assert_eq!(URL_SAFE_NO_PAD.encode(&parts.signature), signature);
    let (_, payload) = signing_input.split_once('.').expect("split found the payload");
    assert_eq!(URL_SAFE_NO_PAD.encode(&parts.payload), payload);
    let algorithm = Algorithm::parse(&parts.header.alg);
    assert!(algorithm.is_none_or(|alg| alg.as_str() == parts.header.alg));

    let _ = serde_json::from_slice::<IdTokenHint>(&parts.payload);
    let Ok(claims) = serde_json::from_slice::<AccessTokenClaims>(&parts.payload) else { return };
    let signer = FakeSigner(algorithm.unwrap_or(Algorithm::Es256));
    let encoded = jwt::encode(&signer, "at+jwt", &claims).expect("claims that parsed serialize");
    let again = jwt::split(&encoded).expect("an encoded token splits");
    assert_eq!(again.header.alg, signer.algorithm().as_str());
    assert_eq!(again.header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(again.header.kid.as_deref(), Some("fuzz-key"));
    let decoded: AccessTokenClaims = serde_json::from_slice(&again.payload).expect("re-encoded claims parse");
    assert_eq!(decoded, claims, "claims survive an encode/split round trip");
}

/// Members the admin API and the CLI set but `POST /register` does not
/// accept, read from the same JSON document beside the wire metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OperatorMembers {
    default_scopes: Option<Vec<String>>,
    resources: Vec<String>,
    public: bool,
    may_introspect_any_token: bool,
    pkce_optional: bool,
    access_token_lifetime: Option<u64>,
}

/// The registration a fuzz input asks for: the RFC 7591 metadata, read and
/// translated exactly as the server does, widened by [`OperatorMembers`] so
/// that the rules for operator-made clients are reached too.
fn registration_of(data: &[u8]) -> Option<ClientRegistration> {
    let registration = ClientMetadata::from_json(data).ok()?.into_registration().ok()?;
    let operator: OperatorMembers = serde_json::from_slice(data).ok()?;
    Some(ClientRegistration {
        default_scopes: operator.default_scopes,
        resources: operator.resources,
        public: operator.public,
        may_introspect_any_token: operator.may_introspect_any_token,
        pkce_optional: operator.pkce_optional,
        access_token_lifetime: operator.access_token_lifetime,
        ..registration
    })
}

/// 6. Registration metadata: JSON -> `ClientMetadata` -> `ClientRegistration` -> `register_client`,
///    whose every rule is checked on what it accepts; re-registering the same
///    metadata (RFC 7592) changes nothing.
pub(crate) fn registration(data: &[u8]) {
    let Some(registration) = registration_of(data) else { return };
    let known = known_scopes();
    let Ok(client) = register_client(registration.clone(), &known, "id-1".into(), CLIENT_SECRET, NOW) else {
        return;
    };
    let name_chars = client.name.chars().count();
    assert!((1..=200).contains(&name_chars) && !client.name.chars().any(char::is_control));
    assert_eq!(client.name, client.name.trim());
    if let Some(org_url) = &client.org_url {
        let url = url::Url::parse(org_url).expect("an accepted organisation URL parses");
        assert!(matches!(url.scheme(), "http" | "https"));
    }
    for uri in client.redirect_uris.iter().chain(&client.post_logout_redirect_uris) {
        assert_acceptable_redirect(uri);
        assert_eq!(RedirectUri::parse(uri.as_str()).as_ref(), Ok(uri));
    }
    for list in [&client.redirect_uris, &client.post_logout_redirect_uris] {
        assert!(list.iter().enumerate().all(|(i, uri)| !list[..i].contains(uri)), "duplicate URI");
    }
    assert!(client.resources.iter().enumerate().all(|(i, r)| !client.resources[..i].contains(r)));
    assert!(client.grant_types.windows(2).all(|pair| pair[0] < pair[1]), "sorted, no repeats");
    let has = |grant: GrantType| client.has_grant_type(grant);
    assert!(!client.grant_types.is_empty());
    assert!(!has(GrantType::AuthorizationCode) || !client.redirect_uris.is_empty());
    assert!(!has(GrantType::RefreshToken) || has(GrantType::AuthorizationCode));
    assert_eq!(client.is_public(), client.auth_method == AuthMethod::None);
    if client.is_public() {
        assert!(!has(GrantType::ClientCredentials) && client.require_pkce);
    } else {
        assert!(client.secret_hash.as_ref().is_some_and(|hash| hash.matches(CLIENT_SECRET)));
    }
    assert!(client.default_scopes.is_subset_of(&client.scopes) && client.scopes.is_subset_of(&known));
    assert!(client.access_token_lifetime.is_none_or(|s| ACCESS_TOKEN_LIFETIME_RANGE.contains(&s)));

    let again = reregister_client(&client, registration, &known).expect("the same metadata re-registers");
    assert_eq!(again, client, "re-registering the same metadata changes nothing");
}

/// 7. The other forms: introspection and revocation (`token`,
///    `token_type_hint`), RP-initiated logout, and the account fields of the
///    login and console forms.
pub(crate) fn endpoint_forms(data: &[u8]) {
    let Ok(form) = FormParams::parse(data) else { return };
    if let Ok(by_value) = TokenRequestByValue::parse(&form) {
        assert_eq!(Some(by_value.token.as_str()), form.get("token"));
        assert_eq!(by_value.token_type_hint.as_deref(), form.get("token_type_hint"));
    }

    let logout = LogoutRequest::parse(&form);
    let hint = form.get("hint_aud").map(|aud| IdTokenHint {
        iss: form.get("hint_iss").unwrap_or(ISSUER).to_owned(),
        aud: aud.to_owned(),
        sub: "user-1".into(),
    });
    if let Ok(named) = logout_client_id(&logout, hint.as_ref(), ISSUER) {
        if logout.id_token_hint.is_some() {
            assert!(hint.as_ref().is_some_and(|hint| hint.iss == ISSUER));
        }
        let client = client_named(named);
        match after_logout(&logout, client.as_ref()) {
            Ok(AfterLogout::Redirect { uri, state }) => {
                let client = client.expect("a redirect needs a client");
                assert!(client.post_logout_redirect_uris.iter().any(|r| r.as_str() == uri));
                assert_eq!(state, logout.state);
            }
            Ok(AfterLogout::SignedOutPage) => assert!(logout.post_logout_redirect_uri.is_none()),
            Err(_) => {}
        }
    }

    if let Some(raw) = form.get("username")
        && let Ok(username) = Username::parse(raw)
    {
        assert_eq!(username.as_str(), raw);
        assert!(!raw.starts_with('-') && (1..=64).contains(&raw.len()));
    }
    if let Some(raw) = form.get("role")
        && let Ok(role) = Role::parse(raw)
    {
        assert_eq!(Role::parse(role.as_str()), Ok(role));
    }
    if check_profile(form.get("email"), form.get("name")).is_ok()
        && let Some(email) = form.get("email")
    {
        assert!(email.contains('@') && email.len() <= 254);
    }
    if let Some(password) = form.get("password")
        && check_new_password(password).is_ok()
    {
        assert!(password.chars().count() >= 8 && password.len() <= 1024);
    }
}
