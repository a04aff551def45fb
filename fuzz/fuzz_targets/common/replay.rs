//! Replays the committed fuzz inputs (`fuzz/seeds/<target>/*` and
//! `fuzz/regressions/<target>/*`) through the targets' bodies, in the crates'
//! ordinary test runs. Not used by the fuzz targets themselves.

#![allow(dead_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Every fuzz target, whichever crate's test replays it: a directory of
/// inputs named otherwise would never be replayed.
pub(crate) const ALL_TARGETS: &[&str] = &[
    "token_request",
    "client_auth",
    "authorize",
    "redirect_uri",
    "jwt",
    "registration",
    "endpoint_forms",
    "client_assertion",
    "dpop_proof",
    "guard_jwt",
    "guard_jwt_signed",
    "guard_headers",
    "dialect_yourmembership",
    "server_forms",
];

/// A fuzz target's name and body.
type Target = (&'static str, fn(&[u8]));

/// `fuzz/`, from the manifest directory of a crate under `crates/`.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every committed input of `targets` through its body and fails,
/// naming each input that panics, if any does.
pub(crate) fn replay(targets: &[Target]) {
    let fuzz = fuzz_dir();
    for kind in ["seeds", "regressions"] {
        for dir in std::fs::read_dir(fuzz.join(kind)).into_iter().flatten() {
            let name = dir.expect("a readable directory entry").file_name();
            let name = name.to_string_lossy();
            assert!(ALL_TARGETS.contains(&name.as_ref()), "fuzz/{kind}/{name} names no fuzz target");
        }
    }
    let mut failures = Vec::new();
    for (target, body) in targets {
        let seeds = files(&fuzz.join("seeds").join(target));
        assert!(!seeds.is_empty(), "fuzz/seeds/{target} has no seed inputs");
        let regressions = files(&fuzz.join("regressions").join(target));
        for path in seeds.iter().chain(&regressions) {
            let data = std::fs::read(path).expect("a readable fuzz input");
            if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "fuzz inputs that fail again:\n{}", failures.join("\n"));
}
