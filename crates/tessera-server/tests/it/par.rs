//! Pushed Authorization Requests (RFC 9126): `POST /par`, then the browser
//! goes to `/authorize` with only `client_id` and the one-time `request_uri`.

use oauth2::PkceCodeChallenge;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tessera_core::par::{PushedRequest, REQUEST_URI_PREFIX};
use tessera_core::registration::ClientRegistration;
use tessera_core::secret::SecretHash;
use tessera_testkit::{form_body, unix_now};
use url::Url;

use crate::code_flow::{
    Flow, REDIRECT, error_of, flow, html, location, query, redeem, submit_consent, submit_login,
};
use crate::dpop::{DpopKey, sign_in_and_approve_if_asked};

/// A pushed request's parameters with a fresh PKCE challenge; returns them and the verifier.
fn authorization_params(scope: &str, state: &str) -> (Vec<(String, String)>, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let params = [
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", state),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .to_vec();
    (params, verifier.secret().to_owned())
}

fn pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect()
}

async fn push(flow: &Flow, params: &[(String, String)]) -> Response {
    flow.app.post_with_basic("/par", &flow.client_id, &flow.secret, &pairs(params)).await
}

/// Pushes `params` and returns the `request_uri`, or panics.
async fn pushed_uri(flow: &Flow, params: &[(String, String)]) -> String {
    let response = push(flow, params).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    body["request_uri"].as_str().expect("request_uri").to_owned()
}

fn authorize_url(flow: &Flow, client_id: &str, request_uri: &str) -> String {
    flow.app
        .url(&format!("/authorize?{}", form_body(&[("client_id", client_id), ("request_uri", request_uri)])))
}

/// An error page (never a redirect: the redirect URI is unknown) with `code`.
async fn assert_error_page(response: Response, code: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none(), "an error page, not a redirect");
    let page = html(response).await;
    assert!(page.contains(code), "{page}");
}

#[tokio::test]
async fn a_pushed_request_carries_the_whole_code_flow() {
    let flow = flow().await;
    let (params, verifier) = authorization_params("contact.read", "af0ifjsldkj");
    // RFC 9126 §2.1: client_secret_basic, the parameters in the form body.
    let response = push(&flow, &params).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("application/json"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["expires_in"], 60);
    let request_uri = body["request_uri"].as_str().expect("request_uri").to_owned();
    let random = request_uri.strip_prefix(REQUEST_URI_PREFIX).expect("the RFC 9126 URN prefix");
    assert!(random.len() >= 43, "256 random bits: {request_uri}");

    // Only client_id and request_uri count; anything else in the query is ignored.
    let browser = flow.app.browser();
    let url =
        format!("{}&scope=contact.write&state=forged", authorize_url(&flow, &flow.client_id, &request_uri));
    let login = browser.get(&url).send().await.expect("authorize");
    assert_eq!(login.status(), StatusCode::OK, "the login page");
    let login = html(login).await;
    assert!(login.contains("Contacts Sync"), "the login page names the application");

    // The login and consent round trips carry the resolved request, not the spent request_uri.
    let after_login = submit_login(&flow.app, &browser, &login, crate::code_flow::PASSWORD).await;
    assert_eq!(after_login.status(), StatusCode::SEE_OTHER);
    let resumed = location(&after_login);
    assert!(!resumed.contains("request_uri"), "{resumed}");
    let consent = browser.get(flow.app.url(&resumed)).send().await.expect("resume");
    assert_eq!(consent.status(), StatusCode::OK, "the consent page");
    let consent = html(consent).await;
    assert!(consent.contains("Access to contact.read"));
    assert!(!consent.contains("contact.write"), "the query's scope was ignored");
    let approved = submit_consent(&flow.app, &browser, &consent, "allow", &["contact.read"]).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);

    let back = Url::parse(&location(&approved)).expect("redirect to the client");
    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(query(&back, "state").as_deref(), Some("af0ifjsldkj"), "the pushed state");
    assert_eq!(query(&back, "iss").as_deref(), Some(flow.app.base_url.as_str()));
    let code = query(&back, "code").expect("code");
    let token = redeem(&flow, &code, &verifier).await;
    assert_eq!(token.status(), StatusCode::OK);
    let token: Value = token.json().await.expect("json");
    assert_eq!(token["scope"], "contact.read");
    assert!(token["access_token"].is_string());
}

#[tokio::test]
async fn a_request_uri_is_used_once() {
    let flow = flow().await;
    let (params, _) = authorization_params("contact.read", "xyz");
    let request_uri = pushed_uri(&flow, &params).await;
    let url = authorize_url(&flow, &flow.client_id, &request_uri);
    let first = flow.app.browser().get(&url).send().await.expect("authorize");
    assert_eq!(first.status(), StatusCode::OK, "the login page");
    let again = flow.app.browser().get(&url).send().await.expect("authorize again");
    assert_error_page(again, "invalid_request").await;
}

