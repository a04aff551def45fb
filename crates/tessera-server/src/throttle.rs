//! Login lockout: failed sign-ins are counted per account and per client IP;
//! past the limit, sign-ins are refused for the lockout period, which doubles
//! with each further lockout within a day (at most 24 hours). Counts live in
//! this process's memory (per replica).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tessera_core::UnixTime;

use crate::limits::{IpLimit, LimitSettings};
use crate::state::AppState;

/// Beyond this many tracked keys, stale ones are pruned on the next failure.
const PRUNE_ABOVE: usize = 10_000;
const DAY: u64 = 86_400;

pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
    account_limit: u32,
    ip_limit: u32,
    lockout: u64,
}

/// One account's or one address's recent failures.
#[derive(Default)]
struct Failures {
    /// Failures since the last lockout (or the first failure of the day).
    count: u32,
    /// The last failure, for forgetting quiet keys.
    last: UnixTime,
    /// Lockouts so far; reset after a day without one.
    lockouts: u32,
    locked_until: UnixTime,
}

impl Failures {
    fn locked_for(&self, now: UnixTime) -> Option<u64> {
        (now < self.locked_until).then(|| self.locked_until - now)
    }

    fn is_stale(&self, now: UnixTime) -> bool {
        now >= self.last.max(self.locked_until) + DAY
    }
}

impl LoginThrottle {
    pub fn new(settings: &LimitSettings) -> LoginThrottle {
        LoginThrottle {
            failures: Mutex::default(),
            account_limit: settings.login_failures_per_account,
            ip_limit: settings.login_failures_per_ip,
            lockout: settings.login_lockout.as_secs(),
        }
    }

    /// Seconds until sign-ins for this account or from this IP are accepted
    /// again; `None` while they are.
    pub fn locked_for(&self, username: &str, ip: &str, now: UnixTime) -> Option<u64> {
        let Ok(failures) = self.failures.lock() else { return Some(self.lockout) };
        [account_key(username), ip_key(ip)].iter().filter_map(|key| failures.get(key)?.locked_for(now)).max()
    }

    pub fn record_failure(&self, username: &str, ip: &str, now: UnixTime) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, entry| !entry.is_stale(now));
        }
        for (key, limit) in [(account_key(username), self.account_limit), (ip_key(ip), self.ip_limit)] {
            let entry = failures.entry(key).or_default();
            if entry.is_stale(now) {
                *entry = Failures::default();
            }
            entry.last = now;
            entry.count += 1;
            if entry.count >= limit {
                let doubling = 1u64 << entry.lockouts.min(16);
                entry.locked_until = now + (self.lockout * doubling).min(DAY);
                entry.lockouts += 1;
                entry.count = 0;
            }
        }
    }

    /// A successful sign-in clears the account's record (not the IP's).
    pub fn record_success(&self, username: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&account_key(username));
        }
    }
}

/// Whether a sign-in for `username` from `ip` may go ahead: `Some(wait)` when
/// the address is over its request rate or the account or address is locked out.
pub(crate) fn login_wait(
    state: &AppState,
    username: &str,
    ip: Option<IpAddr>,
    now: UnixTime,
) -> Option<Duration> {
    if let Err(limited) = state.rate_limits().admit_ip(IpLimit::Login, ip, state.metrics()) {
        return Some(limited.retry_after);
    }
    let ip_text = ip.map(|ip| ip.to_string()).unwrap_or_default();
    let locked_for = state.throttle().locked_for(username, &ip_text, now)?;
    state.metrics().rate_limited("login_lockout");
    tracing::warn!(ip = %ip_text, "sign-in refused: too many failed attempts");
    Some(Duration::from_secs(locked_for))
}

/// What the sign-in page says while attempts are refused.
pub(crate) fn wait_message(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60);
    match minutes {
        0 | 1 => "Too many sign-in attempts. Try again in a minute.".to_owned(),
        minutes => format!("Too many sign-in attempts. Try again in {minutes} minutes."),
    }
}

fn account_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCKOUT: u64 = 15 * 60;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(&LimitSettings::default())
    }

    #[test]
    fn locks_an_account_after_five_failures_for_the_lockout_period() {
        let throttle = throttle();
        for _ in 0..5 {
            assert_eq!(throttle.locked_for("alice", "10.0.0.1", 100), None);
            throttle.record_failure("alice", "10.0.0.1", 100);
        }
        assert_eq!(throttle.locked_for("alice", "10.0.0.2", 101), Some(LOCKOUT - 1), "whatever the IP");
        assert_eq!(throttle.locked_for("Alice", "10.0.0.2", 101), Some(LOCKOUT - 1), "whatever the case");
        assert_eq!(throttle.locked_for("bob", "10.0.0.2", 101), None);
        assert_eq!(throttle.locked_for("alice", "10.0.0.2", 100 + LOCKOUT), None);
    }

    #[test]
    fn each_further_lockout_within_a_day_doubles_up_to_a_day() {
        let throttle = throttle();
        let mut now = 1_000;
        let mut expected = LOCKOUT;
        for _ in 0..10 {
            for _ in 0..5 {
                throttle.record_failure("alice", "10.0.0.1", now);
            }
            assert_eq!(throttle.locked_for("alice", "10.0.0.7", now), Some(expected));
            now += expected;
            expected = (expected * 2).min(DAY);
        }
        assert_eq!(expected, DAY);
        // A quiet day forgets the history.
        now += DAY;
        for _ in 0..5 {
            throttle.record_failure("alice", "10.0.0.1", now);
        }
        assert_eq!(throttle.locked_for("alice", "10.0.0.7", now), Some(LOCKOUT));
    }

    #[test]
    fn locks_an_ip_after_twenty_failures_across_accounts() {
        let throttle = throttle();
        for n in 0..20 {
            throttle.record_failure(&format!("user{n}"), "10.0.0.9", 100);
        }
        assert!(throttle.locked_for("someone-else", "10.0.0.9", 101).is_some());
        assert_eq!(throttle.locked_for("someone-else", "10.0.0.8", 101), None);
    }

    #[test]
    fn success_clears_the_account() {
        let throttle = throttle();
        for _ in 0..4 {
            throttle.record_failure("alice", "10.0.0.1", 100);
        }
        throttle.record_success("alice");
        throttle.record_failure("alice", "10.0.0.1", 100);
        assert_eq!(throttle.locked_for("alice", "10.0.0.3", 101), None);
    }
}
