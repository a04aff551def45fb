//! With logging at `trace`, traffic through every kind of credential leaves
//! none of them in the logs: client secrets (right and wrong), passwords,
//! codes, PKCE verifiers, access and refresh tokens, registration and admin
//! tokens.

use oauth2::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_testkit::{authorize_in_browser, form_body, hidden_field};

use crate::util::{Dir, ServeProcess, json};

const ALICE_PASSWORD: &str = "alice-password-8472";
const ADMIN_PASSWORD: &str = "admin-password-5931";
const REDIRECT: &str = "http://127.0.0.1/callback";

/// The value of `input#id` in a page.
fn input_value(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" readonly value=\"");
    let start = html.find(&marker).expect("input present") + marker.len();
    html[start..start + html[start..].find('"').expect("value ends")].to_owned()
}

async fn token(
    http: &reqwest::Client,
    server: &ServeProcess,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> Value {
    let response = http
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(form))
        .send()
        .await
        .expect("token");
    response.json().await.expect("json")
}

#[tokio::test]
async fn trace_logs_hold_no_credential() {
    let dir = Dir::new();
    dir.run(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let added =
        dir.run_with_stdin(&["user", "add", "alice", "--password-stdin"], &format!("{ALICE_PASSWORD}\n"));
    assert!(added.status.success());
    let client = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Logged",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "contact.read",
        "--scope",
        "offline_access",
        "--grant-type",
        "client_credentials",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--introspect-any-token",
        "--output",
        "json",
    ]));
    let (client_id, secret) =
        (client["client_id"].as_str().expect("id"), client["client_secret"].as_str().expect("secret"));
    let registration_token = json(&dir.run(&["registration-token", "create", "--output", "json"]))["token"]
        .as_str()
        .expect("token")
        .to_owned();

    let mut command = dir.command(&["serve", "--listen", "127.0.0.1:0"]);
    command
        .env("TESSERA_LOG", "trace")
        .env("TESSERA_ADMIN_USERNAME", "root")
        .env("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let server = ServeProcess::start(command);
    let admin_token =
        dir.run(&["admin", "token", "create", "--user", "root", "--name", "logs"]).trim().to_owned();
    let http = reqwest::Client::new();
    let mut secrets: Vec<String> = vec![
        secret.into(),
        ALICE_PASSWORD.into(),
        ADMIN_PASSWORD.into(),
        registration_token.clone(),
        admin_token.clone(),
    ];

    // Machine to machine, a wrong secret, introspection.
    let issued = token(&http, &server, client_id, secret, &[("grant_type", "client_credentials")]).await;
    let access_token = issued["access_token"].as_str().expect("access token").to_owned();
    let wrong =
        token(&http, &server, client_id, "wrong-secret-3321", &[("grant_type", "client_credentials")]).await;
    assert_eq!(wrong["error"], "invalid_client");
    secrets.extend([access_token.clone(), "wrong-secret-3321".into()]);
    let introspected = http
        .post(server.url("/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", access_token.as_str())])
        .send()
        .await
        .expect("introspect");
    assert_eq!(introspected.status(), StatusCode::OK);

    // A user's sign-in, consent, code, PKCE verifier, refresh rotation and revocation.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut authorize = url::Url::parse(&server.url("/authorize")).expect("url");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "contact.read offline_access")
        .append_pair("state", "s-1")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let back = authorize_in_browser(
        &browser,
        authorize.as_str(),
        "alice",
        ALICE_PASSWORD,
        &["contact.read", "offline_access"],
    )
    .await;
    let code = back
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("code");
    let redeemed = token(
        &http,
        &server,
        client_id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.secret()),
        ],
    )
    .await;
    let refresh_token = redeemed["refresh_token"].as_str().expect("refresh token").to_owned();
    let rotated = token(
        &http,
        &server,
        client_id,
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)],
    )
    .await;
    let successor = rotated["refresh_token"].as_str().expect("successor").to_owned();
    let revoked = http
        .post(server.url("/revoke"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", successor.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);
    secrets.extend([code, verifier.secret().clone(), refresh_token, successor]);

    // Dynamic registration, and its registration access token.
    let registered: Value = http
        .post(server.url("/register"))
        .bearer_auth(&registration_token)
        .json(&json!({ "client_name": "Registered", "redirect_uris": [REDIRECT] }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    secrets.push(registered["client_secret"].as_str().expect("secret").into());
    secrets.push(registered["registration_access_token"].as_str().expect("token").into());

    // The console: sign-in, "Generate keys", and the admin API.
    let console = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let login =
        console.get(server.url("/admin/login")).send().await.expect("login").text().await.expect("html");
    let csrf = hidden_field(&login, "csrf").expect("csrf");
    let signed_in = console
        .post(server.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", &csrf), ("username", "root"), ("password", ADMIN_PASSWORD)]))
        .send()
        .await
        .expect("login");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let created = console
        .post(server.url("/admin/apps"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", &csrf), ("name", "Console app")]))
        .send()
        .await
        .expect("create");
    let location = created.headers()["location"].to_str().expect("location").to_owned();
    let page = console.get(server.url(&location)).send().await.expect("keys").text().await.expect("html");
    secrets.push(input_value(&page, "client-secret"));
    let listed =
        http.get(server.url("/admin/api/clients")).bearer_auth(&admin_token).send().await.expect("api");
    assert_eq!(listed.status(), StatusCode::OK);

    // The log writer is a thread: give it a moment to drain.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let logs = server.output();
    assert!(logs.contains("TRACE"), "logging really was at trace level");
    assert!(logs.lines().count() > 100, "and there was plenty of it");
    assert!(logs.contains(client_id), "identifiers are logged, so a logged credential would be seen too");
    for secret in &secrets {
        assert!(secret.len() >= 8, "a credential worth looking for: {secret}");
        assert!(!logs.contains(secret.as_str()), "a credential appears in the logs: {secret}");
    }
}
