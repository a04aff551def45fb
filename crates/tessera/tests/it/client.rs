//! `tessera client …` and `tessera scope …` on a data directory.

use crate::util::{Dir, json};

#[test]
fn create_shows_the_secret_once_and_never_again() {
    let dir = Dir::new();
    dir.run(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let created = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Billing",
        "--org-url",
        "https://billing.example.com",
        "--redirect-uri",
        "https://billing.example.com/cb",
        "--redirect-uri",
        "https://billing.example.com/cb2",
        "--scope",
        "contact.read",
        "--output",
        "json",
    ]));
    let client_id = created["client_id"].as_str().expect("client_id");
    let secret = created["client_secret"].as_str().expect("client_secret");
    assert!(secret.len() >= 43, "at least 256 bits of base64url");
    assert_eq!(created["redirect_uris"].as_array().map(Vec::len), Some(2));

    let shown = dir.run(&["client", "show", client_id, "--output", "json"]);
    assert!(!shown.contains(secret), "show never prints the secret");
    assert_eq!(json(&shown)["name"], "Billing");
    let text = dir.run(&["client", "show", client_id]);
    assert!(text.contains("Billing") && !text.contains(secret));
    let listed = dir.run(&["client", "list", "--output", "json"]);
    assert!(listed.contains(client_id) && !listed.contains(secret));

    let db = std::fs::read(crate::util::data_db(dir.path())).expect("database file");
    let needle = secret.as_bytes();
    assert!(!db.windows(needle.len()).any(|w| w == needle), "the secret is not stored in clear");

    dir.run(&["client", "delete", client_id]);
    let err = dir.run_failing(&["client", "show", client_id]);
    assert_eq!(
        err.trim(),
        format!("error: no client with id `{client_id}` (list them with `tessera client list`)")
    );
}

#[test]
fn text_output_warns_that_the_secret_is_shown_once() {
    let dir = Dir::new();
    let out = dir.run(&["client", "create", "--name", "Reporter"]);
    assert!(out.contains("client_id:") && out.contains("client_secret:"));
    assert!(out.contains("cannot be shown again"), "{out}");
}

