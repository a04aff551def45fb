//! DPoP proofs (tessera-core dpop.rs).
//! The body lives in `common/proofs.rs`, shared with the regression test.

#![no_main]

#[path = "common/proofs.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::dpop_proof(data));
