//! Any text as a bearer token through tessera-guard against a fixed JWKS.
//! The body lives in `common/guard.rs`, shared with the regression test.

#![no_main]

#[path = "common/guard.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::guard_jwt(data));
