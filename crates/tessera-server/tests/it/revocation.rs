//! `POST /revoke` (RFC 7009).

use serde_json::{Value, json};
use tessera_testkit::TestApp;

#[tokio::test]
async fn revoked_access_token_is_inactive_at_once() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let other_token = app.access_token(&id, &secret).await;

    let response = app
        .post_with_basic("/revoke", &id, &secret, &[("token", &token), ("token_type_hint", "access_token")])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(app.introspect(&id, &secret, &token).await, json!({ "active": false }));
    assert_eq!(
        app.introspect(&id, &secret, &other_token).await["active"],
        true,
        "only that token is revoked"
    );
}

#[tokio::test]
async fn revoking_another_clients_token_has_no_effect() {
    let app = TestApp::spawn().await;
    let (owner_id, owner_secret) = app.confidential_client(&["contact.read"]).await;
    let (other_id, other_secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&owner_id, &owner_secret).await;

    let response = app.post_with_basic("/revoke", &other_id, &other_secret, &[("token", &token)]).await;
    assert_eq!(response.status(), 400, "RFC 7009 §2.1: the request is refused");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(app.introspect(&owner_id, &owner_secret, &token).await["active"], true);
}

#[tokio::test]
async fn unknown_and_malformed_tokens_get_200() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    for token in ["unknown-opaque-token", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let response = app.post_with_basic("/revoke", &id, &secret, &[("token", token)]).await;
        assert_eq!(response.status(), 200, "{token}");
    }
    let response = app
        .post_with_basic("/revoke", &id, &secret, &[("token", "x"), ("token_type_hint", "refresh_token")])
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn revocation_needs_client_authentication_and_a_token() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&id, &secret).await;
    let response = app.post_with_basic("/revoke", &id, "wrong", &[("token", &token)]).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        app.introspect(&id, &secret, &token).await["active"],
        true,
        "a failed revocation revokes nothing"
    );
    let response = app.post_with_basic("/revoke", &id, &secret, &[]).await;
    assert_eq!(response.status(), 400);
}
