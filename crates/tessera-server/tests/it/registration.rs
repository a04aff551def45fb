//! Dynamic client registration (RFC 7591) and management (RFC 7592).

use std::time::{Duration, Instant};

use reqwest::Response;
use serde_json::{Value, json};
use tessera_core::dynamic_registration::RedirectHostAllowList;
use tessera_core::registration::ClientRegistration;
use tessera_core::secret::SecretHash;
use tessera_core::user::Role;
use tessera_server::admin::service::{self, Actor};
use tessera_server::limits::Rate;
use tessera_server::registry;
use tessera_store::AuditQuery;
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

/// Like `app_with_token`, with `configure` applied too.
async fn app_with_token_configured(configure: impl FnOnce(&mut tessera_server::Config)) -> (TestApp, String) {
    let app = TestApp::spawn_with(|config| {
        config.limits.register_per_ip = Rate::Off;
        configure(config);
    })
    .await;
    app.add_scope("contact.read").await;
    let token = registry::create_registration_token(app.store(), None, tessera_server::unix_now())
        .await
        .expect("initial access token");
    (app, token)
}

fn allowing(hosts: &[&str]) -> RedirectHostAllowList {
    RedirectHostAllowList::parse(hosts).expect("a valid allow-list")
}

#[tokio::test]
async fn dynamic_registrations_may_name_only_allowed_redirect_hosts() {
    let (app, token) = app_with_token_configured(|config| {
        config.registration.allowed_redirect_hosts =
            allowing(&["partner.example.com", "127.0.0.1", "*.apps.example.org"]);
    })
    .await;
    let with = |patch: Value| {
        let mut metadata = web_app();
        for (key, value) in patch.as_object().expect("object") {
            metadata[key] = value.clone();
        }
        metadata
    };

    // An exact host, a listed loopback address (any port), a subdomain, and a
    // private-use scheme whose reversed domain is a subdomain.
    let accepted = [
        web_app(),
        with(json!({
            "redirect_uris": ["https://a.apps.example.org/cb", "org.example.apps.mobile:/cb"],
            "post_logout_redirect_uris": ["https://partner.example.com/bye"],
        })),
    ];
    let mut registered = Vec::new();
    for metadata in &accepted {
        let response = register(&app, Some(&token), metadata).await;
        assert_eq!(response.status(), 201, "{metadata}");
        registered.push(response.json::<Value>().await.expect("json"));
    }

    let refused = [
        (json!({ "redirect_uris": ["https://evil.example.net/cb"] }), "host `evil.example.net`"),
        (json!({ "redirect_uris": ["https://apps.example.org/cb"] }), "host `apps.example.org`"),
        (
            json!({ "redirect_uris": ["https://PARTNER.example.com.evil.net/cb"] }),
            "partner.example.com.evil.net",
        ),
        (json!({ "redirect_uris": ["http://[::1]:8765/cb"] }), "host `[::1]`"),
        (json!({ "redirect_uris": ["com.evil.app:/cb"] }), "domain `app.evil.com`"),
        (json!({ "post_logout_redirect_uris": ["https://evil.example.net/bye"] }), "host `evil.example.net`"),
    ];
    for (patch, named) in refused {
        let body = expect_error(
            register(&app, Some(&token), &with(patch.clone())).await,
            400,
            "invalid_redirect_uri",
        )
        .await;
        let description = body["error_description"].as_str().expect("a description");
        assert!(description.contains(named), "{patch}: {description}");
    }
    let clients = app.store().list_clients().await.expect("list");
    assert_eq!(clients.len(), accepted.len(), "no refused registration leaves a client behind");

    // RFC 7592: an update is held to the same list.
    let created = &registered[0];
    let uri = created["registration_client_uri"].as_str().expect("uri");
    let access = created["registration_access_token"].as_str().expect("registration token");
    let mut changed = web_app();
    changed["client_id"] = created["client_id"].clone();
    changed["redirect_uris"] = json!(["https://evil.example.net/cb"]);
    let response = app.http.put(uri).bearer_auth(access).json(&changed).send().await.expect("update");
    let body = expect_error(response, 400, "invalid_redirect_uri").await;
    assert!(body["error_description"].as_str().is_some_and(|d| d.contains("evil.example.net")), "{body}");
    changed["redirect_uris"] = json!(["https://partner.example.com/cb"]);
    changed["post_logout_redirect_uris"] = json!(["https://evil.example.net/bye"]);
    let response = app.http.put(uri).bearer_auth(access).json(&changed).send().await.expect("update");
    expect_error(response, 400, "invalid_redirect_uri").await;
    let read: Value =
        app.http.get(uri).bearer_auth(access).send().await.expect("read").json().await.expect("json");
    assert_eq!(read["redirect_uris"], created["redirect_uris"], "a refused update changes nothing");

    changed["redirect_uris"] = json!(["https://b.apps.example.org/cb"]);
    changed["post_logout_redirect_uris"] = json!([]);
    let response = app.http.put(uri).bearer_auth(access).json(&changed).send().await.expect("update");
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.expect("json");
    assert_eq!(updated["redirect_uris"], json!(["https://b.apps.example.org/cb"]));
}

