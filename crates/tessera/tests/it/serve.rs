//! `tessera serve`: zero-config start, the CLI beside a running server, TLS.

use std::process::Command;

use serde_json::Value;

use crate::util::{Dir, ServeProcess, json};

#[tokio::test]
async fn serves_discovery_with_no_configuration() {
    let dir = Dir::new();
    let server = ServeProcess::start(dir.command(&["serve", "--listen", "127.0.0.1:0"]));
    assert!(server.issuer.starts_with("http://127.0.0.1:"), "{}", server.issuer);
    let metadata: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(metadata["issuer"], server.issuer.as_str());
    assert!(crate::util::data_db(dir.path()).is_file(), "default data dir ./tessera-data is created");
}

#[tokio::test]
async fn cli_registers_clients_while_the_server_runs() {
    let dir = Dir::new();
    let server = ServeProcess::start(dir.command(&["serve", "--listen", "127.0.0.1:0"]));
    dir.run(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let created = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Live",
        "--scope",
        "contact.read",
        "--output",
        "json",
    ]));
    let client_id = created["client_id"].as_str().expect("id");
    let secret = created["client_secret"].as_str().expect("secret");

    let http = reqwest::Client::new();
    let token = |form: Vec<(&'static str, String)>| {
        http.post(server.url("/token")).basic_auth(client_id, Some(secret)).form(&form).send()
    };
    let response = token(vec![("grant_type", "client_credentials".into())]).await.expect("token");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["scope"], "contact.read");

    dir.run(&["client", "delete", client_id]);
    // The server caches clients and polls the store's change counter (250 ms by default).
    let deleted_at = std::time::Instant::now();
    loop {
        let response = token(vec![("grant_type", "client_credentials".into())]).await.expect("token");
        if response.status() == 401 {
            break;
        }
        assert!(
            deleted_at.elapsed() < std::time::Duration::from_secs(2),
            "a client deleted by the CLI is still accepted after 2 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[test]
fn non_loopback_http_issuer_is_refused_at_start() {
    let dir = Dir::new();
    let stderr =
        dir.run_failing(&["serve", "--listen", "127.0.0.1:0", "--issuer", "http://auth.example.com"]);
    assert!(stderr.contains("`issuer`") && stderr.contains("allow_insecure_http_issuer"), "{stderr}");
    let stderr = dir.run_failing(&["serve", "--listen", "0.0.0.0:0"]);
    assert!(stderr.contains("needs an explicit issuer"), "{stderr}");
}

#[test]
fn serves_https_with_the_configured_certificate() {
    let dir = Dir::new();
    let generated = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    std::fs::write(dir.path().join("tessera.toml"), "[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n")
        .expect("config");

    let server =
        ServeProcess::start(dir.command(&["--config", "tessera.toml", "serve", "--listen", "127.0.0.1:0"]));
    assert!(server.issuer.starts_with("https://127.0.0.1:"), "{}", server.issuer);
    let fetched = Command::new("curl")
        .current_dir(dir.path())
        .args([
            "-sS",
            "--fail",
            "--cacert",
            "cert.pem",
            &server.url("/.well-known/oauth-authorization-server"),
        ])
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert!(fetched.status.success(), "{}", String::from_utf8_lossy(&fetched.stderr));
    let metadata = json(&String::from_utf8_lossy(&fetched.stdout));
    assert_eq!(metadata["issuer"], server.issuer.as_str());
    assert!(metadata["token_endpoint"].as_str().is_some_and(|url| url.starts_with("https://")));
}

#[tokio::test]
async fn cli_and_server_share_a_postgres_database() {
    let Some(database) =
        tessera_testkit::PostgresDatabase::create("cli_and_server_share_a_postgres_database").await
    else {
        return;
    };
    let dir = Dir::new();
    std::fs::write(dir.path().join("tessera.toml"), format!("database_url = {:?}\n", database.url))
        .expect("config");
    let with_config = |args: &[&str]| {
        let mut all = vec!["--config", "tessera.toml"];
        all.extend_from_slice(args);
        dir.run(&all)
    };
    with_config(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let server =
        ServeProcess::start(dir.command(&["--config", "tessera.toml", "serve", "--listen", "127.0.0.1:0"]));
    let created = json(&with_config(&[
        "client",
        "create",
        "--name",
        "On Postgres",
        "--scope",
        "contact.read",
        "--output",
        "json",
    ]));
    let response = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(created["client_id"].as_str().expect("id"), created["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 200);
    assert!(!dir.path().join("tessera-data").exists(), "nothing is written to a local SQLite file");
    drop(server);
}
