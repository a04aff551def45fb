//! DPoP (RFC 9449): proofs built by hand in the test with keys generated here,
//! against a real server: binding at the token endpoint, refused proofs,
//! replay, bound refresh tokens of public clients, userinfo, clients that must
//! use DPoP, codes bound by `dpop_jkt`, and server nonces.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tessera_core::registration::ClientRegistration;
use tessera_testkit::{TestApp, form_body};

use crate::code_flow::{Flow, PASSWORD, REDIRECT, flow, html, location, query, submit_consent, submit_login};

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

fn fresh_jti() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    format!("jti-{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A client's DPoP key: a P-256 key pair.
pub(crate) struct DpopKey(EcdsaKeyPair);

impl DpopKey {
    pub(crate) fn new() -> DpopKey {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("P-256 key");
        DpopKey(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("parse key"),
        )
    }

    fn jwk(&self) -> Value {
        let point = self.0.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    /// RFC 7638, computed here independently of the server.
    pub(crate) fn thumbprint(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().expect("x"),
            jwk["y"].as_str().expect("y")
        );
        b64(digest(&SHA256, canonical.as_bytes()))
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()})
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature = self.0.sign(&SystemRandom::new(), input.as_bytes()).expect("sign");
        format!("{input}.{}", b64(signature))
    }

    /// A fresh proof for `htm` `htu`, with `ath` for `access_token` if given.
    pub(crate) fn proof(&self, htm: &str, htu: &str, access_token: Option<&str>) -> String {
        self.sign(&self.header(), &claims(htm, htu, access_token))
    }

    /// [`DpopKey::proof`] with the server's `nonce` (RFC 9449 §8).
    fn proof_with_nonce(&self, htm: &str, htu: &str, access_token: Option<&str>, nonce: &str) -> String {
        let mut claims = claims(htm, htu, access_token);
        claims["nonce"] = Value::from(nonce);
        self.sign(&self.header(), &claims)
    }
}

fn claims(htm: &str, htu: &str, access_token: Option<&str>) -> Value {
    let mut claims = json!({"jti": fresh_jti(), "htm": htm, "htu": htu, "iat": now()});
    if let Some(token) = access_token {
        claims["ath"] = Value::from(b64(digest(&SHA256, token.as_bytes())));
    }
    claims
}

fn payload(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str, proof: Option<&str>) -> Response {
    let mut request = app
        .http
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("grant_type", "client_credentials")]));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.expect("token request")
}

async fn error_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    (status, body["error"].as_str().expect("error").to_owned())
}

