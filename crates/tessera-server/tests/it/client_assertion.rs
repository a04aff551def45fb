//! `private_key_jwt` client authentication (OpenID Connect Core §9, RFC 7523
//! §2.2): clients registered through RFC 7591 with their public keys, and
//! assertions signed in the test with keys generated here.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_server::limits::Rate;
use tessera_server::registry;
use tessera_testkit::TestApp;

use crate::document_server::{Answer, DocumentServer};

pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) enum Key {
    Es256(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl Key {
    pub(crate) fn es256() -> Key {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("P-256 key");
        Key::Es256(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("parse key"),
        )
    }

    fn rsa() -> Key {
        Key::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key"))
    }

    /// The public JWK, with `kid`.
    pub(crate) fn jwk(&self, kid: &str) -> Value {
        match self {
            Key::Es256(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                       "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])})
            }
            Key::Rsa(pair) => {
                let public = pair.public_key();
                json!({"kty": "RSA", "kid": kid,
                       "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                       "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero())})
            }
        }
    }

    fn sign(&self, alg: &str, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Key::Es256(pair) => pair.sign(&rng, message).expect("sign").as_ref().to_vec(),
            Key::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                let padding = if alg == "PS256" { &RSA_PSS_SHA256 } else { &RSA_PKCS1_SHA256 };
                pair.sign(padding, &rng, message, &mut signature).expect("sign");
                signature
            }
        }
    }
}

fn compact(header: &Value, claims: &Value, signature: &[u8]) -> String {
    let input = signing_input(header, claims);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

pub(crate) fn signed(key: &Key, header: &Value, claims: &Value) -> String {
    let alg = header["alg"].as_str().expect("alg");
    compact(header, claims, &key.sign(alg, signing_input(header, claims).as_bytes()))
}

fn now() -> u64 {
    tessera_server::unix_now()
}

fn claims(app: &TestApp, client_id: &str, jti: &str) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": app.url("/token"),
           "iat": now(), "exp": now() + 60, "jti": jti})
}

async fn app_with_token() -> (TestApp, String) {
    let app = TestApp::spawn_with(|config| config.limits.register_per_ip = Rate::Off).await;
    app.add_scope("contact.read").await;
    let token = registry::create_registration_token(app.store(), None, now()).await.expect("token");
    (app, token)
}

async fn register(app: &TestApp, token: &str, metadata: &Value) -> reqwest::Response {
    app.http.post(app.url("/register")).bearer_auth(token).json(metadata).send().await.expect("register")
}

