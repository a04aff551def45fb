//! What every handler shares: the store, the keys and the token policy.

use std::sync::Arc;

use tessera_core::policy::TokenPolicy;
use tessera_core::secret::SecretHash;
use tessera_store::Store;

use crate::keys::KeySet;

/// Cheap to clone; handed to every handler by axum.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    keys: KeySet,
    policy: TokenPolicy,
    initial_access_token: Option<SecretHash>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        keys: KeySet,
        policy: TokenPolicy,
        initial_access_token: Option<SecretHash>,
    ) -> AppState {
        AppState { inner: Arc::new(Inner { store, keys, policy, initial_access_token }) }
    }

    /// The configured RFC 7591 initial access token, if any.
    pub fn initial_access_token(&self) -> Option<&SecretHash> {
        self.inner.initial_access_token.as_ref()
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn keys(&self) -> &KeySet {
        &self.inner.keys
    }

    pub fn policy(&self) -> &TokenPolicy {
        &self.inner.policy
    }

    pub fn issuer(&self) -> &str {
        &self.inner.policy.issuer
    }

    /// An absolute endpoint URL under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }
}
