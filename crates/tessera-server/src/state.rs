//! What every handler shares: the store, the keys, the policies and the pages.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use tessera_core::authorize::AuthorizePolicy;
use tessera_core::client::Client;
use tessera_core::metadata_document::ClientIdUrl;
use tessera_core::policy::TokenPolicy;
use tessera_core::scope::ScopeSet;
use tessera_core::secret::SecretHash;
use tessera_store::{Store, StoreError};

use crate::admin::audit::AuditLog;
use crate::changes::ChangeFeed;
use crate::client_documents::ClientDocuments;
use crate::dialects::Dialects;
use crate::dynamic_clients::{FirstUses, RegistrationSettings};
use crate::error::ServerError;
use crate::fetch::OutboundSettings;
use crate::keys::KeySet;
use crate::limits::{LimitSettings, RateLimits};
use crate::metrics::{Metrics, timed};
use crate::pages::Pages;
use crate::refresh::RefreshTokens;
use crate::request_seals::RequestSeals;
use crate::secret_box::SecretBox;
use crate::store_cache::{RenderedDocument, StoreCache};
use crate::throttle::LoginThrottle;

/// The settings a running server takes from its configuration.
pub struct Settings {
    pub token_policy: TokenPolicy,
    pub authorize_policy: AuthorizePolicy,
    /// The configured RFC 7591 initial access token, if any.
    pub initial_access_token: Option<SecretHash>,
    pub session_lifetime: u64,
    /// Seconds an admin console sign-in lasts.
    pub admin_session_lifetime: u64,
    /// Whether cookies get `Secure`: always, except for an http (loopback) issuer.
    pub secure_cookies: bool,
    pub dialects: Dialects,
    pub limits: LimitSettings,
    /// Controls on dynamic client registration.
    pub registration: RegistrationSettings,
    /// RFC 9449 §8: every DPoP proof must carry a nonce the server handed out.
    pub require_dpop_nonce: bool,
    /// RFC 9126 §5: authorization requests only through the PAR endpoint.
    pub require_pushed_authorization_requests: bool,
    /// How documents named by clients are fetched (`[outbound]`).
    pub outbound: OutboundSettings,
    /// The scopes clients known by their metadata document may get; `None`
    /// when such clients are off.
    pub client_id_metadata_documents: Option<ScopeSet>,
}

/// What the server seals or MACs with keys every replica shares
/// (`Store::server_secret`), loaded once at start.
pub struct ServerSecrets {
    pub secret_box: SecretBox,
    pub request_seals: RequestSeals,
}

