//! `tessera proxy`'s engine between a real client and a real upstream that
//! echoes what it received.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Request;
use axum::response::Json;
use serde_json::{Value, json};
use tessera_guard::proxy::{ProxyConfig, serve_proxy};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{AUDIENCE, FakeIssuer, Served, SigningKey, serve};

/// Echoes method, path, query, headers and body as JSON.
async fn echo(request: Request) -> Json<Value> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.expect("upstream reads the body");
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("<binary>").to_owned()))
        .collect();
    Json(json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

struct Proxy {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    _upstream: Served,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

fn routes_toml(issuer: &str, unmatched: &str) -> String {
    format!(
        r#"
issuer = "{issuer}"
audience = ["{AUDIENCE}"]
unmatched = "{unmatched}"

[[routes]]
match = "GET /invoices/*"
scopes = ["invoices:read"]

[[routes]]
match = "POST /invoices"
scopes = ["invoices:write"]

[[routes]]
match = "/admin/**"
scopes = ["admin"]

[[routes]]
match = "GET /health"
public = true
"#
    )
}

async fn start_proxy(issuer: &FakeIssuer, unmatched: &str) -> Proxy {
    start_proxy_with(&routes_toml(&issuer.url, unmatched)).await
}

async fn start_proxy_with(routes: &str) -> Proxy {
    let upstream = serve(Router::new().fallback(echo)).await;
    let config =
        ProxyConfig::from_toml(routes, &format!("{}/api", upstream.url)).expect("routes file is valid");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let url = format!("http://{}", listener.local_addr().expect("proxy address"));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve_proxy(config, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("proxy serves");
    });
    Proxy { url, shutdown: Some(shutdown), task, _upstream: upstream }
}

#[tokio::test]
async fn proxy_forwards_the_request_with_the_callers_identity() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let proxy = start_proxy(&issuer, "forbidden").await;
    let token = key.token(&issuer.claims("invoices:read invoices:write"));
    let http = reqwest::Client::new();

    let response = http
        .post(format!("{}/invoices?draft=true&n=1", proxy.url))
        .bearer_auth(&token)
        .header("x-tessera-client-id", "spoofed-client")
        .header("X-Tessera-Admin", "yes")
        .header("x-custom", "kept")
        .body("{\"amount\": 42}")
        .send()
        .await
        .expect("proxied request");
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.expect("echo JSON");
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/api/invoices");
    assert_eq!(seen["query"], "draft=true&n=1");
    assert_eq!(seen["body"], "{\"amount\": 42}");
    let headers = &seen["headers"];
    assert_eq!(headers["x-tessera-client-id"], "client-1");
    assert_eq!(headers["x-tessera-subject"], "user-1");
    assert_eq!(headers["x-tessera-scope"], "invoices:read invoices:write");
    assert_eq!(headers["x-tessera-admin"], Value::Null, "spoofed X-Tessera-* headers are stripped");
    assert_eq!(headers["x-custom"], "kept");
    assert_eq!(headers["authorization"], format!("Bearer {token}"));

    // GET with a path parameter, and a public route without any token.
    let response =
        http.get(format!("{}/invoices/7", proxy.url)).bearer_auth(&token).send().await.expect("get");
    let seen: Value = response.json().await.expect("echo JSON");
    assert_eq!((seen["method"].as_str(), seen["path"].as_str()), (Some("GET"), Some("/api/invoices/7")));
    let response = http
        .get(format!("{}/health", proxy.url))
        .header("x-tessera-subject", "spoofed")
        .send()
        .await
        .expect("health");
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.expect("echo JSON");
    assert_eq!(seen["headers"]["x-tessera-subject"], Value::Null);
}

