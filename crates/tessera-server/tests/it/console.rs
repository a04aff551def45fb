//! The admin console over plain HTTP: sign-in, CSRF, sessions, headers, and
//! what developers may see. (The browser journeys are in tests/browser.)

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE, X_FRAME_OPTIONS};
use tessera_core::secret::SecretHash;
use tessera_core::user::Role;
use tessera_store::{ClientQuery, SessionRecord};
use tessera_testkit::{TestApp, form_body, hidden_field, unix_now};

const PASSWORD: &str = "console password 1";

/// Signs `username` in through the login form; returns the browser and a CSRF token.
async fn sign_in(app: &TestApp, username: &str) -> (reqwest::Client, String) {
    let browser = app.browser();
    let page = browser.get(app.url("/admin/login")).send().await.expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = hidden_field(&page.text().await.expect("html"), "csrf").expect("csrf field");
    let response = browser
        .post(app.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("csrf", &csrf),
            ("username", username),
            ("password", PASSWORD),
            ("next", "/admin/apps"),
        ]))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    assert_eq!(response.headers()[LOCATION], "/admin/apps");
    let cookie = response.headers()[SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.starts_with("tessera_admin="), "{cookie}");
    for attribute in ["Path=/admin", "HttpOnly", "SameSite=Strict", "Max-Age=3600"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    (browser, csrf)
}

async fn post_form(browser: &reqwest::Client, url: String, form: &[(&str, &str)]) -> reqwest::Response {
    browser
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(form))
        .send()
        .await
        .expect("post")
}

