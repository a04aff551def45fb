//! /token, /introspect, /revoke and MYOB token forms, through the router.
//! The body lives in `common/server.rs`, shared with the regression test.

#![no_main]

#[path = "common/server.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::server_forms(data));
