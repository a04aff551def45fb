//! The vendor dialects, replaying the requests of the source documents
//! (`../shared/seeds/`) with their paths, field names and encodings, and
//! checking the documented response shapes.

use std::time::Duration;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_core::registration::ClientRegistration;
use tessera_server::dialects::{Dialect, Dialects};
use tessera_testkit::{TestApp, form_body};
use url::Url;

use crate::code_flow::{
    Flow, PASSWORD, html, location, query, sign_in_and_approve, submit_consent, submit_login,
};

/// MYOB's sample redirect URI, as registered for the API key.
const MYOB_REDIRECT: &str = "http://localhost/myob_redirect/";

/// A server speaking `dialect`, with a legacy confidential client (no PKCE, as
/// its document shows) holding `scope`, and the user alice.
async fn legacy_setup(dialect: Dialect, scope: &str, redirect: &str) -> Flow {
    let app = TestApp::spawn_with(|config| {
        config.dialects = Dialects::new([dialect]);
        config.access_token_lifetime = Duration::from_secs(1200);
    })
    .await;
    app.add_scope(scope).await;
    let created = app
        .register(ClientRegistration {
            name: "Legacy integration".into(),
            redirect_uris: vec![redirect.into()],
            scopes: vec![scope.into()],
            pkce_optional: true,
            ..ClientRegistration::default()
        })
        .await;
    let user_id = app.add_user("alice", PASSWORD).await;
    Flow { client_id: created.client.client_id, secret: created.client_secret.expect("secret"), app, user_id }
}

fn payload_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64"))
        .expect("json")
}

async fn post_form(app: &TestApp, path: &str, body: String) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("post")
}

fn urlencoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn myob_code_and_refresh_as_the_document_shows() {
    let flow = legacy_setup(Dialect::Myob, "CompanyFile", MYOB_REDIRECT).await;
    let (app, id, secret) = (&flow.app, flow.client_id.as_str(), flow.secret.as_str());
    let authorize = Url::parse(&app.url(&format!(
        "/oauth2/account/authorize?client_id={id}&redirect_uri={}&response_type=code&scope=CompanyFile&state=custom_var",
        urlencoded(MYOB_REDIRECT)
    )))
    .expect("url");
    let back = sign_in_and_approve(&flow, &app.browser(), &authorize, &["CompanyFile"]).await;
    assert_eq!(query(&back, "state").as_deref(), Some("custom_var"), "state round-trips");
    let code = query(&back, "code").expect("code");

    // "Example Call": the parameters in this order, url-encoded, as a form body.
    let body = format!(
        "code={}&redirect_uri={}&client_id={id}&scope=CompanyFile&client_secret={}&grant_type=authorization_code",
        urlencoded(&code),
        urlencoded(MYOB_REDIRECT),
        urlencoded(secret)
    );
    let response = post_form(app, "/oauth2/v1/authorize", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.expect("json");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], "1200", "a string, as documented");
    assert_eq!(tokens["scope"], "CompanyFile");
    assert_eq!(tokens["user"], json!({ "uid": flow.user_id, "username": "alice" }));
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh_token");
    assert_eq!(
        app.introspect(id, secret, tokens["access_token"].as_str().expect("token")).await["active"],
        true
    );

    let body = format!(
        "client_id={id}&client_secret={}&refresh_token={}&grant_type=refresh_token",
        urlencoded(secret),
        urlencoded(refresh_token)
    );
    let refreshed: Value = post_form(app, "/oauth2/v1/authorize", body).await.json().await.expect("json");
    assert_eq!(refreshed["token_type"], "bearer");
    assert_eq!(refreshed["expires_in"], "1200");
    assert_eq!(refreshed["scope"], "CompanyFile");
    assert!(refreshed["refresh_token"].is_string() && refreshed["refresh_token"] != refresh_token);
    assert!(refreshed.get("user").is_none(), "the documented refresh response has no user");
}

#[tokio::test]
async fn myob_refuses_the_get_the_document_warns_about() {
    let flow = legacy_setup(Dialect::Myob, "CompanyFile", MYOB_REDIRECT).await;
    let url = flow.app.url(&format!(
        "/oauth2/v1/authorize?code=Wvof%21IAA&redirect_uri={}&client_id={}&scope=CompanyFile&client_secret={}&grant_type=authorization_code",
        urlencoded(MYOB_REDIRECT),
        flow.client_id,
        urlencoded(&flow.secret)
    ));
    let response = flow.app.http.get(&url).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].as_str().expect("description").contains("POST the parameters"));
    assert!(!body.to_string().contains(&flow.secret), "the secret is not echoed");

    let posted_in_url = flow.app.http.post(&url).send().await.expect("post");
    assert_eq!(posted_in_url.status(), StatusCode::BAD_REQUEST, "a POST with the query string fails too");
}

