//! Token request form parsing: body -> FormParams -> TokenRequest (+ client_credentials decision).
//! The body lives in `common/core.rs`, shared with the regression test.

#![no_main]

#[path = "common/core.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::token_request(data));
