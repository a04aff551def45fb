//! Persistence for Tessera: the [`Store`] trait the server talks to, its record
//! types and error, and the SQLite implementation.
//!
//! The store holds no protocol rules. Whatever must hold across processes (one
//! current signing key per algorithm, later single-use codes) is enforced by one
//! atomic statement here, so that it holds however many servers share a database.

mod error;
mod records;
mod sqlite;

pub use error::StoreError;
pub use records::{KeyState, ScopeRecord, SigningKeyRecord};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use tessera_core::client::Client;
use tessera_core::jwt::Algorithm;

/// Everything Tessera keeps. Implemented for SQLite; shared by server and CLI.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Adds a scope; `Conflict` if the name is taken.
    async fn create_scope(&self, scope: &ScopeRecord) -> Result<(), StoreError>;
    async fn list_scopes(&self) -> Result<Vec<ScopeRecord>, StoreError>;
    /// Deletes a scope; `Conflict` naming the clients while any still holds it.
    async fn delete_scope(&self, name: &str) -> Result<bool, StoreError>;

    /// Adds a client with its scopes; `Conflict` if the id is taken.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;

    /// Stores `key` as current unless the algorithm already has a current key;
    /// safe when several processes race at first start.
    async fn create_current_key_if_absent(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    async fn find_current_key(&self, algorithm: Algorithm) -> Result<Option<SigningKeyRecord>, StoreError>;
    /// Keys whose public halves belong in the JWKS.
    async fn list_published_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
}
