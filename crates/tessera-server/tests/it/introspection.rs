//! `POST /introspect` (RFC 7662).

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_core::registration::ClientRegistration;
use tessera_testkit::TestApp;

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
