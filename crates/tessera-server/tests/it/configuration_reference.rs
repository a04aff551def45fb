//! docs/configuration.md against the config struct: a setting added, removed
//! or given a new default without the reference fails here.

use tessera_server::config::{RawConfig, known_keys};

const REFERENCE: &str = include_str!("../../../../docs/configuration.md");

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

/// The TOML block under "## Defaults".
fn defaults_block() -> &'static str {
    let after = REFERENCE.split_once("## Defaults").expect("a Defaults section").1;
    let start = after.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + after[start..].find("```").expect("the block ends");
    &after[start..end]
}

#[test]
fn every_setting_has_a_section_and_every_section_is_a_setting() {
    let documented: Vec<String> = REFERENCE
        .lines()
        .filter_map(|line| line.strip_prefix("### `")?.strip_suffix('`'))
        .map(str::to_owned)
        .collect();
    let known: Vec<String> = known_keys().iter().map(|key| (*key).to_owned()).collect();
    assert_eq!(sorted(documented), sorted(known));
}

#[test]
fn the_documented_defaults_are_the_built_in_defaults() {
    let block = defaults_block();
    let documented: RawConfig = toml::from_str(block).expect("the defaults block is a valid configuration");
    let actual = serde_json::to_value(RawConfig::default()).expect("serialize");
    assert_eq!(serde_json::to_value(&documented).expect("serialize"), actual);

    // Settings without a default are shown commented out: each is a real setting that has none.
    let defaulted = actual.as_object().expect("object");
    let commented: Vec<&str> = block
        .lines()
        .filter_map(|line| line.strip_prefix("# ")?.split_once(" = ").map(|(key, _)| key))
        .collect();
    assert!(!commented.is_empty());
    for key in commented {
        let top = key.split('.').next().unwrap_or(key);
        assert!(known_keys().contains(&top) || ["cert", "key"].contains(&key), "`{key}` is not a setting");
        assert!(!defaulted.contains_key(key), "`{key}` has a default; write it out");
    }
    for key in known_keys() {
        let listed = defaulted.contains_key(*key)
            || block.contains(&format!("# {key} = "))
            || block.contains(&format!("# [{key}]"));
        assert!(listed, "`{key}` is missing from the defaults block");
    }
}