/// Registers a private_key_jwt client with `jwks`; returns its id.
async fn register_keyed(app: &TestApp, token: &str, jwks: Value) -> String {
    let response = register(
        app,
        token,
        &json!({"client_name": "Keyed", "grant_types": ["client_credentials"], "scope": "contact.read",
                "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt");
    assert!(body.get("client_secret").is_none(), "a key-authenticated client gets no secret: {body}");
    assert_eq!(body["jwks"], jwks, "the keys are echoed as registered");
    body["client_id"].as_str().expect("client_id").to_owned()
}

async fn token_with(app: &TestApp, assertion: &str) -> reqwest::Response {
    app.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
    .await
}

async fn expect_invalid_client(response: reqwest::Response, case: &str) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("json error");
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{case}: {body}");
}

#[tokio::test]
async fn es256_assertion_gets_a_token_once() {
    let (app, token) = app_with_token().await;
    let key = Key::es256();
    let client_id = register_keyed(&app, &token, json!({"keys": [key.jwk("k1")]})).await;

    let assertion =
        signed(&key, &json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}), &claims(&app, &client_id, "a-1"));
    let response = token_with(&app, &assertion).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(body["access_token"].is_string());
    assert_eq!(body["scope"], "contact.read");

    expect_invalid_client(token_with(&app, &assertion).await, "the same jti again").await;

    // With a matching client_id in the body, the issuer as audience, and no kid.
    let mut with_issuer = claims(&app, &client_id, "a-2");
    with_issuer["aud"] = json!([app.base_url]);
    let assertion = signed(&key, &json!({"alg": "ES256"}), &with_issuer);
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn rs256_and_ps256_assertions_work() {
    let (app, token) = app_with_token().await;
    let key = Key::rsa();
    let client_id = register_keyed(&app, &token, json!({"keys": [key.jwk("r1")]})).await;
    for (alg, jti) in [("RS256", "r-1"), ("PS256", "p-1")] {
        let assertion = signed(&key, &json!({"alg": alg, "kid": "r1"}), &claims(&app, &client_id, jti));
        assert_eq!(token_with(&app, &assertion).await.status(), 200, "{alg}");
    }
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    let (app, token) = app_with_token().await;
    let key = Key::es256();
    let jwk = key.jwk("k1");
    let client_id = register_keyed(&app, &token, json!({"keys": [jwk.clone()]})).await;
    let es256 = json!({"alg": "ES256", "kid": "k1"});
    let with = |jti: &str, name: &str, value: Value| {
        let mut claims = claims(&app, &client_id, jti);
        claims[name] = value;
        claims
    };

    let other_key = Key::es256();
    // The public JWK's JSON as an HMAC secret: the classic algorithm confusion.
    let hs256_header = json!({"alg": "HS256", "kid": "k1"});
    let hs256_claims = claims(&app, &client_id, "c-hs");
    let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, jwk.to_string().as_bytes());
    let hmac = aws_lc_rs::hmac::sign(&hmac_key, signing_input(&hs256_header, &hs256_claims).as_bytes());
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong aud",
            signed(&key, &es256, &with("c-1", "aud", json!("https://elsewhere.example.com/token"))),
        ),
        ("expired", signed(&key, &es256, &with("c-2", "exp", json!(now() - 120)))),
        ("exp too far ahead", signed(&key, &es256, &with("c-3", "exp", json!(now() + 3600)))),
        ("iss differs from sub", signed(&key, &es256, &with("c-4", "iss", json!("someone-else")))),
        ("no jti", {
            let mut claims = claims(&app, &client_id, "x");
            claims.as_object_mut().expect("object").remove("jti");
            signed(&key, &es256, &claims)
        }),
        ("iat in the future", signed(&key, &es256, &with("c-5", "iat", json!(now() + 600)))),
        ("signed by another key", signed(&other_key, &es256, &claims(&app, &client_id, "c-6"))),
        ("alg none", compact(&json!({"alg": "none"}), &claims(&app, &client_id, "c-7"), b"")),
        ("HS256 with the public key", compact(&hs256_header, &hs256_claims, hmac.as_ref())),
        ("not a JWT", "not-a-jwt".into()),
    ];
    for (case, assertion) in cases {
        expect_invalid_client(token_with(&app, &assertion).await, case).await;
    }

    // A body client_id naming another client, and a secret beside the assertion.
    let valid = signed(&key, &es256, &claims(&app, &client_id, "c-8"));
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "someone-else"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &valid),
            ],
        )
        .await;
    expect_invalid_client(response, "client_id differs").await;
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:other"),
                ("client_assertion", &valid),
            ],
        )
        .await;
    expect_invalid_client(response, "unknown assertion type").await;

    // None of the refusals spent the valid assertion.
    assert_eq!(token_with(&app, &valid).await.status(), 200);

    // A secret-based client cannot authenticate with an assertion.
    let (secret_client, _secret) = app.confidential_client(&["contact.read"]).await;
    let assertion = signed(&key, &es256, &claims(&app, &secret_client, "c-9"));
    expect_invalid_client(token_with(&app, &assertion).await, "secret client with an assertion").await;
}

#[tokio::test]
async fn registration_refuses_private_keys_and_unsupported_methods() {
    let (app, token) = app_with_token().await;
    let mut private = Key::es256().jwk("k1");
    private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    let base = json!({"client_name": "Keyed", "grant_types": ["client_credentials"], "scope": "contact.read",
                      "token_endpoint_auth_method": "private_key_jwt"});
    let with = |name: &str, value: Value| {
        let mut metadata = base.clone();
        metadata[name] = value;
        metadata
    };
    let mut secret_jwt = base.clone();
    secret_jwt["token_endpoint_auth_method"] = json!("client_secret_jwt");
    for (case, metadata) in [
        ("private key members", with("jwks", json!({"keys": [private]}))),
        ("no keys", base.clone()),
        ("symmetric key", with("jwks", json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))),
        ("an http jwks_uri", with("jwks_uri", json!("http://client.example.com/jwks.json"))),
        ("a relative jwks_uri", with("jwks_uri", json!("/jwks.json"))),
        ("both jwks and jwks_uri", {
            let mut both = with("jwks", json!({"keys": [Key::es256().jwk("k1")]}));
            both["jwks_uri"] = json!("https://client.example.com/jwks.json");
            both
        }),
        ("client_secret_jwt", secret_jwt),
    ] {
        let response = register(&app, &token, &metadata).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_client_metadata")),
            "{case}: {body}"
        );
    }
}

