//! The authorization code flow with PKCE: login and consent pages, codes, and
//! the token step, driven by the `oauth2` crate (a client we did not write) and
//! a cookie-keeping HTTP client standing in for the browser.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tessera_core::registration::ClientRegistration;
use tessera_testkit::{TestApp, form_body, hidden_field};
use url::Url;

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub(crate) const SIGNED_OUT: &str = "https://sync.example.com/signed-out";
pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) struct Flow {
    pub(crate) app: TestApp,
    pub(crate) client_id: String,
    pub(crate) secret: String,
    pub(crate) user_id: String,
}

pub(crate) async fn flow() -> Flow {
    flow_with(|_| {}).await
}

pub(crate) async fn flow_with(configure: impl FnOnce(&mut tessera_server::Config)) -> Flow {
    let app = TestApp::spawn_with(configure).await;
    for scope in ["contact.read", "contact.write"] {
        app.add_scope(scope).await;
    }
    let created = app
        .register(ClientRegistration {
            name: "Contacts Sync".into(),
            org_url: Some("https://sync.example.com".into()),
            redirect_uris: vec![REDIRECT.into(), "https://sync.example.com/cb".into()],
            post_logout_redirect_uris: vec![SIGNED_OUT.into()],
            scopes: vec!["openid".into(), "contact.read".into(), "contact.write".into()],
            ..ClientRegistration::default()
        })
        .await;
    let user_id = app.add_user("alice", PASSWORD).await;
    Flow { client_id: created.client.client_id, secret: created.client_secret.expect("secret"), app, user_id }
}

type CodeClient = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

impl Flow {
    fn oauth2_client(&self) -> CodeClient {
        BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.secret.clone()))
            .set_auth_uri(AuthUrl::new(self.app.url("/authorize")).expect("auth url"))
            .set_token_uri(TokenUrl::new(self.app.url("/token")).expect("token url"))
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"))
    }

    /// An authorization URL with PKCE, its state and verifier.
    pub(crate) fn authorize_url(&self, scopes: &[&str]) -> (Url, CsrfToken, oauth2::PkceCodeVerifier) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.oauth2_client();
        let mut request = client.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge);
        for scope in scopes {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let (url, state) = request.url();
        (url, state, verifier)
    }
}

pub(crate) async fn html(response: Response) -> String {
    response.text().await.expect("html body")
}

pub(crate) fn location(response: &Response) -> String {
    response.headers().get("location").expect("a redirect").to_str().expect("ascii").to_owned()
}

/// Follows a login page: submits the credentials; returns the response to the POST.
pub(crate) async fn submit_login(
    app: &TestApp,
    browser: &reqwest::Client,
    login_page: &str,
    password: &str,
) -> Response {
    let form = [
        ("csrf", hidden_field(login_page, "csrf").expect("csrf field").as_str()),
        ("request", hidden_field(login_page, "request").expect("request field").as_str()),
        ("username", "alice"),
        ("password", password),
    ]
    .map(|(k, v)| (k, v.to_owned()));
    browser
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&form.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()))
        .send()
        .await
        .expect("login post")
}

pub(crate) async fn submit_consent(
    app: &TestApp,
    browser: &reqwest::Client,
    consent_page: &str,
    decision: &str,
    keep: &[&str],
) -> Response {
    let csrf = hidden_field(consent_page, "csrf").expect("csrf field");
    let request = hidden_field(consent_page, "request").expect("request field");
    let mut form = vec![("csrf", csrf.as_str()), ("request", request.as_str()), ("decision", decision)];
    form.extend(keep.iter().map(|scope| ("grant_scope", *scope)));
    browser
        .post(app.url("/consent"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&form))
        .send()
        .await
        .expect("consent post")
}

