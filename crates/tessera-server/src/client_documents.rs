//! Documents that clients name, fetched through [`crate::fetch`] and cached
//! per process: the key sets at `jwks_uri`s (`private_key_jwt`), and Client
//! ID Metadata Documents.
//!
//! What a document must say is the core's rule (`JwkSet::parse_published`,
//! `client_from_metadata_document`); this module decides when to fetch. A
//! document is kept for its `Cache-Control` lifetime (within the fetcher's
//! bounds), a failure for a few seconds.
//!
//! Keys: an assertion whose `kid` the kept set does not have may trigger one
//! early refetch per URL and [`KEY_REFETCH_INTERVAL`], so a client that
//! rotated its keys is not locked out until the cache expires, and nobody can
//! make us hammer its URL.
//!
//! Metadata documents: codes, consents, pushed requests and refresh tokens
//! refer to their client by a foreign key, so a client known by its document
//! is also a row of the client registry, written when first seen and
//! rewritten when its document says something new. The row's id is the URL,
//! which no registered client can have (their ids are hexadecimal), and it is
//! only ever read through [`AppState::lookup_client`]: with the feature off,
//! such rows are unknown clients. The row keeps what operators decide (a
//! disabled client stays disabled); the document decides the rest.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::client::Client;
use tessera_core::client_assertion::JwkSet;
use tessera_core::metadata_document::{
    ClientIdUrl, MAX_DOCUMENT_SIZE, MetadataDocumentPolicy, client_from_metadata_document,
};
use tessera_core::scope::ScopeSet;
use tessera_core::{ErrorCode, OAuthError};
use tessera_store::StoreError;

use crate::error::ServerError;
use crate::fetch::{DocumentCache, Fetcher, OutboundSettings};
use crate::random::random_token;
use crate::state::AppState;
use crate::unix_now;

/// At most one fetch of a `jwks_uri` before its cached set expires, per this interval.
pub const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// The outbound fetcher and what was made of the documents it fetched.
pub struct ClientDocuments {
    fetcher: Fetcher,
    /// Parsed key sets by `jwks_uri`, or why one could not be used.
    published_keys: DocumentCache<JwkSet, String>,
    /// Clients as their metadata documents describe them, by URL, or why a
    /// document was refused. Not the stored rows: see [`AppState::lookup_client`].
    metadata_clients: DocumentCache<Client, OAuthError>,
}

/// What a `client_id` names.
#[derive(Debug)]
pub enum ClientLookup {
    Found(Arc<Client>),
    /// No registered client, and not a metadata document this server reads.
    Unknown,
    /// A Client Identifier URL whose document could not be used, and why.
    Refused(OAuthError),
}

impl ClientLookup {
    pub fn found(self) -> Option<Arc<Client>> {
        match self {
            ClientLookup::Found(client) => Some(client),
            ClientLookup::Unknown | ClientLookup::Refused(_) => None,
        }
    }
}

impl ClientDocuments {
    pub fn new(outbound: &OutboundSettings) -> ClientDocuments {
        ClientDocuments {
            fetcher: Fetcher::new(outbound),
            published_keys: DocumentCache::default(),
            metadata_clients: DocumentCache::default(),
        }
    }

    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The keys a client publishes at `jwks_uri`, from the cache where
    /// possible. When `kid` (the one an assertion names) is not among them,
    /// the set is fetched again if no such refetch happened in the last
    /// [`KEY_REFETCH_INTERVAL`]. The error says why the keys are not usable,
    /// never what the document held.
    pub async fn published_keys(&self, jwks_uri: &str, kid: Option<&str>) -> Result<Arc<JwkSet>, String> {
        let keys = match self.published_keys.get(jwks_uri) {
            Some(outcome) => outcome?,
            None => match self.fetch_keys(jwks_uri).await {
                Ok((keys, lifetime)) => {
                    self.published_keys.insert(jwks_uri, Arc::clone(&keys), lifetime);
                    keys
                }
                Err(why) => {
                    self.published_keys.insert_failure(jwks_uri, why.clone());
                    return Err(why);
                }
            },
        };
        let Some(kid) = kid else { return Ok(keys) };
        if keys.contains_kid(kid) || !self.published_keys.claim_early_refetch(jwks_uri, KEY_REFETCH_INTERVAL)
        {
            return Ok(keys);
        }
        match self.fetch_keys(jwks_uri).await {
            Ok((fresh, lifetime)) => {
                self.published_keys.insert(jwks_uri, Arc::clone(&fresh), lifetime);
                Ok(fresh)
            }
            // The set kept is still the client's last good one: a failed
            // refetch does not replace it.
            Err(why) => {
                tracing::warn!(jwks_uri, error = %why, "refetching a client's key set for an unknown kid failed");
                Ok(keys)
            }
        }
    }

    async fn fetch_keys(&self, jwks_uri: &str) -> Result<(Arc<JwkSet>, Duration), String> {
        let document = self
            .fetcher
            .fetch_json(jwks_uri, self.fetcher.settings().max_document_size)
            .await
            .map_err(|err| format!("the key set could not be fetched: {err}"))?;
        let keys = JwkSet::parse_published(&document.json)?;
        Ok((Arc::new(keys), document.cache_lifetime()))
    }
}

