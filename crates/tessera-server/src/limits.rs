//! Abuse limits: request rates per client and per IP address on the endpoints
//! that take credentials, and the `[limits]` settings that shape them.
//!
//! Rates are GCRA buckets (the `governor` crate): `100/s` allows a burst of
//! 100 and then one request every 10 ms. Buckets live in this process's memory,
//! so each replica counts on its own; idle ones are dropped every minute.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;

/// A request rate as written in the configuration: `100/s`, `30/m`, `500/h`,
/// or `off`. The number is also the largest burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Rate {
    Off,
    Every { requests: NonZeroU32, period: Period },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Period::Second => 1,
            Period::Minute => 60,
            Period::Hour => 3600,
        })
    }

    fn suffix(self) -> &'static str {
        match self {
            Period::Second => "s",
            Period::Minute => "m",
            Period::Hour => "h",
        }
    }
}

impl Rate {
    pub const fn per_second(requests: u32) -> Rate {
        Rate::every(requests, Period::Second)
    }

    pub const fn per_minute(requests: u32) -> Rate {
        Rate::every(requests, Period::Minute)
    }

    const fn every(requests: u32, period: Period) -> Rate {
        match NonZeroU32::new(requests) {
            Some(requests) => Rate::Every { requests, period },
            None => Rate::Off,
        }
    }

    fn quota(self) -> Option<Quota> {
        let Rate::Every { requests, period } = self else { return None };
        let quota = Quota::with_period(period.duration() / requests.get())?;
        Some(quota.allow_burst(requests))
    }
}

impl TryFrom<String> for Rate {
    type Error = String;

    fn try_from(text: String) -> Result<Rate, String> {
        let invalid = || format!("`{text}` is not a rate like `100/s`, `30/m`, `500/h` or `off`");
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(Rate::Off);
        }
        let (requests, period) = text.trim().split_once('/').ok_or_else(invalid)?;
        let requests: NonZeroU32 = requests.trim().parse().map_err(|_| invalid())?;
        let period = match period.trim() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            _ => return Err(invalid()),
        };
        Ok(Rate::Every { requests, period })
    }
}

impl From<Rate> for String {
    fn from(rate: Rate) -> String {
        match rate {
            Rate::Off => "off".into(),
            Rate::Every { requests, period } => format!("{requests}/{}", period.suffix()),
        }
    }
}

/// `[limits]`: request rates, login lockout and timeouts. All on by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Requests to `/token`, `/introspect` and `/revoke` from one IP address.
    pub per_ip: Rate,
    /// Token requests and revocations by one authenticated client.
    pub token_per_client: Rate,
    /// Introspection requests by one authenticated client (a resource server).
    pub introspect_per_client: Rate,
    /// Dynamic registrations (`POST /register`) from one IP address.
    pub register_per_ip: Rate,
    /// Sign-in attempts (account pages and admin console) from one IP address.
    pub login_per_ip: Rate,
    /// Failed sign-ins to one account before it is locked.
    pub login_failures_per_account: u32,
    /// Failed sign-ins from one IP address (any account) before it is locked out.
    pub login_failures_per_ip: u32,
    /// How long the first lockout lasts; each further lockout within a day doubles it (at most 24h).
    #[serde(with = "humantime_serde")]
    pub login_lockout: Duration,
    /// A request taking longer than this (body upload included) is answered 408.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// A connection that has not sent a request's headers within this time is
    /// closed (slow-loris clients hold no resources for long).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
}

impl Default for LimitSettings {
    fn default() -> LimitSettings {
        LimitSettings {
            per_ip: Rate::per_second(300),
            token_per_client: Rate::per_second(100),
            introspect_per_client: Rate::per_second(1000),
            register_per_ip: Rate::per_minute(10),
            login_per_ip: Rate::per_minute(30),
            login_failures_per_account: 5,
            login_failures_per_ip: 20,
            login_lockout: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

impl LimitSettings {
    /// The first setting out of range, with what it must be.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        let seconds = Duration::from_secs;
        if self.login_failures_per_account == 0 || self.login_failures_per_ip == 0 {
            return Err(("limits.login_failures_per_account", "login failure limits must be at least 1"));
        }
        if !(seconds(60)..=seconds(86_400)).contains(&self.login_lockout) {
            return Err(("limits.login_lockout", "must be 1m to 24h"));
        }
        if !(seconds(1)..=seconds(600)).contains(&self.request_timeout) {
            return Err(("limits.request_timeout", "must be 1s to 10m"));
        }
        if !(seconds(1)..=seconds(300)).contains(&self.header_read_timeout) {
            return Err(("limits.header_read_timeout", "must be 1s to 5m"));
        }
        Ok(())
    }
}

/// An endpoint whose callers are counted by IP address.
#[derive(Debug, Clone, Copy)]
pub enum IpLimit {
    /// `/token`, `/introspect`, `/revoke` (one bucket for the three).
    ClientEndpoints,
    Register,
    Login,
}

/// An endpoint whose callers are counted by authenticated client.
#[derive(Debug, Clone, Copy)]
pub enum ClientLimit {
    Token,
    Introspect,
}

/// A request over its rate; it may try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub retry_after: Duration,
}

/// Adds `Retry-After` (RFC 9110 §10.2.3, whole seconds, at least one) to a refusal.
pub fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// The running limiters, one bucket per key.
pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    token_per_client: Option<DefaultKeyedRateLimiter<String>>,
    introspect_per_client: Option<DefaultKeyedRateLimiter<String>>,
    register_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    login_per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(rate: Rate) -> Option<DefaultKeyedRateLimiter<K>> {
    rate.quota().map(RateLimiter::keyed)
}

impl RateLimits {
    pub fn new(settings: &LimitSettings) -> RateLimits {
        RateLimits {
            per_ip: keyed(settings.per_ip),
            token_per_client: keyed(settings.token_per_client),
            introspect_per_client: keyed(settings.introspect_per_client),
            register_per_ip: keyed(settings.register_per_ip),
            login_per_ip: keyed(settings.login_per_ip),
            clock: DefaultClock::default(),
        }
    }