#[tokio::test]
async fn an_expired_or_unknown_request_uri_is_refused() {
    let flow = flow().await;
    let (params, _) = authorization_params("contact.read", "xyz");
    let mut encoded = vec![("client_id".to_owned(), flow.client_id.clone())];
    encoded.extend(params);
    let request_uri = format!("{REQUEST_URI_PREFIX}already-expired-0123456789abcdef");
    let now = unix_now();
    let expired = PushedRequest {
        request_uri_hash: SecretHash::of(&request_uri),
        client_id: flow.client_id.clone(),
        params: form_body(&pairs(&encoded)),
        expires_at: now - 1,
    };
    flow.app.store().save_pushed_request(&expired, now - 30).await.expect("saved");
    let url = authorize_url(&flow, &flow.client_id, &request_uri);
    assert_error_page(flow.app.http.get(&url).send().await.expect("authorize"), "invalid_request").await;

    let unknown = format!("{REQUEST_URI_PREFIX}never-pushed-0123456789abcdefgh");
    let url = authorize_url(&flow, &flow.client_id, &unknown);
    assert_error_page(flow.app.http.get(&url).send().await.expect("authorize"), "invalid_request").await;
    let foreign = "https://app.example.com/request.jwt";
    let url = authorize_url(&flow, &flow.client_id, foreign);
    assert_error_page(flow.app.http.get(&url).send().await.expect("authorize"), "invalid_request").await;
    let url = flow.app.url(&format!("/authorize?{}", form_body(&[("request_uri", &request_uri)])));
    assert_error_page(flow.app.http.get(&url).send().await.expect("authorize"), "client_id is required")
        .await;
}

#[tokio::test]
async fn a_request_uri_works_only_for_the_client_that_pushed_it() {
    let flow = flow().await;
    let other = flow
        .app
        .register(ClientRegistration {
            name: "Other App".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into()],
            ..ClientRegistration::default()
        })
        .await;
    let (params, _) = authorization_params("contact.read", "xyz");
    let request_uri = pushed_uri(&flow, &params).await;
    let url = authorize_url(&flow, &other.client.client_id, &request_uri);
    let response = flow.app.browser().get(&url).send().await.expect("authorize");
    assert_error_page(response, "pushed by another client").await;
}

#[tokio::test]
async fn bad_pushes_are_refused_with_token_endpoint_errors() {
    let flow = flow().await;
    let (good, _) = authorization_params("contact.read", "xyz");
    let without = |name: &str| good.iter().filter(|(key, _)| key != name).cloned().collect::<Vec<_>>();
    let with = |name: &str, value: &str| {
        let mut params = without(name);
        params.push((name.to_owned(), value.to_owned()));
        params
    };

    let wrong_secret = flow.app.post_with_basic("/par", &flow.client_id, "wrong", &pairs(&good)).await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong_secret.headers().contains_key("www-authenticate"));
    assert_eq!(error_of(wrong_secret).await, "invalid_client");
    let anonymous = flow
        .app
        .http
        .post(flow.app.url("/par"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&pairs(&good)))
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(anonymous).await, "invalid_client");

    for (name, params, status, code) in [
        ("no PKCE", without("code_challenge"), 400, "invalid_request"),
        (
            "unregistered redirect_uri",
            with("redirect_uri", "https://evil.example.com/cb"),
            400,
            "invalid_request",
        ),
        ("scope not granted", with("scope", "contact.read admin.all"), 400, "invalid_scope"),
        (
            "request_uri in the push",
            with("request_uri", "urn:ietf:params:oauth:request_uri:abc"),
            400,
            "invalid_request",
        ),
        ("another client_id", with("client_id", "someone-else"), 400, "invalid_request"),
        ("implicit flow", with("response_type", "token"), 400, "unsupported_response_type"),
    ] {
        let response = push(&flow, &params).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{name}");
        assert_eq!(error_of(response).await, code, "{name}");
    }

    let in_query = flow
        .app
        .http
        .post(flow.app.url(&format!("/par?{}", form_body(&pairs(&good)))))
        .basic_auth(&flow.client_id, Some(&flow.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("sent");
    assert_eq!(error_of(in_query).await, "invalid_request", "parameters only in the body");
    let get = flow.app.http.get(flow.app.url("/par")).send().await.expect("sent");
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn public_and_post_authenticated_clients_can_push_and_secrets_are_not_kept() {
    let flow = flow().await;
    let (params, _) = authorization_params("contact.read", "xyz");

    // client_secret_post: the secret authenticates the push and is not stored with it.
    let mut posted = vec![
        ("client_id".to_owned(), flow.client_id.clone()),
        ("client_secret".to_owned(), flow.secret.clone()),
    ];
    posted.extend(params.clone());
    let response = flow
        .app
        .http
        .post(flow.app.url("/par"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&pairs(&posted)))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    let request_uri = body["request_uri"].as_str().expect("request_uri");
    let stored = flow
        .app
        .store()
        .take_pushed_request(&SecretHash::of(request_uri), unix_now())
        .await
        .expect("store")
        .expect("stored under the hash of its request_uri");
    assert_eq!(stored.client_id, flow.client_id);
    assert!(!stored.params.contains("client_secret") && !stored.params.contains(&flow.secret));

    // A public client presents only its client_id.
    let public = flow
        .app
        .register(ClientRegistration {
            name: "Native App".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into()],
            public: true,
            ..ClientRegistration::default()
        })
        .await;
    let mut public_params = vec![("client_id".to_owned(), public.client.client_id.clone())];
    public_params.extend(params);
    let response = flow
        .app
        .http
        .post(flow.app.url("/par"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&pairs(&public_params)))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    let request_uri = body["request_uri"].as_str().expect("request_uri");
    let url = authorize_url(&flow, &public.client.client_id, request_uri);
    let login = flow.app.browser().get(&url).send().await.expect("authorize");
    assert_eq!(login.status(), StatusCode::OK, "the login page");
}

#[tokio::test]
async fn discovery_lists_the_par_endpoint() {
    let flow = flow().await;
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let metadata = flow.app.get_json(path).await;
        assert_eq!(metadata["pushed_authorization_request_endpoint"], flow.app.url("/par"), "{path}");
        assert_eq!(metadata["require_pushed_authorization_requests"], false, "{path}");
    }
}

