//! The one outbound HTTP client, for documents that clients name: the key set
//! at a `jwks_uri`, a Client ID Metadata Document. Every such URL is chosen by
//! someone else, so every fetch is treated as a possible server-side request
//! forgery:
//!
//! - https only (`http` only with `[outbound] allow_http`), no redirect
//!   followed, no proxy taken from the environment, no retries;
//! - every address a host name resolves to is checked before a connection is
//!   made, and only public unicast addresses are kept (loopback, private and
//!   CGNAT ranges only with `allow_private_addresses`; link-local with the
//!   cloud metadata address, multicast, broadcast, documentation and reserved
//!   ranges never, nor IPv4-mapped or NAT64 forms of them). A literal IP host
//!   is checked the same way, since it is never resolved;
//! - a connect and a total timeout, a body cap enforced while reading, and a
//!   JSON `Content-Type`.
//!
//! A [`FetchError`] says what was wrong and never carries the response body.
//! [`DocumentCache`] keeps what was made of a document for its
//! `Cache-Control` lifetime (within bounds), and a failure for a few seconds,
//! so that nobody can make this server fetch one URL in a loop.
//!
//! This module knows HTTP and addresses, not OAuth: what a document must say
//! is the core's business.

use std::collections::HashMap;
use std::error::Error as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use reqwest_outbound as reqwest;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use url::{Host, Url};

/// A cached document is kept at least this long, whatever its `Cache-Control`
/// says, so that a client cannot make us fetch it on every request.
pub const MIN_CACHE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// A cached document is fetched again after this long at the latest.
pub const MAX_CACHE_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A failed fetch is remembered this long: requests meanwhile get the same
/// error without a new fetch.
pub const FAILURE_LIFETIME: Duration = Duration::from_secs(10);

/// Fetches in flight at once, across all URLs; more are refused, not queued.
const MAX_CONCURRENT_FETCHES: usize = 32;

/// Documents (or failures) remembered at most; past it, expired entries and
/// then arbitrary ones make room.
const CACHE_CAPACITY: usize = 10_000;

/// `[outbound]`: how the server fetches documents named by clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundSettings {
    /// Fetch `http` URLs too (tests, closed networks); never on the internet.
    pub allow_http: bool,
    /// Connect to loopback, private (RFC 1918, fc00::/7) and CGNAT
    /// (100.64.0.0/10) addresses. Link-local (with the cloud metadata
    /// address), multicast and reserved addresses stay refused.
    pub allow_private_addresses: bool,
    /// Time limit of one fetch: connecting, and the whole answer.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The largest document read, in bytes; a longer one is an error.
    pub max_document_size: u64,
}

impl Default for OutboundSettings {
    fn default() -> OutboundSettings {
        OutboundSettings {
            allow_http: false,
            allow_private_addresses: false,
            timeout: Duration::from_secs(5),
            max_document_size: 64 * 1024,
        }
    }
}

impl OutboundSettings {
    /// The first setting out of range, with what it must be.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&self.timeout) {
            return Err(("outbound.timeout", "must be 100ms to 60s"));
        }
        if !(1024..=1024 * 1024).contains(&self.max_document_size) {
            return Err(("outbound.max_document_size", "must be 1024 to 1048576 bytes"));
        }
        Ok(())
    }
}

