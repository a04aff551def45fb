//! One test binary for the guard: real HTTP everywhere (a fake issuer, the
//! real Tessera through tessera-testkit, a protected axum service, an echoing
//! upstream behind the proxy).

mod dpop;
mod guard;
mod proxy;
mod support;
mod tessera;