    /// Counts a request from `ip` (unknown peers, such as in-process calls, are not counted).
    pub fn admit_ip(&self, limit: IpLimit, ip: Option<IpAddr>, metrics: &Metrics) -> Result<(), RateLimited> {
        let (limiter, name) = match limit {
            IpLimit::ClientEndpoints => (&self.per_ip, "per_ip"),
            IpLimit::Register => (&self.register_per_ip, "register_per_ip"),
            IpLimit::Login => (&self.login_per_ip, "login_per_ip"),
        };
        let (Some(limiter), Some(ip)) = (limiter, ip) else { return Ok(()) };
        self.judge(limiter.check_key(&ip), name, metrics)
    }

    /// Counts a request by an authenticated client.
    pub fn admit_client(
        &self,
        limit: ClientLimit,
        client_id: &String,
        metrics: &Metrics,
    ) -> Result<(), RateLimited> {
        let (limiter, name) = match limit {
            ClientLimit::Token => (&self.token_per_client, "token_per_client"),
            ClientLimit::Introspect => (&self.introspect_per_client, "introspect_per_client"),
        };
        let Some(limiter) = limiter else { return Ok(()) };
        self.judge(limiter.check_key(client_id), name, metrics)
    }

    fn judge(
        &self,
        outcome: Result<(), governor::NotUntil<<DefaultClock as Clock>::Instant>>,
        name: &'static str,
        metrics: &Metrics,
    ) -> Result<(), RateLimited> {
        outcome.map_err(|not_until| {
            metrics.rate_limited(name);
            RateLimited { retry_after: not_until.wait_time_from(self.clock.now()) }
        })
    }

    /// Drops the buckets of keys that are back to full: memory stays bounded
    /// by the keys seen recently, not by every address ever seen.
    pub fn forget_idle(&self) {
        fn forget<K: std::hash::Hash + Eq + Clone>(limiter: &Option<DefaultKeyedRateLimiter<K>>) {
            if let Some(limiter) = limiter {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
        forget(&self.per_ip);
        forget(&self.token_per_client);
        forget(&self.introspect_per_client);
        forget(&self.register_per_ip);
        forget(&self.login_per_ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Result<Rate, String> {
        Rate::try_from(text.to_owned())
    }

    #[test]
    fn rates_read_and_write_the_same_text() {
        for text in ["100/s", "30/m", "500/h", "off"] {
            assert_eq!(String::from(rate(text).expect(text)), text);
        }
        assert_eq!(rate(" 7 / min ").expect("spaces"), Rate::every(7, Period::Minute));
        for bad in ["", "100", "0/s", "-1/s", "10/d", "ten/s", "1e3/s"] {
            assert!(rate(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_client_over_its_burst_is_told_when_to_retry_and_others_are_not_affected() {
        let settings = LimitSettings { token_per_client: Rate::per_minute(3), ..LimitSettings::default() };
        let limits = RateLimits::new(&settings);
        let metrics = Metrics::default();
        let (alpha, beta) = ("alpha".to_owned(), "beta".to_owned());
        for _ in 0..3 {
            assert_eq!(limits.admit_client(ClientLimit::Token, &alpha, &metrics), Ok(()));
        }
        let refused = limits.admit_client(ClientLimit::Token, &alpha, &metrics).expect_err("over the burst");
        // One request every 20 s replenishes the bucket.
        assert!(
            refused.retry_after > Duration::from_secs(15) && refused.retry_after <= Duration::from_secs(20)
        );
        assert_eq!(limits.admit_client(ClientLimit::Token, &beta, &metrics), Ok(()));
        assert_eq!(limits.admit_client(ClientLimit::Introspect, &alpha, &metrics), Ok(()));
    }

    #[test]
    fn off_admits_everything_and_unknown_peers_are_not_counted() {
        let settings = LimitSettings {
            register_per_ip: Rate::Off,
            login_per_ip: Rate::per_minute(1),
            ..LimitSettings::default()
        };
        let limits = RateLimits::new(&settings);
        let metrics = Metrics::default();
        let ip: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..100 {
            assert_eq!(limits.admit_ip(IpLimit::Register, Some(ip), &metrics), Ok(()));
            assert_eq!(limits.admit_ip(IpLimit::Login, None, &metrics), Ok(()));
        }
        assert_eq!(limits.admit_ip(IpLimit::Login, Some(ip), &metrics), Ok(()));
        assert!(limits.admit_ip(IpLimit::Login, Some(ip), &metrics).is_err());
    }

    #[test]
    fn the_defaults_pass_their_own_checks() {
        assert_eq!(LimitSettings::default().check(), Ok(()));
        let slow = LimitSettings { request_timeout: Duration::from_secs(3600), ..LimitSettings::default() };
        assert_eq!(slow.check().map_err(|(key, _)| key), Err("limits.request_timeout"));
    }
}
