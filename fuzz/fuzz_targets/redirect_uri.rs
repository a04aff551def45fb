//! Redirect URI rules and matching, resource indicators, PKCE challenges.
//! The body lives in `common/core.rs`, shared with the regression test.

#![no_main]

#[path = "common/core.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::redirect_uri(data));
