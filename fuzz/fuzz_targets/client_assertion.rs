//! private_key_jwt client assertions and client JWK Sets (tessera-core client_assertion.rs).
//! The body lives in `common/proofs.rs`, shared with the regression test.

#![no_main]

#[path = "common/proofs.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::client_assertion(data));
