//! The audit trail: grants, refusals and admin changes are recorded, with who,
//! what and from where, and never a secret.

use tessera_store::{AuditOutcome, AuditQuery};
use tessera_testkit::TestApp;

async fn events(app: &TestApp, action: &str) -> Vec<tessera_store::AuditEvent> {
    // Grants are queued for a background writer; wait for what was queued.
    app.state().audit().flush().await;
    let query = AuditQuery { action: Some(action.into()), limit: 50, ..AuditQuery::default() };
    app.store().search_audit_events(&query).await.expect("search")
}

#[tokio::test]
async fn grants_and_refusals_are_recorded_without_secrets() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    let token = app.access_token(&client_id, &secret).await;
    let refused = app
        .post_with_basic("/token", &client_id, "wrong secret", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(refused.status(), 401);

    let issued = events(&app, "token.issued").await;
    assert_eq!(issued.len(), 1, "{issued:?}");
    let event = &issued[0];
    assert_eq!(
        (event.actor.as_str(), event.target.as_deref()),
        (format!("client:{client_id}").as_str(), Some(client_id.as_str()))
    );
    assert_eq!(event.outcome, AuditOutcome::Success);
    assert_eq!(event.ip.as_deref(), Some("127.0.0.1"));
    let details: serde_json::Value = serde_json::from_str(&event.details).expect("json");
    assert_eq!(details["grant_type"], "client_credentials");
    assert_eq!(details["scope"], "contact.read");
    assert_eq!(details["sub"], client_id.as_str());

    let refusals = events(&app, "token.refused").await;
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].outcome, AuditOutcome::Failure);
    let details: serde_json::Value = serde_json::from_str(&refusals[0].details).expect("json");
    assert_eq!(details["error"], "invalid_client");

    let everything = format!("{:?}", events(&app, "token.").await);
    for secret_text in [secret.as_str(), "wrong secret", token.as_str()] {
        assert!(!everything.contains(secret_text), "the trail holds no credential");
    }
}

#[tokio::test]
async fn admin_changes_are_recorded_before_they_are_acknowledged() {
    use tessera_core::user::Role;
    use tessera_server::admin::Actor;
    use tessera_server::admin::service;

    let app = TestApp::spawn().await;
    let user_id = app.add_user_with_role("ada", "console password 1", Role::Admin).await;
    let user = app.store().find_user(&user_id).await.expect("find").expect("exists");
    let actor = Actor { user, token_id: None, ip: Some("192.0.2.9".parse().expect("ip")) };
    let state = app.state().clone();
    let registration =
        tessera_core::registration::ClientRegistration { name: "Audited".into(), ..Default::default() };
    let created = service::create_client(&state, &actor, registration).await.expect("created");
    let secret = created.client_secret.expect("confidential");
    let rotated =
        service::rotate_client_secret(&state, &actor, &created.client.client_id, std::time::Duration::ZERO)
            .await
            .expect("rotated");

    // No flush: admin changes are written before the call returns.
    let query = AuditQuery { action: Some("client.".into()), limit: 10, ..AuditQuery::default() };
    let recorded = app.store().search_audit_events(&query).await.expect("search");
    let actions: Vec<&str> = recorded.iter().map(|event| event.action.as_str()).collect();
    assert_eq!(actions, ["client.secret_rotated", "client.created"]);
    assert!(
        recorded.iter().all(|event| event.actor == "user:ada" && event.ip.as_deref() == Some("192.0.2.9"))
    );
    let text = format!("{recorded:?}");
    assert!(!text.contains(&secret) && !text.contains(&rotated), "no secret in the trail");
}
