//! Refresh tokens: rotation, reuse detection, the grace window, narrowing,
//! and their introspection and revocation.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::code_flow::{Flow, REDIRECT, error_of, exchange, flow, flow_with, redeem, tokens};

async fn refresh(flow: &Flow, refresh_token: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    exchange(flow, &form).await
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().expect("a refresh token").to_owned()
}

#[tokio::test]
async fn the_code_flow_issues_a_refresh_token_that_rotates() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let first = tokens(&flow, &browser, &["contact.read", "contact.write"]).await;
    let rt1 = refresh_token_of(&first);
    assert!(rt1.len() >= 43);

    let response = refresh(&flow, &rt1, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: Value = response.json().await.expect("json");
    let rt2 = refresh_token_of(&second);
    assert_ne!(rt2, rt1, "a new refresh token every time");
    assert_eq!(second["scope"], "contact.read contact.write");
    let access = second["access_token"].as_str().expect("access token");
    let introspection = flow.app.introspect(&flow.client_id, &flow.secret, access).await;
    assert_eq!(introspection["sub"], flow.user_id.as_str());

    let third: Value = refresh(&flow, &rt2, None).await.json().await.expect("json");
    assert!(third["refresh_token"].is_string(), "the successor works in turn");
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_the_whole_family() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt1 = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    let rt2 = refresh_token_of(&refresh(&flow, &rt1, None).await.json::<Value>().await.expect("json"));

    let replay = refresh(&flow, &rt1, None).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(replay).await, "invalid_grant");
    let successor = refresh(&flow, &rt2, None).await;
    assert_eq!(error_of(successor).await, "invalid_grant", "the legitimate successor dies with the family");
}

/// RFC 9700 §4.14.2 under load: 20 simultaneous presentations of one refresh
/// token rotate it once; the other 19 are reuse, which revokes the family, so
/// even the one successor is dead afterwards.
#[tokio::test]
async fn concurrent_reuse_of_a_refresh_token_rotates_once_then_revokes_the_family() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    let responses = futures::future::join_all((0..20).map(|_| refresh(&flow, &rt, None))).await;
    let mut successors = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => successors.push(refresh_token_of(&response.json().await.expect("json"))),
            StatusCode::BAD_REQUEST => assert_eq!(error_of(response).await, "invalid_grant"),
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(successors.len(), 1, "exactly one presentation rotated the token");
    assert_eq!(error_of(refresh(&flow, &successors[0], None).await).await, "invalid_grant");
}

#[tokio::test]
async fn within_the_grace_window_a_rotated_token_gets_the_same_successor() {
    let flow = flow_with(|config| config.refresh_token_reuse_grace = Duration::from_secs(5)).await;
    let browser = flow.app.browser();
    let rt1 = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    let first: Value = refresh(&flow, &rt1, None).await.json().await.expect("json");
    let again = refresh(&flow, &rt1, None).await;
    assert_eq!(again.status(), StatusCode::OK, "a second tab refreshing at once is not an attack");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["refresh_token"], first["refresh_token"], "the same successor");
    assert_ne!(again["access_token"], first["access_token"]);
    let next = refresh(&flow, &refresh_token_of(&first), None).await;
    assert_eq!(next.status(), StatusCode::OK, "the family lives on");
}

#[tokio::test]
async fn refresh_may_narrow_the_scope_never_widen_it() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    let wider = refresh(&flow, &rt, Some("contact.read contact.write")).await;
    assert_eq!(wider.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(wider).await, "invalid_scope");

    let rt = refresh_token_of(&tokens(&flow, &browser, &["contact.read", "contact.write"]).await);
    let narrower: Value = refresh(&flow, &rt, Some("contact.read")).await.json().await.expect("json");
    assert_eq!(narrower["scope"], "contact.read");
    let full: Value = refresh(&flow, &refresh_token_of(&narrower), None).await.json().await.expect("json");
    assert_eq!(full["scope"], "contact.read contact.write", "the grant itself keeps its scope");
}

#[tokio::test]
async fn another_clients_refresh_token_is_invalid_grant() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    let other = flow
        .app
        .register(tessera_core::registration::ClientRegistration {
            name: "Other".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into()],
            ..Default::default()
        })
        .await;
    let secret = other.client_secret.expect("secret");
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
    let response = flow.app.post_with_basic("/token", &other.client.client_id, &secret, &form).await;
    assert_eq!(error_of(response).await, "invalid_grant");
    assert_eq!(refresh(&flow, &rt, None).await.status(), StatusCode::OK, "the owner's token was not touched");
}