#[tokio::test]
async fn private_key_jwt_works_at_introspection_and_revocation() {
    let (app, token) = app_with_token().await;
    let key = Key::es256();
    let client_id = register_keyed(&app, &token, json!({"keys": [key.jwk("k1")]})).await;
    let header = json!({"alg": "ES256", "kid": "k1"});
    let assertion = signed(&key, &header, &claims(&app, &client_id, "t-1"));
    let body: Value = token_with(&app, &assertion).await.json().await.expect("json");
    let access_token = body["access_token"].as_str().expect("access_token").to_owned();

    let authenticated = |jti: &str, aud: &str| {
        let mut claims = claims(&app, &client_id, jti);
        claims["aud"] = json!(aud);
        signed(&key, &header, &claims)
    };
    let introspection_assertion = authenticated("i-1", &app.url("/introspect"));
    let response = app
        .post_form(
            "/introspect",
            &[
                ("token", &access_token),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &introspection_assertion),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], client_id.as_str());

    let revocation_assertion = authenticated("v-1", &app.url("/revoke"));
    let response = app
        .post_form(
            "/revoke",
            &[
                ("token", &access_token),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &revocation_assertion),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);

    let again = authenticated("i-2", &app.base_url);
    let response = app
        .post_form(
            "/introspect",
            &[
                ("token", &access_token),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &again),
            ],
        )
        .await;
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["active"], false, "revoked");

    let replayed = app
        .post_form(
            "/introspect",
            &[
                ("token", &access_token),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &introspection_assertion),
            ],
        )
        .await;
    expect_invalid_client(replayed, "replay at introspection").await;
}

#[tokio::test]
async fn discovery_lists_private_key_jwt() {
    let app = TestApp::spawn().await;
    let metadata = app.get_json("/.well-known/openid-configuration").await;
    for field in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        let methods = metadata[field].as_array().expect(field);
        assert!(methods.contains(&json!("private_key_jwt")), "{field}: {methods:?}");
        assert!(!methods.contains(&json!("client_secret_jwt")), "{field}: {methods:?}");
    }
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "RS256", "PS256"])
    );
}

/// A server that may fetch from the local document server (http, loopback).
async fn app_fetching_locally() -> (TestApp, String, DocumentServer) {
    let app = TestApp::spawn_with(|config| {
        config.limits.register_per_ip = Rate::Off;
        config.outbound.allow_http = true;
        config.outbound.allow_private_addresses = true;
    })
    .await;
    app.add_scope("contact.read").await;
    let token = registry::create_registration_token(app.store(), None, now()).await.expect("token");
    (app, token, DocumentServer::start().await)
}

/// Registers a private_key_jwt client whose keys are at `jwks_uri`; returns its id.
async fn register_with_jwks_uri(app: &TestApp, token: &str, jwks_uri: &str) -> String {
    let response = register(
        app,
        token,
        &json!({"client_name": "Rotating", "grant_types": ["client_credentials"], "scope": "contact.read",
                "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": jwks_uri}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["jwks_uri"], jwks_uri, "{body}");
    assert!(body.get("jwks").is_none() && body.get("client_secret").is_none(), "{body}");
    body["client_id"].as_str().expect("client_id").to_owned()
}

#[tokio::test]
async fn a_jwks_uri_client_authenticates_with_the_keys_fetched_once() {
    let (app, token, documents) = app_fetching_locally().await;
    let key = Key::es256();
    documents.serve_json("/jwks.json", &json!({"keys": [key.jwk("k1")]}));
    let client_id = register_with_jwks_uri(&app, &token, &documents.url("/jwks.json")).await;
    assert_eq!(documents.hits("/jwks.json"), 0, "registration does not fetch");

    for (jti, header) in [("u-1", json!({"alg": "ES256", "kid": "k1"})), ("u-2", json!({"alg": "ES256"}))] {
        let assertion = signed(&key, &header, &claims(&app, &client_id, jti));
        let response = token_with(&app, &assertion).await;
        assert_eq!(response.status(), 200, "{jti}");
    }
    assert_eq!(documents.hits("/jwks.json"), 1, "the second authentication used the cached set");

    // Introspection authenticates the same way, from the same cache.
    let access_token = {
        let assertion = signed(&key, &json!({"alg": "ES256", "kid": "k1"}), &claims(&app, &client_id, "u-3"));
        let body: Value = token_with(&app, &assertion).await.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    };
    let mut introspection = claims(&app, &client_id, "u-4");
    introspection["aud"] = json!(app.url("/introspect"));
    let response = app
        .post_form(
            "/introspect",
            &[
                ("token", &access_token),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &signed(&key, &json!({"alg": "ES256", "kid": "k1"}), &introspection)),
            ],
        )
        .await;
    assert_eq!(response.json::<Value>().await.expect("json")["active"], true);
    assert_eq!(documents.hits("/jwks.json"), 1);

    // A key that is not in the published set still fails, whatever it signs.
    let stranger = Key::es256();
    let forged = signed(&stranger, &json!({"alg": "ES256", "kid": "k1"}), &claims(&app, &client_id, "u-5"));
    expect_invalid_client(token_with(&app, &forged).await, "a key the client did not publish").await;
}