#[tokio::test]
async fn dialect_routes_exist_only_when_turned_on() {
    let app = TestApp::spawn().await;
    for path in ["/oauth2/v1/authorize", "/OAuth/GetAccessToken"] {
        let response = app.http.post(app.url(path)).body("{}").send().await.expect("post");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// A YourMembership code: the document has no authorize step of its own, so the
/// standard one, without redirect_uri (one is registered), which the JSON token
/// request cannot repeat.
async fn yourmembership_code(flow: &Flow) -> String {
    let url = Url::parse(&flow.app.url(&format!(
        "/authorize?response_type=code&client_id={}&scope=members.read&state=s1",
        flow.client_id
    )))
    .expect("url");
    query(&sign_in_and_approve(flow, &flow.app.browser(), &url, &["members.read"]).await, "code")
        .expect("code")
}

async fn get_access_token(app: &TestApp, path: &str, accept: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("accept", accept)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("post")
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|record| record.expect("csv record").iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn yourmembership_get_access_token_in_json_and_csv() {
    let flow = legacy_setup(Dialect::YourMembership, "members.read", "https://ym.example.com/cb").await;
    let (app, id, secret) = (&flow.app, flow.client_id.as_str(), flow.secret.as_str());
    let code = yourmembership_code(&flow).await;

    // The document's body, with its deprecated `AppSecert` and its extra members.
    let response = get_access_token(
        app,
        "/OAuth/GetAccessToken",
        "application/json",
        json!({
            "GrantType": "Code", "AppId": id, "AppSecert": secret, "Scope": "members.read", "Code": code,
            "UsingRedis": true, "ServerID": "WS-4-69-031", "BypassCache": false, "Device": "Desktop",
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    assert!(!text.contains(secret), "the secret is never echoed");
    let tokens: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(tokens.as_object().map(|members| members.len()), Some(3), "{tokens}");
    let expires =
        humantime::parse_rfc3339(tokens["ExpiresOnUtc"].as_str().expect("ExpiresOnUtc")).expect("ISO 8601");
    let lifetime = expires.duration_since(std::time::SystemTime::now()).expect("in the future");
    assert!(lifetime > Duration::from_secs(1100) && lifetime <= Duration::from_secs(1200), "{lifetime:?}");
    assert_eq!(
        app.introspect(id, secret, tokens["AccessToken"].as_str().expect("token")).await["active"],
        true
    );
    let refresh_token = tokens["RefreshToken"].as_str().expect("RefreshToken").to_owned();

    // CSV by suffix: a header row and one data row.
    let body = json!({ "GrantType": "RefreshToken", "AppId": id, "AppSecret": secret, "RefreshToken": refresh_token });
    let response = get_access_token(app, "/OAuth/GetAccessToken.csv", "*/*", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let rows = csv_rows(&response.text().await.expect("csv"));
    assert_eq!(rows[0], ["AccessToken", "ExpiresOnUtc", "RefreshToken"]);
    assert_eq!(rows.len(), 2);
    let next_refresh = rows[1][2].clone();
    assert!(!next_refresh.is_empty() && next_refresh != refresh_token, "rotated");

    // CSV by Accept header, and by ?format=csv.
    for (path, accept) in
        [("/OAuth/GetAccessToken", "text/csv"), ("/OAuth/GetAccessToken?format=csv", "application/json")]
    {
        let body = json!({ "GrantType": "Code", "AppId": id, "AppSecret": "wrong", "Code": "x" });
        let response = get_access_token(app, path, accept, body).await;
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8", "{path} {accept}");
        let rows = csv_rows(&response.text().await.expect("csv"));
        assert_eq!(rows[0], ["ErrorCode", "FieldName", "Message"]);
        assert_eq!(rows[1][..2], ["invalid_client", "AppId"]);
    }
}

#[tokio::test]
async fn yourmembership_errors_are_a_response_status_naming_the_field() {
    let flow = legacy_setup(Dialect::YourMembership, "members.read", "https://ym.example.com/cb").await;
    let (app, id, secret) = (&flow.app, flow.client_id.as_str(), flow.secret.as_str());
    let cases = [
        (
            json!({ "GrantType": "Code", "AppId": id, "AppSecret": "wrong", "Code": "c" }),
            401,
            "invalid_client",
            "AppId",
        ),
        (
            json!({ "GrantType": "Code", "AppId": id, "AppSecret": secret, "Code": "no-such-code" }),
            400,
            "invalid_grant",
            "Code",
        ),
        (
            json!({ "GrantType": "RefreshToken", "AppId": id, "AppSecret": secret, "RefreshToken": "nope" }),
            400,
            "invalid_grant",
            "RefreshToken",
        ),
        (
            json!({ "GrantType": "Password", "AppId": id, "AppSecret": secret }),
            400,
            "unsupported_grant_type",
            "GrantType",
        ),
        (json!({ "GrantType": "Code", "AppSecret": secret, "Code": "c" }), 400, "invalid_request", "AppId"),
        (
            json!({ "GrantType": "Code", "AppId": id, "AppSecret": secret, "AppSecert": "other", "Code": "c" }),
            400,
            "invalid_request",
            "AppSecret",
        ),
        (json!(["not", "an", "object"]), 400, "invalid_request", "Body"),
    ];
    for (body, status, code, field) in cases {
        let response = get_access_token(app, "/OAuth/GetAccessToken", "application/json", body.clone()).await;
        assert_eq!(response.status().as_u16(), status, "{body}");
        let text = response.text().await.expect("body");
        assert!(!text.contains(secret), "the secret is never echoed: {text}");
        let error: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(error["ResponseStatus"]["ErrorCode"], code, "{body}");
        assert!(error["ResponseStatus"]["Message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(error["ResponseStatus"]["Errors"][0]["FieldName"], field, "{body}");
    }
}

#[tokio::test]
async fn myp_signs_the_scope_claim_as_an_array() {
    for (dialects, expected) in [
        (Dialects::new([Dialect::Myp]), json!(["contact.read", "contact.write"])),
        (Dialects::default(), json!("contact.read contact.write")),
    ] {
        let app = TestApp::spawn_with(|config| config.dialects = dialects).await;
        let (id, secret) = app.confidential_client(&["contact.read", "contact.write"]).await;
        let token = app.access_token(&id, &secret).await;
        assert_eq!(payload_of(&token)["scope"], expected);
        let introspected = app.introspect(&id, &secret, &token).await;
        assert_eq!(introspected["active"], true);
        assert_eq!(introspected["scope"], "contact.read contact.write", "introspection stays standard");
    }
}

#[tokio::test]
async fn myid_posts_the_authorization_request_as_a_form() {
    let redirect = "https://myid.example.com/signin";
    let flow = legacy_setup(Dialect::MyId, "myid.rest.basic", redirect).await;
    let (app, id, secret) = (&flow.app, flow.client_id.as_str(), flow.secret.as_str());
    let browser = app.browser();
    let code = |state: &'static str| {
        let browser = browser.clone();
        let form = [
            ("client_id", id),
            ("scope", "myid.rest.basic"),
            ("redirect_uri", redirect),
            ("state", state),
            ("response_type", "code"),
        ];
        let request = browser
            .post(app.url("/authorize"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&form))
            .send();
        async move {
            let mut response = request.await.expect("authorize post");
            if response.status() == StatusCode::OK {
                let login = html(response).await;
                let after_login = submit_login(app, &browser, &login, PASSWORD).await;
                let consent =
                    html(browser.get(app.url(&location(&after_login))).send().await.expect("consent")).await;
                response = submit_consent(app, &browser, &consent, "allow", &["myid.rest.basic"]).await;
            }
            let back = Url::parse(&location(&response)).expect("redirect");
            assert_eq!(query(&back, "state").as_deref(), Some(state));
            query(&back, "code").expect("code")
        }
    };

    // client_secret in the body.
    let first = code("first").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", id),
        ("client_secret", secret),
        ("code", first.as_str()),
        ("redirect_uri", redirect),
    ];
    let response = post_form(app, "/token", form_body(&form)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let again = post_form(app, "/token", form_body(&form)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "the code can be used once");

    // HTTP Basic instead; redirect_uri must equal the authorization request's.
    let second = code("second").await;
    let elsewhere = [
        ("grant_type", "authorization_code"),
        ("code", second.as_str()),
        ("redirect_uri", "https://myid.example.com/other"),
    ];
    let refused = app.post_with_basic("/token", id, secret, &elsewhere).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let third = code("third").await;
    let basic = [("grant_type", "authorization_code"), ("code", third.as_str()), ("redirect_uri", redirect)];
    let response = app.post_with_basic("/token", id, secret, &basic).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.expect("json");
    assert_eq!(tokens["token_type"], "Bearer", "the standard response, unchanged");
    assert_eq!(tokens["scope"], "myid.rest.basic");
    assert_eq!(
        app.introspect(id, secret, tokens["access_token"].as_str().expect("token")).await["active"],
        true
    );
}
