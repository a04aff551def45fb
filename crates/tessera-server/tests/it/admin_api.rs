//! The admin JSON API (`/admin/api/…`) end to end: authentication, roles,
//! each endpoint's happy path and errors, and the OpenAPI document.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tessera_core::registration::ACCESS_TOKEN_LIFETIME_RANGE;
use tessera_core::scope::ScopeSet;
use tessera_core::user::{Role, User};
use tessera_server::admin::service::create_token_for;
use tessera_server::unix_now;
use tessera_server::users::{NewUser, add_user, check_credentials};
use tessera_testkit::TestApp;

const PASSWORD: &str = "correct horse battery";

/// A running server, an administrator and their API token.
struct Api {
    app: TestApp,
    admin: User,
    admin_token: String,
}

impl Api {
    async fn spawn() -> Api {
        let app = TestApp::spawn().await;
        let (admin, admin_token) = user_with_token(&app, "root", Role::Admin).await;
        Api { app, admin, admin_token }
    }

    fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.app.http.request(method, self.app.url(path)).bearer_auth(token)
    }

    async fn send(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    /// As the administrator; asserts `status` and returns the JSON body (`null` if empty).
    async fn admin(&self, method: Method, path: &str, body: Option<Value>, status: StatusCode) -> Value {
        let response = self.send(method.clone(), path, &self.admin_token, body).await;
        json_with_status(response, status, &format!("{method} {path}")).await
    }

    /// Creates a scope through the API.
    async fn scope(&self, name: &str) {
        let body = json!({ "name": name, "description": format!("Access to {name}") });
        self.admin(Method::POST, "/admin/api/scopes", Some(body), StatusCode::CREATED).await;
    }
}

/// A user with `role` and an admin API token acting as them.
async fn user_with_token(app: &TestApp, username: &str, role: Role) -> (User, String) {
    let new = NewUser { username: username.into(), password: PASSWORD.into(), role, ..NewUser::default() };
    let user = add_user(app.store(), new, unix_now()).await.expect("user added");
    let token = create_token_for(app.store(), &user, "test", None).await.expect("token").token;
    (user, token)
}

async fn json_with_status(response: Response, status: StatusCode, what: &str) -> Value {
    let seen = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(seen, status, "{what}: {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json body") }
}

/// Asserts an error response: its status, its code, and that it is JSON.
async fn expect_error(response: Response, status: StatusCode, error: &str) -> Value {
    let seen = response.status();
    let content_type = response.headers().get("content-type").cloned();
    let challenge = response.headers().get("www-authenticate").cloned();
    let text = response.text().await.expect("body");
    assert_eq!(seen, status, "{text}");
    assert_eq!(content_type.as_ref().and_then(|value| value.to_str().ok()), Some("application/json"));
    let body: Value = serde_json::from_str(&text).expect("json error");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(challenge.expect("WWW-Authenticate on 401"), "Bearer realm=\"tessera-admin\"");
    }
    body
}

