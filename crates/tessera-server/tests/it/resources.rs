//! Resource indicators (RFC 8707) through the code flow and refresh, and the
//! per-resource token settings (`[resources."URI"]`) on every grant.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use oauth2::PkceCodeChallenge;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tessera_core::jwt::Algorithm;
use tessera_core::registration::ClientRegistration;
use tessera_core::resource::{Resource, ResourceSettings};
use tessera_testkit::{TestApp, form_body};
use url::Url;

use crate::code_flow::{
    Flow, PASSWORD, REDIRECT, error_of, exchange, html, location, query, redeem, sign_in_and_approve,
    submit_consent, submit_login,
};

const API: &str = "https://api.example.com";
const FILES: &str = "https://files.example.com";
const LEDGER: &str = "https://ledger.example.com";

/// A confidential client registered for the three resources (and the code,
/// refresh and client_credentials grants), and a user.
async fn resource_flow_with(configure: impl FnOnce(&mut tessera_server::Config)) -> Flow {
    let app = TestApp::spawn_with(configure).await;
    for scope in ["contact.read", "contact.write"] {
        app.add_scope(scope).await;
    }
    let created = app
        .register(ClientRegistration {
            name: "Contacts Sync".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into(), "contact.write".into()],
            resources: vec![API.into(), FILES.into(), LEDGER.into()],
            ..ClientRegistration::default()
        })
        .await;
    let user_id = app.add_user("alice", PASSWORD).await;
    Flow { client_id: created.client.client_id, secret: created.client_secret.expect("secret"), app, user_id }
}

async fn resource_flow() -> Flow {
    resource_flow_with(|_| {}).await
}

/// Files: 10 minutes, audience `files`. Ledger: RS256 for 5 minutes.
fn configure_resources(config: &mut tessera_server::Config) {
    config.resources.insert(
        Resource::parse(FILES).expect("resource"),
        ResourceSettings {
            audience: Some("files".into()),
            access_token_lifetime: Some(600),
            ..ResourceSettings::default()
        },
    );
    config.resources.insert(
        Resource::parse(LEDGER).expect("resource"),
        ResourceSettings {
            access_token_lifetime: Some(300),
            signing_alg: Algorithm::Rs256,
            ..ResourceSettings::default()
        },
    );
}

/// An authorization URL for `resources`, with state `xyz` and PKCE; and the verifier.
fn authorize_url(flow: &Flow, resources: &[&str]) -> (Url, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut params = vec![
        ("client_id", flow.client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "contact.read"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    params.extend(resources.iter().map(|resource| ("resource", *resource)));
    let url = Url::parse(&flow.app.url(&format!("/authorize?{}", form_body(&params)))).expect("url");
    (url, verifier.secret().to_owned())
}

/// Signs in, approves, and returns the code and its verifier.
async fn code_for(flow: &Flow, browser: &reqwest::Client, resources: &[&str]) -> (String, String) {
    let (url, verifier) = authorize_url(flow, resources);
    let back = match browser.get(url.as_str()).send().await.expect("authorize") {
        remembered if remembered.status() == StatusCode::SEE_OTHER => {
            Url::parse(&location(&remembered)).expect("redirect")
        }
        _ => sign_in_and_approve(flow, browser, &url, &["contact.read"]).await,
    };
    (query(&back, "code").expect("code"), verifier)
}

async fn redeem_for(flow: &Flow, code: &str, verifier: &str, resources: &[&str]) -> Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    form.extend(resources.iter().map(|resource| ("resource", *resource)));
    exchange(flow, &form).await
}

async fn refresh_for(flow: &Flow, refresh_token: &str, resources: &[&str]) -> Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    form.extend(resources.iter().map(|resource| ("resource", *resource)));
    exchange(flow, &form).await
}

async fn ok_json(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// The claims of a JWT, unverified (the tests that care verify separately).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn access_token_of(body: &Value) -> &str {
    body["access_token"].as_str().expect("access token")
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().expect("refresh token").to_owned()
}

fn aud_of(body: &Value) -> Value {
    claims_of(access_token_of(body))["aud"].clone()
}