/// Why a document could not be fetched. The text names the rule that was
/// broken; it never quotes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("it is not an absolute URL")]
    InvalidUrl,
    #[error("only https URLs are fetched")]
    NotHttps,
    #[error("a URL with a user name or password is not fetched")]
    Credentials,
    #[error("{0} is not a public address; documents are fetched from public addresses only")]
    AddressRefused(String),
    #[error("{0} resolves to no public address; documents are fetched from public addresses only")]
    NoPublicAddress(String),
    #[error("{0} could not be resolved")]
    Unresolved(String),
    /// With the innermost cause (a refused connection, a TLS certificate problem).
    #[error("the connection failed: {0}")]
    Connect(String),
    #[error("no complete answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("the answer was a redirect (HTTP {0}); redirects are not followed")]
    Redirect(u16),
    #[error("the answer was HTTP {0}, not 200")]
    Status(u16),
    #[error("the answer's Content-Type {0} is not JSON")]
    NotJsonType(String),
    #[error("the document is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the document is not valid JSON (line {line}, column {column})")]
    InvalidJson { line: usize, column: usize },
    #[error("too many documents are being fetched; try again shortly")]
    Busy,
    #[error("the request failed")]
    Failed,
    #[error("the outbound HTTP client is unavailable: {0}")]
    Unavailable(String),
}

/// A JSON document as fetched, with how long its server lets it be cached.
#[derive(Debug, Clone)]
pub struct FetchedDocument {
    pub json: serde_json::Value,
    /// `Cache-Control: max-age` (zero for `no-store` or `no-cache`), if given.
    pub max_age: Option<Duration>,
}

impl FetchedDocument {
    /// How long to keep what is made of this document: its `max-age`, within
    /// [`MIN_CACHE_LIFETIME`] and [`MAX_CACHE_LIFETIME`].
    pub fn cache_lifetime(&self) -> Duration {
        self.max_age.unwrap_or(MIN_CACHE_LIFETIME).clamp(MIN_CACHE_LIFETIME, MAX_CACHE_LIFETIME)
    }
}

/// The outbound client; one per server.
pub struct Fetcher {
    /// Built on first use: a server whose clients name no documents never
    /// loads the system's root certificates (and starts without any).
    client: OnceLock<Result<reqwest::Client, String>>,
    settings: OutboundSettings,
    in_flight: Semaphore,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Fetcher {
    pub fn new(settings: &OutboundSettings) -> Fetcher {
        Fetcher {
            client: OnceLock::new(),
            settings: settings.clone(),
            in_flight: Semaphore::new(MAX_CONCURRENT_FETCHES),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, FetchError> {
        let settings = &self.settings;
        let built = self.client.get_or_init(|| {
            reqwest::Client::builder()
            .https_only(!settings.allow_http)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .retry(reqwest::retry::never())
            .referer(false)
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .dns_resolver(PublicAddressResolver { allow_private: settings.allow_private_addresses })
            .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| {
                let reason = format!("{err}: {}", err.source().map(ToString::to_string).unwrap_or_default());
                tracing::error!(error = %reason, "cannot build the outbound HTTP client (are root certificates installed?)");
                reason
            })
        });
        built.as_ref().map_err(|reason| FetchError::Unavailable(reason.clone()))
    }

    pub fn settings(&self) -> &OutboundSettings {
        &self.settings
    }

    /// The JSON document at `url`, reading at most `max_size` bytes (and never
    /// more than `max_document_size`).
    pub async fn fetch_json(&self, url: &str, max_size: u64) -> Result<FetchedDocument, FetchError> {
        let url = check_url(url, &self.settings)?;
        let _permit = self.in_flight.try_acquire().map_err(|_| FetchError::Busy)?;
        let limit = max_size.min(self.settings.max_document_size);
        // reqwest's own timeout covers the request; this one also covers the
        // name resolution, whatever the resolver does.
        match tokio::time::timeout(self.settings.timeout, self.fetch(url, limit)).await {
            Ok(fetched) => fetched,
            Err(_) => Err(FetchError::Timeout(self.settings.timeout)),
        }
    }

    async fn fetch(&self, url: Url, limit: u64) -> Result<FetchedDocument, FetchError> {
        let mut response = self
            .client()?
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| request_error(&err, self.settings.timeout))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.as_u16()));
        }
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok());
        if !content_type.is_some_and(is_json_media_type) {
            return Err(FetchError::NotJsonType(match content_type {
                Some(value) => format!("`{}`", value.chars().take(80).collect::<String>().escape_default()),
                None => "(none)".into(),
            }));
        }
        let max_age =
            response.headers().get(CACHE_CONTROL).and_then(|value| value.to_str().ok()).and_then(max_age);
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(FetchError::TooLarge(limit));
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|err| request_error(&err, self.settings.timeout))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        let json = serde_json::from_slice(&body)
            .map_err(|err| FetchError::InvalidJson { line: err.line(), column: err.column() })?;
        Ok(FetchedDocument { json, max_age })
    }
}

