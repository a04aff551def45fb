//! DPoP (RFC 9449): proofs built by hand in the test with keys generated here,
//! against a real server: binding at the token endpoint, refused proofs,
//! replay, bound refresh tokens of public clients, and userinfo.

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

use crate::code_flow::{Flow, REDIRECT, flow, query, sign_in_and_approve};

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
struct DpopKey(EcdsaKeyPair);

impl DpopKey {
    fn new() -> DpopKey {
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
    fn thumbprint(&self) -> String {
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
    fn proof(&self, htm: &str, htu: &str, access_token: Option<&str>) -> String {
        self.sign(&self.header(), &claims(htm, htu, access_token))
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
    let base = flow().await;
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

/// Authorizes `scopes` for the public client and redeems the code with a proof of `key`.
async fn public_tokens(flow: &Flow, key: &DpopKey, scopes: &[&str]) -> Value {
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
        .append_pair("code_challenge_method", "S256");
    let browser = flow.app.browser();
    let back = sign_in_and_approve(flow, &browser, &url, scopes).await;
    let code = query(&back, "code").unwrap_or_else(|| panic!("a code in {back}"));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let response =
        public_token_request(flow, &form, Some(key.proof("POST", &flow.app.url("/token"), None))).await;
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
