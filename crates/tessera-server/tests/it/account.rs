//! "Connected applications": a signed-in user sees what they approved and
//! revokes it.

use reqwest::StatusCode;
use tessera_testkit::{form_body, hidden_field};

use crate::code_flow::{PASSWORD, error_of, exchange, flow, tokens};

#[tokio::test]
async fn a_user_sees_and_revokes_an_applications_access() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let granted = tokens(&flow, &browser, &["contact.read"]).await;
    let refresh_token = granted["refresh_token"].as_str().expect("refresh token").to_owned();

    let page = browser.get(flow.app.url("/account/applications")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.expect("html");
    assert!(html.contains("Contacts Sync") && html.contains("Access to contact.read"), "{html}");

    let without_csrf = browser
        .post(flow.app.url("/account/applications/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("client_id", flow.client_id.as_str())]))
        .send()
        .await
        .expect("post");
    assert_eq!(without_csrf.status(), StatusCode::BAD_REQUEST);

    let csrf = hidden_field(&html, "csrf").expect("csrf");
    let revoked = browser
        .post(flow.app.url("/account/applications/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", csrf.as_str()), ("client_id", flow.client_id.as_str())]))
        .send()
        .await
        .expect("post");
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let html = browser
        .get(flow.app.url("/account/applications"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("No application has access"), "{html}");

    let refresh =
        exchange(&flow, &[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)]).await;
    assert_eq!(error_of(refresh).await, "invalid_grant", "the application's refresh token is revoked");
    let (again, _, _) = flow.authorize_url(&["contact.read"]);
    let consent = browser.get(again.as_str()).send().await.expect("authorize");
    assert_eq!(consent.status(), StatusCode::OK, "the consent page is shown again");
}

#[tokio::test]
async fn the_account_page_asks_for_a_login_first() {
    let flow = flow().await;
    let browser = flow.app.browser();
    let page = browser.get(flow.app.url("/account/applications")).send().await.expect("page");
    let html = page.text().await.expect("html");
    assert!(html.contains("to manage your account"));
    let form = [
        ("csrf", hidden_field(&html, "csrf").expect("csrf")),
        ("return_to", hidden_field(&html, "return_to").expect("return_to")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signed_in = browser
        .post(flow.app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&pairs))
        .send()
        .await
        .expect("login");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/account/applications");

    // return_to is never an arbitrary URL: anything else is an ordinary (failing) authorization resume.
    let open_redirect: Vec<(&str, &str)> = vec![
        ("csrf", pairs[0].1),
        ("return_to", "https://evil.example.com/"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let refused = browser
        .post(flow.app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&open_redirect))
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.headers().get("location").is_none());
}
