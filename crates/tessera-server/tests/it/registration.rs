//! Dynamic client registration (RFC 7591) and management (RFC 7592).

use reqwest::Response;
use serde_json::{Value, json};
use tessera_core::secret::SecretHash;
use tessera_server::limits::Rate;
use tessera_server::registry;
use tessera_testkit::TestApp;

async fn app_with_token() -> (TestApp, String) {
    // Dozens of registrations from one address: more than the default rate allows (see `limits`).
    let app = TestApp::spawn_with(|config| config.limits.register_per_ip = Rate::Off).await;
    app.add_scope("contact.read").await;
    let token = registry::create_registration_token(app.store(), None, tessera_server::unix_now())
        .await
        .expect("initial access token");
    (app, token)
}

async fn register(app: &TestApp, token: Option<&str>, metadata: &Value) -> Response {
    let mut request = app.http.post(app.url("/register")).json(metadata);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("register request")
}

async fn expect_error(response: Response, status: u16, error: &str) -> Value {
    let seen = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").cloned();
    let body: Value = response.json().await.expect("json error");
    assert_eq!((seen, body["error"].as_str()), (status, Some(error)), "{body}");
    if error == "invalid_token" {
        let challenge = challenge.expect("WWW-Authenticate on 401");
        assert!(challenge.to_str().expect("ascii").starts_with("Bearer "), "{challenge:?}");
    }
    body
}

fn web_app() -> Value {
    json!({
        "client_name": "Partner portal",
        "client_uri": "https://partner.example.com",
        "redirect_uris": ["https://partner.example.com/cb", "http://127.0.0.1:8765/cb"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "contact.read",
        "logo_uri": "https://partner.example.com/logo.png"
    })
}

#[tokio::test]
async fn registration_returns_credentials_that_work_at_the_token_endpoint() {
    let (app, token) = app_with_token().await;
    let response = register(&app, Some(&token), &web_app()).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    let client_id = body["client_id"].as_str().expect("client_id");
    let secret = body["client_secret"].as_str().expect("client_secret");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["client_name"], "Partner portal");
    assert_eq!(body["client_uri"], "https://partner.example.com");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["scope"], "contact.read");
    assert_eq!(body["redirect_uris"].as_array().map(Vec::len), Some(2));
    assert!(body["registration_access_token"].as_str().is_some_and(|t| t.len() >= 43));
    assert_eq!(body["registration_client_uri"], app.url(&format!("/register/{client_id}")));
    assert!(body.get("logo_uri").is_none(), "unknown metadata is ignored, not echoed");

    let issued = app.access_token(client_id, secret).await;
    assert_eq!(app.introspect(client_id, secret, &issued).await["active"], true);
}

#[tokio::test]
async fn registration_needs_a_valid_initial_access_token() {
    let (app, _token) = app_with_token().await;
    expect_error(register(&app, None, &web_app()).await, 401, "invalid_token").await;
    expect_error(register(&app, Some("not-a-token"), &web_app()).await, 401, "invalid_token").await;

    let now = tessera_server::unix_now();
    let expired = "an-expired-initial-access-token-0123456789";
    tessera_store::Store::create_registration_token(
        app.store(),
        &SecretHash::of(expired),
        now - 10,
        Some(now - 1),
    )
    .await
    .expect("store");
    expect_error(register(&app, Some(expired), &web_app()).await, 401, "invalid_token").await;
}

#[tokio::test]
async fn a_configured_initial_access_token_works() {
    let configured = "configured-initial-access-token-0123456789";
    let app =
        TestApp::spawn_with(|config| config.initial_access_token = Some(SecretHash::of(configured))).await;
    let metadata = json!({ "client_name": "Batch job", "grant_types": ["client_credentials"] });
    assert_eq!(register(&app, Some(configured), &metadata).await.status(), 201);
}

