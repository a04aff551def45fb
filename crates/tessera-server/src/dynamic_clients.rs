//! Abuse controls for clients registered through `/register` (RFC 7591): the
//! `[registration]` settings, recording each client's first use, and deleting
//! the registrations nobody used (run by the `changes` watcher).
//!
//! The redirect-host rule is the core's (`dynamic_registration`); the
//! `/register` routes apply it. Clients an administrator creates are never
//! checked against it and never expire.
//!
//! A first use is recorded at most once per client per process, off the
//! request path: the in-memory set below says which clients this process
//! has already recorded, and the write is spawned, never awaited by the
//! response. It goes to its own table, so it moves no cache generation.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tessera_core::client::Client;
use tessera_core::dynamic_registration::{RedirectHostAllowList, expires_when_unused};
use tessera_store::StoreError;

use crate::admin::audit::Entry;
use crate::state::AppState;
use crate::unix_now;

/// `[registration]` in the file: controls on dynamic client registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistrationSettings {
    /// Hosts the redirect URIs of a dynamic registration may name: exact
    /// (`app.example.com`) or subdomains (`*.example.com`). Empty: any.
    #[serde(deserialize_with = "crate::config::list_or_commas")]
    pub allowed_redirect_hosts: Vec<String>,
    /// A dynamically registered client never used this long after its
    /// registration is deleted, e.g. "30d"; "off" keeps them all.
    pub unused_expiry: Expiry,
    /// How often each server looks for unused registrations to delete.
    #[serde(with = "humantime_serde")]
    pub prune_interval: Duration,
}

impl Default for RawRegistrationSettings {
    fn default() -> RawRegistrationSettings {
        RawRegistrationSettings {
            allowed_redirect_hosts: Vec::new(),
            unused_expiry: Expiry::After(Duration::from_secs(30 * 86_400)),
            prune_interval: Duration::from_secs(3600),
        }
    }
}

/// A duration, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Expiry {
    Off,
    After(Duration),
}

impl TryFrom<String> for Expiry {
    type Error = String;

    fn try_from(text: String) -> Result<Expiry, String> {
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(Expiry::Off);
        }
        humantime::parse_duration(text.trim())
            .map(Expiry::After)
            .map_err(|_| format!("`{text}` is not a duration like `30d` or `12h`, or `off`"))
    }
}

impl From<Expiry> for String {
    fn from(expiry: Expiry) -> String {
        match expiry {
            Expiry::Off => "off".into(),
            Expiry::After(duration) => humantime::format_duration(duration).to_string(),
        }
    }
}

/// The checked `[registration]` settings a server runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationSettings {
    pub allowed_redirect_hosts: RedirectHostAllowList,
    /// `None`: registrations never expire.
    pub unused_expiry: Option<Duration>,
    pub prune_interval: Duration,
}

impl Default for RegistrationSettings {
    fn default() -> RegistrationSettings {
        RegistrationSettings {
            allowed_redirect_hosts: RedirectHostAllowList::default(),
            unused_expiry: Some(Duration::from_secs(30 * 86_400)),
            prune_interval: Duration::from_secs(3600),
        }
    }
}

impl RawRegistrationSettings {
    /// The typed settings, or the first bad one with what it must be.
    pub fn resolve(&self) -> Result<RegistrationSettings, (&'static str, String)> {
        let allowed_redirect_hosts = RedirectHostAllowList::parse(&self.allowed_redirect_hosts)
            .map_err(|why| ("registration.allowed_redirect_hosts", why))?;
        let unused_expiry = match self.unused_expiry {
            Expiry::Off => None,
            Expiry::After(expiry) if expiry < Duration::from_secs(1) => {
                return Err(("registration.unused_expiry", "must be at least 1s, or `off`".into()));
            }
            Expiry::After(expiry) => Some(expiry),
        };
        if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&self.prune_interval) {
            return Err(("registration.prune_interval", "must be 1s to 24h".into()));
        }
        Ok(RegistrationSettings {
            allowed_redirect_hosts,
            unused_expiry,
            prune_interval: self.prune_interval,
        })
    }
}

/// Past this many ids the set starts over: forgetting costs only a repeated,
/// idempotent write per client.
const MAX_REMEMBERED: usize = 100_000;

/// The clients whose first use this process has recorded (or is recording).
#[derive(Default)]
pub struct FirstUses {
    recorded: Mutex<HashSet<String>>,
}