#[tokio::test]
async fn administrators_are_not_held_to_the_redirect_host_allow_list() {
    let (app, token) = app_with_token_configured(|config| {
        config.registration.allowed_redirect_hosts = allowing(&["partner.example.com", "127.0.0.1"]);
    })
    .await;
    let elsewhere = || ClientRegistration {
        name: "Internal tool".into(),
        redirect_uris: vec!["https://tool.internal.example.net/cb".into()],
        scopes: vec!["contact.read".into()],
        ..ClientRegistration::default()
    };
    // The CLI's way in.
    let by_cli = app.register(elsewhere()).await;
    assert_eq!(by_cli.client.redirect_uris[0].as_str(), "https://tool.internal.example.net/cb");

    // The console's and the admin API's way in, and their edit of a dynamic registration.
    let admin_id = app.add_user_with_role("root", "correct horse battery", Role::Admin).await;
    let admin = app.store().find_user(&admin_id).await.expect("find").expect("the administrator");
    let actor = Actor { user: admin, token_id: None, ip: None };
    service::create_client(app.state(), &actor, elsewhere()).await.expect("an administrator names any host");
    let dynamic: Value = register(&app, Some(&token), &web_app()).await.json().await.expect("json");
    let dynamic_id = dynamic["client_id"].as_str().expect("id");
    let updated = service::update_client(app.state(), &actor, dynamic_id, elsewhere())
        .await
        .expect("an administrator may move a dynamic registration to any host");
    assert_eq!(updated.redirect_uris[0].as_str(), "https://tool.internal.example.net/cb");
}