#[tokio::test]
async fn client_credentials_with_a_proof_get_a_bound_token() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let key = DpopKey::new();
    let proof = key.proof("POST", &app.url("/token"), None);
    let response = client_credentials(&app, &id, &secret, Some(&proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().expect("access token");
    assert_eq!(payload(token)["cnf"], json!({"jkt": key.thumbprint()}));

    let introspection = app.introspect(&id, &secret, token).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["token_type"], "DPoP");
    assert_eq!(introspection["cnf"], json!({"jkt": key.thumbprint()}), "RFC 9449 §6.2");

    // Without a proof: a Bearer token, with no cnf.
    let response = client_credentials(&app, &id, &secret, None).await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().expect("access token");
    assert_eq!(payload(token).get("cnf"), None);
    assert_eq!(app.introspect(&id, &secret, token).await.get("cnf"), None);

    // The htu is compared normalized: scheme and host case, default port.
    let upper = app.url("/token").replacen("http://", "HTTP://", 1);
    let response = client_credentials(&app, &id, &secret, Some(&key.proof("POST", &upper, None))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let key = DpopKey::new();
    let proof = key.proof("POST", &app.url("/token"), None);
    assert_eq!(client_credentials(&app, &id, &secret, Some(&proof)).await.status(), StatusCode::OK);
    let replay = client_credentials(&app, &id, &secret, Some(&proof)).await;
    assert_eq!(error_of(replay).await, (StatusCode::BAD_REQUEST, "invalid_dpop_proof".to_owned()));
}

#[tokio::test]
async fn malformed_or_mismatched_proofs_are_refused() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let key = DpopKey::new();
    let other = DpopKey::new();
    let htu = app.url("/token");
    let good = || claims("POST", &htu, None);
    let with = |mut value: Value, name: &str, replacement: Value| {
        value[name] = replacement;
        value
    };
    let mut private_jwk = key.jwk();
    private_jwk["d"] = Value::from(b64([7_u8; 32]));
    let unsigned = |header: Value, claims: Value, signature: &[u8]| {
        format!("{}.{}.{}", b64(header.to_string()), b64(claims.to_string()), b64(signature))
    };
    let hs256_header = with(key.header(), "alg", json!("HS256"));
    let cases = vec![
        ("wrong htu", key.sign(&key.header(), &with(good(), "htu", json!(app.url("/introspect"))))),
        ("wrong htm", key.sign(&key.header(), &with(good(), "htm", json!("GET")))),
        ("iat too old", key.sign(&key.header(), &with(good(), "iat", json!(now() - 300)))),
        ("iat in the future", key.sign(&key.header(), &with(good(), "iat", json!(now() + 300)))),
        ("no jti", {
            let mut claims = good();
            claims.as_object_mut().expect("object").remove("jti");
            key.sign(&key.header(), &claims)
        }),
        ("signed by another key than its jwk", other.sign(&key.header(), &good())),
        ("alg none", unsigned(with(key.header(), "alg", json!("none")), good(), b"")),
        ("alg HS256", {
            let input = format!("{}.{}", b64(hs256_header.to_string()), b64(good().to_string()));
            let hmac_key =
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.jwk().to_string().as_bytes());
            format!("{input}.{}", b64(aws_lc_rs::hmac::sign(&hmac_key, input.as_bytes())))
        }),
        ("a private jwk", key.sign(&with(key.header(), "jwk", private_jwk), &good())),
        ("typ JWT", key.sign(&with(key.header(), "typ", json!("JWT")), &good())),
        ("no jwk", {
            let mut header = key.header();
            header.as_object_mut().expect("object").remove("jwk");
            key.sign(&header, &good())
        }),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (case, proof) in cases {
        let response = client_credentials(&app, &id, &secret, Some(&proof)).await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof".to_owned()),
            "{case}"
        );
    }

    // Two DPoP headers.
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("DPoP", key.proof("POST", &htu, None))
        .header("DPoP", key.proof("POST", &htu, None))
        .body(form_body(&[("grant_type", "client_credentials")]))
        .send()
        .await
        .expect("sent");
    assert_eq!(error_of(response).await, (StatusCode::BAD_REQUEST, "invalid_dpop_proof".to_owned()));
}

/// A public client of the code flow (PKCE, no secret), on the flow's server.
async fn public_flow() -> Flow {
    public_flow_with(|_| {}).await
}

/// [`public_flow`] on a server configured by `configure`.
async fn public_flow_with(configure: impl FnOnce(&mut tessera_server::Config)) -> Flow {
    let base = crate::code_flow::flow_with(configure).await;
    let public = base
        .app
        .register(ClientRegistration {
            name: "Native App".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["openid".into(), "contact.read".into()],
            public: true,
            ..ClientRegistration::default()
        })
        .await;
    Flow { client_id: public.client.client_id, secret: String::new(), ..base }
}

async fn public_token_request(flow: &Flow, form: &[(&str, &str)], proof: Option<String>) -> Response {
    let mut form = form.to_vec();
    form.push(("client_id", &flow.client_id));
    let mut request = flow
        .app
        .http
        .post(flow.app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&form));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.expect("token request")
}