/// Logs in and approves `keep`; returns the final redirect to the client.
pub(crate) async fn sign_in_and_approve(
    flow: &Flow,
    browser: &reqwest::Client,
    url: &Url,
    keep: &[&str],
) -> Url {
    let login = browser.get(url.as_str()).send().await.expect("authorize");
    assert_eq!(login.status(), StatusCode::OK);
    let login = html(login).await;
    let client_id = query(url, "client_id").expect("client_id");
    let client = flow.app.store().find_client(&client_id).await.expect("store").expect("client");
    assert!(login.contains(&client.name), "the login page names the application");
    if let Some(org_url) = &client.org_url {
        let host = Url::parse(org_url).expect("url").host_str().expect("host").to_owned();
        assert!(login.contains(&host), "the login page shows the organisation URL");
    }
    let after_login = submit_login(&flow.app, browser, &login, PASSWORD).await;
    assert_eq!(after_login.status(), StatusCode::SEE_OTHER);
    let resumed = browser.get(flow.app.url(&location(&after_login))).send().await.expect("resume");
    assert_eq!(resumed.status(), StatusCode::OK, "the consent page");
    let consent = html(resumed).await;
    if keep.contains(&"contact.read") {
        assert!(consent.contains("Access to contact.read"), "the scope's description is shown");
    }
    let approved = submit_consent(&flow.app, browser, &consent, "allow", keep).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    Url::parse(&location(&approved)).expect("redirect to the client")
}

pub(crate) fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

/// Redeems `code` with the standard token request of this client.
pub(crate) async fn redeem(flow: &Flow, code: &str, verifier: &str) -> Response {
    exchange(
        flow,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub(crate) async fn exchange(flow: &Flow, form: &[(&str, &str)]) -> Response {
    flow.app.post_with_basic("/token", &flow.client_id, &flow.secret, form).await
}

pub(crate) async fn error_of(response: Response) -> String {
    let body: Value = response.json().await.expect("json");
    body["error"].as_str().expect("error").to_owned()
}

#[tokio::test]
async fn oauth2_crate_completes_the_code_flow_with_pkce_and_state() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, state, verifier) = flow.authorize_url(&["contact.read", "contact.write"]);
    let back = sign_in_and_approve(&flow, &browser, &url, &["contact.read", "contact.write"]).await;

    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(query(&back, "state").as_deref(), Some(state.secret().as_str()), "state comes back unchanged");
    assert_eq!(query(&back, "iss").as_deref(), Some(flow.app.base_url.as_str()), "RFC 9207 iss");
    let code = query(&back, "code").expect("code");
    assert!(code.len() >= 43, "at least 256 bits");

    let token = flow
        .oauth2_client()
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&flow.app.http)
        .await
        .expect("token response");
    let scopes: Vec<String> = token.scopes().expect("scope").iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["contact.read", "contact.write"]);
    let introspection =
        flow.app.introspect(&flow.client_id, &flow.secret, token.access_token().secret()).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["sub"], flow.user_id.as_str(), "the token is the user's");
}

#[tokio::test]
async fn pages_are_protected_against_framing_and_cookies_are_strict() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, _, _) = flow.authorize_url(&["contact.read"]);
    let login = browser.get(url.as_str()).send().await.expect("authorize");
    assert_eq!(login.headers()["x-frame-options"], "DENY");
    assert!(
        login.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(login.headers()["cache-control"], "no-store");
    let csrf_cookie = login.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"), "{csrf_cookie}");
    let page = html(login).await;
    let signed_in = submit_login(&flow.app, &browser, &page, PASSWORD).await;
    let session_cookie = signed_in.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(session_cookie.starts_with("tessera_session="));
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    assert!(!session_cookie.contains("Secure"), "loopback http issuer: browsers would drop a Secure cookie");
}

#[tokio::test]
async fn granular_consent_grants_only_what_was_approved_and_is_remembered() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, _, verifier) = flow.authorize_url(&["contact.read", "contact.write"]);
    let back = sign_in_and_approve(&flow, &browser, &url, &["contact.read"]).await;
    let code = query(&back, "code").expect("code");
    let response = redeem(&flow, &code, verifier.secret()).await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["scope"], "contact.read", "the unticked scope is not granted");

    // Asking again for what was approved skips the consent page.
    let (again, _, _) = flow.authorize_url(&["contact.read"]);
    let response = browser.get(again.as_str()).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(REDIRECT) && location(&response).contains("code="));
    // Asking for the declined scope shows the page again.
    let (wider, _, _) = flow.authorize_url(&["contact.read", "contact.write"]);
    let response = browser.get(wider.as_str()).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html(response).await.contains("Allow"));
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_tokens_it_issued() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, _, verifier) = flow.authorize_url(&["contact.read"]);
    let code =
        query(&sign_in_and_approve(&flow, &browser, &url, &["contact.read"]).await, "code").expect("code");
    let first: Value = redeem(&flow, &code, verifier.secret()).await.json().await.expect("json");
    let token = first["access_token"].as_str().expect("token");
    assert_eq!(flow.app.introspect(&flow.client_id, &flow.secret, token).await["active"], true);

    let second = redeem(&flow, &code, verifier.secret()).await;
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(second).await, "invalid_grant");
    assert_eq!(
        flow.app.introspect(&flow.client_id, &flow.secret, token).await["active"],
        false,
        "the first token is revoked"
    );
}

