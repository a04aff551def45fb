//! Login rate limiting: failed attempts are counted per account and per client
//! IP in a fixed window; past the limit, logins are refused until the window
//! ends. Counts live in this process's memory (per replica).

use std::collections::HashMap;
use std::sync::Mutex;

use tessera_core::UnixTime;

const WINDOW_SECS: u64 = 15 * 60;
const ACCOUNT_LIMIT: u32 = 5;
const IP_LIMIT: u32 = 20;
/// Beyond this many tracked keys, stale ones are pruned on the next failure.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, UnixTime)>>,
}

impl LoginThrottle {
    /// Whether attempts for this account or from this IP are currently refused.
    pub fn is_blocked(&self, username: &str, ip: &str, now: UnixTime) -> bool {
        let Ok(failures) = self.failures.lock() else { return true };
        let over = |key: String, limit: u32| {
            failures.get(&key).is_some_and(|(count, since)| now < since + WINDOW_SECS && *count >= limit)
        };
        over(account_key(username), ACCOUNT_LIMIT) || over(ip_key(ip), IP_LIMIT)
    }

    pub fn record_failure(&self, username: &str, ip: &str, now: UnixTime) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, (_, since)| now < *since + WINDOW_SECS);
        }
        for key in [account_key(username), ip_key(ip)] {
            let entry = failures.entry(key).or_insert((0, now));
            if now >= entry.1 + WINDOW_SECS {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// A successful login clears the account's count (not the IP's).
    pub fn record_success(&self, username: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&account_key(username));
        }
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

    #[test]
    fn blocks_an_account_after_five_failures_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        for _ in 0..ACCOUNT_LIMIT {
            assert!(!throttle.is_blocked("alice", "10.0.0.1", 100));
            throttle.record_failure("alice", "10.0.0.1", 100);
        }
        assert!(throttle.is_blocked("alice", "10.0.0.2", 101), "per account, whatever the IP");
        assert!(!throttle.is_blocked("bob", "10.0.0.2", 101));
        assert!(!throttle.is_blocked("alice", "10.0.0.2", 100 + WINDOW_SECS));
    }

    #[test]
    fn blocks_an_ip_after_twenty_failures_across_accounts() {
        let throttle = LoginThrottle::default();
        for n in 0..IP_LIMIT {
            throttle.record_failure(&format!("user{n}"), "10.0.0.9", 100);
        }
        assert!(throttle.is_blocked("someone-else", "10.0.0.9", 101));
        assert!(!throttle.is_blocked("someone-else", "10.0.0.8", 101));
    }

    #[test]
    fn success_clears_the_account() {
        let throttle = LoginThrottle::default();
        for _ in 0..ACCOUNT_LIMIT {
            throttle.record_failure("alice", "10.0.0.1", 100);
        }
        throttle.record_success("alice");
        assert!(!throttle.is_blocked("alice", "10.0.0.3", 101));
    }
}
