//! A token from the real Tessera server validates through the guard, found by
//! discovery, with Tessera's default audience (the issuer); and Tessera's own
//! introspection endpoint drives the revocation check.

use std::time::Duration;

use tessera_guard::{GuardConfig, Introspection};
use tessera_testkit::TestApp;

use crate::support::{call, protected_service};

#[tokio::test]
async fn token_from_real_tessera_validates_through_discovery() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["invoices:read"]).await;
    let token = app.access_token(&client_id, &secret).await;
    // No audience configured: Tessera's default `aud` is its issuer.
    let introspection =
        Introspection::new(app.url("/introspect"), &client_id, &secret).cache_ttl(Duration::ZERO);
    let service =
        protected_service(GuardConfig::new(app.base_url.clone()).revocation_check(introspection)).await;

    let answer = call(&format!("{}/whoami", service.url), Some(&token), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["client_id"], client_id.as_str());
    let answer = call(&format!("{}/invoices", service.url), Some(&token), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Revoked at Tessera, refused by the guard at once.
    let revoked = app.post_with_basic("/revoke", &client_id, &secret, &[("token", &token)]).await;
    assert_eq!(revoked.status(), 200);
    let answer = call(&format!("{}/whoami", service.url), Some(&token), &[]).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.json()["error"], "invalid_token");
}

/// Tessera publishes its next key before it signs with it, so a guard that
/// fetched the JWKS before a rotation verifies tokens signed after it; and
/// tokens signed before it keep validating.
#[tokio::test]
async fn tokens_signed_after_a_tessera_key_rotation_validate() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["invoices:read"]).await;
    let service = protected_service(GuardConfig::new(app.base_url.clone())).await;
    let before = app.access_token(&client_id, &secret).await;
    let answer = call(&format!("{}/whoami", service.url), Some(&before), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // `tessera keys rotate`, through a second connection to the store.
    tessera_server::keys::rotate_keys(app.store(), tessera_server::unix_now(), Duration::from_secs(86_400))
        .await
        .expect("rotate");
    app.caches_caught_up().await;
    let after = app.access_token(&client_id, &secret).await;
    assert_ne!(kid_of(&after), kid_of(&before), "signed with the promoted key");
    for token in [&after, &before] {
        let answer = call(&format!("{}/whoami", service.url), Some(token), &[]).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("header");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64"),
    )
    .expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

/// A resource that asks Tessera for RS256 tokens (`[resources."URI"]` with
/// `signing_alg = "RS256"`) gets them signed by the RS256 key Tessera already
/// publishes, and the guard, configured for that resource, accepts them.
#[tokio::test]
async fn rs256_tokens_of_a_resource_validate_through_the_guard() {
    const LEDGER: &str = "https://ledger.example.com";
    let app = TestApp::spawn_with(|config| {
        config.resources.insert(
            tessera_core::resource::Resource::parse(LEDGER).expect("resource"),
            tessera_core::resource::ResourceSettings {
                signing_alg: tessera_core::jwt::Algorithm::Rs256,
                ..Default::default()
            },
        );
    })
    .await;
    app.add_scope("invoices:read").await;
    let created = app
        .register(tessera_core::registration::ClientRegistration {
            name: "Ledger sync".into(),
            scopes: vec!["invoices:read".into()],
            resources: vec![LEDGER.into()],
            ..Default::default()
        })
        .await;
    let (client_id, secret) = (created.client.client_id, created.client_secret.expect("secret"));
    let response = app
        .post_with_basic(
            "/token",
            &client_id,
            &secret,
            &[("grant_type", "client_credentials"), ("resource", LEDGER)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    let token = body["access_token"].as_str().expect("access token");
    assert_eq!(alg_of(token), "RS256");

    let service = protected_service(GuardConfig::new(app.base_url.clone()).audience(LEDGER)).await;
    let answer = call(&format!("{}/invoices", service.url), Some(token), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let elsewhere = protected_service(GuardConfig::new(app.base_url.clone())).await;
    let answer = call(&format!("{}/invoices", elsewhere.url), Some(token), &[]).await;
    assert_eq!(answer.status, 401, "a guard for another audience refuses it: {}", answer.body);
}

fn alg_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("header");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64"),
    )
    .expect("json");
    header["alg"].as_str().expect("alg").to_owned()
}
