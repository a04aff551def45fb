//! `POST /introspect` (RFC 7662), and its signed JWT answer (RFC 9701).

use std::io::{Read, Write};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use tessera_core::registration::ClientRegistration;
use tessera_testkit::{TestApp, form_body};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn decode_part(token: &str, idx: usize) -> Value {
    let part = token.split('.').nth(idx).expect("part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

#[tokio::test]
async fn live_token_is_active_with_its_claims() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let answer = app.introspect(&id, &secret, &token).await;
    let claims = decode_part(&token, 1);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "Bearer");
    for field in ["scope", "client_id", "sub", "exp", "iat", "nbf", "aud", "iss", "jti"] {
        assert_eq!(answer[field], claims[field], "{field}");
    }
    assert_eq!(answer["client_id"], id.as_str());
    assert_eq!(answer["iss"], app.base_url.as_str());
}

#[tokio::test]
async fn expired_token_is_inactive() {
    let app =
        TestApp::spawn_with(|config| config.access_token_lifetime = std::time::Duration::from_secs(1)).await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    assert_eq!(app.introspect(&id, &secret, &token).await["active"], true);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(app.introspect(&id, &secret, &token).await, json!({ "active": false }));
}

#[tokio::test]
async fn tampered_tokens_are_inactive() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read", "contact.write"]).await;
    let token = app.access_token(&id, &secret).await;
    let header = decode_part(&token, 0);
    let mut payload = decode_part(&token, 1);
    let signature = token.rsplit('.').next().expect("signature");

    payload["scope"] = json!("contact.read contact.write admin");
    let changed_payload = format!("{}.{}.{signature}", b64(&header), b64(&payload));

    let none_header = json!({ "alg": "none", "typ": "at+jwt", "kid": header["kid"] });
    let alg_none = format!("{}.{}.", b64(&none_header), b64(&payload));

    // The classic confusion attack: HS256 keyed with the server's public key.
    let jwks = app.get_json("/jwks.json").await;
    let public_key =
        jwks["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == header["kid"]).expect("key");
    let hs_header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": header["kid"] });
    let signing_input = format!("{}.{}", b64(&hs_header), b64(&payload));
    let mac = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, public_key.to_string().as_bytes()),
        signing_input.as_bytes(),
    );
    let hs256_with_public_key = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));

    // A token from another server (another key) with the same kid.
    let other = TestApp::spawn().await;
    let (other_id, other_secret) = other.confidential_client(&["contact.read"]).await;
    let foreign = other.access_token(&other_id, &other_secret).await;
    let foreign_parts: Vec<&str> = foreign.split('.').collect();
    let foreign_with_our_kid = format!("{}.{}.{}", b64(&header), foreign_parts[1], foreign_parts[2]);

    let wrong_typ = {
        let jwt_header = json!({ "alg": "ES256", "typ": "JWT", "kid": header["kid"] });
        format!("{}.{}.{signature}", b64(&jwt_header), token.split('.').nth(1).expect("payload"))
    };

    for (name, forged) in [
        ("changed payload", changed_payload),
        ("alg none", alg_none),
        ("HS256 with the public key", hs256_with_public_key),
        ("foreign key", foreign),
        ("foreign signature under our kid", foreign_with_our_kid),
        ("typ JWT instead of at+jwt", wrong_typ),
        ("garbage", "not.a.jwt".into()),
        ("unknown opaque token", "abc".into()),
    ] {
        assert_eq!(app.introspect(&id, &secret, &forged).await, json!({ "active": false }), "{name}");
    }
}

#[tokio::test]
async fn other_clients_tokens_need_the_introspection_permission() {
    let app = TestApp::spawn().await;
    let (owner_id, owner_secret) = app.confidential_client(&["contact.read"]).await;
    let (other_id, other_secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&owner_id, &owner_secret).await;
    assert_eq!(app.introspect(&other_id, &other_secret, &token).await, json!({ "active": false }));

    let resource_server = app
        .register(ClientRegistration {
            name: "Contacts API".into(),
            may_introspect_any_token: true,
            ..ClientRegistration::default()
        })
        .await;
    let api_secret = resource_server.client_secret.expect("secret");
    let answer = app.introspect(&resource_server.client.client_id, &api_secret, &token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], owner_id.as_str());
}