#[tokio::test]
async fn a_code_granted_for_a_resource_gives_a_token_addressed_to_it() {
    let flow = resource_flow().await;
    let browser = flow.app.browser();
    let (url, verifier) = authorize_url(&flow, &[API]);
    let login = html(browser.get(url.as_str()).send().await.expect("authorize")).await;
    let after_login = submit_login(&flow.app, &browser, &login, PASSWORD).await;
    let consent = browser.get(flow.app.url(&location(&after_login))).send().await.expect("resume");
    assert_eq!(consent.status(), StatusCode::OK, "the consent page");
    let consent = html(consent).await;
    // Autoescaped: `/` is written `&#x2f;`.
    assert!(consent.contains("At this service") && consent.contains("api.example.com"), "{consent}");
    let approved = submit_consent(&flow.app, &browser, &consent, "allow", &["contact.read"]).await;
    let back = Url::parse(&location(&approved)).expect("redirect");
    let code = query(&back, "code").expect("code");

    let body = ok_json(redeem(&flow, &code, &verifier).await).await;
    assert_eq!(aud_of(&body), API, "the token is for the granted resource");
    let introspection = flow.app.introspect(&flow.client_id, &flow.secret, access_token_of(&body)).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["aud"], API);
    let refreshed = ok_json(refresh_for(&flow, &refresh_token_of(&body), &[]).await).await;
    assert_eq!(aud_of(&refreshed), API, "the refresh token remembers the resource");
}

#[tokio::test]
async fn without_a_resource_the_token_keeps_the_default_audience() {
    let flow = resource_flow().await;
    let browser = flow.app.browser();
    let (code, verifier) = code_for(&flow, &browser, &[]).await;
    let body = ok_json(redeem(&flow, &code, &verifier).await).await;
    assert_eq!(aud_of(&body), flow.app.base_url.as_str(), "the issuer, as before");
    let refreshed = ok_json(refresh_for(&flow, &refresh_token_of(&body), &[]).await).await;
    assert_eq!(aud_of(&refreshed), flow.app.base_url.as_str());
}

#[tokio::test]
async fn the_token_request_narrows_to_some_of_the_granted_resources() {
    let flow = resource_flow().await;
    let browser = flow.app.browser();
    let (code, verifier) = code_for(&flow, &browser, &[API, FILES]).await;
    let body = ok_json(redeem_for(&flow, &code, &verifier, &[FILES]).await).await;
    assert_eq!(aud_of(&body), FILES);
    let introspection = flow.app.introspect(&flow.client_id, &flow.secret, access_token_of(&body)).await;
    assert_eq!(introspection["aud"], FILES);

    // The family keeps what the code was granted, not what the first token narrowed to.
    let refreshed = ok_json(refresh_for(&flow, &refresh_token_of(&body), &[]).await).await;
    assert_eq!(aud_of(&refreshed), serde_json::json!([API, FILES]));

    let (code, verifier) = code_for(&flow, &browser, &[API, FILES]).await;
    let body = ok_json(redeem(&flow, &code, &verifier).await).await;
    assert_eq!(aud_of(&body), serde_json::json!([API, FILES]), "no resource: all granted ones");
}

#[tokio::test]
async fn a_resource_the_code_was_not_granted_is_invalid_target() {
    let flow = resource_flow().await;
    let browser = flow.app.browser();
    let (code, verifier) = code_for(&flow, &browser, &[API]).await;
    // Registered for the client, but not asked for at the authorization endpoint.
    let response = redeem_for(&flow, &code, &verifier, &[API, LEDGER]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(response).await, "invalid_target");

    let (code, verifier) = code_for(&flow, &browser, &[]).await;
    let response = redeem_for(&flow, &code, &verifier, &[API]).await;
    assert_eq!(error_of(response).await, "invalid_target", "a code granted no resource narrows to none");
}

#[tokio::test]
async fn an_unregistered_or_malformed_resource_at_authorize_goes_back_with_invalid_target() {
    let flow = resource_flow().await;
    let browser = flow.app.browser();
    for resource in ["https://evil.example.com", "https://api.example.com#part", "/relative"] {
        let (url, _) = authorize_url(&flow, &[API, resource]);
        let response = browser.get(url.as_str()).send().await.expect("authorize");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{resource}: an authorization error response");
        let back = Url::parse(&location(&response)).expect("redirect");
        assert!(back.as_str().starts_with(REDIRECT), "{back}");
        assert_eq!(query(&back, "error").as_deref(), Some("invalid_target"), "{resource}");
        assert_eq!(query(&back, "state").as_deref(), Some("xyz"));
        assert_eq!(query(&back, "iss").as_deref(), Some(flow.app.base_url.as_str()));
        assert_eq!(query(&back, "code"), None);
    }
}