/// A plain authorization request of `client_id` (with PKCE), as a browser would send it.
fn plain_authorize_url(flow: &Flow, client_id: &str, state: &str) -> String {
    let (params, _) = authorization_params("contact.read", state);
    let mut pairs = vec![("client_id", client_id)];
    pairs.extend(params.iter().map(|(name, value)| (name.as_str(), value.as_str())));
    flow.app.url(&format!("/authorize?{}", form_body(&pairs)))
}

/// RFC 9126 §4: refused with invalid_request, sent back to the client's redirect URI.
async fn assert_refused_for_want_of_a_push(flow: &Flow, response: Response, state: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "back to the client");
    let back = Url::parse(&location(&response)).expect("redirect");
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
    assert!(query(&back, "error_description").is_some_and(|why| why.contains("PAR")), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some(state));
    assert_eq!(query(&back, "iss").as_deref(), Some(flow.app.base_url.as_str()));
    assert!(query(&back, "code").is_none());
}

/// The whole pushed flow for `flow`'s client: push, sign in, approve, redeem.
async fn pushed_flow_works(flow: &Flow) {
    let (params, verifier) = authorization_params("contact.read", "pushed-state");
    let request_uri = pushed_uri(flow, &params).await;
    let url = Url::parse(&authorize_url(flow, &flow.client_id, &request_uri)).expect("url");
    let back = sign_in_and_approve_if_asked(flow, &flow.app.browser(), &url, &["contact.read"]).await;
    assert_eq!(query(&back, "state").as_deref(), Some("pushed-state"), "{back}");
    let code = query(&back, "code").unwrap_or_else(|| panic!("a code in {back}"));
    assert_eq!(redeem(flow, &code, &verifier).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_server_that_requires_pushes_refuses_plain_authorization_requests() {
    let flow =
        crate::code_flow::flow_with(|config| config.require_pushed_authorization_requests = true).await;
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let metadata = flow.app.get_json(path).await;
        assert_eq!(metadata["require_pushed_authorization_requests"], true, "{path}");
    }

    let browser = flow.app.browser();
    let plain = browser.get(plain_authorize_url(&flow, &flow.client_id, "plain")).send().await.expect("sent");
    assert_refused_for_want_of_a_push(&flow, plain, "plain").await;
    // Still an error page, never a redirect, while the redirect URI is not trusted.
    let evil = plain_authorize_url(&flow, &flow.client_id, "x").replace("127.0.0.1%3A9", "evil.example.com");
    assert_error_page(browser.get(&evil).send().await.expect("sent"), "invalid_request").await;

    pushed_flow_works(&flow).await;

    // The resumed request is recognised only as pushed: changing it, or
    // resuming a plain one, is refused.
    let (params, _) = authorization_params("contact.read", "resumed");
    let request_uri = pushed_uri(&flow, &params).await;
    let browser = flow.app.browser();
    let login = browser.get(authorize_url(&flow, &flow.client_id, &request_uri)).send().await.expect("sent");
    let login = html(login).await;
    let after_login = submit_login(&flow.app, &browser, &login, crate::code_flow::PASSWORD).await;
    let resumed = location(&after_login);
    assert!(resumed.contains("pushed_request_seal="), "{resumed}");
    let widened = resumed.replace("scope=contact.read", "scope=contact.read+contact.write");
    assert_ne!(widened, resumed);
    let response = browser.get(flow.app.url(&widened)).send().await.expect("sent");
    assert_refused_for_want_of_a_push(&flow, response, "resumed").await;
    // The consent given above is remembered: the sealed request gets its code.
    let response = browser.get(flow.app.url(&resumed)).send().await.expect("resume");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = Url::parse(&location(&response)).expect("redirect");
    assert_eq!(query(&back, "state").as_deref(), Some("resumed"));
    assert!(query(&back, "code").is_some(), "{back}");
}

#[tokio::test]
async fn a_client_can_require_pushes_for_itself() {
    let flow = flow().await;
    let strict = flow
        .app
        .register(ClientRegistration {
            name: "Strict App".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into()],
            require_pushed_authorization_requests: true,
            ..ClientRegistration::default()
        })
        .await;
    let other_id = flow.client_id.clone();
    let strict =
        Flow { client_id: strict.client.client_id, secret: strict.client_secret.expect("secret"), ..flow };
    let metadata = strict.app.get_json("/.well-known/oauth-authorization-server").await;
    assert_eq!(metadata["require_pushed_authorization_requests"], false, "only this client requires it");

    let browser = strict.app.browser();
    let plain =
        browser.get(plain_authorize_url(&strict, &strict.client_id, "s1")).send().await.expect("sent");
    assert_refused_for_want_of_a_push(&strict, plain, "s1").await;
    pushed_flow_works(&strict).await;

    // Other clients are not held to it.
    let other = browser.get(plain_authorize_url(&strict, &other_id, "s2")).send().await.expect("sent");
    assert_eq!(other.status(), StatusCode::OK, "the login page");
    let relaxed = strict.app.store().find_client(&strict.client_id).await.expect("store").expect("client");
    let relaxed = tessera_core::client::Client { require_pushed_authorization_requests: false, ..relaxed };
    assert!(strict.app.store().update_client(&relaxed).await.expect("update"));
    strict.app.caches_caught_up().await;
    let plain =
        browser.get(plain_authorize_url(&strict, &strict.client_id, "s3")).send().await.expect("sent");
    assert_eq!(plain.status(), StatusCode::OK, "the login page, once the client no longer requires a push");
}