fn machine_client(scopes: &[&str]) -> Value {
    json!({ "name": "Billing sync", "scopes": scopes })
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token_and_lists_every_path() {
    let api = Api::spawn().await;
    let response = api.app.http.get(api.app.url("/admin/api/openapi.json")).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: Value = response.json().await.expect("json");
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.")), "{document}");
    let paths = document["paths"].as_object().expect("paths");
    let expected = [
        ("/admin/api/openapi.json", &["get"][..]),
        ("/admin/api/clients", &["get", "post"]),
        ("/admin/api/clients/{client_id}", &["get", "put", "delete"]),
        ("/admin/api/clients/{client_id}/secret", &["post"]),
        ("/admin/api/clients/{client_id}/disable", &["post"]),
        ("/admin/api/clients/{client_id}/enable", &["post"]),
        ("/admin/api/scopes", &["get", "post"]),
        ("/admin/api/scopes/{name}", &["delete"]),
        ("/admin/api/users", &["get", "post"]),
        ("/admin/api/users/{user_id}", &["get", "patch"]),
        ("/admin/api/users/{user_id}/password", &["post"]),
        ("/admin/api/users/{user_id}/consents", &["get"]),
        ("/admin/api/users/{user_id}/consents/{client_id}", &["delete"]),
        ("/admin/api/tokens", &["get", "post"]),
        ("/admin/api/tokens/{token_id}", &["delete"]),
        ("/admin/api/audit", &["get"]),
    ];
    assert_eq!(paths.len(), expected.len(), "{:?}", paths.keys().collect::<Vec<_>>());
    let mut operation_ids = Vec::new();
    for (path, methods) in expected {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} is missing"));
        for method in methods {
            let operation = &item[*method];
            assert!(operation.is_object(), "{method} {path} is missing");
            operation_ids.push(operation["operationId"].as_str().expect("operationId").to_owned());
            if path != "/admin/api/openapi.json" {
                assert!(operation["responses"]["401"].is_object(), "{method} {path} documents no 401");
            }
        }
    }
    let n_operations = operation_ids.len();
    operation_ids.sort();
    operation_ids.dedup();
    assert_eq!(operation_ids.len(), n_operations, "operation ids must be unique");
    assert_eq!(document["security"], json!([{ "bearer": [] }]));
    assert_eq!(document["paths"]["/admin/api/openapi.json"]["get"]["security"], json!([{}]));
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // The schema's bounds are written as literals; they must stay the core's.
    let lifetime =
        &document["components"]["schemas"]["ApplicationInput"]["properties"]["access_token_lifetime"];
    assert_eq!(lifetime["minimum"], *ACCESS_TOKEN_LIFETIME_RANGE.start(), "{lifetime}");
    assert_eq!(lifetime["maximum"], *ACCESS_TOKEN_LIFETIME_RANGE.end(), "{lifetime}");
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let api = Api::spawn().await;
    let app = &api.app;
    let anonymous = app.http.get(app.url("/admin/api/clients")).send().await.expect("get");
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let basic = app.http.get(app.url("/admin/api/clients")).basic_auth("root", Some(PASSWORD)).send();
    expect_error(basic.await.expect("get"), StatusCode::UNAUTHORIZED, "invalid_token").await;
    let wrong = api.send(Method::GET, "/admin/api/clients", "tsa_not-a-token", None).await;
    expect_error(wrong, StatusCode::UNAUTHORIZED, "invalid_token").await;
    // Authentication comes before reading the body.
    let unauthenticated_post = app.http.post(app.url("/admin/api/clients")).body("not json").send().await;
    expect_error(unauthenticated_post.expect("post"), StatusCode::UNAUTHORIZED, "invalid_token").await;

    let (mut developer, token) = user_with_token(app, "dev", Role::Developer).await;
    api.send(Method::GET, "/admin/api/clients", &token, None).await.error_for_status().expect("works");
    developer.disabled = true;
    app.store().update_user(&developer).await.expect("disable");
    let disabled = api.send(Method::GET, "/admin/api/clients", &token, None).await;
    expect_error(disabled, StatusCode::UNAUTHORIZED, "invalid_token").await;
    // A user demoted to a plain user loses the API at once, token or not.
    developer.disabled = false;
    developer.role = Role::User;
    app.store().update_user(&developer).await.expect("demote");
    let demoted = api.send(Method::GET, "/admin/api/clients", &token, None).await;
    expect_error(demoted, StatusCode::UNAUTHORIZED, "invalid_token").await;

    let expired = create_token_for(app.store(), &api.admin, "short", Some(std::time::Duration::ZERO))
        .await
        .expect("token");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = api.send(Method::GET, "/admin/api/clients", &expired.token, None).await;
    expect_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_client_created_through_the_api_gets_tokens_with_its_secret() {
    let api = Api::spawn().await;
    api.scope("invoices.read").await;
    let response = api
        .send(Method::POST, "/admin/api/clients", &api.admin_token, Some(machine_client(&["invoices.read"])))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.expect("json");
    let client = &created["client"];
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let secret = created["client_secret"].as_str().expect("secret").to_owned();
    assert_eq!(client["name"], "Billing sync");
    assert_eq!(client["public"], false);
    assert_eq!(client["grant_types"], json!(["client_credentials"]));
    assert_eq!(client["scopes"], json!(["invoices.read"]));
    assert_eq!(client["owner"], Value::Null, "an administrator's client has no owner");
    assert!(!client.to_string().contains(&secret));

    let token = api.app.access_token(&client_id, &secret).await;
    assert!(!token.is_empty());

    let read = api.admin(Method::GET, &format!("/admin/api/clients/{client_id}"), None, StatusCode::OK).await;
    assert_eq!(read, *client);
    let list = api.admin(Method::GET, "/admin/api/clients", None, StatusCode::OK).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["clients"][0]["client_id"], client_id);
    assert!(!list.to_string().contains(&secret));
    let found =
        api.admin(Method::GET, "/admin/api/clients?search=BILLING&limit=5", None, StatusCode::OK).await;
    assert_eq!(found["total"], 1);
    let none = api.admin(Method::GET, "/admin/api/clients?search=payroll", None, StatusCode::OK).await;
    assert_eq!((none["total"].clone(), none["clients"].clone()), (json!(0), json!([])));
    let past_the_end = api.admin(Method::GET, "/admin/api/clients?offset=1", None, StatusCode::OK).await;
    assert_eq!((past_the_end["total"].clone(), past_the_end["clients"].clone()), (json!(1), json!([])));

    let update = json!({
        "name": "Billing sync v2",
        "organisation_url": "https://billing.example.com",
        "redirect_uris": ["https://billing.example.com/cb"],
        "scopes": ["invoices.read"],
        "access_token_lifetime": 300,
        "introspect_any_token": true
    });
    let path = format!("/admin/api/clients/{client_id}");
    let updated = api.admin(Method::PUT, &path, Some(update), StatusCode::OK).await;
    assert_eq!(updated["name"], "Billing sync v2");
    assert_eq!(updated["org_url"], "https://billing.example.com");
    assert_eq!(updated["access_token_lifetime"], 300);
    assert_eq!(updated["introspect_any_token"], true);
    assert_eq!(updated["grant_types"], json!(["authorization_code", "client_credentials", "refresh_token"]));
    // The secret survives an update.
    api.app.access_token(&client_id, &secret).await;

    let public = json!({ "name": "Billing sync", "client_type": "public", "redirect_uris": ["https://billing.example.com/cb"] });
    let switch = api.send(Method::PUT, &path, &api.admin_token, Some(public)).await;
    expect_error(switch, StatusCode::BAD_REQUEST, "invalid_client_metadata").await;

    api.admin(Method::DELETE, &path, None, StatusCode::NO_CONTENT).await;
    expect_error(
        api.send(Method::GET, &path, &api.admin_token, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let again = api.send(Method::DELETE, &path, &api.admin_token, None).await;
    expect_error(again, StatusCode::NOT_FOUND, "not_found").await;
    let response =
        api.app.post_with_basic("/token", &client_id, &secret, &[("grant_type", "client_credentials")]);
    assert_eq!(response.await.status(), StatusCode::UNAUTHORIZED, "a deleted client gets no token");
}

#[tokio::test]
async fn a_public_client_has_no_secret() {
    let api = Api::spawn().await;
    let body = json!({
        "name": "Mobile app",
        "client_type": "public",
        "redirect_uris": ["com.example.app:/callback"]
    });
    let created = api.admin(Method::POST, "/admin/api/clients", Some(body), StatusCode::CREATED).await;
    assert_eq!(created["client_secret"], Value::Null);
    assert_eq!(created["client"]["public"], true);
    assert_eq!(created["client"]["token_endpoint_auth_method"], "none");
    assert_eq!(created["client"]["require_pkce"], true);
    let path = format!("/admin/api/clients/{}/secret", created["client"]["client_id"].as_str().expect("id"));
    let rotate = api.send(Method::POST, &path, &api.admin_token, Some(json!({}))).await;
    expect_error(rotate, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn secret_rotation_without_grace_retires_the_old_secret() {
    let api = Api::spawn().await;
    let created =
        api.admin(Method::POST, "/admin/api/clients", Some(machine_client(&[])), StatusCode::CREATED).await;
    let client_id = created["client"]["client_id"].as_str().expect("id").to_owned();
    let old_secret = created["client_secret"].as_str().expect("secret").to_owned();
    let path = format!("/admin/api/clients/{client_id}/secret");

    let too_long =
        api.send(Method::POST, &path, &api.admin_token, Some(json!({ "grace_seconds": 2_592_001 }))).await;
    expect_error(too_long, StatusCode::BAD_REQUEST, "invalid_request").await;

    let response = api.send(Method::POST, &path, &api.admin_token, Some(json!({ "grace_seconds": 0 }))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let rotated: Value = response.json().await.expect("json");
    let new_secret = rotated["client_secret"].as_str().expect("secret").to_owned();
    assert_ne!(new_secret, old_secret);

    let old =
        api.app.post_with_basic("/token", &client_id, &old_secret, &[("grant_type", "client_credentials")]);
    assert_eq!(old.await.status(), StatusCode::UNAUTHORIZED, "the old secret is retired at once");
    api.app.access_token(&client_id, &new_secret).await;

    let unknown =
        api.send(Method::POST, "/admin/api/clients/nope/secret", &api.admin_token, Some(json!({}))).await;
    expect_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_disabled_client_gets_no_token_until_enabled() {
    let api = Api::spawn().await;
    let created =
        api.admin(Method::POST, "/admin/api/clients", Some(machine_client(&[])), StatusCode::CREATED).await;
    let client_id = created["client"]["client_id"].as_str().expect("id").to_owned();
    let secret = created["client_secret"].as_str().expect("secret").to_owned();

    api.admin(Method::POST, &format!("/admin/api/clients/{client_id}/disable"), None, StatusCode::NO_CONTENT)
        .await;
    let client =
        api.admin(Method::GET, &format!("/admin/api/clients/{client_id}"), None, StatusCode::OK).await;
    assert_eq!(client["disabled"], true);
    let refused =
        api.app.post_with_basic("/token", &client_id, &secret, &[("grant_type", "client_credentials")]);
    assert_eq!(refused.await.status(), StatusCode::UNAUTHORIZED);

    api.admin(Method::POST, &format!("/admin/api/clients/{client_id}/enable"), None, StatusCode::NO_CONTENT)
        .await;
    api.app.access_token(&client_id, &secret).await;

    for action in ["disable", "enable"] {
        let unknown = api
            .send(Method::POST, &format!("/admin/api/clients/nope/{action}"), &api.admin_token, None)
            .await;
        expect_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn invalid_client_metadata_is_refused_with_its_rfc_code() {
    let api = Api::spawn().await;
    api.scope("invoices.read").await;
    let cases = [
        (json!({ "name": "x", "redirect_uris": ["not a uri"] }), "invalid_redirect_uri"),
        (json!({ "name": "x", "redirect_uris": ["http://evil.example.com/cb"] }), "invalid_redirect_uri"),
        (json!({ "name": "x", "scopes": ["payroll.write"] }), "invalid_client_metadata"),
        (
            json!({ "name": "x", "client_type": "public", "grant_types": ["client_credentials"] }),
            "invalid_client_metadata",
        ),
        (json!({ "name": "x", "grant_types": ["password"] }), "invalid_client_metadata"),
        (json!({ "name": "x", "access_token_lifetime": 59 }), "invalid_client_metadata"),
        (json!({ "name": "x", "organisation_url": "ftp://example.com" }), "invalid_client_metadata"),
        (json!({ "name": " " }), "invalid_client_metadata"),
        (
            json!({ "name": "x", "scopes": ["invoices.read"], "default_scopes": ["payroll.write"] }),
            "invalid_client_metadata",
        ),
        // Malformed JSON shapes: the extractor's `invalid_request`.
        (json!({}), "invalid_request"),
        (json!({ "name": "x", "colour": "blue" }), "invalid_request"),
        (json!({ "name": "x", "client_type": "secretive" }), "invalid_request"),
        (json!({ "name": "x", "redirect_uris": "https://one.example.com/cb" }), "invalid_request"),
        (json!({ "name": "x\u{0}" }), "invalid_request"),
        (json!(["name"]), "invalid_request"),
    ];
    for (body, error) in cases {
        let response =
            api.send(Method::POST, "/admin/api/clients", &api.admin_token, Some(body.clone())).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let seen = expect_error(response, StatusCode::BAD_REQUEST, error).await;
        assert!(!seen["error_description"].as_str().unwrap_or_default().is_empty(), "{body}: {seen}");
    }
    let listed = api.admin(Method::GET, "/admin/api/clients", None, StatusCode::OK).await;
    assert_eq!(listed["total"], 0, "nothing was registered");
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let api = Api::spawn().await;
    let post = |content_type: Option<&'static str>, body: &'static str| {
        let mut request = api.request(Method::POST, "/admin/api/clients", &api.admin_token).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let broken = post(Some("application/json"), "{\"name\": ").await.expect("post");
    let body = expect_error(broken, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(body["error_description"].as_str().expect("text").contains("JSON"), "{body}");
    let as_text = post(Some("text/plain"), "{\"name\": \"x\"}").await.expect("post");
    expect_error(as_text, StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request").await;
    let as_form = post(Some("application/x-www-form-urlencoded"), "name=x").await.expect("post");
    expect_error(as_form, StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request").await;
    let no_type = post(None, "{\"name\": \"x\"}").await.expect("post");
    expect_error(no_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request").await;
    let with_charset =
        post(Some("application/json; charset=utf-8"), "{\"name\": \"x\"}").await.expect("post");
    assert_eq!(with_charset.status(), StatusCode::CREATED);

    let huge = json!({ "name": "x", "redirect_uris": vec!["https://example.com/cb"; 4000] });
    let too_large = api.send(Method::POST, "/admin/api/clients", &api.admin_token, Some(huge)).await;
    expect_error(too_large, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;

    for query in ["limit=ten", "limit=-1", "offset=1.5", "colour=blue", "limit=1&limit=2", "search=a%00b"] {
        let response =
            api.send(Method::GET, &format!("/admin/api/clients?{query}"), &api.admin_token, None).await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let audit = api.send(Method::GET, "/admin/api/audit?before_id=x", &api.admin_token, None).await;
    expect_error(audit, StatusCode::BAD_REQUEST, "invalid_request").await;
    for path in ["/admin/api/clients/a%00b", "/admin/api/clients/%FF", "/admin/api/users/a%0Ab/consents"] {
        let response = api.send(Method::GET, path, &api.admin_token, None).await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }

    let wrong_method = api.send(Method::PATCH, "/admin/api/clients", &api.admin_token, None).await;
    let allow = wrong_method.headers().get("allow").cloned().expect("Allow header");
    assert_eq!(allow, "GET,HEAD,POST");
    expect_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "invalid_request").await;
    let unknown_path = api.send(Method::GET, "/admin/api/nothing-here", &api.admin_token, None).await;
    expect_error(unknown_path, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn developers_manage_only_their_own_clients() {
    let api = Api::spawn().await;
    let (developer, dev_token) = user_with_token(&api.app, "dev", Role::Developer).await;
    let (_, other_token) = user_with_token(&api.app, "other-dev", Role::Developer).await;
    let admins =
        api.admin(Method::POST, "/admin/api/clients", Some(machine_client(&[])), StatusCode::CREATED).await;
    let admins_id = admins["client"]["client_id"].as_str().expect("id").to_owned();

    let mine =
        api.send(Method::POST, "/admin/api/clients", &dev_token, Some(json!({ "name": "Dev tool" }))).await;
    let mine = json_with_status(mine, StatusCode::CREATED, "developer creates").await;
    assert_eq!(mine["client"]["owner"], developer.user_id.as_str());
    let my_id = mine["client"]["client_id"].as_str().expect("id").to_owned();

    let listed = api.send(Method::GET, "/admin/api/clients", &dev_token, None).await;
    let listed = json_with_status(listed, StatusCode::OK, "developer lists").await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["clients"][0]["client_id"], my_id.as_str());
    let others = json_with_status(
        api.send(Method::GET, "/admin/api/clients", &other_token, None).await,
        StatusCode::OK,
        "other lists",
    )
    .await;
    assert_eq!(others["total"], 0);
    let everything = api.admin(Method::GET, "/admin/api/clients", None, StatusCode::OK).await;
    assert_eq!(everything["total"], 2);

    let theirs = format!("/admin/api/clients/{admins_id}");
    expect_error(api.send(Method::GET, &theirs, &dev_token, None).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let put = api.send(Method::PUT, &theirs, &dev_token, Some(json!({ "name": "Mine now" }))).await;
    expect_error(put, StatusCode::NOT_FOUND, "not_found").await;
    let rotate = api.send(Method::POST, &format!("{theirs}/secret"), &dev_token, Some(json!({}))).await;
    expect_error(rotate, StatusCode::NOT_FOUND, "not_found").await;
    let disable = api.send(Method::POST, &format!("{theirs}/disable"), &dev_token, None).await;
    expect_error(disable, StatusCode::NOT_FOUND, "not_found").await;
    expect_error(
        api.send(Method::DELETE, &theirs, &dev_token, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let mine_to_other =
        api.send(Method::GET, &format!("/admin/api/clients/{my_id}"), &other_token, None).await;
    expect_error(mine_to_other, StatusCode::NOT_FOUND, "not_found").await;

    for privileged in [
        json!({ "name": "Gateway", "introspect_any_token": true }),
        json!({ "name": "Legacy", "pkce_optional": true }),
    ] {
        let create = api.send(Method::POST, "/admin/api/clients", &dev_token, Some(privileged.clone())).await;
        expect_error(create, StatusCode::FORBIDDEN, "access_denied").await;
        let update =
            api.send(Method::PUT, &format!("/admin/api/clients/{my_id}"), &dev_token, Some(privileged)).await;
        expect_error(update, StatusCode::FORBIDDEN, "access_denied").await;
    }

    let own = format!("/admin/api/clients/{my_id}");
    let renamed = api.send(Method::PUT, &own, &dev_token, Some(json!({ "name": "Dev tool 2" }))).await;
    assert_eq!(json_with_status(renamed, StatusCode::OK, "rename").await["name"], "Dev tool 2");
    let rotated = api
        .send(Method::POST, &format!("{own}/secret"), &dev_token, Some(json!({ "grace_seconds": 60 })))
        .await;
    json_with_status(rotated, StatusCode::OK, "rotate own").await;
    let deleted = api.send(Method::DELETE, &own, &dev_token, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn developers_cannot_use_the_admin_only_endpoints() {
    let api = Api::spawn().await;
    api.scope("invoices.read").await;
    let (developer, token) = user_with_token(&api.app, "dev", Role::Developer).await;
    let user_path = format!("/admin/api/users/{}", api.admin.user_id);
    let forbidden = [
        (Method::POST, "/admin/api/scopes".to_owned(), Some(json!({ "name": "x", "description": "X" }))),
        (Method::DELETE, "/admin/api/scopes/invoices.read".to_owned(), None),
        (Method::GET, "/admin/api/users".to_owned(), None),
        (
            Method::POST,
            "/admin/api/users".to_owned(),
            Some(json!({ "username": "eve", "password": PASSWORD, "role": "admin" })),
        ),
        (Method::GET, user_path.clone(), None),
        (Method::PATCH, format!("/admin/api/users/{}", developer.user_id), Some(json!({ "role": "admin" }))),
        (Method::POST, format!("{user_path}/password"), Some(json!({ "password": "hijacked!!" }))),
        (Method::GET, format!("{user_path}/consents"), None),
        (Method::DELETE, format!("{user_path}/consents/some-client"), None),
        (Method::GET, "/admin/api/audit".to_owned(), None),
    ];
    for (method, path, body) in forbidden {
        let response = api.send(method.clone(), &path, &token, body).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        expect_error(response, StatusCode::FORBIDDEN, "access_denied").await;
    }
    let scopes = json_with_status(
        api.send(Method::GET, "/admin/api/scopes", &token, None).await,
        StatusCode::OK,
        "developers read the scope registry",
    )
    .await;
    assert!(
        scopes["scopes"].as_array().expect("scopes").iter().any(|scope| scope["name"] == "invoices.read")
    );
    let still = api.app.store().find_user(&developer.user_id).await.expect("find").expect("exists");
    assert_eq!(still.role, Role::Developer, "the developer did not promote themselves");
}

#[tokio::test]
async fn scopes_are_created_listed_and_deleted_unless_in_use() {
    let api = Api::spawn().await;
    let created = api
        .admin(
            Method::POST,
            "/admin/api/scopes",
            Some(json!({ "name": "invoices.read", "description": "Read your invoices" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["name"], "invoices.read");
    assert_eq!(created["description"], "Read your invoices");
    assert!(created["created_at"].as_u64().is_some_and(|at| at > 0));

    let duplicate = api
        .send(
            Method::POST,
            "/admin/api/scopes",
            &api.admin_token,
            Some(json!({ "name": "invoices.read", "description": "Again" })),
        )
        .await;
    expect_error(duplicate, StatusCode::CONFLICT, "conflict").await;
    for bad in [
        json!({ "name": "has space", "description": "X" }),
        json!({ "name": "ok", "description": "  " }),
        json!({ "name": "ok" }),
    ] {
        let response = api.send(Method::POST, "/admin/api/scopes", &api.admin_token, Some(bad.clone())).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    let listed = api.admin(Method::GET, "/admin/api/scopes", None, StatusCode::OK).await;
    assert!(listed["scopes"].as_array().expect("scopes").contains(&created), "{listed}");
    let built_in = listed["scopes"].as_array().expect("scopes").iter().any(|scope| scope["name"] == "openid");
    assert!(built_in, "the OpenID Connect scopes are listed too: {listed}");

    let client = api
        .admin(
            Method::POST,
            "/admin/api/clients",
            Some(machine_client(&["invoices.read"])),
            StatusCode::CREATED,
        )
        .await;
    let client_id = client["client"]["client_id"].as_str().expect("id").to_owned();
    let in_use = api.send(Method::DELETE, "/admin/api/scopes/invoices.read", &api.admin_token, None).await;
    let body = expect_error(in_use, StatusCode::CONFLICT, "conflict").await;
    assert!(body["error_description"].as_str().expect("text").contains(&client_id), "{body}");

    api.admin(Method::DELETE, &format!("/admin/api/clients/{client_id}"), None, StatusCode::NO_CONTENT).await;
    api.admin(Method::DELETE, "/admin/api/scopes/invoices.read", None, StatusCode::NO_CONTENT).await;
    let gone = api.send(Method::DELETE, "/admin/api/scopes/invoices.read", &api.admin_token, None).await;
    expect_error(gone, StatusCode::NOT_FOUND, "not_found").await;
    let listed = api.admin(Method::GET, "/admin/api/scopes", None, StatusCode::OK).await;
    assert!(!listed.to_string().contains("invoices.read"), "{listed}");
}

#[tokio::test]
async fn users_are_managed_without_ever_showing_a_password_hash() {
    let api = Api::spawn().await;
    let body = json!({
        "username": "alice",
        "password": PASSWORD,
        "email": "alice@example.com",
        "name": "Alice Liddell",
        "role": "developer"
    });
    let alice = api.admin(Method::POST, "/admin/api/users", Some(body.clone()), StatusCode::CREATED).await;
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["name"], "Alice Liddell");
    assert_eq!(alice["role"], "developer");
    assert_eq!(alice["disabled"], false);
    let user_id = alice["user_id"].as_str().expect("user_id").to_owned();

    let duplicate = api.send(Method::POST, "/admin/api/users", &api.admin_token, Some(body)).await;
    expect_error(duplicate, StatusCode::CONFLICT, "conflict").await;
    let plain = json!({ "username": "bob", "password": PASSWORD });
    let bob = api.admin(Method::POST, "/admin/api/users", Some(plain), StatusCode::CREATED).await;
    assert_eq!((bob["role"].clone(), bob["email"].clone()), (json!("user"), Value::Null));
    for bad in [
        json!({ "username": "carol", "password": "short" }),
        json!({ "username": "-carol", "password": PASSWORD }),
        json!({ "username": "carol", "password": PASSWORD, "role": "root" }),
        json!({ "username": "carol", "password": PASSWORD, "email": "not-an-email" }),
        json!({ "username": "carol", "password": PASSWORD, "password_hash": "$argon2id$x" }),
    ] {
        let response = api.send(Method::POST, "/admin/api/users", &api.admin_token, Some(bad.clone())).await;
        let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        if bad["role"] == "root" {
            assert!(error["error_description"].as_str().expect("text").contains("unknown role"), "{error}");
        }
    }

    let listed = api.admin(Method::GET, "/admin/api/users", None, StatusCode::OK).await;
    let names: Vec<&str> =
        listed["users"].as_array().expect("users").iter().filter_map(|u| u["username"].as_str()).collect();
    assert_eq!(names.len(), 3, "{listed}");
    assert!(names.contains(&"root") && names.contains(&"alice") && names.contains(&"bob"), "{listed}");
    let text = listed.to_string();
    assert!(!text.contains("argon2") && !text.contains("password"), "{text}");

    let path = format!("/admin/api/users/{user_id}");
    assert_eq!(api.admin(Method::GET, &path, None, StatusCode::OK).await, alice);
    let changed = api
        .admin(Method::PATCH, &path, Some(json!({ "role": "admin", "disabled": true })), StatusCode::OK)
        .await;
    assert_eq!((changed["role"].clone(), changed["disabled"].clone()), (json!("admin"), json!(true)));
    let unchanged = api.admin(Method::PATCH, &path, Some(json!({})), StatusCode::OK).await;
    assert_eq!(unchanged, changed);
    let bad_role = api.send(Method::PATCH, &path, &api.admin_token, Some(json!({ "role": "Admin" }))).await;
    expect_error(bad_role, StatusCode::BAD_REQUEST, "invalid_request").await;

    let own = format!("/admin/api/users/{}", api.admin.user_id);
    for change in [json!({ "role": "developer" }), json!({ "disabled": true })] {
        let response = api.send(Method::PATCH, &own, &api.admin_token, Some(change)).await;
        expect_error(response, StatusCode::FORBIDDEN, "access_denied").await;
    }

    let new_password = "a much better passphrase";
    api.admin(
        Method::POST,
        &format!("{path}/password"),
        Some(json!({ "password": new_password })),
        StatusCode::NO_CONTENT,
    )
    .await;
    api.admin(Method::PATCH, &path, Some(json!({ "disabled": false })), StatusCode::OK).await;
    let signed_in = check_credentials(api.app.store(), "alice", new_password.into()).await.expect("check");
    assert!(signed_in.is_some(), "the new password works");
    let short = api
        .send(Method::POST, &format!("{path}/password"), &api.admin_token, Some(json!({ "password": "x" })))
        .await;
    expect_error(short, StatusCode::BAD_REQUEST, "invalid_request").await;

    for (method, missing, body) in [
        (Method::GET, "/admin/api/users/nobody".to_owned(), None),
        (Method::PATCH, "/admin/api/users/nobody".to_owned(), Some(json!({ "disabled": true }))),
        (
            Method::POST,
            "/admin/api/users/nobody/password".to_owned(),
            Some(json!({ "password": new_password })),
        ),
        (Method::GET, "/admin/api/users/nobody/consents".to_owned(), None),
    ] {
        let response = api.send(method, &missing, &api.admin_token, body).await;
        expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

#[tokio::test]
async fn consents_are_listed_and_withdrawn() {
    let api = Api::spawn().await;
    api.scope("invoices.read").await;
    let body = json!({ "name": "Web app", "redirect_uris": ["https://app.example.com/cb"], "scopes": ["invoices.read"] });
    let client = api.admin(Method::POST, "/admin/api/clients", Some(body), StatusCode::CREATED).await;
    let client_id = client["client"]["client_id"].as_str().expect("id").to_owned();
    let user_id = api.app.add_user("alice", PASSWORD).await;
    let scope = ScopeSet::parse("invoices.read").expect("scope");
    api.app.store().save_consent(&user_id, &client_id, &scope, unix_now()).await.expect("consent");

    let path = format!("/admin/api/users/{user_id}/consents");
    let listed = api.admin(Method::GET, &path, None, StatusCode::OK).await;
    let consents = listed["consents"].as_array().expect("consents");
    assert_eq!(consents.len(), 1, "{listed}");
    assert_eq!(consents[0]["client_id"], client_id.as_str());
    assert_eq!(consents[0]["scope"], "invoices.read");
    assert!(consents[0]["granted_at"].as_u64().is_some_and(|at| at > 0));

    api.admin(Method::DELETE, &format!("{path}/{client_id}"), None, StatusCode::NO_CONTENT).await;
    assert_eq!(api.admin(Method::GET, &path, None, StatusCode::OK).await["consents"], json!([]));
    let again = api.send(Method::DELETE, &format!("{path}/{client_id}"), &api.admin_token, None).await;
    expect_error(again, StatusCode::NOT_FOUND, "not_found").await;
    let no_user = api
        .send(
            Method::DELETE,
            &format!("/admin/api/users/nobody/consents/{client_id}"),
            &api.admin_token,
            None,
        )
        .await;
    expect_error(no_user, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn api_tokens_are_shown_once_and_stop_working_when_deleted() {
    let api = Api::spawn().await;
    let response = api
        .send(
            Method::POST,
            "/admin/api/tokens",
            &api.admin_token,
            Some(json!({ "name": "ci", "expires_in_seconds": 3600 })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.expect("json");
    let token = created["token"].as_str().expect("token").to_owned();
    let token_id = created["token_id"].as_str().expect("token_id").to_owned();
    assert!(token.starts_with("tsa_"), "{created}");
    assert_eq!(created["name"], "ci");
    assert_eq!(created["user_id"], api.admin.user_id.as_str());
    let expires_at = created["expires_at"].as_u64().expect("expires_at");
    let created_at = created["created_at"].as_u64().expect("created_at");
    assert_eq!(expires_at - created_at, 3600);
    assert_eq!(created["last_used_at"], Value::Null);

    let with_new = api.send(Method::GET, "/admin/api/tokens", &token, None).await;
    let listed = json_with_status(with_new, StatusCode::OK, "list with the new token").await;
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2, "{listed}");
    assert!(!listed.to_string().contains(&token), "a listing never shows a token");
    assert!(tokens.iter().all(|entry| entry.get("token").is_none() && entry.get("token_hash").is_none()));

    for bad in [
        json!({ "name": "" }),
        json!({ "name": "x", "expires_in_seconds": 0 }),
        json!({ "name": "x", "expires_in_seconds": u64::MAX }),
        json!({ "label": "x" }),
    ] {
        let response = api.send(Method::POST, "/admin/api/tokens", &api.admin_token, Some(bad.clone())).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    let (_, dev_token) = user_with_token(&api.app, "dev", Role::Developer).await;
    let dev_list = api.send(Method::GET, "/admin/api/tokens", &dev_token, None).await;
    let dev_list = json_with_status(dev_list, StatusCode::OK, "developer lists tokens").await;
    assert_eq!(dev_list["tokens"].as_array().map(Vec::len), Some(1), "only their own: {dev_list}");
    let not_theirs =
        api.send(Method::DELETE, &format!("/admin/api/tokens/{token_id}"), &dev_token, None).await;
    expect_error(not_theirs, StatusCode::NOT_FOUND, "not_found").await;

    api.admin(Method::DELETE, &format!("/admin/api/tokens/{token_id}"), None, StatusCode::NO_CONTENT).await;
    let revoked = api.send(Method::GET, "/admin/api/tokens", &token, None).await;
    expect_error(revoked, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let again =
        api.send(Method::DELETE, &format!("/admin/api/tokens/{token_id}"), &api.admin_token, None).await;
    expect_error(again, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_audit_trail_shows_changes_and_never_a_secret() {
    let api = Api::spawn().await;
    let created =
        api.admin(Method::POST, "/admin/api/clients", Some(machine_client(&[])), StatusCode::CREATED).await;
    let client_id = created["client"]["client_id"].as_str().expect("id").to_owned();
    let secret = created["client_secret"].as_str().expect("secret").to_owned();
    let rotated = api
        .admin(
            Method::POST,
            &format!("/admin/api/clients/{client_id}/secret"),
            Some(json!({ "grace_seconds": 10 })),
            StatusCode::OK,
        )
        .await;
    let new_secret = rotated["client_secret"].as_str().expect("secret").to_owned();
    let token = api
        .admin(Method::POST, "/admin/api/tokens", Some(json!({ "name": "ci" })), StatusCode::CREATED)
        .await;
    let api_token = token["token"].as_str().expect("token").to_owned();

    let response = api.send(Method::GET, "/admin/api/audit", &api.admin_token, None).await;
    let text = response.text().await.expect("body");
    for hidden in [&secret, &new_secret, &api_token, &api.admin_token] {
        assert!(!text.contains(hidden.as_str()), "a secret is in the audit trail: {text}");
    }
    let events: Value = serde_json::from_str(&text).expect("json");
    let events = events["events"].as_array().expect("events");
    let actions: Vec<&str> = events.iter().filter_map(|event| event["action"].as_str()).collect();
    assert_eq!(
        actions[..3],
        ["api_token.created", "client.secret_rotated", "client.created"],
        "newest first"
    );
    let created_event = &events[2];
    assert_eq!(created_event["target"], client_id.as_str());
    assert_eq!(created_event["outcome"], "success");
    assert_eq!(created_event["details"]["name"], "Billing sync");
    assert_eq!(created_event["details"]["public"], false);
    let actor = created_event["actor"].as_str().expect("actor");
    assert!(actor.starts_with("user:root (api-token:"), "{actor}");
    assert_eq!(created_event["ip"], "127.0.0.1");
    assert_eq!(events[1]["details"]["grace_seconds"], 10);

    let filtered = api.admin(Method::GET, "/admin/api/audit?action=client.", None, StatusCode::OK).await;
    let filtered = filtered["events"].as_array().expect("events");
    assert_eq!(filtered.len(), 2);
    let by_target = format!("/admin/api/audit?action=client.created&target={client_id}&limit=1");
    let one = api.admin(Method::GET, &by_target, None, StatusCode::OK).await;
    assert_eq!(one["events"].as_array().map(Vec::len), Some(1));
    let newest = events[0]["event_id"].as_i64().expect("event_id");
    let older =
        api.admin(Method::GET, &format!("/admin/api/audit?before_id={newest}"), None, StatusCode::OK).await;
    assert_eq!(older["events"][0]["action"], "client.secret_rotated");
}

#[tokio::test]
async fn dpop_and_par_requirements_are_set_shown_and_documented() {
    let api = Api::spawn().await;
    api.scope("invoices.read").await;
    let mut strict = machine_client(&["invoices.read"]);
    strict["dpop_bound_access_tokens"] = json!(true);
    strict["require_pushed_authorization_requests"] = json!(true);
    let created = api.admin(Method::POST, "/admin/api/clients", Some(strict), StatusCode::CREATED).await;
    let client = &created["client"];
    assert_eq!(client["dpop_bound_access_tokens"], true);
    assert_eq!(client["require_pushed_authorization_requests"], true);
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let secret = created["client_secret"].as_str().expect("secret").to_owned();
    let refused =
        api.app.post_with_basic("/token", &client_id, &secret, &[("grant_type", "client_credentials")]).await;
    expect_error(refused, StatusCode::BAD_REQUEST, "invalid_dpop_proof").await;

    let path = format!("/admin/api/clients/{client_id}");
    let relaxed =
        api.admin(Method::PUT, &path, Some(machine_client(&["invoices.read"])), StatusCode::OK).await;
    assert_eq!(relaxed["dpop_bound_access_tokens"], false, "omitted is false");
    assert_eq!(relaxed["require_pushed_authorization_requests"], false);
    api.app.access_token(&client_id, &secret).await;

    // A developer may set them on their own client: they only restrict it.
    let (_, developer_token) = user_with_token(&api.app, "dev", Role::Developer).await;
    let mut own = machine_client(&["invoices.read"]);
    own["dpop_bound_access_tokens"] = json!(true);
    let response = api.send(Method::POST, "/admin/api/clients", &developer_token, Some(own)).await;
    let own = json_with_status(response, StatusCode::CREATED, "developer's client").await;
    assert_eq!(own["client"]["dpop_bound_access_tokens"], true);

    let document = api.app.get_json("/admin/api/openapi.json").await;
    for schema in ["Application", "ApplicationInput"] {
        let properties = &document["components"]["schemas"][schema]["properties"];
        for field in ["dpop_bound_access_tokens", "require_pushed_authorization_requests"] {
            assert_eq!(properties[field]["type"], "boolean", "{schema}.{field}");
        }
    }
}
