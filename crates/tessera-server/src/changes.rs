//! Keeps what a server holds in memory (clients, revocations, signing keys,
//! the discovery document) in step with the store, whoever changed it: this
//! server, another replica, or the CLI.
//!
//! The store's generation counters are the truth (migrations 0008, 0009 and
//! 0019). The watcher re-reads them every `change_poll_interval`, and at once
//! when PostgreSQL sends a `NOTIFY`; when one moved it clears the matching
//! cache or reloads the key set (which also clears the discovery document: it
//! names the signing algorithm). A missed notification costs at most one poll
//! interval. When the counters cannot be read the client and revocation
//! caches are cleared: stale clients are worse than slow ones. The watcher
//! also performs scheduled key rotation, the pruning of the audit trail and
//! of unused dynamic registrations, and the store's background housekeeping
//! (SQLite's WAL checkpoints).

use std::time::{Duration, Instant};

use tessera_store::{ChangeSignals, Generations, StoreError};
use tokio::sync::{Notify, watch};

use crate::dynamic_clients;
use crate::keys::{self, KeySet};
use crate::state::AppState;
use crate::unix_now;

/// What the watcher has caught up with, and a way to make it look now.
pub struct ChangeFeed {
    seen: watch::Sender<Generations>,
    look_now: Notify,
}

impl ChangeFeed {
    /// A feed whose caches were loaded at `loaded_at`.
    pub fn new(loaded_at: Generations) -> ChangeFeed {
        ChangeFeed { seen: watch::Sender::new(loaded_at), look_now: Notify::new() }
    }
}

/// How the watcher runs.
#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    pub poll_interval: Duration,
    /// Rotate keys that have signed this long; `None`: never on a schedule.
    pub rotation_interval: Option<Duration>,
    pub key_retention: Duration,
    /// Audit events older than this are pruned (hourly).
    pub audit_retention: Duration,
}

/// How often the live refresh families are counted for the metrics (a count
/// over an index, too slow to run at every scrape with millions of tokens).
const FAMILY_COUNT_EVERY: Duration = Duration::from_secs(60);

/// How often the audit trail is pruned.
const AUDIT_PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl AppState {
    /// Waits until this server's caches reflect every change committed to the
    /// store before the call (a test's or an operator's write through another
    /// connection).
    pub async fn caches_caught_up(&self) -> Result<(), StoreError> {
        let target = self.store().change_generations().await?;
        let mut seen = self.changes().seen.subscribe();
        self.changes().look_now.notify_one();
        // The watcher lives as long as the state; a closed channel means shutdown.
        let _ = seen.wait_for(|seen| seen.covers(&target)).await;
        Ok(())
    }
}

/// Runs until the process ends.
pub async fn watch(state: AppState, settings: WatchSettings) {
    let signals = subscribe(&state).await;
    // SQLite cannot push: never ask again. PostgreSQL: re-subscribe after a loss.
    let backend_pushes = !matches!(signals, Ok(None));
    let mut signals = signals.unwrap_or(None);
    let rotation_check_every = settings
        .rotation_interval
        .map(|interval| (interval / 10).clamp(Duration::from_secs(1), Duration::from_secs(60)));
    let mut last_rotation_check: Option<Instant> = None;
    let mut last_audit_prune: Option<Instant> = None;
    let mut last_registration_prune: Option<Instant> = None;
    let mut last_family_count: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(settings.poll_interval) => {}
            () = state.changes().look_now.notified() => {}
            woken = next_signal(&mut signals) => {
                if let Err(err) = woken {
                    tracing::warn!(error = %err, "change notifications lost; polling until they are back");
                    signals = None;
                }
            }
        }
        if backend_pushes && signals.is_none() {
            signals = subscribe(&state).await.unwrap_or(None);
        }
        if let (Some(interval), Some(every)) = (settings.rotation_interval, rotation_check_every)
            && last_rotation_check.is_none_or(|checked| checked.elapsed() >= every)
        {
            last_rotation_check = Some(Instant::now());
            match keys::rotate_due_keys(state.store(), unix_now(), interval, settings.key_retention).await {
                Ok(rotations) => {
                    for rotation in rotations {
                        tracing::info!(?rotation, "signing key rotated on schedule");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "scheduled key rotation failed"),
            }
        }
        if last_audit_prune.is_none_or(|pruned| pruned.elapsed() >= AUDIT_PRUNE_EVERY) {
            last_audit_prune = Some(Instant::now());
            let before = unix_now().saturating_sub(settings.audit_retention.as_secs());
            match state.store().prune_audit_events(before).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "audit events past their retention pruned"),
                Err(err) => tracing::warn!(error = %err, "pruning the audit trail failed"),
            }
        }
        let registration = &state.settings().registration;
        if let Some(expiry) = registration.unused_expiry
            && last_registration_prune.is_none_or(|pruned| pruned.elapsed() >= registration.prune_interval)
        {
            last_registration_prune = Some(Instant::now());
            if let Err(err) = dynamic_clients::prune_unused_registrations(&state, expiry).await {
                tracing::warn!(error = %err, "deleting unused dynamic registrations failed");
            }
        }
        if last_family_count.is_none_or(|counted| counted.elapsed() >= FAMILY_COUNT_EVERY) {
            last_family_count = Some(Instant::now());
            state.rate_limits().forget_idle();
            match state.store().count_live_refresh_families(unix_now()).await {
                Ok(live) => state.metrics().set_live_refresh_families(live),
                Err(err) => tracing::warn!(error = %err, "counting live refresh families failed"),
            }
        }
        catch_up(&state).await;
        if let Err(err) = state.store().checkpoint().await {
            tracing::warn!(error = %err, "store checkpoint failed");
        }
    }
}

async fn catch_up(state: &AppState) {
    let current = match state.store().change_generations().await {
        Ok(current) => current,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read change generations; dropping cached answers");
            state.clients().clear();
            state.revocations().clear();
            // The discovery document stays: a stale scope list grants nothing,
            // and rendering it again needs the store that just failed. Nothing
            // is missed, as `seen` does not move.
            return;
        }
    };
    let mut seen = *state.changes().seen.borrow();
    if current.clients != seen.clients {
        state.clients().clear();
        seen.clients = current.clients;
    }
    if current.revocations != seen.revocations {
        state.revocations().clear();
        seen.revocations = current.revocations;
    }
    if current.scopes != seen.scopes {
        state.scopes_changed();
        seen.scopes = current.scopes;
    }
    if current.signing_keys != seen.signing_keys {
        match KeySet::load(state.store()).await {
            Ok(keys) => {
                tracing::info!(kids = ?keys.published_kids().collect::<Vec<_>>(), "signing keys reloaded");
                state.replace_keys(keys);
                seen.signing_keys = current.signing_keys;
            }
            // Keep the old set and retry on the next tick.
            Err(err) => tracing::warn!(error = %err, "cannot reload signing keys"),
        }
    }
    state.changes().seen.send_replace(seen);
}

async fn subscribe(state: &AppState) -> Result<Option<Box<dyn ChangeSignals>>, StoreError> {
    let subscribed = state.store().change_signals().await;
    if let Err(err) = &subscribed {
        tracing::warn!(error = %err, "cannot listen for changes; polling until it can");
    }
    subscribed
}

async fn next_signal(signals: &mut Option<Box<dyn ChangeSignals>>) -> Result<(), StoreError> {
    match signals {
        Some(signals) => signals.next().await,
        None => std::future::pending().await,
    }
}