#[tokio::test]
async fn proxy_enforces_route_scopes() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let proxy = start_proxy(&issuer, "forbidden").await;
    let reader = key.token(&issuer.claims("invoices:read"));
    let http = reqwest::Client::new();

    let response = http.get(format!("{}/invoices/1", proxy.url)).send().await.expect("no token");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");

    let response =
        http.post(format!("{}/invoices", proxy.url)).bearer_auth(&reader).send().await.expect("post");
    assert_eq!(response.status(), 403);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"invoices:write\""
    );

    let response =
        http.get(format!("{}/admin/users", proxy.url)).bearer_auth(&reader).send().await.expect("admin");
    assert_eq!(response.status(), 403);
    // Spelling a path differently does not dodge its route.
    let response = http
        .get(format!("{}/invoices/1/..%2F..%2Fadmin", proxy.url))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("dots");
    assert_eq!(response.status(), 400);
    let admin = key.token(&issuer.claims("admin"));
    let response = http
        .delete(format!("{}/%61dmin/users/3", proxy.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("admin");
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.expect("echo JSON");
    assert_eq!(seen["path"], "/api/%61dmin/users/3", "the path is forwarded as sent");
}

#[tokio::test]
async fn proxy_refuses_unmatched_routes() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let token = key.token(&issuer.claims("invoices:read admin"));
    let http = reqwest::Client::new();

    let proxy = start_proxy(&issuer, "forbidden").await;
    let response =
        http.get(format!("{}/payroll", proxy.url)).bearer_auth(&token).send().await.expect("payroll");
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("error JSON");
    assert_eq!(body["error"], "access_denied");
    // The method is part of the route: DELETE /invoices/1 matches nothing.
    let response =
        http.delete(format!("{}/invoices/1", proxy.url)).bearer_auth(&token).send().await.expect("delete");
    assert_eq!(response.status(), 403);

    let proxy = start_proxy(&issuer, "not_found").await;
    let response =
        http.get(format!("{}/payroll", proxy.url)).bearer_auth(&token).send().await.expect("payroll");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn routes_file_errors_name_the_problem() {
    let bad_pattern = "issuer = \"http://127.0.0.1:1\"\n[[routes]]\nmatch = \"GET invoices\"\nscopes = []\n";
    let error = ProxyConfig::from_toml(bad_pattern, "http://127.0.0.1:2").expect_err("relative path");
    assert!(error.to_string().contains("route `GET invoices`: the path must start with /"), "{error}");
    let unknown_key = "issuer = \"http://127.0.0.1:1\"\nunmatched = \"forbidden\"\ncolour = \"blue\"\n";
    let error = ProxyConfig::from_toml(unknown_key, "http://127.0.0.1:2").expect_err("unknown key");
    assert!(error.to_string().contains("colour"), "{error}");
    let error = ProxyConfig::from_toml("issuer = \"x\"", "not a url").expect_err("bad upstream");
    assert!(error.to_string().contains("upstream"), "{error}");
}

/// RFC 9728: the proxy serves its protected resource metadata, and a 401
/// points to it.
#[tokio::test]
async fn proxy_serves_protected_resource_metadata() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let routes = format!(
        "public_url = \"https://api.test/v1\"\nresource_name = \"Invoices\"\n{}",
        routes_toml(&issuer.url, "forbidden")
    );
    let proxy = start_proxy_with(&routes).await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/.well-known/oauth-protected-resource/v1", proxy.url))
        .send()
        .await
        .expect("metadata request");
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("JSON metadata");
    assert_eq!(document["resource"], "https://api.test/v1");
    assert_eq!(document["authorization_servers"], json!([issuer.url]));
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    assert_eq!(document["scopes_supported"], json!(["invoices:read", "invoices:write", "admin"]));
    assert_eq!(document["dpop_signing_alg_values_supported"], json!(["ES256", "RS256", "PS256"]));
    assert_eq!(document["resource_name"], "Invoices");

    let response = client.get(format!("{}/invoices/1", proxy.url)).send().await.expect("request");
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().expect("ascii").to_owned();
    assert_eq!(
        challenge,
        "Bearer resource_metadata=\"https://api.test/.well-known/oauth-protected-resource/v1\""
    );
}
