//! HTTP Basic / client_secret_post client credentials.
//! The body lives in `common/core.rs`, shared with the regression test.

#![no_main]

#[path = "common/core.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::client_auth(data));
