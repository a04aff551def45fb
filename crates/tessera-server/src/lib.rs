//! Tessera's HTTP server: axum routes around `tessera-core`.
//!
//! This crate owns everything about the wire: routes, extractors, JSON bodies,
//! status codes and headers, TLS, plus the glue that loads what a protocol rule
//! needs from the store, calls the core, and persists or signs its decision. It
//! must not re-implement a protocol check: every `if` about OAuth lives in the core.
//!
//! Entry points: [`Server::start`] then [`Server::run`] for a process, and
//! [`routes::app`] for an in-process router.

pub mod admin;
pub mod changes;
pub mod client_documents;
pub mod config;
pub mod cookies;
pub mod dialects;
pub mod dpop;
pub mod dynamic_clients;
pub mod error;
pub mod fetch;
mod http_server;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod random;
pub mod refresh;
pub mod registry;
pub mod request_seals;
pub mod routes;
pub mod secret_box;
pub mod signatures;
pub mod state;
pub mod store_cache;
pub mod throttle;
pub mod users;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tessera_core::UnixTime;
use tessera_core::authorize::AuthorizePolicy;
use tessera_core::grant::refresh::RefreshPolicy;
use tessera_core::policy::TokenPolicy;
use tessera_store::{PostgresStore, SqliteStore, Store};

pub use config::{Config, Database};
pub use error::ServerError;

use crate::changes::{ChangeFeed, WatchSettings};
use crate::keys::KeySet;
use crate::pages::Pages;
use crate::refresh::RefreshTokens;
use crate::request_seals::RequestSeals;
use crate::secret_box::SecretBox;
use crate::state::{AppState, ServerSecrets, Settings};

/// The current time, for the core's `now` arguments.
pub fn unix_now() -> UnixTime {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

/// Opens (creating and migrating if needed) the store the configuration names.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    match &config.database {
        Database::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|err| {
                    ServerError::Internal(format!(
                        "cannot create the data directory {}: {err}",
                        dir.display()
                    ))
                })?;
            }
            Ok(Arc::new(SqliteStore::open(path).await?))
        }
        Database::Postgres(url) => Ok(Arc::new(PostgresStore::connect(url).await.map_err(|err| {
            ServerError::Internal(format!(
                "cannot use {}: {err} (is the database running, and is `database_url` right?)",
                config.database.describe()
            ))
        })?)),
    }
}

/// Opens the store, retrying with exponential backoff while the database is
/// unreachable (a replica may start before its database); every failure is logged.
pub async fn open_store_with_retry(
    config: &Config,
    give_up_after: Duration,
) -> Result<Arc<dyn Store>, ServerError> {
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        match open_store(config).await {
            Ok(store) => return Ok(store),
            Err(err) if started.elapsed() + delay < give_up_after => {
                tracing::warn!(error = %err, retry_in = ?delay, "database not ready");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(err) => return Err(err),
        }
    }
}

/// A server that has opened its store, loaded its keys and bound its socket,
/// but does not accept connections until [`Server::run`].
pub struct Server {
    listener: std::net::TcpListener,
    router: Router,
    issuer: String,
    tls: Option<RustlsConfig>,
    state: AppState,
    watch_settings: WatchSettings,
}

impl Server {
    pub async fn start(config: Config) -> Result<Server, ServerError> {
        let tls = match &config.tls {
            Some(files) => {
                Some(RustlsConfig::from_pem_file(&files.cert, &files.key).await.map_err(|err| {
                    ServerError::Internal(format!(
                        "cannot load TLS certificate {} and key {}: {err}",
                        files.cert.display(),
                        files.key.display()
                    ))
                })?)
            }
            None => None,
        };
        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|err| ServerError::Internal(format!("cannot listen on {}: {err}", config.listen)))?;
        listener.set_nonblocking(true)?;
        // Until the database answers, say so on /readyz instead of refusing connections.
        let (stop_starting, starting_stopped) = tokio::sync::oneshot::channel::<()>();
        let starting = tokio::spawn(http_server::serve(
            listener.try_clone()?,
            tls.clone(),
            routes::health::starting_router(),
            config.limits.header_read_timeout,
            async {
                let _ = starting_stopped.await;
            },
        ));
        let store = open_store_with_retry(&config, config.database_startup_timeout).await;
        let _ = stop_starting.send(());
        let _ = starting.await;
        let store = store?;
        // Read before loading anything, so that a change made meanwhile is caught up with.
        let loaded_at = store.change_generations().await?;
        let keys = KeySet::load_or_create(store.as_ref(), unix_now()).await?;
        let issuer = config.issuer_for(listener.local_addr()?)?;
        let settings = Settings {
            token_policy: TokenPolicy {
                issuer: issuer.clone(),
                access_token_lifetime: config.access_token_lifetime.as_secs(),
                default_audience: config.default_audience.clone().unwrap_or_else(|| issuer.clone()),
                resources: config.resources.clone(),
            },
            authorize_policy: AuthorizePolicy {
                code_lifetime: config.authorization_code_lifetime.as_secs(),
                allow_plain_pkce: config.allow_plain_pkce,
            },
            initial_access_token: config.initial_access_token.clone(),
            session_lifetime: config.session_lifetime.as_secs(),
            admin_session_lifetime: config.admin_session_lifetime.as_secs(),
            secure_cookies: issuer.starts_with("https://"),
            dialects: config.dialects.clone(),
            limits: config.limits.clone(),
            registration: config.registration.clone(),
            require_dpop_nonce: config.require_dpop_nonce,
            require_pushed_authorization_requests: config.require_pushed_authorization_requests,
            outbound: config.outbound.clone(),
            client_id_metadata_documents: config.client_id_metadata_documents.clone(),
        };
        let refresh_policy = RefreshPolicy {
            lifetime: config.refresh_token_lifetime.as_secs(),
            reuse_grace: config.refresh_token_reuse_grace.as_secs(),
        };
        let refresh_tokens = RefreshTokens::load(store.as_ref(), refresh_policy, unix_now()).await?;
        let secrets = ServerSecrets {
            secret_box: SecretBox::load(store.as_ref(), unix_now()).await?,
            request_seals: RequestSeals::load(store.as_ref(), unix_now()).await?,
        };
        let changes = ChangeFeed::new(loaded_at);
        let state = AppState::new(store, keys, settings, refresh_tokens, Pages::new()?, changes, secrets);
        let watch_settings = WatchSettings {
            poll_interval: config.change_poll_interval,
            rotation_interval: config.signing_key_rotation_interval,
            key_retention: config.signing_key_retention,
            audit_retention: config.audit_retention,
        };
        let router = routes::app(state.clone());
        Ok(Server { listener, router, issuer, tls, state, watch_settings })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The state the routes share (tests use it to wait for caches to catch up).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
        let watcher = tokio::spawn(changes::watch(self.state.clone(), self.watch_settings));
        let _stop_watcher = AbortOnDrop(watcher);
        let header_read_timeout = self.state.settings().limits.header_read_timeout;
        let served =
            http_server::serve(self.listener, self.tls, self.router, header_read_timeout, shutdown).await;
        // In-flight requests are done: write what they queued for the audit trail.
        self.state.audit().flush().await;
        served
    }
}

/// Stops a background task when the server stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