#[tokio::test]
async fn pages_need_a_session_and_carry_anti_framing_headers() {
    let app = TestApp::spawn().await;
    for path in ["/admin/apps", "/admin/apps/new", "/admin/users", "/admin/activity", "/admin/tokens"] {
        let response = app.http.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()[LOCATION].to_str().expect("ascii").to_owned();
        assert!(location.starts_with("/admin/login?next=%2Fadmin%2F"), "{path} -> {location}");
    }
    let posted = app.http.post(app.url("/admin/apps")).body("name=x").send().await.expect("post");
    assert_eq!(posted.status(), StatusCode::SEE_OTHER, "a form posted without a session goes to login");

    app.add_user_with_role("ada", PASSWORD, Role::Admin).await;
    let (browser, _) = sign_in(&app, "ada").await;
    let page = browser.get(app.url("/admin/apps")).send().await.expect("apps");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[X_FRAME_OPTIONS], "DENY");
    let csp = page.headers()[CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn a_form_without_the_csrf_token_changes_nothing() {
    let app = TestApp::spawn().await;
    app.add_user_with_role("ada", PASSWORD, Role::Admin).await;
    let (browser, csrf) = sign_in(&app, "ada").await;
    let forged =
        post_form(&browser, app.url("/admin/apps"), &[("name", "Forged"), ("csrf", "x".repeat(43).as_str())])
            .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let missing = post_form(&browser, app.url("/admin/apps"), &[("name", "Forged")]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let all = ClientQuery { limit: 10, ..ClientQuery::default() };
    assert_eq!(app.store().search_clients(&all).await.expect("search").1, 0, "no client was created");

    let genuine = post_form(&browser, app.url("/admin/apps"), &[("name", "Genuine"), ("csrf", &csrf)]).await;
    assert_eq!(genuine.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store().search_clients(&all).await.expect("search").1, 1);
}

#[tokio::test]
async fn a_refused_form_shows_the_rule_it_broke_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    app.add_user_with_role("ada", PASSWORD, Role::Admin).await;
    let (browser, csrf) = sign_in(&app, "ada").await;
    let refused = post_form(
        &browser,
        app.url("/admin/apps"),
        &[("csrf", &csrf), ("name", "Typed name"), ("redirect_uri", "https://app.example.com/cb#fragment")],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.expect("html");
    assert!(html.contains("fragment"), "the error names the problem: {html}");
    assert!(html.contains("value=\"Typed name\""), "the form keeps its values");
}

#[tokio::test]
async fn expired_sessions_demoted_users_and_plain_users_are_sent_to_login() {
    let app = TestApp::spawn().await;
    let ada = app.add_user_with_role("ada", PASSWORD, Role::Admin).await;
    app.add_user("uma", PASSWORD).await;

    // A session past its expiry, presented by a browser that still has the cookie.
    let expired = "e".repeat(43);
    let now = unix_now();
    let record = SessionRecord {
        session_hash: SecretHash::of(&expired),
        user_id: ada.clone(),
        auth_time: now - 7200,
        expires_at: now - 1,
    };
    app.store().create_session(&record).await.expect("session");
    let response = app
        .http
        .get(app.url("/admin/apps"))
        .header("cookie", format!("tessera_admin={expired}"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "an expired session is no session");

    // A user without a console role cannot sign in, even with the right password.
    let browser = app.browser();
    let page = browser.get(app.url("/admin/login")).send().await.expect("login page");
    let csrf = hidden_field(&page.text().await.expect("html"), "csrf").expect("csrf");
    let refused = post_form(
        &browser,
        app.url("/admin/login"),
        &[("csrf", &csrf), ("username", "uma"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::OK);
    assert!(refused.text().await.expect("html").contains("no access to the console"));

    // Demotion takes effect on the next request of an open session.
    let (browser, _) = sign_in(&app, "ada").await;
    assert_eq!(browser.get(app.url("/admin/apps")).send().await.expect("get").status(), StatusCode::OK);
    let mut user = app.store().find_user(&ada).await.expect("find").expect("exists");
    user.role = Role::User;
    app.store().update_user(&user).await.expect("demote");
    assert_eq!(
        browser.get(app.url("/admin/apps")).send().await.expect("get").status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn login_returns_only_to_console_pages() {
    let app = TestApp::spawn().await;
    app.add_user_with_role("ada", PASSWORD, Role::Admin).await;
    for next in
        ["//evil.example.com/admin", "https://evil.example.com/", "/admin\\@evil.example.com", "/token"]
    {
        let browser = app.browser();
        let page = browser.get(app.url("/admin/login")).send().await.expect("login page");
        let csrf = hidden_field(&page.text().await.expect("html"), "csrf").expect("csrf");
        let response = post_form(
            &browser,
            app.url("/admin/login"),
            &[("csrf", &csrf), ("username", "ada"), ("password", PASSWORD), ("next", next)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/admin/apps", "next={next}");
    }
}

#[tokio::test]
async fn developers_manage_only_their_own_applications() {
    let app = TestApp::spawn().await;
    app.add_scope("contact.read").await;
    app.add_user_with_role("dev", PASSWORD, Role::Developer).await;
    let (theirs, _) = app.confidential_client(&["contact.read"]).await;
    let (browser, csrf) = sign_in(&app, "dev").await;

    let created = post_form(
        &browser,
        app.url("/admin/apps"),
        &[("csrf", &csrf), ("name", "Mine"), ("scope", "contact.read")],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[LOCATION].to_str().expect("ascii").to_owned();
    let mine = location.trim_start_matches("/admin/apps/").trim_end_matches("?notice=created").to_owned();
    let owner = app.store().find_client(&mine).await.expect("find").expect("exists").owner;
    let dev = app.store().find_user_by_username("dev").await.expect("find").expect("exists");
    assert_eq!(owner, Some(dev.user_id), "the developer owns what they register");

    let list = browser.get(app.url("/admin/apps")).send().await.expect("list").text().await.expect("html");
    assert!(list.contains(&mine) && !list.contains(&theirs), "only their own application is listed");
    for path in [format!("/admin/apps/{theirs}"), format!("/admin/apps/{theirs}/edit")] {
        let response = browser.get(app.url(&path)).send().await.expect("get");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let delete =
        post_form(&browser, app.url(&format!("/admin/apps/{theirs}/delete")), &[("csrf", &csrf)]).await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    assert!(app.store().find_client(&theirs).await.expect("find").is_some(), "not deleted");

    let privileged = post_form(
        &browser,
        app.url("/admin/apps"),
        &[("csrf", &csrf), ("name", "Sneaky"), ("introspect_any_token", "on")],
    )
    .await;
    assert_eq!(privileged.status(), StatusCode::FORBIDDEN);
    for admin_only in ["/admin/users", "/admin/activity", "/admin/scopes"] {
        assert_eq!(
            browser.get(app.url(admin_only)).send().await.expect("get").status(),
            StatusCode::FORBIDDEN,
            "{admin_only}"
        );
    }
}

#[tokio::test]
async fn a_password_reset_ends_the_users_sessions() {
    let app = TestApp::spawn().await;
    let ada = app.add_user_with_role("ada", PASSWORD, Role::Admin).await;
    let (browser, _) = sign_in(&app, "ada").await;
    assert_eq!(browser.get(app.url("/admin/apps")).send().await.expect("get").status(), StatusCode::OK);

    let admin = app.store().find_user(&ada).await.expect("find").expect("exists");
    let actor = tessera_server::admin::Actor { user: admin, token_id: None, ip: None };
    tessera_server::admin::service::reset_password(app.state(), &actor, &ada, "a brand new password".into())
        .await
        .expect("reset");
    let after = browser.get(app.url("/admin/apps")).send().await.expect("get");
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the session opened with the old password has ended");
}

#[tokio::test]
async fn the_application_form_sets_the_dpop_and_par_requirements() {
    let app = TestApp::spawn().await;
    app.add_scope("contact.read").await;
    app.add_user_with_role("root", PASSWORD, Role::Admin).await;
    let (browser, csrf) = sign_in(&app, "root").await;
    let form =
        browser.get(app.url("/admin/apps/new")).send().await.expect("form").text().await.expect("html");
    for checkbox in ["dpop_bound_access_tokens", "require_pushed_authorization_requests"] {
        assert!(form.contains(&format!("name=\"{checkbox}\"")), "{checkbox}");
    }

    let created = post_form(
        &browser,
        app.url("/admin/apps"),
        &[
            ("csrf", &csrf),
            ("name", "Strict"),
            ("scope", "contact.read"),
            ("dpop_bound_access_tokens", "on"),
            ("require_pushed_authorization_requests", "on"),
        ],
    )
    .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[LOCATION].to_str().expect("ascii").to_owned();
    let id = location.trim_start_matches("/admin/apps/").trim_end_matches("?notice=created").to_owned();
    let client = app.store().find_client(&id).await.expect("find").expect("exists");
    assert!(client.dpop_bound_access_tokens && client.require_pushed_authorization_requests);
    let page = browser.get(app.url(&format!("/admin/apps/{id}"))).send().await.expect("page");
    let page = page.text().await.expect("html");
    assert!(page.contains("required on every token request"), "the application page says so");
    let edit = browser.get(app.url(&format!("/admin/apps/{id}/edit"))).send().await.expect("edit");
    let edit = edit.text().await.expect("html");
    for checkbox in ["dpop_bound_access_tokens", "require_pushed_authorization_requests"] {
        assert!(edit.contains(&format!("name=\"{checkbox}\" value=\"on\" checked>")), "{checkbox} ticked");
        assert!(!form.contains(&format!("name=\"{checkbox}\" value=\"on\" checked>")), "{checkbox} unticked");
    }

    // Unticked on edit: off again.
    let updated = post_form(
        &browser,
        app.url(&format!("/admin/apps/{id}")),
        &[("csrf", &csrf), ("name", "Strict"), ("scope", "contact.read")],
    )
    .await;
    assert_eq!(updated.status(), StatusCode::SEE_OTHER);
    let client = app.store().find_client(&id).await.expect("find").expect("exists");
    assert!(!client.dpop_bound_access_tokens && !client.require_pushed_authorization_requests);
}