#[tokio::test]
async fn each_kind_of_bad_metadata_is_refused() {
    let (app, token) = app_with_token().await;
    let with = |patch: Value| {
        let mut metadata = web_app();
        for (key, value) in patch.as_object().expect("object") {
            metadata[key] = value.clone();
        }
        metadata
    };
    let cases = [
        (with(json!({ "redirect_uris": ["/relative"] })), "invalid_redirect_uri"),
        (with(json!({ "redirect_uris": ["https://a.example.com/cb#frag"] })), "invalid_redirect_uri"),
        (with(json!({ "redirect_uris": ["http://a.example.com/cb"] })), "invalid_redirect_uri"),
        (with(json!({ "redirect_uris": ["javascript:alert(1)"] })), "invalid_redirect_uri"),
        (with(json!({ "redirect_uris": ["data:text/html,x"] })), "invalid_redirect_uri"),
        (with(json!({ "redirect_uris": [] })), "invalid_redirect_uri"),
        (with(json!({ "grant_types": ["password"] })), "invalid_client_metadata"),
        (
            with(json!({ "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"] })),
            "invalid_client_metadata",
        ),
        (with(json!({ "token_endpoint_auth_method": "private_key_jwt" })), "invalid_client_metadata"),
        (with(json!({ "response_types": ["token"] })), "invalid_client_metadata"),
        (with(json!({ "scope": "contact.read admin" })), "invalid_client_metadata"),
        (with(json!({ "redirect_uris": "https://a.example.com/cb" })), "invalid_client_metadata"),
        (with(json!({ "client_uri": "ftp://partner.example.com" })), "invalid_client_metadata"),
        (
            with(json!({ "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"] })),
            "invalid_client_metadata",
        ),
    ];
    for (metadata, error) in cases {
        expect_error(register(&app, Some(&token), &metadata).await, 400, error).await;
    }
    let clients = tessera_store::Store::list_clients(app.store()).await.expect("list");
    assert!(clients.is_empty(), "no refused registration leaves a client behind");

    let not_json = app
        .http
        .post(app.url("/register"))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("client_name=x")
        .send()
        .await
        .expect("send");
    expect_error(not_json, 400, "invalid_request").await;
}

#[tokio::test]
async fn public_clients_register_without_a_secret() {
    let (app, token) = app_with_token().await;
    let metadata = json!({
        "client_name": "Mobile app",
        "redirect_uris": ["com.example.mobile:/callback"],
        "token_endpoint_auth_method": "none",
        "scope": "contact.read"
    });
    let response = register(&app, Some(&token), &metadata).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["grant_types"], json!(["authorization_code", "refresh_token"]));
}

#[tokio::test]
async fn rfc7592_read_update_delete_with_the_registration_access_token() {
    let (app, token) = app_with_token().await;
    let created: Value = register(&app, Some(&token), &web_app()).await.json().await.expect("json");
    let client_id = created["client_id"].as_str().expect("id");
    let secret = created["client_secret"].as_str().expect("secret");
    let access = created["registration_access_token"].as_str().expect("registration token");
    let uri = created["registration_client_uri"].as_str().expect("uri");

    let read: Value =
        app.http.get(uri).bearer_auth(access).send().await.expect("read").json().await.expect("json");
    assert_eq!(read["client_name"], "Partner portal");
    assert!(read.get("client_secret").is_none(), "the secret is stored hashed and never shown again");

    let mut changed = web_app();
    changed["client_id"] = json!(client_id);
    changed["client_name"] = json!("Partner portal v2");
    changed["redirect_uris"] = json!(["https://partner.example.com/v2/cb"]);
    let response = app.http.put(uri).bearer_auth(access).json(&changed).send().await.expect("update");
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.expect("json");
    assert_eq!(updated["client_name"], "Partner portal v2");
    assert_eq!(updated["redirect_uris"], json!(["https://partner.example.com/v2/cb"]));
    let issued = app.access_token(client_id, secret).await;
    assert_eq!(
        app.introspect(client_id, secret, &issued).await["active"],
        true,
        "the secret survives an update"
    );

    changed["client_secret"] = json!("not-the-secret");
    let response = app.http.put(uri).bearer_auth(access).json(&changed).send().await.expect("update");
    expect_error(response, 400, "invalid_request").await;
    changed["client_secret"] = json!(secret);
    changed["redirect_uris"] = json!(["javascript:alert(1)"]);
    let response = app.http.put(uri).bearer_auth(access).json(&changed).send().await.expect("update");
    expect_error(response, 400, "invalid_redirect_uri").await;

    for bad_token in ["wrong", token.as_str()] {
        let response = app.http.get(uri).bearer_auth(bad_token).send().await.expect("read");
        expect_error(response, 401, "invalid_token").await;
    }
    let other: Value = register(&app, Some(&token), &web_app()).await.json().await.expect("json");
    let other_access = other["registration_access_token"].as_str().expect("token");
    let response = app.http.delete(uri).bearer_auth(other_access).send().await.expect("delete");
    expect_error(response, 401, "invalid_token").await;

    let response = app.http.delete(uri).bearer_auth(access).send().await.expect("delete");
    assert_eq!(response.status(), 204);
    let response = app.http.get(uri).bearer_auth(access).send().await.expect("read");
    expect_error(response, 401, "invalid_token").await;
    let refused =
        app.post_with_basic("/token", client_id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(refused.status(), 401);
    let api = app.confidential_client(&["contact.read"]).await;
    assert_eq!(app.introspect(&api.0, &api.1, &issued).await, json!({ "active": false }));
}