/// The checks a URL passes before anything is sent: scheme, no credentials,
/// and a literal IP host that is allowed (host names are checked once
/// resolved, by [`PublicAddressResolver`]).
pub fn check_url(raw: &str, settings: &OutboundSettings) -> Result<Url, FetchError> {
    let url = Url::parse(raw).map_err(|_| FetchError::InvalidUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        _ => return Err(FetchError::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Credentials);
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(url),
        None => return Err(FetchError::InvalidUrl),
    };
    if !is_allowed(ip, settings.allow_private_addresses) {
        return Err(FetchError::AddressRefused(ip.to_string()));
    }
    Ok(url)
}

/// What an address is, for the fetch policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Globally reachable unicast: may be fetched from.
    Public,
    /// Loopback, RFC 1918, CGNAT, unique local: only with `allow_private_addresses`.
    Private,
    /// Link-local (cloud metadata), multicast, broadcast, unspecified,
    /// documentation, benchmarking, reserved, and transition forms that hide
    /// another address: never.
    Refused,
}

/// Classifies `ip` by the IANA special-purpose registries (RFC 6890 and
/// successors). IPv6 is public only inside 2000::/3 and outside its special
/// blocks; an IPv4-mapped or NAT64 address is the IPv4 address it carries.
pub fn address_kind(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(ip) => ipv4_kind(ip),
        IpAddr::V6(ip) => ipv6_kind(ip),
    }
}

fn is_allowed(ip: IpAddr, allow_private: bool) -> bool {
    match address_kind(ip) {
        AddressKind::Public => true,
        AddressKind::Private => allow_private,
        AddressKind::Refused => false,
    }
}

fn ipv4_kind(ip: Ipv4Addr) -> AddressKind {
    let octets = ip.octets();
    let in_block = |base: [u8; 4], prefix: u32| {
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        u32::from(ip) & mask == u32::from(Ipv4Addr::from(base)) & mask
    };
    let private = [([10, 0, 0, 0], 8), ([172, 16, 0, 0], 12), ([192, 168, 0, 0], 16), ([100, 64, 0, 0], 10)];
    if ip.is_loopback() || private.iter().any(|(base, prefix)| in_block(*base, *prefix)) {
        return AddressKind::Private;
    }
    let refused = [
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([169, 254, 0, 0], 16),  // link-local, with 169.254.169.254
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, with 255.255.255.255 broadcast
    ];
    if refused.iter().any(|(base, prefix)| in_block(*base, *prefix)) || octets == [255, 255, 255, 255] {
        return AddressKind::Refused;
    }
    AddressKind::Public
}

fn ipv6_kind(ip: Ipv6Addr) -> AddressKind {
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return ipv4_kind(mapped);
    }
    let bits = u128::from(ip);
    let in_block = |base: u128, prefix: u32| bits & (u128::MAX << (128 - prefix)) == base;
    if ip.is_loopback() {
        return AddressKind::Private;
    }
    // 64:ff9b::/96, the NAT64 well-known prefix: the IPv4 address it reaches.
    if in_block(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        return ipv4_kind(Ipv4Addr::from((bits & 0xffff_ffff) as u32));
    }
    if in_block(0xfc00_0000_0000_0000_0000_0000_0000_0000, 7) {
        return AddressKind::Private;
    }
    let special = [
        (0x2001_0000_0000_0000_0000_0000_0000_0000, 23), // IETF protocol assignments, Teredo
        (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // documentation
        (0x2002_0000_0000_0000_0000_0000_0000_0000, 16), // 6to4: hides an IPv4 address
        (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20), // documentation (RFC 9637)
    ];
    if in_block(0x2000_0000_0000_0000_0000_0000_0000_0000, 3)
        && !special.iter().any(|(base, prefix)| in_block(*base, *prefix))
    {
        return AddressKind::Public;
    }
    // Unspecified, IPv4-compatible, discard-only, link-local, site-local,
    // multicast, and everything not yet allocated for global unicast.
    AddressKind::Refused
}

