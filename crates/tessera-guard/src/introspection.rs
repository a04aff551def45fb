//! Optional revocation checking through RFC 7662 token introspection.
//!
//! A JWT stays valid offline until it expires; only the issuer knows it was
//! revoked. When configured, the guard asks the issuer about every token it
//! has not asked about recently, and refuses it unless the answer is
//! `active: true`. If the issuer cannot be reached the guard fails closed (503).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, Uri};
use serde::Deserialize;

use crate::error::GuardError;
use crate::http_client::{IssuerClient, parse_uri};

/// Where and as whom to introspect tokens. `Debug` hides the secret.
///
/// Positive answers are remembered for [`Introspection::cache_ttl`] (default
/// 10 s, never past the token's `exp`): a token revoked during that window is
/// still accepted until its entry lapses. Set it to zero to ask on every
/// request. Negative answers are never remembered.
#[derive(Clone)]
pub struct Introspection {
    endpoint: String,
    client_id: String,
    client_secret: String,
    cache_ttl: Duration,
}

impl Introspection {
    /// Introspect at `endpoint` (such as `https://auth.example.com/introspect`),
    /// authenticating with HTTP Basic as a confidential client.
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Introspection {
        Introspection {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            cache_ttl: Duration::from_secs(10),
        }
    }

    /// How long an `active: true` answer is trusted (default 10 s; zero
    /// disables the cache).
    pub fn cache_ttl(mut self, ttl: Duration) -> Introspection {
        self.cache_ttl = ttl;
        self
    }
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<hidden>")
            .field("cache_ttl", &self.cache_ttl)
            .finish()
    }
}

/// The running revocation check.
pub(crate) struct Introspector {
    endpoint: Uri,
    authorization: HeaderValue,
    cache_ttl: Duration,
    active_until: Mutex<HashMap<Box<str>, Instant>>,
}

/// Entries kept at most; past it, expired ones go, then everything.
const CACHE_CAPACITY: usize = 10_000;

#[derive(Deserialize)]
struct IntrospectionResponse {
    active: bool,
}

impl Introspector {
    pub(crate) fn new(config: &Introspection) -> Result<Introspector, GuardError> {
        let endpoint = parse_uri("the introspection endpoint", &config.endpoint)?;
        // RFC 6749 §2.3.1: id and secret are form-encoded before Base64.
        let credentials =
            format!("{}:{}", form_encode(&config.client_id), form_encode(&config.client_secret));
        let mut authorization = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials)))
            .map_err(|_| GuardError::Config("the introspection credentials cannot be sent".into()))?;
        authorization.set_sensitive(true);
        Ok(Introspector {
            endpoint,
            authorization,
            cache_ttl: config.cache_ttl,
            active_until: Mutex::new(HashMap::new()),
        })
    }

    /// `Ok` if the issuer says the token is active. `seconds_left` is the
    /// token's remaining lifetime, which bounds the cache entry.
    pub(crate) async fn check(
        &self,
        http: &IssuerClient,
        token: &str,
        seconds_left: u64,
    ) -> Result<(), GuardError> {
        let now = Instant::now();
        if self.cached(token, now) {
            return Ok(());
        }
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let answer: IntrospectionResponse = http.post_form(&self.endpoint, &self.authorization, form).await?;
        if !answer.active {
            return Err(GuardError::InvalidToken("the token has been revoked or is no longer active".into()));
        }
        let ttl = self.cache_ttl.min(Duration::from_secs(seconds_left));
        if !ttl.is_zero() {
            self.remember(token, now + ttl, now);
        }
        Ok(())
    }

    fn cached(&self, token: &str, now: Instant) -> bool {
        let Ok(cache) = self.active_until.lock() else { return false };
        cache.get(token).is_some_and(|until| now < *until)
    }

    fn remember(&self, token: &str, until: Instant, now: Instant) {
        let Ok(mut cache) = self.active_until.lock() else { return };
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, until| now < *until);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(token.into(), until);
    }
}

fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
