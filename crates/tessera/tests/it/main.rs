//! Tests of the `tessera` binary itself, each in a fresh temporary directory.

mod admin;
mod client;
mod config;
mod crash_safety;
mod log_secrecy;
mod proxy;
mod replicas;
mod serve;
mod telemetry;
mod util;