/// Signs in at `url` (an authorization request) and approves `keep`, unless
/// the user's consent is remembered from an earlier round; returns where the
/// browser is sent back to.
pub(crate) async fn sign_in_and_approve_if_asked(
    flow: &Flow,
    browser: &reqwest::Client,
    url: &url::Url,
    keep: &[&str],
) -> url::Url {
    let login = browser.get(url.as_str()).send().await.expect("authorize");
    assert_eq!(login.status(), StatusCode::OK, "the login page");
    let login = html(login).await;
    let after_login = submit_login(&flow.app, browser, &login, PASSWORD).await;
    assert_eq!(after_login.status(), StatusCode::SEE_OTHER);
    let resumed = browser.get(flow.app.url(&location(&after_login))).send().await.expect("resume");
    let approved = match resumed.status() {
        StatusCode::SEE_OTHER => resumed,
        _ => submit_consent(&flow.app, browser, &html(resumed).await, "allow", keep).await,
    };
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    url::Url::parse(&location(&approved)).expect("redirect to the client")
}

/// Signs in and approves `scopes` for the public client, with `extra`
/// authorization request parameters; returns the code and its PKCE verifier.
async fn public_code(flow: &Flow, scopes: &[&str], extra: &[(&str, &str)]) -> (String, String) {
    let verifier = format!("verifier-{}-with-enough-characters-for-pkce", fresh_jti());
    let challenge = b64(digest(&SHA256, verifier.as_bytes()));
    let mut url = url::Url::parse(&flow.app.url("/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &flow.client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", "s1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    let browser = flow.app.browser();
    let back = sign_in_and_approve_if_asked(flow, &browser, &url, scopes).await;
    let code = query(&back, "code").unwrap_or_else(|| panic!("a code in {back}"));
    (code, verifier)
}

/// Redeems the public client's `code`, with `proof` as its DPoP header.
async fn redeem_public(flow: &Flow, code: &str, verifier: &str, proof: Option<String>) -> Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    public_token_request(flow, &form, proof).await
}

/// Authorizes `scopes` for the public client and redeems the code with a proof of `key`.
async fn public_tokens(flow: &Flow, key: &DpopKey, scopes: &[&str]) -> Value {
    let (code, verifier) = public_code(flow, scopes, &[]).await;
    let proof = key.proof("POST", &flow.app.url("/token"), None);
    let response = redeem_public(flow, &code, &verifier, Some(proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("token json")
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    let flow = public_flow().await;
    let key = DpopKey::new();
    let first = public_tokens(&flow, &key, &["contact.read"]).await;
    assert_eq!(first["token_type"], "DPoP");
    assert_eq!(payload(first["access_token"].as_str().expect("at"))["cnf"]["jkt"], key.thumbprint());
    let rt1 = first["refresh_token"].as_str().expect("refresh token").to_owned();
    let htu = flow.app.url("/token");

    // Without a proof, or with another key: refused, and the token is not spent.
    let response = public_token_request(
        &flow,
        &[("grant_type", "refresh_token"), ("refresh_token", rt1.as_str())],
        None,
    )
    .await;
    assert_eq!(error_of(response).await, (StatusCode::BAD_REQUEST, "invalid_dpop_proof".to_owned()));
    let thief = DpopKey::new();
    let response = public_token_request(
        &flow,
        &[("grant_type", "refresh_token"), ("refresh_token", rt1.as_str())],
        Some(thief.proof("POST", &htu, None)),
    )
    .await;
    assert_eq!(error_of(response).await, (StatusCode::BAD_REQUEST, "invalid_grant".to_owned()));

    // With the key: rotated, and the successor is bound too.
    let response = public_token_request(
        &flow,
        &[("grant_type", "refresh_token"), ("refresh_token", rt1.as_str())],
        Some(key.proof("POST", &htu, None)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.expect("json");
    assert_eq!(second["token_type"], "DPoP");
    assert_eq!(payload(second["access_token"].as_str().expect("at"))["cnf"]["jkt"], key.thumbprint());
    let rt2 = second["refresh_token"].as_str().expect("successor").to_owned();
    let response = public_token_request(
        &flow,
        &[("grant_type", "refresh_token"), ("refresh_token", rt2.as_str())],
        Some(thief.proof("POST", &htu, None)),
    )
    .await;
    assert_eq!(error_of(response).await, (StatusCode::BAD_REQUEST, "invalid_grant".to_owned()));
    let response = public_token_request(
        &flow,
        &[("grant_type", "refresh_token"), ("refresh_token", rt2.as_str())],
        Some(key.proof("POST", &htu, None)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_not_bound() {
    let flow = flow().await;
    let key = DpopKey::new();
    let browser = flow.app.browser();
    let first = crate::code_flow::tokens(&flow, &browser, &["contact.read"]).await;
    let rt = first["refresh_token"].as_str().expect("refresh token");
    let response = flow
        .app
        .http
        .post(flow.app.url("/token"))
        .basic_auth(&flow.client_id, Some(&flow.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("DPoP", key.proof("POST", &flow.app.url("/token"), None))
        .body(form_body(&[("grant_type", "refresh_token"), ("refresh_token", rt)]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP", "the new access token is bound");
    let rt2 = body["refresh_token"].as_str().expect("successor");
    let response =
        crate::code_flow::exchange(&flow, &[("grant_type", "refresh_token"), ("refresh_token", rt2)]).await;
    assert_eq!(response.status(), StatusCode::OK, "the refresh token itself is not bound");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn userinfo_takes_a_bound_token_with_its_proof_only() {
    let flow = public_flow().await;
    let key = DpopKey::new();
    let tokens = public_tokens(&flow, &key, &["openid", "contact.read"]).await;
    let token = tokens["access_token"].as_str().expect("access token");
    let userinfo = flow.app.url("/userinfo");
    let get = |authorization: String, proof: Option<String>| {
        let mut request = flow.app.http.get(&userinfo).header("authorization", authorization);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send()
    };

    let response =
        get(format!("DPoP {token}"), Some(key.proof("GET", &userinfo, Some(token)))).await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["sub"], flow.user_id.as_str());

    // As a Bearer token: refused.
    let response = get(format!("Bearer {token}"), None).await.expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The DPoP scheme without a proof, with a proof without ath or for
    // another method, or with another key: refused with a DPoP challenge.
    let no_ath = key.proof("GET", &userinfo, None);
    let post = key.proof("POST", &userinfo, Some(token));
    let other_key = DpopKey::new().proof("GET", &userinfo, Some(token));
    for (case, proof) in
        [("no proof", None), ("no ath", Some(no_ath)), ("htm", Some(post)), ("key", Some(other_key))]
    {
        let response = get(format!("DPoP {token}"), proof).await.expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        let challenge = response.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
        assert!(challenge.starts_with("DPoP "), "{case}: {challenge}");
        assert!(challenge.contains("error=\"invalid_dpop_proof\""), "{case}: {challenge}");
    }
    // A replayed proof.
    let proof = key.proof("GET", &userinfo, Some(token));
    assert_eq!(
        get(format!("DPoP {token}"), Some(proof.clone())).await.expect("sent").status(),
        StatusCode::OK
    );
    let replay = get(format!("DPoP {token}"), Some(proof)).await.expect("sent");
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn discovery_lists_the_proof_algorithms() {
    let app = TestApp::spawn().await;
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let metadata = app.get_json(path).await;
        assert_eq!(
            metadata["dpop_signing_alg_values_supported"],
            json!(["ES256", "RS256", "PS256"]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_client_registered_for_dpop_gets_no_token_without_a_proof() {
    let app = TestApp::spawn().await;
    app.add_scope("contact.read").await;
    let created = app
        .register(ClientRegistration {
            name: "Always bound".into(),
            scopes: vec!["contact.read".into()],
            dpop_bound_access_tokens: true,
            ..ClientRegistration::default()
        })
        .await;
    let (id, secret) = (created.client.client_id, created.client_secret.expect("secret"));

    // RFC 9449 §5.2: without a DPoP header the request is refused.
    let refused = client_credentials(&app, &id, &secret, None).await;
    assert_eq!(error_of(refused).await, (StatusCode::BAD_REQUEST, "invalid_dpop_proof".to_owned()));

    let key = DpopKey::new();
    let response =
        client_credentials(&app, &id, &secret, Some(&key.proof("POST", &app.url("/token"), None))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(payload(body["access_token"].as_str().expect("at"))["cnf"], json!({"jkt": key.thumbprint()}));

    // A client not registered so still gets a Bearer token without a proof.
    let (free_id, free_secret) = app.confidential_client(&["contact.read"]).await;
    let response = client_credentials(&app, &free_id, &free_secret, None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn dpop_jkt_binds_the_code_to_one_key() {
    let flow = public_flow().await;
    let key = DpopKey::new();
    let thumbprint = key.thumbprint();
    let htu = flow.app.url("/token");
    let bound = [("dpop_jkt", thumbprint.as_str())];

    // Without a proof, or with a proof of another key: invalid_grant, and the code is spent.
    for (case, proof) in [("no proof", None), ("another key", Some(DpopKey::new().proof("POST", &htu, None)))]
    {
        let (code, verifier) = public_code(&flow, &["contact.read"], &bound).await;
        let response = redeem_public(&flow, &code, &verifier, proof).await;
        assert_eq!(error_of(response).await, (StatusCode::BAD_REQUEST, "invalid_grant".to_owned()), "{case}");
        let again = redeem_public(&flow, &code, &verifier, Some(key.proof("POST", &htu, None))).await;
        assert_eq!(error_of(again).await, (StatusCode::BAD_REQUEST, "invalid_grant".to_owned()), "{case}");
    }

    // With a proof of the named key: a token bound to it.
    let (code, verifier) = public_code(&flow, &["contact.read"], &bound).await;
    let response = redeem_public(&flow, &code, &verifier, Some(key.proof("POST", &htu, None))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(payload(body["access_token"].as_str().expect("at"))["cnf"]["jkt"], thumbprint);

    // A dpop_jkt that is not a thumbprint goes back to the client as invalid_request.
    let mut url = url::Url::parse(&flow.app.url("/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &flow.client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "s2")
        .append_pair(
            "code_challenge",
            &b64(digest(&SHA256, b"a-verifier-that-is-long-enough-for-pkce-rules")),
        )
        .append_pair("code_challenge_method", "S256")
        .append_pair("dpop_jkt", "not-a-thumbprint");
    let response = flow.app.browser().get(url.as_str()).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = url::Url::parse(&crate::code_flow::location(&response)).expect("redirect");
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query(&back, "state").as_deref(), Some("s2"));
}

async fn nonce_server() -> TestApp {
    TestApp::spawn_with(|config| config.require_dpop_nonce = true).await
}

fn nonce_of(response: &Response) -> String {
    response
        .headers()
        .get("dpop-nonce")
        .unwrap_or_else(|| panic!("a DPoP-Nonce header on {}", response.status()))
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test]
async fn a_server_that_requires_nonces_hands_them_out_and_checks_them() {
    let app = nonce_server().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let key = DpopKey::new();
    let htu = app.url("/token");

    // RFC 9449 §8: a proof without a nonce gets use_dpop_nonce and a nonce to retry with.
    let first = client_credentials(&app, &id, &secret, Some(&key.proof("POST", &htu, None))).await;
    let nonce = nonce_of(&first);
    assert!(nonce.len() >= 22, "unpredictable: {nonce}");
    assert_eq!(first.headers()["cache-control"], "no-store");
    assert_eq!(error_of(first).await, (StatusCode::BAD_REQUEST, "use_dpop_nonce".to_owned()));

    let retry =
        client_credentials(&app, &id, &secret, Some(&key.proof_with_nonce("POST", &htu, None, &nonce))).await;
    assert_eq!(retry.status(), StatusCode::OK);
    let next = nonce_of(&retry);
    let body: Value = retry.json().await.expect("json");
    assert_eq!(body["token_type"], "DPoP");
    // The nonce handed out with the token works too.
    let again =
        client_credentials(&app, &id, &secret, Some(&key.proof_with_nonce("POST", &htu, None, &next))).await;
    assert_eq!(again.status(), StatusCode::OK);

    for made_up in ["made-up", "", &format!("{nonce}x"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let response =
            client_credentials(&app, &id, &secret, Some(&key.proof_with_nonce("POST", &htu, None, made_up)))
                .await;
        nonce_of(&response);
        assert_eq!(
            error_of(response).await,
            (StatusCode::BAD_REQUEST, "use_dpop_nonce".to_owned()),
            "{made_up:?}"
        );
    }

    // A request without DPoP needs no nonce.
    assert_eq!(client_credentials(&app, &id, &secret, None).await.status(), StatusCode::OK);

    // The PAR endpoint checks its proofs' nonces the same way.
    let push = app
        .http
        .post(app.url("/par"))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("DPoP", key.proof("POST", &app.url("/par"), None))
        .body(form_body(&[("response_type", "code")]))
        .send()
        .await
        .expect("push");
    nonce_of(&push);
    assert_eq!(error_of(push).await, (StatusCode::BAD_REQUEST, "use_dpop_nonce".to_owned()));

    // A server that does not require nonces hands none out.
    let plain = TestApp::spawn().await;
    let (id, secret) = plain.confidential_client(&["contact.read"]).await;
    let response =
        client_credentials(&plain, &id, &secret, Some(&key.proof("POST", &plain.url("/token"), None))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("dpop-nonce").is_none());
}

#[tokio::test]
async fn userinfo_requires_the_nonce_too() {
    let flow = public_flow_with(|config| config.require_dpop_nonce = true).await;
    let key = DpopKey::new();
    let token_url = flow.app.url("/token");
    let (code, verifier) = public_code(&flow, &["openid", "contact.read"], &[]).await;
    // The code is not spent by a proof refused for its nonce.
    let asked = redeem_public(&flow, &code, &verifier, Some(key.proof("POST", &token_url, None))).await;
    let nonce = nonce_of(&asked);
    assert_eq!(error_of(asked).await, (StatusCode::BAD_REQUEST, "use_dpop_nonce".to_owned()));
    let proof = key.proof_with_nonce("POST", &token_url, None, &nonce);
    let response = redeem_public(&flow, &code, &verifier, Some(proof)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.expect("json");
    let token = tokens["access_token"].as_str().expect("access token");

    let userinfo = flow.app.url("/userinfo");
    let get = |proof: String| {
        flow.app
            .http
            .get(&userinfo)
            .header("authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
            .send()
    };
    // RFC 9449 §9: 401, a DPoP challenge with use_dpop_nonce, and the nonce.
    let response = get(key.proof("GET", &userinfo, Some(token))).await.expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
    assert!(challenge.starts_with("DPoP ") && challenge.contains("error=\"use_dpop_nonce\""), "{challenge}");
    let nonce = nonce_of(&response);

    let made_up = get(key.proof_with_nonce("GET", &userinfo, Some(token), "made-up")).await.expect("sent");
    assert_eq!(made_up.status(), StatusCode::UNAUTHORIZED);
    let challenge = made_up.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
    assert!(challenge.contains("error=\"use_dpop_nonce\""), "{challenge}");

    let response = get(key.proof_with_nonce("GET", &userinfo, Some(token), &nonce)).await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    nonce_of(&response);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["sub"], flow.user_id.as_str());
}
