//! `tessera config check`, and the hints for mistyped settings.

use crate::util::{Dir, json};

#[test]
fn config_check_prints_the_effective_settings_with_secrets_masked() {
    let dir = Dir::new();
    std::fs::write(
        dir.path().join("tessera.toml"),
        "access_token_lifetime = \"15m\"\n\
         database_url = \"postgres://tessera:hunter2-secret@db.internal/tessera\"\n\
         initial_access_token = \"a-fixed-initial-access-token-of-some-length\"\n",
    )
    .expect("write");
    let text = dir.run(&["--config", "tessera.toml", "config", "check"]);
    assert!(text.starts_with("# configuration OK"), "{text}");
    assert!(text.contains("access_token_lifetime = \"15m\""), "{text}");
    assert!(text.contains("postgres://tessera:********@db.internal/tessera"), "{text}");
    assert!(!text.contains("hunter2") && !text.contains("a-fixed-initial"), "secrets are masked: {text}");

    let settings = json(&dir.run(&["--config", "tessera.toml", "config", "check", "--output", "json"]));
    assert_eq!(settings["access_token_lifetime"], "15m");
    assert_eq!(settings["initial_access_token"], "********");
    assert_eq!(settings["listen"], "127.0.0.1:8080", "defaults are shown too");
}

#[test]
fn config_check_prints_the_dynamic_registration_controls() {
    let dir = Dir::new();
    std::fs::write(
        dir.path().join("tessera.toml"),
        "[registration]\nallowed_redirect_hosts = [\"app.example.com\", \"*.example.org\"]\nunused_expiry = \"off\"\n",
    )
    .expect("write");
    let text = dir.run(&["--config", "tessera.toml", "config", "check"]);
    assert!(text.contains("[registration]"), "{text}");
    assert!(text.contains("unused_expiry = \"off\""), "{text}");
    assert!(text.contains("prune_interval = \"1h\""), "defaults are shown too: {text}");
    let settings = json(&dir.run(&["--config", "tessera.toml", "config", "check", "--output", "json"]));
    assert_eq!(
        settings["registration"]["allowed_redirect_hosts"],
        serde_json::json!(["app.example.com", "*.example.org"])
    );

    let mut command = dir.command(&["config", "check", "--output", "json"]);
    command.env("TESSERA_REGISTRATION__ALLOWED_REDIRECT_HOSTS", "a.example.com, *.b.example.com");
    let output = command.output().expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let settings = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(
        settings["registration"]["allowed_redirect_hosts"],
        serde_json::json!(["a.example.com", "*.b.example.com"]),
        "a comma-separated variable"
    );

    std::fs::write(dir.path().join("wide.toml"), "[registration]\nallowed_redirect_hosts = [\"*.com\"]\n")
        .expect("write");
    let wide = dir.run_failing(&["--config", "wide.toml", "config", "check"]);
    assert!(wide.contains("registration.allowed_redirect_hosts") && wide.contains("*.com"), "{wide}");
}

#[test]
fn config_check_refuses_bad_files_and_names_the_closest_setting() {
    let dir = Dir::new();
    std::fs::write(dir.path().join("typo.toml"), "acess_token_lifetime = \"15m\"\n").expect("write");
    let typo = dir.run_failing(&["--config", "typo.toml", "config", "check"]);
    assert!(typo.contains("unknown setting `acess_token_lifetime`"), "{typo}");
    assert!(typo.contains("did you mean `access_token_lifetime`?"), "{typo}");

    std::fs::write(dir.path().join("range.toml"), "access_token_lifetime = \"48h\"\n").expect("write");
    let range = dir.run_failing(&["--config", "range.toml", "config", "check"]);
    assert!(range.contains("access_token_lifetime") && range.contains("24h"), "{range}");

    std::fs::write(dir.path().join("broken.toml"), "listen = \n").expect("write");
    assert!(
        dir.run_failing(&["--config", "broken.toml", "config", "check"]).contains("invalid configuration")
    );
    assert!(
        dir.run_failing(&["--config", "missing.toml", "config", "check"]).contains("not a readable file")
    );

    let mut command = dir.command(&["config", "check"]);
    command.env("TESSERA_ACESS_TOKEN_LIFETIME", "15m");
    let output = command.output().expect("run");
    assert!(output.status.success(), "an unknown variable is a warning");
    let warning = String::from_utf8_lossy(&output.stderr);
    assert!(warning.contains("did you mean TESSERA_ACCESS_TOKEN_LIFETIME?"), "{warning}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let dir = Dir::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = dir.run(&["completions", shell]);
        assert!(script.contains("tessera") && script.contains("rotate-secret"), "{shell}");
    }
}

#[test]
fn every_command_shows_examples_in_its_help() {
    let dir = Dir::new();
    let commands = [
        "serve",
        "proxy",
        "client",
        "scope",
        "user",
        "admin",
        "audit",
        "registration-token",
        "keys",
        "config",
        "completions",
        "migrate",
    ];
    for command in commands {
        let help = dir.run(&[command, "--help"]);
        let (_, examples) =
            help.split_once("Examples:").unwrap_or_else(|| panic!("{command} has no examples: {help}"));
        assert!(examples.contains(&format!(" {command} ")), "{command}'s examples use it: {examples}");
    }
}
