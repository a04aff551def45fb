//! The client_credentials grant driven by the `oauth2` crate (a client we did
//! not write), with tokens verified by `jsonwebtoken` against the served JWKS.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::Value;
use tessera_core::registration::ClientRegistration;
use tessera_testkit::TestApp;

/// Verifies `token` against the server's JWKS and returns its claims.
async fn verify_access_token(app: &TestApp, token: &str, audience: &str) -> Value {
    let header = decode_header(token).expect("JWT header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    let kid = header.kid.expect("kid in header");
    let jwks: JwkSet =
        app.http.get(app.url("/jwks.json")).send().await.expect("jwks").json().await.expect("jwks json");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let key = DecodingKey::from_jwk(jwk).expect("usable public key");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[&app.base_url]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "nbf", "iat"]);
    validation.leeway = 0;
    decode::<Value>(token, &key, &validation).expect("signature and claims verify").claims
}

#[track_caller]
fn assert_rfc9068_claims(claims: &Value, app: &TestApp, client_id: &str, scope: &str, audience: &str) {
    assert_eq!(claims["iss"], app.base_url.as_str());
    assert_eq!(claims["sub"], client_id, "client_credentials: sub is the client (RFC 9068 §2.2)");
    assert_eq!(claims["aud"], audience);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["scope"], scope);
    let iat = claims["iat"].as_u64().expect("iat");
    let now = tessera_server::unix_now();
    assert!(iat <= now && now - iat < 60, "iat is now");
    assert_eq!(claims["nbf"].as_u64(), Some(iat));
    assert_eq!(claims["exp"].as_u64(), Some(iat + 3600));
    let jti = claims["jti"].as_str().expect("jti");
    assert!(jti.len() >= 22, "jti carries at least 128 bits");
}

fn oauth2_client(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    auth_type: AuthType,
) -> BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(client_id.into()))
        .set_client_secret(ClientSecret::new(secret.into()))
        .set_token_uri(TokenUrl::new(app.url("/token")).expect("token url"))
        .set_auth_type(auth_type)
}

#[tokio::test]
async fn oauth2_crate_gets_a_verifiable_token_with_basic_auth() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read", "contact.write"]).await;

    let token = oauth2_client(&app, &client_id, &secret, AuthType::BasicAuth)
        .exchange_client_credentials()
        .add_scope(Scope::new("contact.write".into()))
        .request_async(&app.http)
        .await
        .expect("token response");

    assert_eq!(token.token_type().as_ref(), "bearer", "token_type Bearer (compared case-insensitively)");
    assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(3600));
    assert_eq!(
        token.scopes().map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        Some(vec!["contact.write".to_string()])
    );
    let claims = verify_access_token(&app, token.access_token().secret(), &app.base_url).await;
    assert_rfc9068_claims(&claims, &app, &client_id, "contact.write", &app.base_url);
}

#[tokio::test]
async fn oauth2_crate_gets_a_token_with_post_auth_and_default_scopes() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read", "contact.write"]).await;

    let token = oauth2_client(&app, &client_id, &secret, AuthType::RequestBody)
        .exchange_client_credentials()
        .request_async(&app.http)
        .await
        .expect("token response");

    let claims = verify_access_token(&app, token.access_token().secret(), &app.base_url).await;
    assert_rfc9068_claims(&claims, &app, &client_id, "contact.read contact.write", &app.base_url);
}

#[tokio::test]
async fn oauth2_crate_sees_invalid_scope_for_a_scope_not_granted() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    app.add_scope("staff.read").await;

    let err = oauth2_client(&app, &client_id, &secret, AuthType::BasicAuth)
        .exchange_client_credentials()
        .add_scope(Scope::new("staff.read".into()))
        .request_async(&app.http)
        .await
        .expect_err("scope not granted");
    match err {
        oauth2::RequestTokenError::ServerResponse(response) => {
            assert_eq!(response.error().as_ref(), "invalid_scope");
        }
        other => panic!("expected an invalid_scope response, got {other:?}"),
    }
}

#[tokio::test]
async fn resource_indicator_sets_the_audience() {
    let app = TestApp::spawn().await;
    app.add_scope("contact.read").await;
    let created = app
        .register(ClientRegistration {
            name: "API consumer".into(),
            scopes: vec!["contact.read".into()],
            resources: vec!["https://api.example.com".into(), "https://files.example.com".into()],
            ..ClientRegistration::default()
        })
        .await;
    let client_id = created.client.client_id.clone();
    let secret = created.client_secret.expect("secret");

    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("resource", "https://files.example.com"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let token = body["access_token"].as_str().expect("access_token");
    let claims = verify_access_token(&app, token, "https://files.example.com").await;
    assert_rfc9068_claims(&claims, &app, &client_id, "contact.read", "https://files.example.com");

    let audience_alias = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("audience", "https://api.example.com"),
        ])
        .await;
    let body: Value = audience_alias.json().await.expect("json");
    let claims =
        verify_access_token(&app, body["access_token"].as_str().expect("token"), "https://api.example.com")
            .await;
    assert_eq!(claims["aud"], "https://api.example.com");
}

#[tokio::test]
async fn success_response_shape_and_headers() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("application/json"));
    let body: Value = response.json().await.expect("json");
    let mut keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["access_token", "expires_in", "scope", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "contact.read");
}

#[tokio::test]
async fn deleted_client_gets_no_more_tokens() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = app.confidential_client(&["contact.read"]).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    assert_eq!(app.post_token(&form).await.status(), 200);
    assert!(tessera_store::Store::delete_client(app.store(), &client_id).await.expect("delete"));
    // As after `tessera client delete`: the server drops its cached copy.
    app.caches_caught_up().await;
    let response = app.post_token(&form).await;
    assert_eq!(response.status(), 401);
}
