//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
//! clients that are not registered, named by the URL of their metadata
//! document, served here by a local document server.

use oauth2::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_core::metadata_document::{ClientIdUrl, MetadataDocumentPolicy, client_from_metadata_document};
use tessera_core::scope::ScopeSet;
use tessera_server::Config;
use tessera_server::fetch::OutboundSettings;
use tessera_testkit::{TestApp, form_body};
use url::Url;

use crate::client_assertion::{ASSERTION_TYPE, Key, signed};
use crate::code_flow::{PASSWORD, html, location, query, submit_consent, submit_login};
use crate::document_server::{Answer, DocumentServer};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A document's path, how to write it for its URL, and the reason it is refused.
type Refusal = (&'static str, Box<dyn Fn(&str) -> Value>, &'static str);

/// Metadata documents on, fetching allowed from the local document server.
fn accept_documents(config: &mut Config) {
    config.client_id_metadata_documents =
        Some(ScopeSet::parse("openid profile offline_access").expect("scopes"));
    config.outbound.allow_http = true;
    config.outbound.allow_private_addresses = true;
}

/// A public client's document, as MCP clients publish them.
fn public_document(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Agent Smith",
        "client_uri": "https://agents.example.com",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

fn authorize_url(app: &TestApp, client_id: &str, redirect_uri: &str, challenge: &str) -> String {
    let query = form_body(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "openid offline_access"),
        ("state", "st-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    app.url(&format!("/authorize?{query}"))
}

/// The error page `/authorize` answers for `client_id`, with any redirect URI.
async fn authorize_refusal(app: &TestApp, client_id: &str, redirect_uri: &str) -> String {
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let response = app
        .http
        .get(authorize_url(app, client_id, redirect_uri, challenge.as_str()))
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "an error page, never a redirect");
    html(response).await
}

#[tokio::test]
async fn a_metadata_document_client_completes_the_code_flow() {
    let documents = DocumentServer::start().await;
    let client_id = documents.url("/agent/client.json");
    documents.serve_json("/agent/client.json", &public_document(&client_id));
    let app = TestApp::spawn_with(accept_documents).await;
    app.add_user("alice", PASSWORD).await;
    let metadata = app.get_json("/.well-known/oauth-authorization-server").await;
    assert_eq!(metadata["client_id_metadata_document_supported"], true);

    let browser = app.browser();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let login = browser
        .get(authorize_url(&app, &client_id, REDIRECT, challenge.as_str()))
        .send()
        .await
        .expect("authorize");
    assert_eq!(login.status(), StatusCode::OK);
    let login = html(login).await;
    let host = Url::parse(&client_id).expect("url").authority().to_owned();
    assert!(
        login.contains("Agent Smith") && login.contains(&host),
        "the login page names the client and its host"
    );
    let after_login = submit_login(&app, &browser, &login, PASSWORD).await;
    assert_eq!(after_login.status(), StatusCode::SEE_OTHER);
    let consent = browser.get(app.url(&location(&after_login))).send().await.expect("consent page");
    assert_eq!(consent.status(), StatusCode::OK);
    let consent = html(consent).await;
    assert!(
        consent.contains(&format!(r#"from <strong class="url">{host}</strong>"#)),
        "the consent page shows the client's host prominently: {consent}"
    );
    assert!(consent.contains("is not registered here"), "{consent}");
    assert!(!consent.contains("agents.example.com"), "the document's own client_uri is not shown");
    let approved = submit_consent(&app, &browser, &consent, "allow", &["openid", "offline_access"]).await;
    let back = Url::parse(&location(&approved)).expect("redirect");
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("st-1"));
    let code = query(&back, "code").expect("code");

    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &client_id),
                ("code_verifier", verifier.secret()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.expect("json");
    assert_eq!(tokens["scope"], "offline_access openid");
    let claims = app
        .state()
        .keys()
        .verify_access_token(tokens["access_token"].as_str().expect("token"))
        .expect("verified");
    assert_eq!(claims.client_id, client_id);
    let refreshed = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().expect("refresh token")),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK, "the refresh token works for the same client");
    assert_eq!(documents.hits("/agent/client.json"), 1, "one fetch, then the cache");

    // The client is a row of the registry (codes and tokens refer to it).
    let stored = app.store().find_client(&client_id).await.expect("store").expect("a row");
    assert_eq!((stored.name.as_str(), stored.is_public()), ("Agent Smith", true));
    assert_eq!(stored.scopes.to_string(), "offline_access openid profile");
}