#[test]
fn errors_exit_non_zero_with_one_line() {
    let dir = Dir::new();
    let cases: &[(&[&str], &str)] = &[
        (&["client", "create", "--name", "X", "--scope", "nope"], "unknown scope(s): nope"),
        (
            &["client", "create", "--name", "X", "--redirect-uri", "http://evil.example.com/cb"],
            "must use https",
        ),
        (&["client", "create", "--name", "X", "--grant-type", "password"], "unknown grant type `password`"),
        (&["scope", "add", "bad scope", "--description", "x"], "is not a valid scope"),
        (&["client", "delete", "ghost"], "no client with id `ghost`"),
    ];
    for (args, expected) in cases {
        let stderr = dir.run_failing(args);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn scope_in_use_cannot_be_deleted() {
    let dir = Dir::new();
    dir.run(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let scopes = json(&dir.run(&["scope", "list", "--output", "json"]));
    assert_eq!(scopes[0]["description"], "Read contacts");
    let created =
        json(&dir.run(&["client", "create", "--name", "A", "--scope", "contact.read", "--output", "json"]));
    let stderr = dir.run_failing(&["scope", "delete", "contact.read"]);
    assert!(stderr.contains("still granted"), "{stderr}");
    dir.run(&["client", "delete", created["client_id"].as_str().expect("id")]);
    dir.run(&["scope", "delete", "contact.read"]);
}

#[test]
fn data_dir_comes_from_flag_env_or_config_file() {
    let dir = Dir::new();
    dir.run(&["--data-dir", "from-flag", "scope", "add", "a", "--description", "A"]);
    assert!(dir.path().join("from-flag/tessera.db").is_file());

    let mut command = dir.command(&["scope", "add", "b", "--description", "B"]);
    command.env("TESSERA_DATA_DIR", "from-env");
    assert!(command.status().expect("run").success());
    assert!(dir.path().join("from-env/tessera.db").is_file());

    std::fs::write(dir.path().join("tessera.toml"), "data_dir = \"from-file\"\n").expect("config");
    dir.run(&["--config", "tessera.toml", "scope", "add", "c", "--description", "C"]);
    assert!(dir.path().join("from-file/tessera.db").is_file());

    std::fs::write(dir.path().join("typo.toml"), "data_dri = \"x\"\n").expect("config");
    let stderr = dir.run_failing(&["--config", "typo.toml", "scope", "list"]);
    assert!(stderr.contains("data_dri"), "{stderr}");
}

#[test]
fn rotate_disable_enable_and_registration_tokens() {
    let dir = Dir::new();
    let created = json(&dir.run(&["client", "create", "--name", "Rotating", "--output", "json"]));
    let client_id = created["client_id"].as_str().expect("id");
    let old = created["client_secret"].as_str().expect("secret");

    let rotated =
        json(&dir.run(&["client", "rotate-secret", client_id, "--grace", "1h", "--output", "json"]));
    let new = rotated["client_secret"].as_str().expect("new secret");
    assert_ne!(new, old);
    assert_eq!(rotated["previous_secret_grace"], "1h");
    let text = dir.run(&["client", "rotate-secret", client_id]);
    assert!(text.contains("client_secret:") && text.contains("stopped working"), "{text}");

    dir.run(&["client", "disable", client_id]);
    assert_eq!(json(&dir.run(&["client", "show", client_id, "--output", "json"]))["disabled"], true);
    dir.run(&["client", "enable", client_id]);
    assert_eq!(json(&dir.run(&["client", "show", client_id, "--output", "json"]))["disabled"], false);
    let stderr = dir.run_failing(&["client", "disable", "ghost"]);
    assert!(stderr.contains("no client with id `ghost`"), "{stderr}");

    let public = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "SPA",
        "--public",
        "--redirect-uri",
        "https://spa.example.com/cb",
        "--output",
        "json",
    ]));
    let stderr = dir.run_failing(&["client", "rotate-secret", public["client_id"].as_str().expect("id")]);
    assert!(stderr.contains("public clients have no secret"), "{stderr}");

    let token = json(&dir.run(&["registration-token", "create", "--expires-in", "1h", "--output", "json"]));
    assert!(token["token"].as_str().is_some_and(|t| t.len() >= 43));
    assert!(token["expires_at"].as_u64().is_some());
    let text = dir.run(&["registration-token", "create"]);
    assert!(text.contains("Authorization: Bearer"), "{text}");
}

#[test]
fn unknown_tessera_variables_are_warned_about_not_fatal() {
    let dir = Dir::new();
    let output = dir
        .command(&["scope", "list"])
        .env("TESSERA_DATA_DRI", "typo")
        .env("TESSERA_DATA_DIR", "from-env")
        .output()
        .expect("run");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: environment variable TESSERA_DATA_DRI is not a Tessera setting"),
        "{stderr}"
    );
    assert!(dir.path().join("from-env/tessera.db").is_file(), "known variables still apply");
}

#[test]
fn users_are_added_with_a_password_from_stdin_and_never_echoed() {
    let dir = Dir::new();
    let add = |args: &[&str], stdin: &str| dir.run_with_stdin(args, stdin);
    let output = add(
        &["user", "add", "alice", "--password-stdin", "--email", "alice@example.com", "--name", "Alice"],
        "correct horse battery\n",
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let all_output =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!all_output.contains("correct horse"), "the password is never echoed");

    let users = json(&dir.run(&["user", "list", "--output", "json"]));
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[0]["email"], "alice@example.com");
    assert!(users[0].get("password_hash").is_none());
    let db = std::fs::read(crate::util::data_db(dir.path())).expect("database");
    assert!(!db.windows(b"correct horse".len()).any(|w| w == b"correct horse"), "only a hash is stored");

    let short = add(&["user", "add", "bob", "--password-stdin"], "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("8 to 1024 characters"));
    let taken = add(&["user", "add", "alice", "--password-stdin"], "another password\n");
    assert!(String::from_utf8_lossy(&taken.stderr).contains("user `alice` already exists"));
    let no_flag = dir.run_failing(&["user", "add", "carol"]);
    assert!(no_flag.contains("--password-stdin"), "{no_flag}");

    assert!(add(&["user", "passwd", "alice", "--password-stdin"], "a new password\n").status.success());
    dir.run(&["user", "disable", "alice"]);
    assert_eq!(json(&dir.run(&["user", "list", "--output", "json"]))[0]["disabled"], true);
    dir.run(&["user", "enable", "alice"]);
    assert_eq!(json(&dir.run(&["user", "list", "--output", "json"]))[0]["disabled"], false);
}

