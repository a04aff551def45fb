//! End-to-end tests: a real server on a random port, real HTTP clients.

mod account;
mod admin_api;
mod audit;
mod client_assertion;
mod client_credentials;
mod code_flow;
mod configuration_reference;
mod console;
mod dialects;
mod discovery;
mod dpop;
mod introspection;
mod keys;
mod limits;
mod metrics;
mod openid;
mod par;
mod refresh;
mod registration;
mod revocation;
mod rotation;
mod startup;
mod token_errors;
mod token_exchange;