/// Resolves through the system, then keeps only the addresses the policy
/// allows; a name with none left fails, so no connection is attempted.
struct PublicAddressResolver {
    allow_private: bool,
}

/// A host whose every address was refused.
#[derive(Debug)]
struct NoPublicAddress(String);

impl std::fmt::Display for NoPublicAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves to no allowed address", self.0)
    }
}

impl std::error::Error for NoPublicAddress {}

/// A host the system could not resolve.
#[derive(Debug)]
struct Unresolved(String);

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} could not be resolved", self.0)
    }
}

impl std::error::Error for Unresolved {}

impl Resolve for PublicAddressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = match tokio::net::lookup_host((host.clone(), 0)).await {
                Ok(resolved) => resolved.collect::<Vec<SocketAddr>>(),
                Err(_) => return Err(Box::new(Unresolved(host)) as _),
            };
            let allowed = filter_addresses(resolved, allow_private);
            if allowed.is_empty() {
                return Err(Box::new(NoPublicAddress(host)) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The resolved addresses a connection may be made to.
pub fn filter_addresses(
    resolved: impl IntoIterator<Item = SocketAddr>,
    allow_private: bool,
) -> Vec<SocketAddr> {
    resolved.into_iter().filter(|address| is_allowed(address.ip(), allow_private)).collect()
}

/// Maps a reqwest error to what the operator should read, finding our
/// resolver's refusal in its source chain.
fn request_error(err: &reqwest::Error, timeout: Duration) -> FetchError {
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<NoPublicAddress>() {
            return FetchError::NoPublicAddress(refused.0.clone());
        }
        if let Some(unresolved) = cause.downcast_ref::<Unresolved>() {
            return FetchError::Unresolved(unresolved.0.clone());
        }
        source = cause.source();
    }
    if err.is_timeout() {
        FetchError::Timeout(timeout)
    } else if err.is_connect() {
        FetchError::Connect(innermost_cause(err))
    } else if err.is_builder() {
        FetchError::NotHttps
    } else {
        FetchError::Failed
    }
}

/// The last error of `err`'s source chain, escaped and short.
fn innermost_cause(err: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string().chars().take(160).collect::<String>().escape_default().to_string()
}

/// `application/json`, or any `application/…+json` (RFC 6839), parameters aside.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// RFC 9111 §5.2.2: `max-age`, with `no-store` and `no-cache` read as zero.
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => return Some(Duration::ZERO),
            "max-age" => max_age = value.trim().trim_matches('"').parse().ok().map(Duration::from_secs),
            _ => {}
        }
    }
    max_age
}

/// What was made of documents, by URL: values until their lifetime ends,
/// failures for [`FAILURE_LIFETIME`]. The caller fetches and parses, and
/// stores only what it accepted, so a malformed document is never kept.
pub struct DocumentCache<T, E> {
    entries: Mutex<HashMap<String, CacheEntry<T, E>>>,
}

struct CacheEntry<T, E> {
    outcome: Result<Arc<T>, E>,
    expires_at: Instant,
    /// The last fetch made before expiry (an unknown `kid`), if any.
    early_refetch_at: Option<Instant>,
}

impl<T, E: Clone> Default for DocumentCache<T, E> {
    fn default() -> DocumentCache<T, E> {
        DocumentCache { entries: Mutex::default() }
    }
}