#[test]
fn pkce_can_be_optional_only_for_confidential_clients() {
    let dir = Dir::new();
    let legacy = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Legacy",
        "--redirect-uri",
        "https://legacy.example.com/cb",
        "--pkce",
        "optional",
        "--output",
        "json",
    ]));
    assert_eq!(legacy["require_pkce"], false);
    let default = json(&dir.run(&["client", "create", "--name", "Modern", "--output", "json"]));
    assert_eq!(default["require_pkce"], true);
    let stderr = dir.run_failing(&[
        "client",
        "create",
        "--name",
        "SPA",
        "--public",
        "--redirect-uri",
        "https://spa.example.com/cb",
        "--pkce",
        "optional",
    ]);
    assert!(stderr.contains("public clients always need PKCE"), "{stderr}");
}

#[test]
fn dpop_and_par_can_be_required_per_client() {
    let dir = Dir::new();
    let strict = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Strict",
        "--redirect-uri",
        "https://strict.example.com/cb",
        "--dpop-bound-access-tokens",
        "--require-pushed-authorization-requests",
        "--output",
        "json",
    ]));
    assert_eq!(strict["dpop_bound_access_tokens"], true);
    assert_eq!(strict["require_pushed_authorization_requests"], true);
    let client_id = strict["client_id"].as_str().expect("client_id");
    let shown = json(&dir.run(&["client", "show", client_id, "--output", "json"]));
    assert_eq!(shown["dpop_bound_access_tokens"], true, "stored");
    assert_eq!(shown["require_pushed_authorization_requests"], true, "stored");
    let text = dir.run(&["client", "show", client_id]);
    assert!(text.contains("dpop:           required") && text.contains("par:            required"), "{text}");

    let default = json(&dir.run(&["client", "create", "--name", "Relaxed", "--output", "json"]));
    assert_eq!(default["dpop_bound_access_tokens"], false);
    assert_eq!(default["require_pushed_authorization_requests"], false);
}

#[test]
fn a_client_may_publish_its_keys_at_a_jwks_uri() {
    let dir = Dir::new();
    let created = json(&dir.run(&[
        "client",
        "create",
        "--name",
        "Rotating keys",
        "--jwks-uri",
        "https://keys.example.com/jwks.json",
        "--output",
        "json",
    ]));
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
    assert!(created["client_secret"].is_null(), "a key-authenticated client gets no secret: {created}");

    let stderr =
        dir.run_failing(&["client", "create", "--name", "X", "--jwks-uri", "http://keys.example.com/jwks"]);
    assert!(
        stderr.contains("jwks_uri `http://keys.example.com/jwks` must be an absolute https URL"),
        "{stderr}"
    );
    let stderr = dir.run_failing(&[
        "client",
        "create",
        "--name",
        "X",
        "--jwks-uri",
        "https://keys.example.com/jwks.json",
        "--jwks",
        "keys.json",
    ]);
    assert!(stderr.contains("--jwks"), "one source of keys: {stderr}");

    // `[outbound] allow_http` (tests, closed networks) lets an http one through.
    let output = dir
        .command(&[
            "client",
            "create",
            "--name",
            "Lab",
            "--jwks-uri",
            "http://keys.lab/jwks.json",
            "--output",
            "json",
        ])
        .env("TESSERA_OUTBOUND__ALLOW_HTTP", "true")
        .output()
        .expect("run tessera");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        json(&String::from_utf8_lossy(&output.stdout))["token_endpoint_auth_method"],
        "private_key_jwt"
    );
}