#[tokio::test]
async fn a_key_rotation_at_the_jwks_uri_is_picked_up_on_an_unknown_kid() {
    let (app, token, documents) = app_fetching_locally().await;
    let old_key = Key::es256();
    documents.serve_json("/jwks.json", &json!({"keys": [old_key.jwk("2024")]}));
    let client_id = register_with_jwks_uri(&app, &token, &documents.url("/jwks.json")).await;
    let old = signed(&old_key, &json!({"alg": "ES256", "kid": "2024"}), &claims(&app, &client_id, "r-1"));
    assert_eq!(token_with(&app, &old).await.status(), 200);
    assert_eq!(documents.hits("/jwks.json"), 1);

    // The client rotates: a new key under a new kid, the old one withdrawn.
    let new_key = Key::rsa();
    documents.serve_json("/jwks.json", &json!({"keys": [new_key.jwk("2025")]}));
    let new = signed(&new_key, &json!({"alg": "PS256", "kid": "2025"}), &claims(&app, &client_id, "r-2"));
    assert_eq!(token_with(&app, &new).await.status(), 200, "the unknown kid made the set be fetched again");
    assert_eq!(documents.hits("/jwks.json"), 2);
    let stale = signed(&old_key, &json!({"alg": "ES256", "kid": "2024"}), &claims(&app, &client_id, "r-3"));
    expect_invalid_client(token_with(&app, &stale).await, "the withdrawn key").await;

    // Unknown kids right after do not make the server fetch again.
    for (index, kid) in ["2026", "2027", "2028"].iter().enumerate() {
        let attempt = signed(
            &new_key,
            &json!({"alg": "PS256", "kid": kid}),
            &claims(&app, &client_id, &format!("r-x{index}")),
        );
        expect_invalid_client(token_with(&app, &attempt).await, "an unknown kid within a minute").await;
    }
    assert_eq!(documents.hits("/jwks.json"), 2, "at most one refetch per minute");
    let again = signed(&new_key, &json!({"alg": "PS256", "kid": "2025"}), &claims(&app, &client_id, "r-4"));
    assert_eq!(token_with(&app, &again).await.status(), 200);
}

#[tokio::test]
async fn a_jwks_uri_that_fails_is_invalid_client() {
    let (app, token, documents) = app_fetching_locally().await;
    let key = Key::es256();
    let cases: Vec<(&str, Answer, &str)> = vec![
        ("/down.json", Answer::status(503), "the answer was HTTP 503, not 200"),
        ("/html.json", Answer::typed("text/html", "<html>"), "Content-Type `text/html` is not JSON"),
        (
            "/private.json",
            Answer::json(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})),
            "private key member `k`",
        ),
        ("/empty.json", Answer::json(&json!({"keys": []})), "no usable signing key"),
        (
            "/moved.json",
            Answer::redirect("https://elsewhere.example.com/jwks.json"),
            "redirects are not followed",
        ),
    ];
    for (path, answer, why) in cases {
        documents.serve(path, answer);
        let client_id = register_with_jwks_uri(&app, &token, &documents.url(path)).await;
        for attempt in ["f-1", "f-2"] {
            let assertion =
                signed(&key, &json!({"alg": "ES256", "kid": "k1"}), &claims(&app, &client_id, attempt));
            let response = token_with(&app, &assertion).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json");
            assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{path}: {body}");
            let description = body["error_description"].as_str().expect("description");
            assert!(description.contains("jwks_uri") && description.contains(why), "{path}: {description}");
        }
        assert_eq!(documents.hits(path), 1, "{path}: the failure was remembered, not fetched again");
    }
}

#[tokio::test]
async fn a_jwks_uri_on_a_private_address_is_refused_with_the_default_settings() {
    let app = TestApp::spawn_with(|config| config.limits.register_per_ip = Rate::Off).await;
    app.add_scope("contact.read").await;
    let token = registry::create_registration_token(app.store(), None, now()).await.expect("token");
    let documents = DocumentServer::start().await;
    let key = Key::es256();
    documents.serve_json("/jwks.json", &json!({"keys": [key.jwk("k1")]}));
    // https on loopback registers (it is a URL), but is never fetched.
    let https_loopback = documents.url("/jwks.json").replace("http://", "https://");
    let client_id = register_with_jwks_uri(&app, &token, &https_loopback).await;
    let assertion = signed(&key, &json!({"alg": "ES256", "kid": "k1"}), &claims(&app, &client_id, "p-1"));
    let response = token_with(&app, &assertion).await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"].as_str().is_some_and(|d| d.contains("127.0.0.1 is not a public address")),
        "{body}"
    );
    assert_eq!(documents.hits("/jwks.json"), 0);
}