/// Until `uri` (a registration's management URI) answers 401, or `within` passes.
async fn wait_until_gone(app: &TestApp, uri: &str, access: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let status = app.http.get(uri).bearer_auth(access).send().await.expect("read").status();
        if status == 401 {
            return;
        }
        assert_eq!(status, 200, "{uri}");
        assert!(Instant::now() < deadline, "the unused registration {uri} was not deleted in {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn registrations_nobody_used_expire_and_used_ones_stay() {
    let (app, token) = app_with_token_configured(|config| {
        // Long enough for the used clients below to be used first, even on a
        // loaded machine where a debug-build sign-in takes seconds.
        config.registration.unused_expiry = Some(Duration::from_secs(5));
        config.registration.prune_interval = Duration::from_secs(1);
    })
    .await;
    app.add_user("alice", "correct horse battery").await;
    let unused: Value = register(&app, Some(&token), &web_app()).await.json().await.expect("json");
    let used: Value = register(&app, Some(&token), &web_app()).await.json().await.expect("json");
    let (used_id, used_secret) =
        (used["client_id"].as_str().expect("id"), used["client_secret"].as_str().expect("secret"));
    app.access_token(used_id, used_secret).await;

    // A public client is used when it is issued a code: it has no credentials.
    let public_app = json!({
        "client_name": "Desktop app",
        "redirect_uris": ["http://127.0.0.1:8765/cb"],
        "token_endpoint_auth_method": "none",
        "scope": "contact.read"
    });
    let public: Value = register(&app, Some(&token), &public_app).await.json().await.expect("json");
    let public_id = public["client_id"].as_str().expect("id");
    let authorize = format!(
        "{}?response_type=code&client_id={public_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcb\
         &scope=contact.read&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256",
        app.url("/authorize")
    );
    let back = tessera_testkit::authorize_in_browser(
        &app.browser(),
        &authorize,
        "alice",
        "correct horse battery",
        &["contact.read"],
    )
    .await;
    assert!(back.query_pairs().any(|(name, _)| name == "code"), "{back}");

    // Naming a public client at the token endpoint is not a use.
    let unused_public: Value = register(&app, Some(&token), &public_app).await.json().await.expect("json");
    let unused_public_id = unused_public["client_id"].as_str().expect("id");
    let named = app
        .post_token(&[("grant_type", "authorization_code"), ("client_id", unused_public_id), ("code", "x")])
        .await;
    assert_eq!(named.status(), 400, "authenticated as public, refused for the grant");

    let (admin_made, _) = app.confidential_client(&["contact.read"]).await;

    let uri_and_access = |registered: &Value| {
        (
            registered["registration_client_uri"].as_str().expect("uri").to_owned(),
            registered["registration_access_token"].as_str().expect("token").to_owned(),
        )
    };
    let (unused_uri, unused_access) = uri_and_access(&unused);
    wait_until_gone(&app, &unused_uri, &unused_access, Duration::from_secs(20)).await;
    let (unused_public_uri, unused_public_access) = uri_and_access(&unused_public);
    wait_until_gone(&app, &unused_public_uri, &unused_public_access, Duration::from_secs(20)).await;
    // Past another expiry and prune: what stayed, stays.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // RFC 7592 §3: a deleted client's management URI answers 401.
    let response = app.http.get(&unused_uri).bearer_auth(&unused_access).send().await.expect("read");
    expect_error(response, 401, "invalid_token").await;
    let (unused_id, unused_secret) =
        (unused["client_id"].as_str().expect("id"), unused["client_secret"].as_str().expect("secret"));
    let refused = app
        .post_with_basic("/token", unused_id, unused_secret, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.json::<Value>().await.expect("json")["error"], "invalid_client");

    for (name, registered) in [("the client that got a token", &used), ("the client issued a code", &public)]
    {
        let (uri, access) = uri_and_access(registered);
        let response = app.http.get(&uri).bearer_auth(&access).send().await.expect("read");
        assert_eq!(response.status(), 200, "{name} stays");
    }
    app.access_token(used_id, used_secret).await;
    assert!(app.store().find_client(&admin_made).await.expect("find").is_some(), "an admin's client stays");

    let query = AuditQuery { action: Some("client.expired".into()), limit: 10, ..AuditQuery::default() };
    let mut expired: Vec<(String, String)> = app
        .store()
        .search_audit_events(&query)
        .await
        .expect("audit")
        .into_iter()
        .map(|event| (event.actor, event.target.unwrap_or_default()))
        .collect();
    expired.sort();
    let mut expected =
        vec![("system".to_owned(), unused_id.to_owned()), ("system".to_owned(), unused_public_id.to_owned())];
    expected.sort();
    assert_eq!(expired, expected, "one audit event per deleted registration");
}

#[tokio::test]
async fn dpop_and_par_requirements_are_registered_and_echoed() {
    let (app, token) = app_with_token().await;
    let plain: Value = register(&app, Some(&token), &web_app()).await.json().await.expect("json");
    assert_eq!(plain["dpop_bound_access_tokens"], false, "RFC 9449 §5.2: false when omitted");
    assert_eq!(plain["require_pushed_authorization_requests"], false, "RFC 9126 §6: false when omitted");

    let mut strict = web_app();
    strict["dpop_bound_access_tokens"] = json!(true);
    strict["require_pushed_authorization_requests"] = json!(true);
    let response = register(&app, Some(&token), &strict).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["dpop_bound_access_tokens"], true);
    assert_eq!(created["require_pushed_authorization_requests"], true);
    let client_id = created["client_id"].as_str().expect("id");
    let secret = created["client_secret"].as_str().expect("secret");
    let access = created["registration_access_token"].as_str().expect("registration token");
    let uri = created["registration_client_uri"].as_str().expect("uri");

    // Enforced: no token without a DPoP proof.
    let refused =
        app.post_with_basic("/token", client_id, secret, &[("grant_type", "client_credentials")]).await;
    expect_error(refused, 400, "invalid_dpop_proof").await;

    // RFC 7592: read back, then an update that leaves them out turns them off.
    let read: Value =
        app.http.get(uri).bearer_auth(access).send().await.expect("read").json().await.expect("json");
    assert_eq!(read["dpop_bound_access_tokens"], true);
    assert_eq!(read["require_pushed_authorization_requests"], true);
    let mut changed = web_app();
    changed["client_id"] = json!(client_id);
    changed["require_pushed_authorization_requests"] = json!(true);
    let response = app.http.put(uri).bearer_auth(access).json(&changed).send().await.expect("update");
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.expect("json");
    assert_eq!(updated["dpop_bound_access_tokens"], false);
    assert_eq!(updated["require_pushed_authorization_requests"], true);
    app.caches_caught_up().await;
    let issued =
        app.post_with_basic("/token", client_id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(issued.status(), 200, "a Bearer token once DPoP is no longer required");

    let mut wrong_type = web_app();
    wrong_type["dpop_bound_access_tokens"] = json!("yes");
    expect_error(register(&app, Some(&token), &wrong_type).await, 400, "invalid_client_metadata").await;
}