#[tokio::test]
async fn deleting_or_disabling_the_client_makes_its_tokens_inactive() {
    let app = TestApp::spawn().await;
    let api = app
        .register(ClientRegistration {
            name: "API".into(),
            may_introspect_any_token: true,
            ..Default::default()
        })
        .await;
    let (api_id, api_secret) = (api.client.client_id.clone(), api.client_secret.expect("secret"));
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    assert_eq!(app.introspect(&api_id, &api_secret, &token).await["active"], true);

    tessera_server::registry::set_client_disabled(app.store(), &id, true).await.expect("disable");
    app.caches_caught_up().await;
    assert_eq!(app.introspect(&api_id, &api_secret, &token).await, json!({ "active": false }));
    let refused = app.post_with_basic("/token", &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status(), 401, "a disabled client gets no tokens");

    tessera_server::registry::set_client_disabled(app.store(), &id, false).await.expect("enable");
    app.caches_caught_up().await;
    assert_eq!(app.introspect(&api_id, &api_secret, &token).await["active"], true);

    assert!(tessera_store::Store::delete_client(app.store(), &id).await.expect("delete"));
    app.caches_caught_up().await;
    assert_eq!(app.introspect(&api_id, &api_secret, &token).await, json!({ "active": false }));
}

#[tokio::test]
async fn callers_must_authenticate_and_send_a_token() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let response = app.post_with_basic("/introspect", &id, "wrong", &[("token", &token)]).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let response = app.post_with_basic("/introspect", &id, &secret, &[]).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    let get = app.http.get(app.url("/introspect")).send().await.expect("get");
    assert_eq!(get.status(), 405);
}

const JWT_MEDIA_TYPE: &str = "application/token-introspection+jwt";

/// Introspects `token` as the client, with these `Accept` lines (reqwest's
/// default `*/*` when there are none).
async fn introspect_accepting(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    token: &str,
    accept: &[&str],
) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("token", token)]));
    for value in accept {
        request = request.header("accept", *value);
    }
    request.send().await.expect("introspection request")
}

/// The JWT answer's compact serialization, after checking the response around it.
async fn jwt_answer(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], JWT_MEDIA_TYPE, "RFC 9701 §5");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["vary"], "accept");
    response.text().await.expect("body")
}

/// Verifies an RFC 9701 answer against the served JWKS, as a resource server
/// with `audience` as its client_id would, and returns its claims.
async fn verify_introspection_jwt(app: &TestApp, jwt: &str, audience: &str) -> Value {
    let header = decode_header(jwt).expect("JWS header");
    assert_eq!(header.typ.as_deref(), Some("token-introspection+jwt"), "RFC 9701 §5 typ");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let kid = header.kid.expect("kid in header");
    let jwks: JwkSet = serde_json::from_value(app.get_json("/jwks.json").await).expect("a JWK set");
    let key =
        DecodingKey::from_jwk(jwks.find(&kid).expect("the signing key is published")).expect("usable key");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[&app.base_url]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    // No `exp` to validate: RFC 9701 §5 says the answer SHOULD NOT carry one.
    validation.validate_exp = false;
    validation.leeway = 0;
    let claims = decode::<Value>(jwt, &key, &validation).expect("signature and claims verify").claims;
    let mut names: Vec<&str> =
        claims.as_object().expect("claims object").keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["aud", "iat", "iss", "token_introspection"],
        "exactly RFC 9701's top-level claims: no sub, exp, jti, scope or client_id"
    );
    assert_eq!(claims["iss"], app.base_url.as_str());
    assert_eq!(claims["aud"], audience, "aud is the calling resource server");
    let iat = claims["iat"].as_u64().expect("iat");
    let now = tessera_server::unix_now();
    assert!(iat <= now && now - iat < 60, "iat is now");
    claims
}

/// A resource server that may introspect every client's tokens.
async fn resource_server(app: &TestApp) -> (String, String) {
    let api = app
        .register(ClientRegistration {
            name: "Contacts API".into(),
            may_introspect_any_token: true,
            ..ClientRegistration::default()
        })
        .await;
    (api.client.client_id.clone(), api.client_secret.expect("secret"))
}

#[tokio::test]
async fn jwt_answer_is_signed_for_the_caller_and_wraps_the_json_answer() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let (api_id, api_secret) = resource_server(&app).await;
    let token = app.access_token(&id, &secret).await;
    let plain = app.introspect(&api_id, &api_secret, &token).await;
    assert_eq!(plain["active"], true);

    let jwt =
        jwt_answer(introspect_accepting(&app, &api_id, &api_secret, &token, &[JWT_MEDIA_TYPE]).await).await;
    let claims = verify_introspection_jwt(&app, &jwt, &api_id).await;
    assert_eq!(claims["token_introspection"], plain, "the same answer the JSON endpoint gives");
    let answer = &claims["token_introspection"];
    let token_claims = decode_part(&token, 1);
    for field in ["scope", "client_id", "sub", "exp", "iat", "nbf", "aud", "iss", "jti"] {
        assert_eq!(answer[field], token_claims[field], "{field}");
    }
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], id.as_str(), "the token's client, not the caller");

    // The answer is no access token: introspecting it finds nothing active.
    assert_eq!(app.introspect(&api_id, &api_secret, &jwt).await, json!({ "active": false }));

    // The token's own client may ask too; the answer is then addressed to it.
    let own = jwt_answer(introspect_accepting(&app, &id, &secret, &token, &[JWT_MEDIA_TYPE]).await).await;
    let claims = verify_introspection_jwt(&app, &own, &id).await;
    assert_eq!(claims["token_introspection"], app.introspect(&id, &secret, &token).await);
}

