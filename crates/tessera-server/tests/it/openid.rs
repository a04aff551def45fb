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

mod logout {
    use reqwest::StatusCode;
    use tessera_testkit::{form_body, hidden_field};

    use crate::code_flow::{SIGNED_OUT, flow, tokens};

    fn location(response: &reqwest::Response) -> String {
        response.headers()["location"].to_str().expect("ascii").to_owned()
    }

    #[tokio::test]
    async fn with_an_id_token_hint_the_session_ends_and_the_browser_goes_back() {
        let flow = flow().await;
        let browser = flow.app.browser();
        let id_token = tokens(&flow, &browser, &["openid", "contact.read"]).await["id_token"]
            .as_str()
            .expect("id token")
            .to_owned();
        let url = format!(
            "{}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-1",
            flow.app.url("/logout"),
            urlencode(SIGNED_OUT)
        );
        let response = browser.get(url).send().await.expect("logout");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), format!("{SIGNED_OUT}?state=bye-1"));
        let cleared = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        assert!(cleared.starts_with("tessera_session=;") && cleared.contains("Max-Age=0"), "{cleared}");

        let (again, _, _) = flow.authorize_url(&["contact.read"]);
        let page = browser.get(again.as_str()).send().await.expect("authorize");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.expect("html").contains("Sign in"), "the session is gone");
    }

    #[tokio::test]
    async fn an_unregistered_post_logout_redirect_uri_is_refused() {
        let flow = flow().await;
        let browser = flow.app.browser();
        let id_token =
            tokens(&flow, &browser, &["openid"]).await["id_token"].as_str().expect("id").to_owned();
        let url = format!(
            "{}?id_token_hint={id_token}&post_logout_redirect_uri={}",
            flow.app.url("/logout"),
            urlencode("https://evil.example.com/")
        );
        let response = browser.get(url).send().await.expect("logout");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
        let forged = format!("{}?id_token_hint=not.a.token", flow.app.url("/logout"));
        assert_eq!(browser.get(forged).send().await.expect("logout").status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn without_a_hint_the_user_confirms_with_a_csrf_protected_form() {
        let flow = flow().await;
        let browser = flow.app.browser();
        tokens(&flow, &browser, &["contact.read"]).await;
        let page = browser.get(flow.app.url("/logout")).send().await.expect("logout");
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.expect("html");
        assert!(html.contains("Sign out?"));
        let request = hidden_field(&html, "request").unwrap_or_default();

        let forged = browser
            .post(flow.app.url("/logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("request", request.as_str())]))
            .send()
            .await
            .expect("post");
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST, "no logout without the CSRF token");

        let csrf = hidden_field(&html, "csrf").expect("csrf");
        let confirmed = browser
            .post(flow.app.url("/logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("csrf", csrf.as_str()), ("request", request.as_str())]))
            .send()
            .await
            .expect("post");
        assert_eq!(confirmed.status(), StatusCode::OK);
        assert!(confirmed.text().await.expect("html").contains("You are signed out"));
        let (again, _, _) = flow.authorize_url(&["contact.read"]);
        let page = browser.get(again.as_str()).send().await.expect("authorize").text().await.expect("html");
        assert!(page.contains("Sign in"), "the session is gone");
    }

    fn urlencode(value: &str) -> String {
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }
}
