//! `/metrics` after real traffic, and the request id on every response.

use tessera_testkit::TestApp;

/// The value of the series whose line starts with `series`, or 0.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let response = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    response.text().await.expect("text")
}

#[tokio::test]
async fn counters_move_with_grants_refusals_and_requests() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    let before = scrape(&app).await;
    let issued = r#"tessera_grants_total{grant_type="client_credentials",outcome="issued"}"#;
    let refused = r#"tessera_grants_total{grant_type="client_credentials",outcome="refused"}"#;
    let invalid_client = r#"tessera_oauth_errors_total{error="invalid_client"}"#;
    let token_200 = r#"tessera_http_requests_total{method="POST",route="/token",status="200"}"#;

    for _ in 0..3 {
        app.access_token(&client_id, &secret).await;
    }
    let wrong =
        app.post_with_basic("/token", &client_id, "wrong", &[("grant_type", "client_credentials")]).await;
    assert_eq!(wrong.status(), 401);
    let odd = app.post_with_basic("/token", &client_id, &secret, &[("grant_type", "urn:made-up")]).await;
    assert_eq!(odd.status(), 400);

    let after = scrape(&app).await;
    assert_eq!(sample(&after, issued) - sample(&before, issued), 3.0, "{after}");
    assert_eq!(sample(&after, refused) - sample(&before, refused), 1.0);
    assert_eq!(sample(&after, invalid_client) - sample(&before, invalid_client), 1.0);
    assert_eq!(
        sample(&after, r#"tessera_grants_total{grant_type="other",outcome="refused"}"#),
        1.0,
        "unknown grant types share one series"
    );
    assert_eq!(sample(&after, token_200) - sample(&before, token_200), 3.0);
    assert!(sample(&after, r#"tessera_http_request_duration_seconds_count{route="/token"}"#) >= 5.0);
    assert!(after.contains("tessera_build_info{version=\""), "build info");
    assert!(!after.contains(&client_id), "no client id in any label");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let app = TestApp::spawn().await;
    let fresh = app.http.get(app.url("/healthz")).send().await.expect("get");
    let id = fresh.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert_eq!(id.len(), 25, "process prefix and counter: {id}");
    let other = app.http.get(app.url("/healthz")).send().await.expect("get");
    assert_ne!(other.headers()["x-request-id"], id.as_str(), "one per request");
    let kept =
        app.http.get(app.url("/nowhere")).header("x-request-id", "trace-me-42").send().await.expect("get");
    assert_eq!(kept.status(), 404);
    assert_eq!(kept.headers()["x-request-id"], "trace-me-42");
}