#[tokio::test]
async fn documents_that_break_the_rules_are_refused() {
    let documents = DocumentServer::start().await;
    let app = TestApp::spawn_with(accept_documents).await;
    let refusals: Vec<Refusal> = vec![
        (
            "/mismatch.json",
            Box::new(|_| public_document("https://other.example.com/client.json")),
            "not the URL it was fetched from",
        ),
        (
            "/secret.json",
            Box::new(|id| {
                let mut document = public_document(id);
                document["token_endpoint_auth_method"] = json!("client_secret_basic");
                document
            }),
            "which needs a shared secret",
        ),
        (
            "/with-secret.json",
            Box::new(|id| {
                let mut document = public_document(id);
                document["client_secret"] = json!("hunter2");
                document
            }),
            "cannot establish a shared secret",
        ),
    ];
    for (path, document, why) in refusals {
        let client_id = documents.url(path);
        documents.serve_json(path, &document(&client_id));
        let page = authorize_refusal(&app, &client_id, REDIRECT).await;
        assert!(page.contains(why) && page.contains("invalid_client"), "{path}: {page}");
        assert!(!page.contains("hunter2"), "{path}");
        // The token endpoint refuses the same client, with the same reason.
        let response = app
            .post_form(
                "/token",
                &[("grant_type", "authorization_code"), ("code", "x"), ("client_id", &client_id)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client");
        assert!(body["error_description"].as_str().is_some_and(|d| d.contains(why)), "{path}: {body}");
        assert_eq!(documents.hits(path), 1, "{path}: the refusal was remembered, not fetched again");
        assert!(app.store().find_client(&client_id).await.expect("store").is_none(), "{path}: never stored");
    }

    // A redirect URI the document does not list: an error page, never a redirect there.
    let client_id = documents.url("/agent.json");
    documents.serve_json("/agent.json", &public_document(&client_id));
    let page = authorize_refusal(&app, &client_id, "https://attacker.example.com/cb").await;
    assert!(page.contains("the redirect_uri is not registered for this application"), "{page}");

    // A document that is not there, or not JSON.
    documents.serve("/html.json", Answer::typed("text/html", "<html></html>"));
    let page = authorize_refusal(&app, &documents.url("/html.json"), REDIRECT).await;
    assert!(page.contains("could not be fetched") && page.contains("is not JSON"), "{page}");
    let page = authorize_refusal(&app, &documents.url("/missing.json"), REDIRECT).await;
    assert!(page.contains("HTTP 404"), "{page}");
    // A client_id that is not a Client Identifier URL.
    let page = authorize_refusal(&app, &format!("{}#frag", documents.url("/agent.json")), REDIRECT).await;
    assert!(page.contains("must not have a fragment"), "{page}");
}

#[tokio::test]
async fn with_the_setting_off_a_url_is_an_unknown_client() {
    let documents = DocumentServer::start().await;
    let client_id = documents.url("/client.json");
    documents.serve_json("/client.json", &public_document(&client_id));
    let app = TestApp::spawn_with(|config| {
        config.outbound.allow_http = true;
        config.outbound.allow_private_addresses = true;
    })
    .await;
    let metadata = app.get_json("/.well-known/oauth-authorization-server").await;
    assert!(metadata.get("client_id_metadata_document_supported").is_none(), "{metadata}");
    let page = authorize_refusal(&app, &client_id, REDIRECT).await;
    assert!(page.contains("unknown"), "{page}");
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "authorization_code"), ("code", "x"), ("client_id", &client_id)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(documents.hits("/client.json"), 0, "nothing was fetched");
}

#[tokio::test]
async fn an_http_client_id_is_refused_unless_http_is_allowed() {
    let documents = DocumentServer::start().await;
    let client_id = documents.url("/client.json");
    documents.serve_json("/client.json", &public_document(&client_id));
    // The default outbound settings: https only, public addresses only.
    let app = TestApp::spawn_with(|config| {
        accept_documents(config);
        config.outbound = OutboundSettings::default();
    })
    .await;
    let page = authorize_refusal(&app, &client_id, REDIRECT).await;
    assert!(page.contains("must use the https scheme") && page.contains("invalid_request"), "{page}");
    // https on loopback is a valid URL, but is never fetched from.
    let https = client_id.replace("http://", "https://");
    let page = authorize_refusal(&app, &https, REDIRECT).await;
    assert!(page.contains("127.0.0.1 is not a public address"), "{page}");
    assert_eq!(documents.hits("/client.json"), 0, "nothing was fetched");
}

#[tokio::test]
async fn a_private_key_jwt_document_client_authenticates_with_its_published_keys() {
    let documents = DocumentServer::start().await;
    let client_id = documents.url("/service/client.json");
    let key = Key::es256();
    documents.serve_json("/service/jwks.json", &json!({"keys": [key.jwk("svc-1")]}));
    documents.serve_json(
        "/service/client.json",
        &json!({
            "client_id": client_id,
            "client_name": "Batch service",
            "grant_types": ["client_credentials"],
            "scope": "profile",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": documents.url("/service/jwks.json"),
        }),
    );
    let app = TestApp::spawn_with(accept_documents).await;
    let now = tessera_server::unix_now();
    let assertion = |jti: &str| {
        signed(
            &key,
            &json!({"alg": "ES256", "kid": "svc-1"}),
            &json!({"iss": client_id, "sub": client_id, "aud": app.url("/token"), "iat": now, "exp": now + 60, "jti": jti}),
        )
    };
    let token = |assertion: String| {
        let app = &app;
        async move {
            app.post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &assertion),
                ],
            )
            .await
        }
    };
    let response = token(assertion("m-1")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["scope"], "profile");
    assert_eq!(token(assertion("m-2")).await.status(), StatusCode::OK);
    assert_eq!((documents.hits("/service/client.json"), documents.hits("/service/jwks.json")), (1, 1));
    // Without an assertion, the confidential client is refused.
    let response =
        app.post_form("/token", &[("grant_type", "client_credentials"), ("client_id", &client_id)]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_operator_can_disable_a_metadata_document_client() {
    let documents = DocumentServer::start().await;
    let client_id = documents.url("/client.json");
    documents.serve_json("/client.json", &public_document(&client_id));
    let app = TestApp::spawn_with(accept_documents).await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let first = app
        .http
        .get(authorize_url(&app, &client_id, REDIRECT, challenge.as_str()))
        .send()
        .await
        .expect("authorize");
    assert_eq!(first.status(), StatusCode::OK, "the login page");
    tessera_server::registry::set_client_disabled(app.store(), &client_id, true).await.expect("disabled");
    app.caches_caught_up().await;
    let page = authorize_refusal(&app, &client_id, REDIRECT).await;
    assert!(page.contains("unknown or disabled"), "{page}");
    let stored = app.store().find_client(&client_id).await.expect("store").expect("row");
    assert!(stored.disabled, "the document does not re-enable what an operator disabled");
}

#[tokio::test]
async fn a_changed_document_rewrites_the_stored_client() {
    let documents = DocumentServer::start().await;
    let client_id = documents.url("/client.json");
    documents.serve_json("/client.json", &public_document(&client_id));
    let app = TestApp::spawn_with(accept_documents).await;
    // The row an older version of the document left.
    let mut older = public_document(&client_id);
    older["client_name"] = json!("Agent Smith v1");
    older["redirect_uris"] = json!(["https://old.example.com/cb"]);
    let scopes = ScopeSet::parse("openid profile offline_access").expect("scopes");
    let url = ClientIdUrl::parse(&client_id, true).expect("a Client Identifier URL");
    let policy = MetadataDocumentPolicy { scopes: &scopes, allow_http: true };
    let stale =
        client_from_metadata_document(&url, &older, policy, "unused", 1_000).expect("the older document");
    app.store().create_client(&stale).await.expect("stored");
    app.caches_caught_up().await;

    let page = authorize_refusal(&app, &client_id, "https://old.example.com/cb").await;
    assert!(page.contains("the redirect_uri is not registered for this application"), "{page}");
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let login = app
        .http
        .get(authorize_url(&app, &client_id, REDIRECT, challenge.as_str()))
        .send()
        .await
        .expect("authorize");
    assert_eq!(login.status(), StatusCode::OK);
    let login = html(login).await;
    assert!(login.contains("Agent Smith") && !login.contains("Agent Smith v1"), "{login}");
    let stored = app.store().find_client(&client_id).await.expect("store").expect("row");
    assert_eq!(stored.name, "Agent Smith");
    assert_eq!(stored.redirect_uris.iter().map(|uri| uri.as_str()).collect::<Vec<_>>(), [REDIRECT]);
    assert_eq!(stored.created_at, 1_000, "the row is the same client, updated");
}