/// RFC 9700 §4.2.4 single use under load: of 50 simultaneous redemptions of
/// one code, exactly one gets tokens (on PostgreSQL, `TEST_BACKEND=postgres`,
/// the same holds; across two processes see the `tessera` crate's replica tests).
#[tokio::test]
async fn fifty_concurrent_redemptions_of_a_code_yield_one_token_response() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, _, verifier) = flow.authorize_url(&["contact.read"]);
    let code =
        query(&sign_in_and_approve(&flow, &browser, &url, &["contact.read"]).await, "code").expect("code");
    let responses = futures::future::join_all((0..50).map(|_| redeem(&flow, &code, verifier.secret()))).await;
    let statuses: Vec<u16> = responses.iter().map(|response| response.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 400).count(), 49, "{statuses:?}");

    // The replays revoke everything the one redemption issued, however they
    // interleaved with it: its access token and its refresh family.
    let issued = responses.into_iter().find(|response| response.status() == 200).expect("the one success");
    let issued: Value = issued.json().await.expect("json");
    let access_token = issued["access_token"].as_str().expect("access token");
    assert_eq!(flow.app.introspect(&flow.client_id, &flow.secret, access_token).await["active"], false);
    let refresh_token = issued["refresh_token"].as_str().expect("refresh token");
    let refreshed =
        exchange(&flow, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await;
    assert_eq!(error_of(refreshed).await, "invalid_grant");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let flow = flow_with(|config| config.authorization_code_lifetime = Duration::from_secs(1)).await;
    let browser = flow.app.browser();
    let (url, _, verifier) = flow.authorize_url(&["contact.read"]);
    let code =
        query(&sign_in_and_approve(&flow, &browser, &url, &["contact.read"]).await, "code").expect("code");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = redeem(&flow, &code, verifier.secret()).await;
    assert_eq!(error_of(response).await, "invalid_grant");
}

#[tokio::test]
async fn token_step_mismatches_are_invalid_grant() {
    let flow = flow().await;
    let other = flow
        .app
        .register(ClientRegistration {
            name: "Other".into(),
            redirect_uris: vec![REDIRECT.into()],
            scopes: vec!["contact.read".into()],
            ..Default::default()
        })
        .await;
    let other_secret = other.client_secret.expect("secret");
    let browser = flow.app.browser();
    for case in ["another client", "changed redirect_uri", "wrong verifier", "missing verifier"] {
        let (url, _, verifier) = flow.authorize_url(&["contact.read"]);
        let back = if case == "another client" {
            sign_in_and_approve(&flow, &browser, &url, &["contact.read"]).await
        } else {
            let response = browser.get(url.as_str()).send().await.expect("authorize (consent remembered)");
            Url::parse(&location(&response)).expect("redirect")
        };
        let code = query(&back, "code").expect("code");
        let wrong_verifier = "x".repeat(43);
        let form: Vec<(&str, &str)> = match case {
            "changed redirect_uri" => vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://sync.example.com/cb"),
                ("code_verifier", verifier.secret()),
            ],
            "wrong verifier" => vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &wrong_verifier),
            ],
            "missing verifier" => {
                vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]
            }
            _ => vec![
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier.secret()),
            ],
        };
        let response = match case {
            "another client" => {
                flow.app.post_with_basic("/token", &other.client.client_id, &other_secret, &form).await
            }
            _ => exchange(&flow, &form).await,
        };
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert_eq!(error_of(response).await, "invalid_grant", "{case}");
    }
}