impl FirstUses {
    /// `true` if `client_id` was not remembered yet (and now is).
    fn remember(&self, client_id: &str) -> bool {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if recorded.contains(client_id) {
            return false;
        }
        if recorded.len() >= MAX_REMEMBERED {
            recorded.clear();
        }
        recorded.insert(client_id.to_owned())
    }

    fn forget(&self, client_id: &str) {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner).remove(client_id);
    }
}

impl AppState {
    /// Notes that `client` was used: it authenticated with its credentials, or
    /// was issued an authorization code. Only clients that can expire are
    /// recorded, each once per process, by a task the caller does not wait for.
    /// They are recorded whether or not expiry is on, so that turning it on
    /// later does not delete clients in use.
    pub fn client_used(&self, client: &Client) {
        if !expires_when_unused(client) || !self.first_uses().remember(&client.client_id) {
            return;
        }
        let state = self.clone();
        let client_id = client.client_id.clone();
        tokio::spawn(async move {
            if let Err(err) = state.store().mark_client_used(&client_id, unix_now()).await {
                tracing::warn!(error = %err, %client_id, "cannot record a client's first use; will retry on its next use");
                state.first_uses().forget(&client_id);
            }
        });
    }
}

/// The most clients deleted in one transaction.
const PRUNE_BATCH: u32 = 200;

/// Deletes the dynamic registrations unused for `expiry` since they were
/// made, leaving an audit event (actor `system`) for each. Returns how many.
pub async fn prune_unused_registrations(state: &AppState, expiry: Duration) -> Result<usize, StoreError> {
    let created_before = unix_now().saturating_sub(expiry.as_secs());
    let mut pruned = 0;
    loop {
        let deleted = state.store().delete_unused_registrations(created_before, PRUNE_BATCH).await?;
        if deleted.is_empty() {
            break;
        }
        state.client_changed();
        let now = unix_now();
        let events: Vec<_> = deleted
            .iter()
            .map(|client_id| {
                Entry::new("system", "client.expired")
                    .target(client_id)
                    .detail("reason", "dynamically registered and never used")
                    .detail("unused_expiry_seconds", expiry.as_secs())
                    .stamp(now)
            })
            .collect();
        if let Err(err) = state.store().record_audit_events(&events).await {
            tracing::error!(error = %err, client_ids = ?deleted, "cannot write the audit events of expired registrations");
        }
        tracing::info!(client_ids = ?deleted, "unused dynamic registrations expired");
        pruned += deleted.len();
        if deleted.len() < PRUNE_BATCH as usize {
            break;
        }
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_a_duration_or_off() {
        assert_eq!(Expiry::try_from("off".to_owned()), Ok(Expiry::Off));
        assert_eq!(Expiry::try_from(" 30d ".to_owned()), Ok(Expiry::After(Duration::from_secs(30 * 86_400))));
        assert!(Expiry::try_from("30".to_owned()).is_err());
        assert_eq!(String::from(Expiry::After(Duration::from_secs(30 * 86_400))), "30days");
        assert_eq!(String::from(Expiry::Off), "off");
    }

    #[test]
    fn settings_are_checked() {
        let defaults = RawRegistrationSettings::default().resolve().expect("defaults resolve");
        assert!(defaults.allowed_redirect_hosts.allows_any());
        assert_eq!(defaults, RegistrationSettings::default());
        let bad_host = RawRegistrationSettings {
            allowed_redirect_hosts: vec!["*.com".into()],
            ..RawRegistrationSettings::default()
        };
        assert_eq!(bad_host.resolve().map_err(|(key, _)| key), Err("registration.allowed_redirect_hosts"));
        let zero = RawRegistrationSettings {
            unused_expiry: Expiry::After(Duration::ZERO),
            ..RawRegistrationSettings::default()
        };
        assert_eq!(zero.resolve().map_err(|(key, _)| key), Err("registration.unused_expiry"));
        let off =
            RawRegistrationSettings { unused_expiry: Expiry::Off, ..RawRegistrationSettings::default() };
        assert_eq!(off.resolve().map(|settings| settings.unused_expiry), Ok(None));
        let slow = RawRegistrationSettings {
            prune_interval: Duration::from_secs(2 * 86_400),
            ..RawRegistrationSettings::default()
        };
        assert_eq!(slow.resolve().map_err(|(key, _)| key), Err("registration.prune_interval"));
    }

    #[test]
    fn first_uses_are_remembered_once() {
        let first_uses = FirstUses::default();
        assert!(first_uses.remember("a"));
        assert!(!first_uses.remember("a"));
        first_uses.forget("a");
        assert!(first_uses.remember("a"), "a failed write is retried on the next use");
    }
}
