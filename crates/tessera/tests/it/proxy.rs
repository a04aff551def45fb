//! `tessera proxy`: a real upstream API behind the proxy, tokens from a real
//! `tessera serve`, all three as separate pieces on loopback.

use axum::Json;
use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::util::{Dir, ServeProcess, json};

/// An upstream that answers with what it received.
async fn echo_upstream() -> String {
    let app = axum::Router::new().fallback(|uri: axum::http::Uri, headers: HeaderMap| async move {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        Json(json!({
            "path": uri.path(),
            "client_id": header("x-tessera-client-id"),
            "subject": header("x-tessera-subject"),
            "scope": header("x-tessera-scope"),
        }))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn proxy_checks_tokens_and_scopes_then_forwards_the_callers_identity() {
    let dir = Dir::new();
    let tessera = ServeProcess::start(dir.command(&["serve", "--listen", "127.0.0.1:0"]));
    dir.run(&["scope", "add", "invoices:read", "--description", "Read invoices"]);
    let created = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Books",
        "--scope",
        "invoices:read",
        "--output",
        "json",
    ]));
    let (id, secret) =
        (created["client_id"].as_str().expect("id"), created["client_secret"].as_str().expect("secret"));
    std::fs::write(
        dir.path().join("routes.toml"),
        format!(
            "issuer = {:?}\n\n[[routes]]\nmatch = \"GET /invoices/*\"\nscopes = [\"invoices:read\"]\n\n[[routes]]\nmatch = \"/admin/**\"\nscopes = [\"admin\"]\n",
            tessera.issuer
        ),
    )
    .expect("routes file");
    let upstream = echo_upstream().await;
    let proxy = ServeProcess::start(dir.command(&[
        "--config",
        "routes.toml",
        "proxy",
        "--upstream",
        &upstream,
        "--listen",
        "127.0.0.1:0",
    ]));

    let http = reqwest::Client::new();
    let token: Value = http
        .post(tessera.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("access_token");

    let forwarded = http
        .get(proxy.local("/invoices/42"))
        .bearer_auth(token)
        .header("x-tessera-client-id", "spoofed")
        .send()
        .await
        .expect("through the proxy");
    assert_eq!(forwarded.status(), StatusCode::OK);
    let seen: Value = forwarded.json().await.expect("json");
    assert_eq!(seen["path"], "/invoices/42");
    assert_eq!(seen["client_id"], id, "the caller's identity, never the spoofed header");
    assert_eq!(seen["subject"], id);
    assert_eq!(seen["scope"], "invoices:read");

    let anonymous = http.get(proxy.local("/invoices/42")).send().await.expect("no token");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers()["www-authenticate"].to_str().expect("ascii").starts_with("Bearer"));
    let admin = http.get(proxy.local("/admin/users")).bearer_auth(token).send().await.expect("admin");
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);
    assert!(admin.headers()["www-authenticate"].to_str().expect("ascii").contains("insufficient_scope"));
    let unlisted = http.get(proxy.local("/payroll")).bearer_auth(token).send().await.expect("unlisted");
    assert_eq!(unlisted.status(), StatusCode::FORBIDDEN, "routes not in the file are refused");
}

#[test]
fn proxy_needs_a_routes_file() {
    let dir = Dir::new();
    let stderr = dir.run_failing(&["proxy", "--upstream", "http://127.0.0.1:9"]);
    assert!(stderr.contains("--config ROUTES.toml"), "{stderr}");
}