#[tokio::test]
async fn missing_pkce_is_sent_back_as_invalid_request() {
    let flow = flow().await;
    let url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=contact.read&state=s1",
        flow.app.url("/authorize"),
        flow.client_id,
        urlencode(REDIRECT)
    );
    let response = flow.app.browser().get(url).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = Url::parse(&location(&response)).expect("redirect");
    assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query(&back, "state").as_deref(), Some("s1"));
    assert_eq!(query(&back, "iss").as_deref(), Some(flow.app.base_url.as_str()));
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect() {
    let flow = flow().await;
    let (url, _, _) = flow.authorize_url(&["contact.read"]);
    let evil = url.as_str().replace(&urlencode(REDIRECT), &urlencode("https://evil.example.com/steal"));
    assert_ne!(evil, url.as_str());
    let response = flow.app.browser().get(evil).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none(), "no redirect to an unregistered URI");
    assert!(html(response).await.contains("not registered"));

    let unknown_client = url.as_str().replace(&flow.client_id, "ghost");
    let response = flow.app.browser().get(unknown_client).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let flow = flow().await;
    let (url, state, _) = flow.authorize_url(&["contact.read"]);
    let response = flow.app.browser().get(format!("{url}&prompt=none")).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = Url::parse(&location(&response)).expect("redirect");
    assert_eq!(query(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(query(&back, "state").as_deref(), Some(state.secret().as_str()));
}

#[tokio::test]
async fn consent_without_the_csrf_token_is_refused() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, _, _) = flow.authorize_url(&["contact.read"]);
    let login = html(browser.get(url.as_str()).send().await.expect("authorize")).await;
    let after = submit_login(&flow.app, &browser, &login, PASSWORD).await;
    let consent = html(browser.get(flow.app.url(&location(&after))).send().await.expect("consent")).await;
    let request = hidden_field(&consent, "request").expect("request");
    for csrf in [None, Some("forged-token-forged-token-forged-token-forged")] {
        let mut form =
            vec![("request", request.as_str()), ("decision", "allow"), ("grant_scope", "contact.read")];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let response = browser
            .post(flow.app.url("/consent"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&form))
            .send()
            .await
            .expect("consent");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "csrf {csrf:?}");
        assert!(response.headers().get("location").is_none(), "no code without the CSRF token");
    }
}

#[tokio::test]
async fn denying_sends_access_denied() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, state, _) = flow.authorize_url(&["contact.read"]);
    let login = html(browser.get(url.as_str()).send().await.expect("authorize")).await;
    let after = submit_login(&flow.app, &browser, &login, PASSWORD).await;
    let consent = html(browser.get(flow.app.url(&location(&after))).send().await.expect("consent")).await;
    let denied = submit_consent(&flow.app, &browser, &consent, "deny", &["contact.read"]).await;
    let back = Url::parse(&location(&denied)).expect("redirect");
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some(state.secret().as_str()));
    assert!(query(&back, "code").is_none());
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_rate_limited() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let (url, _, _) = flow.authorize_url(&["contact.read"]);
    let login = html(browser.get(url.as_str()).send().await.expect("authorize")).await;
    for _ in 0..5 {
        let response = submit_login(&flow.app, &browser, &login, "wrong password").await;
        assert_eq!(response.status(), StatusCode::OK);
        let page = html(response).await;
        assert!(page.contains("The username or password is incorrect."));
        assert!(!page.contains("wrong password"), "the password is never echoed");
    }
    let blocked = submit_login(&flow.app, &browser, &login, PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    // The first lockout is the default 15 minutes, and the page says so.
    let retry_after: u64 =
        blocked.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((895..=900).contains(&retry_after), "Retry-After {retry_after}");
    assert!(html(blocked).await.contains("Try again in 15 minutes."));
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Runs the whole flow for `scopes` and returns the token response.
pub(crate) async fn tokens(flow: &Flow, browser: &reqwest::Client, scopes: &[&str]) -> Value {
    let (url, _, verifier) = flow.authorize_url(scopes);
    let back = match browser.get(url.as_str()).send().await.expect("authorize") {
        remembered if remembered.status() == StatusCode::SEE_OTHER => {
            Url::parse(&location(&remembered)).expect("redirect")
        }
        _ => sign_in_and_approve(flow, browser, &url, scopes).await,
    };
    let code = query(&back, "code").expect("code");
    let response = redeem(flow, &code, verifier.secret()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("token json")
}