/// Cheap to clone; handed to every handler by axum.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    /// Swapped whole when the keys change (rotation); readers never wait.
    keys: ArcSwap<KeySet>,
    clients: StoreCache<Arc<Client>>,
    /// Whether an access token (by `jti`) was revoked, for introspection and userinfo.
    revocations: StoreCache<bool>,
    /// The serialized authorization server metadata: it lists the scopes and
    /// the current key's algorithm, so either changing clears it.
    discovery: RenderedDocument,
    changes: ChangeFeed,
    settings: Settings,
    refresh_tokens: RefreshTokens,
    pages: Pages,
    throttle: LoginThrottle,
    rate_limits: RateLimits,
    audit: AuditLog,
    secret_box: SecretBox,
    request_seals: RequestSeals,
    metrics: Metrics,
    first_uses: FirstUses,
    client_documents: ClientDocuments,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        keys: KeySet,
        settings: Settings,
        refresh_tokens: RefreshTokens,
        pages: Pages,
        changes: ChangeFeed,
        secrets: ServerSecrets,
    ) -> AppState {
        let audit = AuditLog::start(store.clone());
        let throttle = LoginThrottle::new(&settings.limits);
        let rate_limits = RateLimits::new(&settings.limits);
        let client_documents = ClientDocuments::new(&settings.outbound);
        AppState {
            inner: Arc::new(Inner {
                audit,
                secret_box: secrets.secret_box,
                request_seals: secrets.request_seals,
                metrics: Metrics::default(),
                first_uses: FirstUses::default(),
                client_documents,
                store,
                keys: ArcSwap::from_pointee(keys),
                clients: StoreCache::default(),
                revocations: StoreCache::default(),
                discovery: RenderedDocument::default(),
                changes,
                settings,
                refresh_tokens,
                pages,
                throttle,
                rate_limits,
            }),
        }
    }

    pub fn rate_limits(&self) -> &RateLimits {
        &self.inner.rate_limits
    }

    pub fn refresh_tokens(&self) -> &RefreshTokens {
        &self.inner.refresh_tokens
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// The key set as of now; hold it for one request, not longer.
    pub fn keys(&self) -> Guard<Arc<KeySet>> {
        self.inner.keys.load()
    }

    pub fn replace_keys(&self, keys: KeySet) {
        self.inner.keys.store(Arc::new(keys));
        // After the store, so that a render starting from now reads the new set.
        self.inner.discovery.clear();
    }

    pub fn clients(&self) -> &StoreCache<Arc<Client>> {
        &self.inner.clients
    }

    /// The outbound fetcher and the documents clients named (`jwks_uri`).
    pub fn client_documents(&self) -> &ClientDocuments {
        &self.inner.client_documents
    }

    pub fn revocations(&self) -> &StoreCache<bool> {
        &self.inner.revocations
    }

    /// The discovery metadata as served (`routes::discovery`).
    pub fn discovery_document(&self) -> &RenderedDocument {
        &self.inner.discovery
    }

    /// Called after this server added or deleted a scope, so that its own
    /// next discovery request lists it without waiting for the watcher.
    pub fn scopes_changed(&self) {
        self.inner.discovery.clear();
    }

    /// A client, from the cache where possible: the hot path's lookup. A
    /// Client Identifier URL is resolved by [`AppState::lookup_client`]
    /// (`client_documents`), which also says why one was refused.
    pub async fn find_client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if !ClientIdUrl::is_candidate(client_id) {
            return self.find_registered_client(client_id).await;
        }
        match self.lookup_client(client_id).await {
            Ok(lookup) => Ok(lookup.found()),
            Err(ServerError::Store(err)) => Err(err),
            Err(err) => {
                tracing::error!(client_id, error = %err, "resolving a metadata-document client failed");
                Ok(None)
            }
        }
    }

    /// A registered client (never a metadata-document one), from the cache where possible.
    pub(crate) async fn find_registered_client(
        &self,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        let load = async {
            Ok(timed(self, "find_client", self.store().find_client(client_id)).await?.map(Arc::new))
        };
        self.inner.clients.get_or_load(client_id, load).await
    }

    /// Whether the access token `jti` was revoked, from the cache where possible.
    pub async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let load = async {
            Ok(Some(timed(self, "is_access_token_revoked", self.store().is_access_token_revoked(jti)).await?))
        };
        Ok(self.inner.revocations.get_or_load(jti, load).await?.unwrap_or(false))
    }

    /// Revokes an access token until it expires; this server's own next
    /// request already knows (other servers learn through `changes`).
    pub async fn revoke_access_token(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        self.store().revoke_access_token(jti, expires_at, now).await?;
        self.inner.revocations.clear();
        Ok(())
    }

    /// Called after this server changed a client, so that its own next request
    /// sees the change without waiting for the watcher.
    pub fn client_changed(&self) {
        self.inner.clients.clear();
    }

    pub fn changes(&self) -> &ChangeFeed {
        &self.inner.changes
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

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn secret_box(&self) -> &SecretBox {
        &self.inner.secret_box
    }

    /// DPoP nonces and the seal of pushed requests' parameters.
    pub fn request_seals(&self) -> &RequestSeals {
        &self.inner.request_seals
    }

    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// The clients whose first use this process has recorded.
    pub fn first_uses(&self) -> &FirstUses {
        &self.inner.first_uses
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