#[tokio::test]
async fn a_pushed_request_carries_its_resources_and_is_checked_when_pushed() {
    let flow = resource_flow().await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let params = |resource: &'static str| {
        vec![
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "contact.read"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("resource", FILES),
            ("resource", resource),
        ]
    };
    let refused = flow
        .app
        .post_with_basic("/par", &flow.client_id, &flow.secret, &params("https://evil.example.com"))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(refused).await, "invalid_target");

    let pushed = flow.app.post_with_basic("/par", &flow.client_id, &flow.secret, &params(API)).await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let pushed: Value = pushed.json().await.expect("json");
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let url = flow.app.url(&format!(
        "/authorize?{}",
        form_body(&[("client_id", flow.client_id.as_str()), ("request_uri", request_uri)])
    ));
    let url = Url::parse(&url).expect("url");
    let browser = flow.app.browser();
    let back = sign_in_and_approve(&flow, &browser, &url, &["contact.read"]).await;
    let code = query(&back, "code").expect("code");
    let body = ok_json(redeem(&flow, &code, verifier.secret()).await).await;
    assert_eq!(aud_of(&body), serde_json::json!([FILES, API]), "the pushed resources, in order");
}

#[tokio::test]
async fn refresh_keeps_or_narrows_the_resources_and_never_widens_them() {
    let flow = resource_flow().await;
    let browser = flow.app.browser();
    let (code, verifier) = code_for(&flow, &browser, &[API, FILES]).await;
    let first = ok_json(redeem(&flow, &code, &verifier).await).await;
    let rt1 = refresh_token_of(&first);

    let narrowed = ok_json(refresh_for(&flow, &rt1, &[API]).await).await;
    assert_eq!(aud_of(&narrowed), API);
    let rt2 = refresh_token_of(&narrowed);

    // LEDGER is registered for the client but was never granted: refused,
    // and the refused request does not spend the refresh token.
    let widened = refresh_for(&flow, &rt2, &[API, LEDGER]).await;
    assert_eq!(widened.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(widened).await, "invalid_target");

    // Narrowing once does not narrow the family: the successor still has both.
    let kept = ok_json(refresh_for(&flow, &rt2, &[]).await).await;
    assert_eq!(aud_of(&kept), serde_json::json!([API, FILES]));
    let rt3 = refresh_token_of(&kept);
    let files = ok_json(refresh_for(&flow, &rt3, &[FILES]).await).await;
    assert_eq!(aud_of(&files), FILES);

    // A family granted no resource has none to narrow to.
    let (code, verifier) = code_for(&flow, &browser, &[]).await;
    let plain = ok_json(redeem(&flow, &code, &verifier).await).await;
    let response = refresh_for(&flow, &refresh_token_of(&plain), &[API]).await;
    assert_eq!(error_of(response).await, "invalid_target");
}

/// Verifies `token` against the served JWKS with `algorithm` and `audience`; returns its claims.
async fn verify_with_jwks(
    app: &TestApp,
    token: &str,
    algorithm: jsonwebtoken::Algorithm,
    audience: &str,
) -> Value {
    let header = decode_header(token).expect("JWT header");
    assert_eq!(header.alg, algorithm);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    let jwks: JwkSet = serde_json::from_value(app.get_json("/jwks.json").await).expect("a JWK Set");
    let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("the signing key is published");
    let key = DecodingKey::from_jwk(jwk).expect("usable public key");
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[&app.base_url]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "nbf", "iat"]);
    validation.leeway = 0;
    decode::<Value>(token, &key, &validation).expect("signature and claims verify").claims
}

