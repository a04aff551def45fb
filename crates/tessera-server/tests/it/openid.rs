//! OpenID Connect driven by the `openidconnect` crate, which checks ID tokens
//! strictly: discovery, signature against the JWKS, `iss`, `aud`, `nonce`,
//! `at_hash`; then userinfo.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;
use tessera_core::registration::ClientRegistration;

use crate::code_flow::{REDIRECT, flow, query, sign_in_and_approve};

#[tokio::test]
async fn openidconnect_crate_verifies_the_id_token_and_reads_userinfo() {
    let flow = flow().await;
    let created = flow
        .app
        .register(ClientRegistration {
            name: "OIDC app".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: ["openid", "profile", "email", "offline_access"].map(String::from).to_vec(),
            ..Default::default()
        })
        .await;
    let http = flow.app.http.clone();
    let issuer = IssuerUrl::new(flow.app.base_url.clone()).expect("issuer");
    let provider = CoreProviderMetadata::discover_async(issuer, &http).await.expect("discovery parses");
    let client = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(created.client.client_id.clone()),
        Some(ClientSecret::new(created.client_secret.clone().expect("secret"))),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = flow.app.browser();
    let back =
        sign_in_and_approve(&flow, &browser, &url, &["openid", "profile", "email", "offline_access"]).await;
    assert_eq!(query(&back, "state").as_deref(), Some(state.secret().as_str()));

    let token = client
        .exchange_code(AuthorizationCode::new(query(&back, "code").expect("code")))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    assert!(token.refresh_token().is_some(), "offline_access brings a refresh token");
    let id_token = token.id_token().expect("an ID token for openid");
    let id_verifier = client.id_token_verifier();
    let claims = id_token.claims(&id_verifier, &nonce).expect("signature, iss, aud, exp and nonce verify");
    assert_eq!(claims.subject().as_str(), flow.user_id);
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&id_verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(claims.access_token_hash(), Some(&expected_hash), "at_hash binds the access token");

    let userinfo: CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), None)
        .expect("userinfo endpoint known")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), flow.user_id);
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(userinfo.email_verified(), Some(true));
    assert_eq!(userinfo.preferred_username().map(|u| u.as_str()), Some("alice"));
}

#[tokio::test]
async fn userinfo_errors_follow_rfc6750() {
    let flow = flow().await;
    let missing = flow.app.http.get(flow.app.url("/userinfo")).send().await.expect("userinfo");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(missing.headers()["www-authenticate"].to_str().expect("ascii").starts_with("Bearer "));

    let forged = flow
        .app
        .http
        .get(flow.app.url("/userinfo"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .expect("userinfo");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(forged.headers()["www-authenticate"].to_str().expect("ascii").contains("invalid_token"));

    // A user's token without `openid` is not enough.
    let browser = flow.app.browser();
    let tokens = crate::code_flow::tokens(&flow, &browser, &["contact.read"]).await;
    let access = tokens["access_token"].as_str().expect("token");
    assert!(tokens.get("id_token").is_none(), "no ID token without openid");
    let response =
        flow.app.http.post(flow.app.url("/userinfo")).bearer_auth(access).send().await.expect("userinfo");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()["www-authenticate"].to_str().expect("ascii").contains("insufficient_scope"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "insufficient_scope");
}
