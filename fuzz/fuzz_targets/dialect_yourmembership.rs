//! YourMembership JSON body and its JSON/CSV answers, through the router.
//! The body lives in `common/server.rs`, shared with the regression test.

#![no_main]

#[path = "common/server.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::dialect_yourmembership(data));
