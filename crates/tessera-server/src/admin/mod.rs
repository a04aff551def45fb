//! Administration: the audit trail, the operations the console and the admin
//! API share (`service`), and how each authenticates its caller.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod service;

pub use service::Actor;
