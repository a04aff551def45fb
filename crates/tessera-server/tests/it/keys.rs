//! Signing-key rotation as a running server sees it: next -> current ->
//! retired, old tokens valid until they expire, no restart needed.

use std::time::Duration;

use serde_json::Value;
use tessera_server::unix_now;
use tessera_testkit::TestApp;

fn kid_of(token: &str) -> String {
    let header = jsonwebtoken::decode_header(token).expect("JWS header");
    header.kid.expect("kid")
}

fn published(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

#[tokio::test]
async fn rotation_promotes_the_published_next_key_and_old_tokens_stay_valid() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let before = app.access_token(&id, &secret).await;
    let old_kid = kid_of(&before);
    let jwks_before = published(&app.get_json("/jwks.json").await);
    assert!(jwks_before.contains(&old_kid));
    let announced: Vec<String> = jwks_before.into_iter().filter(|kid| *kid != old_kid).collect();

    // What `tessera keys rotate` does, through a second connection.
    let rotations = tessera_server::keys::rotate_keys(app.store(), unix_now(), Duration::from_secs(86_400))
        .await
        .expect("rotate");
    assert_eq!(rotations.len(), 2, "ES256 and RS256 both rotate");
    app.caches_caught_up().await;

    let after = app.access_token(&id, &secret).await;
    let new_kid = kid_of(&after);
    assert_ne!(new_kid, old_kid);
    assert!(announced.contains(&new_kid), "the new signing key was published before it signed");
    let jwks_after = published(&app.get_json("/jwks.json").await);
    assert!(jwks_after.contains(&old_kid), "the retired key stays published");
    assert_eq!(jwks_after.len(), 6, "retired, current and next, for two algorithms: {jwks_after:?}");
    assert_eq!(app.introspect(&id, &secret, &before).await["active"], true, "old tokens live on");
    assert_eq!(app.introspect(&id, &secret, &after).await["active"], true);
}

#[tokio::test]
async fn keys_rotate_on_the_configured_schedule() {
    let app = TestApp::spawn_with(|config| {
        config.signing_key_rotation_interval = Some(Duration::from_secs(2));
    })
    .await;
    let (id, secret) = app.confidential_client(&["contact.read"]).await;
    let first = kid_of(&app.access_token(&id, &secret).await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let kid = kid_of(&app.access_token(&id, &secret).await);
        if kid != first {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no rotation within 20 s of a 2 s schedule");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
