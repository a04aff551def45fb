//! The first administrator and admin API tokens from the command line, and
//! the `TESSERA_ADMIN_*` bootstrap of `serve`.

use crate::util::{Dir, ServeProcess, json};

const PASSWORD: &str = "admin password 123";

async fn api_status(server: &ServeProcess, token: &str) -> u16 {
    reqwest::Client::new()
        .get(server.url("/admin/api/clients"))
        .bearer_auth(token)
        .send()
        .await
        .expect("admin api")
        .status()
        .as_u16()
}

#[tokio::test]
async fn admin_create_then_a_token_that_opens_the_admin_api() {
    let dir = Dir::new();
    let created =
        dir.run_with_stdin(&["admin", "create", "ada", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let taken = dir.run_with_stdin(&["admin", "create", "ada", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert!(!taken.status.success(), "an existing user is not silently promoted");
    assert!(String::from_utf8_lossy(&taken.stderr).contains("tessera user role ada admin"));
    let short = dir.run_with_stdin(&["admin", "create", "bob", "--password-stdin"], "short\n");
    assert!(!short.status.success(), "the password rules hold for administrators too");

    let token = dir.run(&["admin", "token", "create", "--user", "ada", "--name", "ci"]).trim().to_owned();
    assert!(token.starts_with("tsa_"), "{token}");
    let listed = json(&dir.run(&["admin", "token", "list", "--output", "json"]));
    assert_eq!(listed[0]["name"], "ci");
    assert_eq!(listed[0]["user"], "ada");
    assert!(!listed.to_string().contains(&token), "listing never shows the token");
    let token_id = listed[0]["token_id"].as_str().expect("id").to_owned();

    let server = ServeProcess::start(dir.command(&["serve", "--listen", "127.0.0.1:0"]));
    assert_eq!(api_status(&server, &token).await, 200);
    assert_eq!(api_status(&server, "tsa_not-a-token").await, 401);

    dir.run(&["admin", "token", "revoke", &token_id]);
    assert_eq!(api_status(&server, &token).await, 401, "a revoked token stops working at once");
    assert!(dir.run_failing(&["admin", "token", "revoke", &token_id]).contains("no admin API token"));
    assert!(
        dir.run_failing(&["admin", "token", "create", "--user", "nobody", "--name", "x"])
            .contains("no user named")
    );
}

#[tokio::test]
async fn serve_creates_the_first_admin_from_the_environment_only_once() {
    let dir = Dir::new();
    let mut command = dir.command(&["serve", "--listen", "127.0.0.1:0"]);
    command.env("TESSERA_ADMIN_USERNAME", "root").env("TESSERA_ADMIN_PASSWORD", PASSWORD);
    let server = ServeProcess::start(command);
    drop(server);
    let users = json(&dir.run(&["user", "list", "--output", "json"]));
    assert_eq!(users.as_array().map(Vec::len), Some(1));
    assert_eq!(users[0]["username"], "root");

    // With an administrator present, the variables create nobody.
    let mut again = dir.command(&["serve", "--listen", "127.0.0.1:0"]);
    again.env("TESSERA_ADMIN_USERNAME", "second").env("TESSERA_ADMIN_PASSWORD", PASSWORD);
    drop(ServeProcess::start(again));
    let users = json(&dir.run(&["user", "list", "--output", "json"]));
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");

    // Half a bootstrap is a mistake worth stopping for.
    let mut half = dir.command(&["serve", "--listen", "127.0.0.1:0"]);
    half.env("TESSERA_ADMIN_USERNAME", "third");
    let output = half.output().expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("TESSERA_ADMIN_PASSWORD"));
}

#[test]
fn user_role_changes_what_a_user_may_do() {
    let dir = Dir::new();
    let added = dir.run_with_stdin(&["user", "add", "dev", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert!(added.status.success());
    assert!(
        dir.run_failing(&["admin", "token", "create", "--user", "dev", "--name", "x"])
            .contains("developers and administrators")
    );
    dir.run(&["user", "role", "dev", "developer"]);
    assert!(dir.run(&["admin", "token", "create", "--user", "dev", "--name", "x"]).starts_with("tsa_"));
    assert!(dir.run_failing(&["user", "role", "dev", "root"]).contains("unknown role"));
}

#[test]
fn changes_made_with_the_cli_are_in_the_audit_trail() {
    let dir = Dir::new();
    dir.run(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let created = json(&dir.run(&["client", "create", "--name", "Audited CLI app", "--output", "json"]));
    let client_id = created["client_id"].as_str().expect("id");
    let secret = created["client_secret"].as_str().expect("secret");
    dir.run(&["client", "disable", client_id]);
    dir.run(&["client", "list"]);

    let tail = dir.run(&["audit", "tail", "--output", "json"]);
    let events: Vec<serde_json::Value> =
        tail.lines().map(|line| serde_json::from_str(line).expect("json line")).collect();
    let actions: Vec<&str> = events.iter().filter_map(|event| event["action"].as_str()).collect();
    assert_eq!(
        actions,
        ["scope.created", "client.created", "client.disabled"],
        "oldest first; reads are not recorded"
    );
    assert!(
        events.iter().all(|event| event["actor"].as_str().is_some_and(|actor| actor.starts_with("cli:")))
    );
    assert_eq!(events[2]["target"], client_id);
    assert!(!tail.contains(secret), "no secret in the trail");

    let found = dir.run(&["audit", "search", "--action", "client.", "--target", client_id]);
    assert!(found.contains("client.disabled") && !found.contains("scope.created"), "{found}");
}
