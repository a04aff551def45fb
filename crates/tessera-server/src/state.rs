//! What every handler shares: the store, the keys, the policies and the pages.

use std::sync::Arc;

use tessera_core::authorize::AuthorizePolicy;
use tessera_core::policy::TokenPolicy;
use tessera_core::secret::SecretHash;
use tessera_store::Store;

use crate::keys::KeySet;
use crate::pages::Pages;
use crate::refresh::RefreshTokens;
use crate::throttle::LoginThrottle;

/// The settings a running server takes from its configuration.
pub struct Settings {
    pub token_policy: TokenPolicy,
    pub authorize_policy: AuthorizePolicy,
    /// The configured RFC 7591 initial access token, if any.
    pub initial_access_token: Option<SecretHash>,
    pub session_lifetime: u64,
    /// Whether cookies get `Secure`: always, except for an http (loopback) issuer.
    pub secure_cookies: bool,
}

/// Cheap to clone; handed to every handler by axum.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    keys: KeySet,
    settings: Settings,
    refresh_tokens: RefreshTokens,
    pages: Pages,
    throttle: LoginThrottle,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        keys: KeySet,
        settings: Settings,
        refresh_tokens: RefreshTokens,
        pages: Pages,
    ) -> AppState {
        let throttle = LoginThrottle::default();
        AppState { inner: Arc::new(Inner { store, keys, settings, refresh_tokens, pages, throttle }) }
    }

    pub fn refresh_tokens(&self) -> &RefreshTokens {
        &self.inner.refresh_tokens
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn keys(&self) -> &KeySet {
        &self.inner.keys
    }

    pub fn policy(&self) -> &TokenPolicy {
        &self.inner.settings.token_policy
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn pages(&self) -> &Pages {
        &self.inner.pages
    }

    pub fn throttle(&self) -> &LoginThrottle {
        &self.inner.throttle
    }

    pub fn issuer(&self) -> &str {
        &self.inner.settings.token_policy.issuer
    }

    /// An absolute endpoint URL under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }
}
