//! Every malformed or refused token request gets its RFC 6749 §5.2 error: the
//! right status, `error` code and headers, as JSON, never a 500.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, Response};
use serde_json::Value;
use tessera_core::registration::ClientRegistration;
use tessera_testkit::{TestApp, form_body};

const FORM: &str = "application/x-www-form-urlencoded";

struct Fixture {
    app: TestApp,
    client_id: String,
    secret: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    Fixture { app, client_id, secret }
}

impl Fixture {
    fn basic(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.client_id, self.secret)))
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Response {
        let mut request = self.app.http.request(method, self.app.url(path_and_query)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request sent")
    }

    async fn post_form(&self, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Response {
        let mut all = vec![("content-type", FORM)];
        all.extend_from_slice(headers);
        self.send(Method::POST, "/token", &all, form_body(form)).await
    }
}

/// Asserts an OAuth error response and returns its description.
async fn expect_error(response: Response, status: u16, error: &str) -> String {
    let status_seen = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert_eq!((status_seen, body["error"].as_str()), (status, Some(error)), "body: {body}");
    assert_eq!(headers["cache-control"], "no-store");
    if error == "invalid_client" {
        let challenge = headers.get("www-authenticate").expect("401 carries WWW-Authenticate");
        assert!(challenge.to_str().expect("ascii").starts_with("Basic "), "{challenge:?}");
    } else {
        assert!(headers.get("www-authenticate").is_none());
    }
    let description = body["error_description"].as_str().expect("error_description").to_owned();
    assert!(!description.is_empty());
    description
}

#[tokio::test]
async fn basic_and_post_at_once_is_invalid_request() {
    let f = fixture().await;
    let basic = f.basic();
    let response = f
        .post_form(
            &[("authorization", &basic)],
            &[("grant_type", "client_credentials"), ("client_secret", &f.secret)],
        )
        .await;
    let description = expect_error(response, 400, "invalid_request").await;
    assert!(!description.contains(&f.secret), "secrets are never echoed");
}

#[tokio::test]
async fn json_body_is_invalid_request() {
    let f = fixture().await;
    let body = serde_json::json!({"grant_type": "client_credentials", "client_id": f.client_id, "client_secret": f.secret}).to_string();
    let response = f.send(Method::POST, "/token", &[("content-type", "application/json")], body).await;
    expect_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn missing_content_type_is_invalid_request() {
    let f = fixture().await;
    let response = f.send(Method::POST, "/token", &[], "grant_type=client_credentials".into()).await;
    expect_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn repeated_parameter_is_invalid_request() {
    let f = fixture().await;
    let response = f
        .post_form(
            &[],
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &f.client_id),
                ("client_secret", &f.secret),
                ("scope", "contact.read"),
                ("scope", "contact.read"),
            ],
        )
        .await;
    let description = expect_error(response, 400, "invalid_request").await;
    assert!(description.contains("scope"), "{description}");
}

#[tokio::test]
async fn get_on_token_endpoint_is_method_not_allowed() {
    let f = fixture().await;
    let query =
        format!("/token?grant_type=client_credentials&client_id={}&client_secret={}", f.client_id, f.secret);
    let response = f.send(Method::GET, &query, &[], String::new()).await;
    assert_eq!(response.headers()["allow"], "POST");
    expect_error(response, 405, "invalid_request").await;
}

#[tokio::test]
async fn credentials_in_the_query_string_are_invalid_request() {
    let f = fixture().await;
    let query = format!("/token?client_id={}&client_secret={}", f.client_id, f.secret);
    let response =
        f.send(Method::POST, &query, &[("content-type", FORM)], "grant_type=client_credentials".into()).await;
    expect_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn malformed_basic_header_is_invalid_client() {
    let f = fixture().await;
    for header in ["Basic", "Basic %%%", "Basic bm9jb2xvbg==", "Bearer abc"] {
        let response =
            f.post_form(&[("authorization", header)], &[("grant_type", "client_credentials")]).await;
        expect_error(response, 401, "invalid_client").await;
    }
}

#[tokio::test]
async fn wrong_secret_is_invalid_client_with_either_method() {
    let f = fixture().await;
    let wrong = format!("Basic {}", STANDARD.encode(format!("{}:not-the-secret", f.client_id)));
    let response = f.post_form(&[("authorization", &wrong)], &[("grant_type", "client_credentials")]).await;
    expect_error(response, 401, "invalid_client").await;

    let response = f
        .post_form(
            &[],
            &[("grant_type", "client_credentials"), ("client_id", &f.client_id), ("client_secret", "nope")],
        )
        .await;
    expect_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn unknown_client_and_missing_credentials_are_invalid_client() {
    let f = fixture().await;
    let response = f
        .post_form(
            &[],
            &[("grant_type", "client_credentials"), ("client_id", "ghost"), ("client_secret", "x")],
        )
        .await;
    let unknown = expect_error(response, 401, "invalid_client").await;

    let response = f
        .post_form(
            &[],
            &[("grant_type", "client_credentials"), ("client_id", &f.client_id), ("client_secret", "x")],
        )
        .await;
    let wrong_secret = expect_error(response, 401, "invalid_client").await;
    assert_eq!(unknown, wrong_secret, "an unknown client and a wrong secret look the same");

    let response = f.post_form(&[], &[("grant_type", "client_credentials")]).await;
    expect_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn unknown_or_missing_grant_type() {
    let f = fixture().await;
    let basic = f.basic();
    let response = f.post_form(&[("authorization", &basic)], &[("grant_type", "password")]).await;
    expect_error(response, 400, "unsupported_grant_type").await;
    let response = f.post_form(&[("authorization", &basic)], &[("scope", "contact.read")]).await;
    expect_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn oversized_body_is_rejected() {
    let f = fixture().await;
    let huge = format!("grant_type=client_credentials&pad={}", "a".repeat(64 * 1024));
    let response = f.send(Method::POST, "/token", &[("content-type", FORM)], huge).await;
    expect_error(response, 413, "invalid_request").await;
}

#[tokio::test]
async fn scope_not_granted_is_invalid_scope() {
    let f = fixture().await;
    f.app.add_scope("staff.read").await;
    let basic = f.basic();
    let response = f
        .post_form(
            &[("authorization", &basic)],
            &[("grant_type", "client_credentials"), ("scope", "contact.read staff.read")],
        )
        .await;
    let description = expect_error(response, 400, "invalid_scope").await;
    assert!(description.contains("staff.read"), "{description}");
}

#[tokio::test]
async fn client_without_the_grant_is_unauthorized_client() {
    let f = fixture().await;
    let created = f
        .app
        .register(ClientRegistration {
            name: "Web app".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["contact.read".into()],
            ..ClientRegistration::default()
        })
        .await;
    let secret = created.client_secret.expect("secret");
    let response = f
        .post_form(
            &[],
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &created.client.client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
    expect_error(response, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn unregistered_resource_is_invalid_target() {
    let f = fixture().await;
    let basic = f.basic();
    let response = f
        .post_form(
            &[("authorization", &basic)],
            &[("grant_type", "client_credentials"), ("resource", "https://other.example.com")],
        )
        .await;
    expect_error(response, 400, "invalid_target").await;
}

#[tokio::test]
async fn garbage_never_causes_a_server_error() {
    let f = fixture().await;
    let bodies = [
        "%",
        "%zz=%zz",
        "&&&===&&",
        "grant_type=client_credentials&client_id=%00&client_secret=%FF%FE",
        "grant_type=%E2%28%A1",
        "\u{0}\u{1}\u{2}",
    ];
    for body in bodies {
        let response = f.send(Method::POST, "/token", &[("content-type", FORM)], body.into()).await;
        let status = response.status();
        assert!(status.is_client_error(), "{body:?} gave {status}");
    }
    for content_type in
        ["application/x-www-form-urlencoded; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED"]
    {
        let basic = f.basic();
        let response = f
            .send(
                Method::POST,
                "/token",
                &[("content-type", content_type), ("authorization", &basic)],
                "grant_type=client_credentials".into(),
            )
            .await;
        assert_eq!(response.status(), 200, "content type `{content_type}` is a form");
    }
}