async fn push_with_proof(flow: &Flow, params: &[(String, String)], proof: String) -> Response {
    flow.app
        .http
        .post(flow.app.url("/par"))
        .basic_auth(&flow.client_id, Some(&flow.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("DPoP", proof)
        .body(form_body(&pairs(params)))
        .send()
        .await
        .expect("sent")
}

/// Pushes `params` with a proof of `key`, then signs in and approves; returns the code.
async fn code_pushed_with_proof(flow: &Flow, key: &DpopKey, params: &[(String, String)]) -> String {
    let response = push_with_proof(flow, params, key.proof("POST", &flow.app.url("/par"), None)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("json");
    let request_uri = body["request_uri"].as_str().expect("request_uri");
    let url = Url::parse(&authorize_url(flow, &flow.client_id, request_uri)).expect("url");
    let back = sign_in_and_approve_if_asked(flow, &flow.app.browser(), &url, &["contact.read"]).await;
    query(&back, "code").expect("code")
}

async fn redeem_with_proof(flow: &Flow, code: &str, verifier: &str, proof: Option<String>) -> Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    let mut request = flow
        .app
        .http
        .post(flow.app.url("/token"))
        .basic_auth(&flow.client_id, Some(&flow.secret))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.body(form_body(&form)).send().await.expect("sent")
}

#[tokio::test]
async fn a_proof_at_the_push_binds_the_code_to_its_key() {
    let flow = flow().await;
    let key = DpopKey::new();
    let token_url = flow.app.url("/token");

    // RFC 9449 §10.1: as if dpop_jkt named the key. Without a proof of it: invalid_grant.
    let (params, verifier) = authorization_params("contact.read", "xyz");
    let code = code_pushed_with_proof(&flow, &key, &params).await;
    let response = redeem_with_proof(&flow, &code, &verifier, None).await;
    assert_eq!(error_of(response).await, "invalid_grant");

    let (params, verifier) = authorization_params("contact.read", "xyz");
    let code = code_pushed_with_proof(&flow, &key, &params).await;
    let response =
        redeem_with_proof(&flow, &code, &verifier, Some(key.proof("POST", &token_url, None))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");

    // dpop_jkt and the proof's key must agree.
    let (mut params, _) = authorization_params("contact.read", "xyz");
    params.push(("dpop_jkt".into(), DpopKey::new().thumbprint()));
    let response = push_with_proof(&flow, &params, key.proof("POST", &flow.app.url("/par"), None)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(response).await, "invalid_request");
}
