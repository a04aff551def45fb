//! A browser's walk through the login and consent pages, for tests that
//! drive a server they did not start in-process (a `tessera serve` process).

use reqwest::{StatusCode, Url};

use crate::{form_body, hidden_field};

/// Follows the authorization request at `authorize_url` as a person would:
/// signs `username` in and approves `scopes` when asked, reusing the session
/// and consent when there are some. Returns the redirect back to the client.
pub async fn authorize_in_browser(
    browser: &reqwest::Client,
    authorize_url: &str,
    username: &str,
    password: &str,
    scopes: &[&str],
) -> Url {
    let start = Url::parse(authorize_url).expect("authorize URL");
    let mut response = browser.get(start.as_str()).send().await.expect("authorize");
    for form_action in ["/login", "/consent"] {
        if response.status() != StatusCode::OK {
            break;
        }
        let page = response.text().await.expect("page");
        let mut form = vec![
            ("csrf".to_owned(), hidden_field(&page, "csrf").expect("csrf")),
            ("request".to_owned(), hidden_field(&page, "request").expect("request")),
        ];
        match form_action {
            "/login" => {
                form.extend([("username".into(), username.into()), ("password".into(), password.into())])
            }
            _ => {
                form.push(("decision".into(), "allow".into()));
                form.extend(scopes.iter().map(|scope| ("grant_scope".to_owned(), (*scope).to_owned())));
            }
        }
        let form: Vec<(&str, &str)> =
            form.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        let posted = browser
            .post(start.join(form_action).expect("form URL"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&form))
            .send()
            .await
            .expect("form post");
        assert_eq!(posted.status(), StatusCode::SEE_OTHER, "{form_action}");
        let next = posted.headers()["location"].to_str().expect("location").to_owned();
        if !next.starts_with('/') {
            response = posted;
            break;
        }
        response = browser.get(start.join(&next).expect("relative location")).send().await.expect("follow");
    }
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "the request ends with a redirect to the client");
    Url::parse(response.headers()["location"].to_str().expect("location")).expect("redirect URL")
}