#[tokio::test]
async fn a_resource_sets_the_lifetime_and_the_rs256_algorithm_of_its_code_flow_tokens() {
    let flow = resource_flow_with(configure_resources).await;
    let browser = flow.app.browser();
    let (code, verifier) = code_for(&flow, &browser, &[LEDGER]).await;
    let body = ok_json(redeem(&flow, &code, &verifier).await).await;
    assert_eq!(body["expires_in"], 300, "the ledger's lifetime");
    let token = access_token_of(&body);
    let claims = verify_with_jwks(&flow.app, token, jsonwebtoken::Algorithm::RS256, LEDGER).await;
    assert_eq!(claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"), 300);
    let introspection = flow.app.introspect(&flow.client_id, &flow.secret, token).await;
    assert_eq!(introspection["active"], true, "introspection verifies RS256 access tokens");
    assert_eq!(introspection["aud"], LEDGER);

    let refreshed = ok_json(refresh_for(&flow, &refresh_token_of(&body), &[]).await).await;
    assert_eq!(refreshed["expires_in"], 300);
    verify_with_jwks(&flow.app, access_token_of(&refreshed), jsonwebtoken::Algorithm::RS256, LEDGER).await;
}

#[tokio::test]
async fn resources_with_different_algorithms_are_granted_together_but_tokened_apart() {
    let flow = resource_flow_with(configure_resources).await;
    let browser = flow.app.browser();
    let (code, verifier) = code_for(&flow, &browser, &[FILES, LEDGER]).await;
    let body = ok_json(redeem_for(&flow, &code, &verifier, &[FILES]).await).await;
    assert_eq!(body["expires_in"], 600, "the files resource's lifetime");
    let claims =
        verify_with_jwks(&flow.app, access_token_of(&body), jsonwebtoken::Algorithm::ES256, "files").await;
    assert_eq!(claims["aud"], "files", "the configured audience, not the URI");

    let rt = refresh_token_of(&body);
    let both = refresh_for(&flow, &rt, &[]).await;
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(both).await, "invalid_target", "one token cannot carry two algorithms");
    let ledger = ok_json(refresh_for(&flow, &rt, &[LEDGER]).await).await;
    assert_eq!(ledger["expires_in"], 300);
    verify_with_jwks(&flow.app, access_token_of(&ledger), jsonwebtoken::Algorithm::RS256, LEDGER).await;
}

#[tokio::test]
async fn the_shorter_of_the_clients_and_the_resources_lifetime_wins() {
    let flow = resource_flow_with(|config| {
        configure_resources(config);
        config.access_token_lifetime = Duration::from_secs(1800);
    })
    .await;
    let mut client = flow.app.store().find_client(&flow.client_id).await.expect("store").expect("client");
    client.access_token_lifetime = Some(120);
    flow.app.store().update_client(&client).await.expect("update");
    flow.app.caches_caught_up().await;
    let browser = flow.app.browser();
    let (code, verifier) = code_for(&flow, &browser, &[FILES]).await;
    let body = ok_json(redeem(&flow, &code, &verifier).await).await;
    assert_eq!(body["expires_in"], 120, "the client's 2 minutes beat the resource's 10");
    let (code, verifier) = code_for(&flow, &browser, &[API]).await;
    let body = ok_json(redeem(&flow, &code, &verifier).await).await;
    assert_eq!(body["expires_in"], 120);
}

#[tokio::test]
async fn client_credentials_and_token_exchange_use_the_same_resource_settings() {
    let app = TestApp::spawn_with(configure_resources).await;
    app.add_scope("contact.read").await;
    let created = app
        .register(ClientRegistration {
            name: "Back office".into(),
            grant_types: vec![
                "client_credentials".into(),
                "urn:ietf:params:oauth:grant-type:token-exchange".into(),
            ],
            scopes: vec!["contact.read".into()],
            resources: vec![FILES.into(), LEDGER.into()],
            ..ClientRegistration::default()
        })
        .await;
    let (client_id, secret) = (created.client.client_id, created.client_secret.expect("secret"));
    let token = async |form: &[(&str, &str)]| app.post_with_basic("/token", &client_id, &secret, form).await;

    let files = ok_json(token(&[("grant_type", "client_credentials"), ("resource", FILES)]).await).await;
    assert_eq!(files["expires_in"], 600);
    verify_with_jwks(&app, access_token_of(&files), jsonwebtoken::Algorithm::ES256, "files").await;

    let ledger = ok_json(token(&[("grant_type", "client_credentials"), ("resource", LEDGER)]).await).await;
    assert_eq!(ledger["expires_in"], 300);
    verify_with_jwks(&app, access_token_of(&ledger), jsonwebtoken::Algorithm::RS256, LEDGER).await;
    let introspection = app.introspect(&client_id, &secret, access_token_of(&ledger)).await;
    assert_eq!(introspection["active"], true);

    // No resource: every registered one, which disagree on the algorithm.
    let all = token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(all.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(all).await, "invalid_target");

    let exchanged = ok_json(
        token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", access_token_of(&files)),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("resource", LEDGER),
        ])
        .await,
    )
    .await;
    assert!(exchanged["expires_in"].as_u64().expect("expires_in") <= 300);
    verify_with_jwks(&app, access_token_of(&exchanged), jsonwebtoken::Algorithm::RS256, LEDGER).await;
}