impl<T, E: Clone> DocumentCache<T, E> {
    /// The remembered outcome for `url`, unless it expired.
    pub fn get(&self, url: &str) -> Option<Result<Arc<T>, E>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(url)?;
        (entry.expires_at > Instant::now()).then(|| entry.outcome.clone())
    }

    /// Remembers `value` for `lifetime`.
    pub fn insert(&self, url: &str, value: Arc<T>, lifetime: Duration) {
        self.remember(url, Ok(value), lifetime);
    }

    /// Remembers a failure for [`FAILURE_LIFETIME`].
    pub fn insert_failure(&self, url: &str, error: E) {
        self.remember(url, Err(error), FAILURE_LIFETIME);
    }

    /// Whether a fetch before expiry may happen now: at most one per
    /// `interval` and URL, claimed atomically so concurrent callers cannot all pass.
    pub fn claim_early_refetch(&self, url: &str, interval: Duration) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.get_mut(url) else { return true };
        let now = Instant::now();
        if entry.early_refetch_at.is_some_and(|last| now.duration_since(last) < interval) {
            return false;
        }
        entry.early_refetch_at = Some(now);
        true
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    fn remember(&self, url: &str, outcome: Result<Arc<T>, E>, lifetime: Duration) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CACHE_CAPACITY && !entries.contains_key(url) {
            entries.retain(|_, entry| entry.expires_at > now);
            if entries.len() >= CACHE_CAPACITY
                && let Some(evicted) = entries.keys().next().cloned()
            {
                entries.remove(&evicted);
            }
        }
        // A refetch throttle outlives the value it refreshed.
        let early_refetch_at = entries.get(url).and_then(|entry| entry.early_refetch_at);
        entries.insert(url.to_owned(), CacheEntry { outcome, expires_at: now + lifetime, early_refetch_at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> AddressKind {
        address_kind(ip.parse().expect("an IP address"))
    }

    #[test]
    fn addresses_are_classified_by_the_special_purpose_registries() {
        for public in ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::1"] {
            assert_eq!(kind(public), AddressKind::Public, "{public}");
        }
        for private in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert_eq!(kind(private), AddressKind::Private, "{private}");
        }
        for refused in [
            "0.0.0.0",
            "0.1.2.3",
            "169.254.169.254",
            "169.254.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::a00:1",
            "64:ff9b::a9fe:a9fe",
            "100::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001::1",
            "2001:db8::1",
            "2002:a00:1::1",
            "3fff::1",
            "4000::1",
        ] {
            assert_eq!(kind(refused), AddressKind::Refused, "{refused}");
        }
        // Just outside the private blocks.
        for public in ["172.32.0.1", "100.128.0.1", "11.0.0.1", "192.169.0.1", "64:ff9b::808:808"] {
            assert_eq!(kind(public), AddressKind::Public, "{public}");
        }
    }

    #[test]
    fn resolved_addresses_are_filtered_before_any_connection() {
        let resolved: Vec<SocketAddr> =
            ["10.0.0.1:443", "169.254.169.254:443", "93.184.215.14:443", "[::1]:443"]
                .iter()
                .map(|address| address.parse().expect("socket address"))
                .collect();
        let public: Vec<String> =
            filter_addresses(resolved.clone(), false).iter().map(ToString::to_string).collect();
        assert_eq!(public, ["93.184.215.14:443"]);
        let with_private: Vec<String> =
            filter_addresses(resolved, true).iter().map(ToString::to_string).collect();
        assert_eq!(with_private, ["10.0.0.1:443", "93.184.215.14:443", "[::1]:443"]);
        let metadata_only: Vec<SocketAddr> = vec!["169.254.169.254:80".parse().expect("address")];
        assert!(
            filter_addresses(metadata_only, true).is_empty(),
            "link-local even with private addresses on"
        );
    }

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        let defaults = OutboundSettings::default();
        let check =
            |url: &str, settings: &OutboundSettings| check_url(url, settings).map(|url| url.to_string());
        assert_eq!(
            check("https://client.example.com/jwks", &defaults),
            Ok("https://client.example.com/jwks".into())
        );
        assert_eq!(check("http://client.example.com/jwks", &defaults), Err(FetchError::NotHttps));
        assert_eq!(check("ftp://client.example.com/jwks", &defaults), Err(FetchError::NotHttps));
        assert_eq!(check("https://user:pw@client.example.com/", &defaults), Err(FetchError::Credentials));
        assert_eq!(check("not a url", &defaults), Err(FetchError::InvalidUrl));
        for (url, host) in [
            ("https://127.0.0.1/jwks", "127.0.0.1"),
            ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
            ("https://10.0.0.8/jwks", "10.0.0.8"),
            ("https://[::1]/jwks", "::1"),
            ("https://[::ffff:a9fe:a9fe]/", "::ffff:169.254.169.254"),
            // Decimal and hexadecimal IPv4 forms parse as the address they are.
            ("https://2130706433/jwks", "127.0.0.1"),
            ("https://0xa9fea9fe/", "169.254.169.254"),
        ] {
            assert_eq!(check(url, &defaults), Err(FetchError::AddressRefused(host.into())), "{url}");
        }
        let open = OutboundSettings { allow_http: true, allow_private_addresses: true, ..defaults };
        assert!(check("http://127.0.0.1:8080/jwks", &open).is_ok());
        assert_eq!(
            check("http://169.254.169.254/", &open),
            Err(FetchError::AddressRefused("169.254.169.254".into()))
        );
    }

    #[test]
    fn cache_lifetimes_follow_max_age_within_bounds() {
        let document = |cache_control: &str| FetchedDocument {
            json: serde_json::Value::Null,
            max_age: max_age(cache_control),
        };
        assert_eq!(document("public, max-age=3600").cache_lifetime(), Duration::from_secs(3600));
        assert_eq!(document("max-age=5").cache_lifetime(), MIN_CACHE_LIFETIME);
        assert_eq!(document("no-store").cache_lifetime(), MIN_CACHE_LIFETIME);
        assert_eq!(document("max-age=99999999").cache_lifetime(), MAX_CACHE_LIFETIME);
        assert_eq!(document("private").cache_lifetime(), MIN_CACHE_LIFETIME);
        assert_eq!(max_age("Max-Age=\"60\""), Some(Duration::from_secs(60)));
    }

    #[test]
    fn json_media_types() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "application/jwk-set+json",
            "Application/JSON",
        ] {
            assert!(is_json_media_type(json), "{json}");
        }
        for other in ["text/html", "text/json", "application/jsonx", "application/octet-stream", ""] {
            assert!(!is_json_media_type(other), "{other}");
        }
    }

    #[test]
    fn the_cache_keeps_values_and_failures_and_throttles_refetches() {
        let cache: DocumentCache<u32, String> = DocumentCache::default();
        assert!(cache.get("a").is_none());
        cache.insert("a", Arc::new(1), Duration::from_secs(60));
        assert_eq!(cache.get("a").map(|outcome| outcome.map(|value| *value)), Some(Ok(1)));
        cache.insert_failure("b", "down".into());
        assert_eq!(cache.get("b").map(|outcome| outcome.map(|value| *value)), Some(Err("down".into())));
        cache.insert("c", Arc::new(3), Duration::ZERO);
        assert!(cache.get("c").is_none(), "expired");

        assert!(cache.claim_early_refetch("a", Duration::from_secs(60)));
        assert!(!cache.claim_early_refetch("a", Duration::from_secs(60)), "once per interval");
        cache.insert("a", Arc::new(2), Duration::from_secs(60));
        assert!(!cache.claim_early_refetch("a", Duration::from_secs(60)), "a new value keeps the throttle");
        assert!(cache.claim_early_refetch("a", Duration::ZERO));
    }
}