#[tokio::test]
async fn inactive_tokens_get_a_signed_inactive_answer() {
    let app = TestApp::spawn().await;
    let (owner_id, owner_secret) = app.confidential_client(&["contact.read"]).await;
    let (other_id, other_secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&owner_id, &owner_secret).await;
    for (name, presented) in [
        ("garbage", "not.a.jwt".to_owned()),
        ("unknown opaque token", "abc".to_owned()),
        ("another client's token, without the permission", token),
    ] {
        let response =
            introspect_accepting(&app, &other_id, &other_secret, &presented, &[JWT_MEDIA_TYPE]).await;
        let claims = verify_introspection_jwt(&app, &jwt_answer(response).await, &other_id).await;
        assert_eq!(claims["token_introspection"], json!({ "active": false }), "{name}");
    }
}

#[tokio::test]
async fn without_a_jwt_in_accept_the_answer_is_json() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let expected = app.introspect(&id, &secret, &token).await;
    assert_eq!(expected["active"], true);
    for accept in ["*/*", "application/json", "application/*", "text/html", "application/jwt"] {
        let response = introspect_accepting(&app, &id, &secret, &token, &[accept]).await;
        assert_eq!(response.status(), 200, "{accept}");
        assert_eq!(response.headers()["content-type"], "application/json", "{accept}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{accept}");
        assert_eq!(response.json::<Value>().await.expect("json"), expected, "{accept}");
    }

    // No Accept field at all (reqwest always sends one): raw HTTP/1.1.
    let address = app.local_url.strip_prefix("http://").expect("http address").to_owned();
    let credentials = STANDARD.encode(format!("{id}:{secret}"));
    let body = form_body(&[("token", &token)]);
    let request = format!(
        "POST /introspect HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read");
        raw
    })
    .await
    .expect("raw request");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("\r\ncontent-type: application/json\r\n"), "{head}");
    assert!(head.contains("\r\ncache-control: no-store\r\n"), "{head}");
    assert_eq!(serde_json::from_str::<Value>(body).expect("json body"), expected);
}

#[tokio::test]
async fn accept_lists_and_qvalues_choose_the_format() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let expected = app.introspect(&id, &secret, &token).await;
    let cases: &[(&[&str], bool)] = &[
        (&["application/json;q=0.5, application/token-introspection+jwt"], true),
        (&["application/json, application/token-introspection+jwt"], true),
        (&["application/token-introspection+jwt;q=0.9, application/json;q=0.8"], true),
        (&["*/*, Application/Token-Introspection+JWT"], true),
        (&["application/json;q=0.1", "application/token-introspection+jwt"], true),
        (&["application/token-introspection+jwt;q=0.5, application/json"], false),
        (&["application/token-introspection+jwt;q=0.5, */*"], false),
        (&["application/token-introspection+jwt;q=0"], false),
        (&["application/token-introspection+jwt;q=2"], false),
    ];
    for (accept, jwt) in cases {
        let response = introspect_accepting(&app, &id, &secret, &token, accept).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        if *jwt {
            let claims = verify_introspection_jwt(&app, &jwt_answer(response).await, &id).await;
            assert_eq!(claims["token_introspection"], expected, "{accept:?}");
        } else {
            assert_eq!(response.headers()["content-type"], "application/json", "{accept:?}");
            assert_eq!(response.json::<Value>().await.expect("json"), expected, "{accept:?}");
        }
    }
}

#[tokio::test]
async fn errors_stay_json_when_a_jwt_is_asked_for() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let response = introspect_accepting(&app, &id, "wrong", &token, &[JWT_MEDIA_TYPE]).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.expect("json")["error"], "invalid_client");
    let response = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", JWT_MEDIA_TYPE)
        .body("")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.expect("json")["error"], "invalid_request");
}

#[tokio::test]
async fn discovery_advertises_the_introspection_signing_algorithm() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let jwt = jwt_answer(introspect_accepting(&app, &id, &secret, &token, &[JWT_MEDIA_TYPE]).await).await;
    let alg = decode_part(&jwt, 0)["alg"].clone();
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let metadata = app.get_json(path).await;
        assert_eq!(metadata["introspection_signing_alg_values_supported"], json!(["ES256"]), "{path}");
        assert_eq!(
            metadata["introspection_signing_alg_values_supported"],
            json!([alg]),
            "{path}: what signs"
        );
        for absent in
            ["introspection_encryption_alg_values_supported", "introspection_encryption_enc_values_supported"]
        {
            assert!(metadata.get(absent).is_none(), "{path}: {absent}: answers are never encrypted");
        }
    }
}
