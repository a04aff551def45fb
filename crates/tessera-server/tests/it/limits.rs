//! Abuse limits over real connections: request rates answered with 429 and
//! `Retry-After`, and connections that trickle their headers or body.

use std::time::Duration;

use reqwest::Response;
use serde_json::{Value, json};
use tessera_server::limits::Rate;
use tessera_server::registry;
use tessera_testkit::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Asserts the RFC 6585 refusal: 429, a whole number of seconds to wait, a JSON error.
async fn assert_too_many(response: Response, most_seconds: u64) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!((1..=most_seconds).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json error");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
}

async fn client_credentials(app: &TestApp, client_id: &str, secret: &str) -> Response {
    app.post_with_basic("/token", client_id, secret, &[("grant_type", "client_credentials")]).await
}

async fn rejections(app: &TestApp, limit: &str) -> u64 {
    let text = app.http.get(app.url("/metrics")).send().await.expect("scrape").text().await.expect("text");
    let series = format!("tessera_rate_limit_rejections_total{{limit=\"{limit}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().expect("a count"))
}

#[tokio::test]
async fn a_client_over_its_token_rate_gets_429_and_other_clients_do_not() {
    let app = TestApp::spawn_with(|config| config.limits.token_per_client = Rate::per_minute(3)).await;
    let (busy, busy_secret) = app.confidential_client(&["contact.read"]).await;
    let (other, other_secret) = app.confidential_client(&["contact.read"]).await;
    for _ in 0..3 {
        assert_eq!(client_credentials(&app, &busy, &busy_secret).await.status(), 200);
    }
    // The bucket refills one request every 20 s.
    assert_too_many(client_credentials(&app, &busy, &busy_secret).await, 20).await;
    assert_eq!(client_credentials(&app, &other, &other_secret).await.status(), 200);
    // Revocation shares the token budget; introspection has its own.
    let revoke = app.post_with_basic("/revoke", &busy, &busy_secret, &[("token", "unknown")]).await;
    assert_eq!(revoke.status(), 429);
    let introspect = app.post_with_basic("/introspect", &busy, &busy_secret, &[("token", "unknown")]).await;
    assert_eq!(introspect.status(), 200);
    assert_eq!(rejections(&app, "token_per_client").await, 2);
}

#[tokio::test]
async fn naming_a_client_with_a_wrong_secret_does_not_spend_its_budget() {
    let app = TestApp::spawn_with(|config| config.limits.token_per_client = Rate::per_minute(2)).await;
    let (victim, secret) = app.confidential_client(&["contact.read"]).await;
    for _ in 0..10 {
        assert_eq!(client_credentials(&app, &victim, "guessed").await.status(), 401);
    }
    assert_eq!(client_credentials(&app, &victim, &secret).await.status(), 200);
}

#[tokio::test]
async fn an_address_over_its_rate_is_refused_before_authentication() {
    let app = TestApp::spawn_with(|config| config.limits.per_ip = Rate::per_minute(5)).await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    for _ in 0..5 {
        assert_eq!(client_credentials(&app, &client_id, "guessed").await.status(), 401);
    }
    // Even the right secret waits: guessing is slowed per address.
    assert_too_many(client_credentials(&app, &client_id, &secret).await, 12).await;
    let introspect = app.post_with_basic("/introspect", &client_id, &secret, &[("token", "x")]).await;
    assert_too_many(introspect, 12).await;
    assert_eq!(rejections(&app, "per_ip").await, 2);
    // Refused by the limit, not by the grant: a flood writes nothing to the audit trail.
    app.state().audit().flush().await;
    let query = tessera_store::AuditQuery { action: Some("token.".into()), limit: 100, ..Default::default() };
    let events = app.store().search_audit_events(&query).await.expect("audit search");
    assert_eq!(events.len(), 5, "the five refusals for a wrong secret, not the rate-limited ones");
}

#[tokio::test]
async fn dynamic_registration_is_limited_per_address() {
    let app = TestApp::spawn_with(|config| config.limits.register_per_ip = Rate::per_minute(2)).await;
    let token = registry::create_registration_token(app.store(), None, tessera_server::unix_now())
        .await
        .expect("initial access token");
    let metadata = json!({
        "client_name": "Agent",
        "redirect_uris": ["http://127.0.0.1:8765/cb"],
        "token_endpoint_auth_method": "none"
    });
    let register = || app.http.post(app.url("/register")).bearer_auth(&token).json(&metadata).send();
    for _ in 0..2 {
        assert_eq!(register().await.expect("register").status(), 201);
    }
    assert_too_many(register().await.expect("register"), 30).await;
}

#[tokio::test]
async fn turned_off_a_rate_admits_everything() {
    let app = TestApp::spawn_with(|config| {
        config.limits.per_ip = Rate::Off;
        config.limits.token_per_client = Rate::Off;
    })
    .await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    for _ in 0..150 {
        assert_eq!(client_credentials(&app, &client_id, &secret).await.status(), 200);
    }
}

/// The server closes a connection: the read ends (EOF or reset). Returns what was read.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_connection_that_trickles_its_headers_is_closed() {
    let app = TestApp::spawn_with(|config| config.limits.header_read_timeout = Duration::from_secs(1)).await;
    let address = app.local_url.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&address).await.expect("connect");
    slow.write_all(b"POST /token HTTP/1.1\r\nHost: tessera\r\nX-Slow: ").await.expect("write");
    let mut trickle = tokio::spawn(async move {
        // One byte a quarter second, never finishing the headers.
        for _ in 0..200 {
            if slow.write_all(b"a").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    });
    let closed = tokio::time::timeout(Duration::from_secs(20), &mut trickle).await;
    assert!(matches!(closed, Ok(Ok(true))), "the trickling connection was never closed");
    // The server is unaffected.
    assert_eq!(app.http.get(app.url("/healthz")).send().await.expect("healthz").status(), 200);

    // A connection that never sends anything is closed too.
    let mut silent = TcpStream::connect(&address).await.expect("connect");
    assert_eq!(read_until_closed(&mut silent).await, "");

    // And so is a kept-alive connection that goes quiet after a request.
    let mut kept = TcpStream::connect(&address).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n").await.expect("write");
    let answer = read_until_closed(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408() {
    let app = TestApp::spawn_with(|config| config.limits.request_timeout = Duration::from_secs(1)).await;
    let address = app.local_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let head = "POST /token HTTP/1.1\r\nHost: tessera\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 100\r\n\r\ngrant_type=client";
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buffer = [0u8; 1024];
        while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => answer.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer while the body is awaited");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}