impl AppState {
    /// The client `client_id` names: a registered one, or, with
    /// `client_id_metadata_documents` on, the one its metadata document
    /// describes (fetched, or from the cache), with its registry row kept in
    /// step. [`AppState::find_client`] is this without the reason for a refusal.
    pub async fn lookup_client(&self, client_id: &str) -> Result<ClientLookup, ServerError> {
        if !ClientIdUrl::is_candidate(client_id) {
            let registered = self.find_registered_client(client_id).await?;
            return Ok(registered.map_or(ClientLookup::Unknown, ClientLookup::Found));
        }
        let Some(allowed_scopes) = &self.settings().client_id_metadata_documents else {
            return Ok(ClientLookup::Unknown);
        };
        let url = match ClientIdUrl::parse(client_id, self.settings().outbound.allow_http) {
            Ok(url) => url,
            Err(refused) => return Ok(ClientLookup::Refused(refused)),
        };
        let documents = self.client_documents();
        let described = match documents.metadata_clients.get(url.as_str()) {
            Some(outcome) => outcome,
            None => {
                let outcome = self.read_metadata_document(&url, allowed_scopes).await?;
                match &outcome {
                    Ok((client, lifetime)) => {
                        documents.metadata_clients.insert(url.as_str(), Arc::clone(client), *lifetime)
                    }
                    Err(refused) => {
                        tracing::warn!(client_id = %url.as_str(), error = %refused, "a client's metadata document was refused");
                        documents.metadata_clients.insert_failure(url.as_str(), refused.clone());
                    }
                }
                outcome.map(|(client, _)| client)
            }
        };
        match described {
            Ok(described) => Ok(ClientLookup::Found(self.stored_metadata_client(&described).await?)),
            Err(refused) => Ok(ClientLookup::Refused(refused)),
        }
    }

    /// Fetches and judges the document at `url`.
    async fn read_metadata_document(
        &self,
        url: &ClientIdUrl,
        allowed_scopes: &ScopeSet,
    ) -> Result<Result<(Arc<Client>, Duration), OAuthError>, ServerError> {
        let fetcher = self.client_documents().fetcher();
        let document = match fetcher.fetch_json(url.as_str(), MAX_DOCUMENT_SIZE).await {
            Ok(document) => document,
            Err(err) => {
                return Ok(Err(ErrorCode::InvalidClient
                    .with(format!("the client's metadata document could not be fetched: {err}"))));
            }
        };
        // Only scopes in the registry: a client row's scopes must name registered ones.
        let registered: ScopeSet =
            self.store().list_scopes().await?.into_iter().map(|record| record.name).collect();
        let scopes = allowed_scopes.filtered(|scope| registered.contains(scope.as_str()));
        let policy = MetadataDocumentPolicy { scopes: &scopes, allow_http: fetcher.settings().allow_http };
        let unusable_secret = random_token(32)?;
        Ok(client_from_metadata_document(url, &document.json, policy, &unusable_secret, unix_now())
            .map(|client| (Arc::new(client), document.cache_lifetime())))
    }

    /// The registry row of a client its document `described`: read through
    /// the client cache, and written when missing or when the document says
    /// something the row does not.
    async fn stored_metadata_client(&self, described: &Client) -> Result<Arc<Client>, StoreError> {
        let client_id = described.client_id.as_str();
        let load = async { Ok(self.store().find_client(client_id).await?.map(Arc::new)) };
        let stored = self.clients().get_or_load(client_id, load).await?;
        if let Some(stored) = &stored
            && same_metadata(stored, described)
        {
            return Ok(Arc::clone(stored));
        }
        let written = match stored {
            Some(stored) => {
                let updated = with_metadata_of(&stored, described);
                if !self.store().update_client(&updated).await? {
                    self.store().create_client(described).await?;
                }
                updated
            }
            None => match self.store().create_client(described).await {
                Ok(()) => described.clone(),
                // Another server wrote it first: take its row, with this document.
                Err(StoreError::Conflict(_)) => {
                    let existing = self.store().find_client(client_id).await?;
                    let updated =
                        existing.map_or_else(|| described.clone(), |row| with_metadata_of(&row, described));
                    self.store().update_client(&updated).await?;
                    updated
                }
                Err(err) => return Err(err),
            },
        };
        self.client_changed();
        tracing::info!(client_id, "stored the client described by its metadata document");
        Ok(Arc::new(written))
    }
}

/// Whether `stored` already says everything the document `described` says.
fn same_metadata(stored: &Client, described: &Client) -> bool {
    with_metadata_of(stored, described) == *stored
}

/// `stored` with the metadata the document decides; what operators decide
/// (disabled, permissions, ownership), the creation time, and an existing
/// unusable secret hash stay.
fn with_metadata_of(stored: &Client, described: &Client) -> Client {
    let mut updated = stored.clone();
    updated.name = described.name.clone();
    updated.org_url = described.org_url.clone();
    updated.auth_method = described.auth_method;
    if described.is_public() != stored.is_public() {
        updated.secret_hash = described.secret_hash.clone();
        updated.previous_secret = None;
    }
    updated.require_pkce = described.require_pkce;
    updated.redirect_uris = described.redirect_uris.clone();
    updated.post_logout_redirect_uris = described.post_logout_redirect_uris.clone();
    updated.grant_types = described.grant_types.clone();
    updated.scopes = described.scopes.clone();
    updated.default_scopes = described.default_scopes.clone();
    updated.resources = described.resources.clone();
    updated.jwks = described.jwks.clone();
    updated.jwks_uri = described.jwks_uri.clone();
    updated.dpop_bound_access_tokens = described.dpop_bound_access_tokens;
    updated.require_pushed_authorization_requests = described.require_pushed_authorization_requests;
    updated
}
