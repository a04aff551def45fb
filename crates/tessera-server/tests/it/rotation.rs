//! Client secret rotation with a grace period.

use std::time::Duration;

use tessera_server::{registry, unix_now};
use tessera_testkit::TestApp;

async fn token_status(app: &TestApp, client_id: &str, secret: &str) -> u16 {
    app.post_with_basic("/token", client_id, secret, &[("grant_type", "client_credentials")])
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn both_secrets_work_during_the_grace_period_then_only_the_new_one() {
    let app = TestApp::spawn().await;
    let (id, old) = app.confidential_client(&["contact.read"]).await;
    // Expiry is in whole seconds, so a grace of 2 s is at least 1 s long:
    // room for the cache to catch up and two requests, even on a busy machine.
    let new =
        registry::rotate_secret(app.store(), &id, Duration::from_secs(2), unix_now()).await.expect("rotate");
    app.caches_caught_up().await;
    assert_ne!(new, old);
    assert_eq!(token_status(&app, &id, &old).await, 200, "old secret within the grace period");
    assert_eq!(token_status(&app, &id, &new).await, 200, "new secret");

    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(token_status(&app, &id, &old).await, 401, "old secret after the grace period");
    assert_eq!(token_status(&app, &id, &new).await, 200, "new secret after the grace period");
}

#[tokio::test]
async fn rotation_without_grace_stops_the_old_secret_at_once() {
    let app = TestApp::spawn().await;
    let (id, old) = app.confidential_client(&["contact.read"]).await;
    let new = registry::rotate_secret(app.store(), &id, Duration::ZERO, unix_now()).await.expect("rotate");
    app.caches_caught_up().await;
    assert_eq!(token_status(&app, &id, &old).await, 401);
    assert_eq!(token_status(&app, &id, &new).await, 200);

    // Rotating twice: only the latest secret and its immediate predecessor can ever work.
    let newest =
        registry::rotate_secret(app.store(), &id, Duration::from_secs(60), unix_now()).await.expect("rotate");
    app.caches_caught_up().await;
    assert_eq!(token_status(&app, &id, &newest).await, 200);
    assert_eq!(token_status(&app, &id, &new).await, 200);
    assert_eq!(token_status(&app, &id, &old).await, 401);
}