#[tokio::test]
async fn refresh_tokens_are_introspected_and_revoked_by_family() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt1 = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    let answer = flow.app.introspect(&flow.client_id, &flow.secret, &rt1).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["sub"], flow.user_id.as_str());
    assert_eq!(answer["client_id"], flow.client_id.as_str());

    let rt2 = refresh_token_of(&refresh(&flow, &rt1, None).await.json::<Value>().await.expect("json"));
    assert_eq!(
        flow.app.introspect(&flow.client_id, &flow.secret, &rt1).await,
        json!({"active": false}),
        "rotated"
    );
    assert_eq!(flow.app.introspect(&flow.client_id, &flow.secret, &rt2).await["active"], true);

    let revoke = flow
        .app
        .post_with_basic(
            "/revoke",
            &flow.client_id,
            &flow.secret,
            &[("token", &rt2), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(flow.app.introspect(&flow.client_id, &flow.secret, &rt2).await, json!({"active": false}));
    assert_eq!(error_of(refresh(&flow, &rt2, None).await).await, "invalid_grant");
}

#[tokio::test]
async fn a_replayed_code_also_revokes_its_refresh_family() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, _, verifier) = flow.authorize_url(&["contact.read"]);
    let back = crate::code_flow::sign_in_and_approve(&flow, &browser, &url, &["contact.read"]).await;
    let code = crate::code_flow::query(&back, "code").expect("code");
    let first: Value = redeem(&flow, &code, verifier.secret()).await.json().await.expect("json");
    assert_eq!(error_of(redeem(&flow, &code, verifier.secret()).await).await, "invalid_grant");
    assert_eq!(error_of(refresh(&flow, &refresh_token_of(&first), None).await).await, "invalid_grant");
}

#[tokio::test]
async fn disabling_a_client_revokes_its_refresh_tokens_for_good() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    tessera_server::registry::set_client_disabled(flow.app.store(), &flow.client_id, true)
        .await
        .expect("disable");
    flow.app.caches_caught_up().await;
    assert_eq!(
        refresh(&flow, &rt, None).await.status(),
        StatusCode::UNAUTHORIZED,
        "a disabled client cannot authenticate"
    );
    tessera_server::registry::set_client_disabled(flow.app.store(), &flow.client_id, false)
        .await
        .expect("enable");
    flow.app.caches_caught_up().await;
    assert_eq!(
        error_of(refresh(&flow, &rt, None).await).await,
        "invalid_grant",
        "re-enabling does not revive the token"
    );
}

#[tokio::test]
async fn deleting_a_client_removes_its_refresh_tokens() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    let hash = tessera_core::secret::SecretHash::of(&rt);
    assert!(flow.app.store().find_refresh_token(&hash).await.expect("find").is_some());
    assert!(flow.app.store().delete_client(&flow.client_id).await.expect("delete"));
    assert!(flow.app.store().find_refresh_token(&hash).await.expect("find").is_none());
}

#[tokio::test]
async fn a_disabled_users_refresh_tokens_are_inactive_until_they_are_enabled() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let rt = refresh_token_of(&tokens(&flow, &browser, &["contact.read"]).await);
    set_user_disabled(&flow, true).await;
    assert_eq!(error_of(refresh(&flow, &rt, None).await).await, "invalid_grant");
    assert_eq!(
        flow.app.introspect(&flow.client_id, &flow.secret, &rt).await,
        json!({"active": false}),
        "introspection agrees with the token endpoint"
    );

    set_user_disabled(&flow, false).await;
    assert_eq!(flow.app.introspect(&flow.client_id, &flow.secret, &rt).await["active"], true);
    let answer = refresh(&flow, &rt, None).await;
    assert_eq!(answer.status(), StatusCode::OK, "the refusal did not spend the token");
}

async fn set_user_disabled(flow: &Flow, disabled: bool) {
    let store = flow.app.store();
    let mut user = store.find_user(&flow.user_id).await.expect("find").expect("user");
    user.disabled = disabled;
    assert!(store.update_user(&user).await.expect("update"));
}
