//! [`Guard`]: the running validator shared by every clone of the layer. It owns
//! the key cache (with the refetch policy), the verified-token cache, and the
//! optional introspection and header checks.
//!
//! The hot path takes two uncontended read locks and does no I/O: a fetch
//! happens only for an unknown `kid` (at most once per refetch interval,
//! shared by all waiting requests) or when the keys are older than their
//! maximum age.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::request::Parts;
use http::{HeaderMap, Uri};
use serde::Deserialize;

use crate::config::{GuardConfig, ResourceCredentialsCheck};
use crate::credentials::{CredentialDecision, CredentialRequest, check_api_key, decode_resource_credentials};
use crate::error::GuardError;
use crate::http_client::{IssuerClient, parse_uri};
use crate::introspection::Introspector;
use crate::jwks::{JwkSetDocument, KeySet};
use crate::jwt::{self, Expectations};
use crate::layer::GuardLayer;
use crate::scope::RequireScopeLayer;
use crate::token::VerifiedToken;

/// Validates bearer tokens. Cheap to clone: clones share the caches.
///
/// Build it once with [`Guard::new`], then use [`Guard::layer`] in front of a
/// service, or call [`Guard::authorize`] yourself.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

struct GuardInner {
    expect: Expectations,
    realm: Option<Arc<str>>,
    issuer_base: String,
    configured_jwks_uri: Option<Uri>,
    refetch_interval: Duration,
    max_age: Duration,
    http: IssuerClient,
    keys: RwLock<Arc<KeySnapshot>>,
    refresh: tokio::sync::Mutex<RefreshState>,
    tokens: TokenCache,
    introspector: Option<Introspector>,
    api_key_header: Option<http::HeaderName>,
    resource_credentials: Option<ResourceCredentialsCheck>,
    public_url: Option<PublicUrl>,
    replay: crate::dpop::ReplayCache,
}

/// The resource's public URL as configured, and its origin. The URL (with
/// any path) names the resource in RFC 9728 metadata; a DPoP proof's `htu` is
/// the origin plus the path the request arrived with, because that path is
/// already the one clients address.
struct PublicUrl {
    full: String,
    origin: String,
}

impl PublicUrl {
    fn parse(raw: &str) -> Result<PublicUrl, GuardError> {
        let invalid = || GuardError::Config("public_url is not an absolute http(s) URL".into());
        if tessera_core::dpop::normalize_htu(raw).is_none() {
            return Err(invalid());
        }
        let uri = raw.parse::<Uri>().map_err(|_| invalid())?;
        let (scheme, authority) =
            (uri.scheme_str().ok_or_else(invalid)?, uri.authority().ok_or_else(invalid)?);
        Ok(PublicUrl {
            full: raw.trim_end_matches('/').to_owned(),
            origin: format!("{scheme}://{authority}"),
        })
    }
}

/// The keys as last fetched. Replaced whole, never mutated.
struct KeySnapshot {
    keys: Arc<KeySet>,
    fetched_at: Option<Instant>,
    /// Bumped on every fetch attempt, so requests that waited for one know
    /// it happened.
    generation: u64,
    /// Why the last attempt failed, if it did.
    last_error: Option<String>,
}

impl KeySnapshot {
    fn is_fresh(&self, max_age: Duration) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < max_age)
    }
}

struct RefreshState {
    last_attempt: Option<Instant>,
    jwks_uri: Option<Uri>,
}

/// RFC 8414 / OpenID discovery: the members the guard reads.
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

impl Guard {
    /// Checks the configuration (URLs, audiences, algorithms) without I/O.
    /// Keys are fetched on the first request, or by [`Guard::refresh_keys`].
    pub fn new(config: GuardConfig) -> Result<Guard, GuardError> {
        let issuer_uri = parse_uri("the issuer", &config.issuer)?;
        let configured_jwks_uri =
            config.jwks_uri.as_deref().map(|raw| parse_uri("jwks_uri", raw)).transpose()?;
        if config.algorithms.is_empty() {
            return Err(GuardError::Config("the algorithm allow-list is empty".into()));
        }
        let mut audiences = config.audiences;
        if audiences.is_empty() {
            audiences.push(config.issuer.clone());
        }
        let introspector = config.introspection.as_ref().map(Introspector::new).transpose()?;
        let issuer_base = issuer_uri.to_string().trim_end_matches('/').to_owned();
        let public_url = match config.public_url {
            Some(raw) => Some(PublicUrl::parse(&raw)?),
            None => None,
        };
        Ok(Guard {
            inner: Arc::new(GuardInner {
                expect: Expectations {
                    issuer: config.issuer,
                    audiences,
                    algorithms: config.algorithms,
                    leeway_secs: config.leeway.as_secs(),
                },
                realm: config.realm.map(Arc::from),
                issuer_base,
                configured_jwks_uri,
                refetch_interval: config.jwks_refetch_interval,
                max_age: config.jwks_max_age,
                http: IssuerClient::new(config.http_timeout),
                keys: RwLock::new(Arc::new(KeySnapshot {
                    keys: Arc::new(KeySet::default()),
                    fetched_at: None,
                    generation: 0,
                    last_error: None,
                })),
                refresh: tokio::sync::Mutex::new(RefreshState { last_attempt: None, jwks_uri: None }),
                tokens: TokenCache::new(config.token_cache_capacity),
                introspector,
                api_key_header: config.api_key_header,
                resource_credentials: config.resource_credentials,
                public_url,
                replay: crate::dpop::ReplayCache::new(),
            }),
        })
    }

    /// The layer that puts this guard in front of a service.
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }

    /// A layer that requires every scope in `scopes`, answering 403
    /// `insufficient_scope` otherwise. Put it inside (after) the guard's layer,
    /// for instance with axum's `route_layer` on the routes that need it.
    pub fn require_scope<I, S>(&self, scopes: I) -> RequireScopeLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequireScopeLayer::with_realm(scopes, self.inner.realm.clone())
    }

    /// The `realm` of this guard's challenges.
    pub fn realm(&self) -> Option<&str> {
        self.inner.realm.as_deref()
    }

    /// Everything the guard checks for one request: the bearer token (its
    /// signature, `typ`, `iss`, `aud`, `exp`, `nbf`), then, as configured, the
    /// API-key header, revocation through introspection, and the service's
    /// per-resource credential callback.
    pub async fn authorize(&self, request: &Parts) -> Result<VerifiedToken, GuardError> {
        let (scheme, token) = authorization_token(&request.headers)?;
        let public_url = self.inner.public_url.as_ref();
        if scheme == Scheme::DPoP && public_url.is_none() {
            // Without DPoP support the DPoP scheme is not a credential we read.
            return Err(GuardError::MissingToken);
        }
        let verified = match self.validate(token).await {
            Ok(verified) => verified,
            Err(GuardError::InvalidToken(reason)) if scheme == Scheme::DPoP => {
                return Err(GuardError::InvalidDpopToken(reason));
            }
            Err(err) => return Err(err),
        };
        match (scheme, &verified.claims.cnf, public_url) {
            (Scheme::Bearer, None, _) => {}
            // RFC 9449 §7.2: a DPoP-bound token is not a bearer token.
            (_, Some(_), None) => {
                return Err(GuardError::InvalidToken(
                    "the token is DPoP-bound, which this resource does not accept".into(),
                ));
            }
            (Scheme::Bearer, Some(_), Some(_)) => {
                return Err(GuardError::InvalidDpopToken(
                    "the token is DPoP-bound and must be sent with the DPoP scheme".into(),
                ));
            }
            (Scheme::DPoP, None, _) => {
                return Err(GuardError::InvalidDpopToken("the token is not DPoP-bound".into()));
            }
            (Scheme::DPoP, Some(cnf), Some(public_url)) => {
                crate::dpop::check_request(
                    &self.inner.replay,
                    &request.headers,
                    request.method.as_str(),
                    &public_url.origin,
                    request.uri.path(),
                    token,
                    &cnf.jkt,
                    unix_now(),
                )?;
            }
        }
        if let Some(header) = &self.inner.api_key_header {
            check_api_key(&request.headers, header, &verified)?;
        }
        if let Some(introspector) = &self.inner.introspector {
            let seconds_left = verified.claims.exp.saturating_sub(unix_now());
            introspector.check(&self.inner.http, token, seconds_left).await?;
        }
        if let Some(check) = &self.inner.resource_credentials {
            let credentials = decode_resource_credentials(&request.headers, &check.header)?;
            let decision = check
                .verifier
                .verify(CredentialRequest {
                    credentials,
                    token: verified.clone(),
                    method: request.method.clone(),
                    uri: request.uri.clone(),
                })
                .await;
            if let CredentialDecision::Deny(reason) = decision {
                return Err(GuardError::AccessDenied(reason));
            }
        }
        Ok(verified)
    }

    /// Validates a token alone: signature with the key named by `kid`, `typ`,
    /// `iss`, `aud`, `exp` and `nbf`. Fetches keys only when it must.
    pub async fn validate(&self, token: &str) -> Result<VerifiedToken, GuardError> {
        let now = unix_now();
        let inner = &self.inner;
        // A remembered token counts only while the keys it was checked with are fresh.
        if self.snapshot().is_fresh(inner.max_age)
            && let Some(verified) = inner.tokens.find(token, inner.expect.leeway_secs, now)
        {
            return Ok(verified);
        }
        let unverified = jwt::parse(token, &inner.expect)?;
        let snapshot = self.keys_with(&unverified.kid).await?;
        let verified = unverified.verify(&snapshot.keys, &inner.expect, now)?;
        inner.tokens.remember(token, &verified, snapshot.generation);
        Ok(verified)
    }

    /// Fetches the JWKS now (after discovery, if no `jwks_uri` was
    /// configured), whatever the refetch interval. Call it at start to fail
    /// fast on a wrong issuer; requests do not need it.
    pub async fn refresh_keys(&self) -> Result<(), GuardError> {
        let mut state = self.inner.refresh.lock().await;
        self.fetch_and_publish(&mut state).await
    }

    /// The RFC 6750 response for `error`, with this guard's realm.
    pub fn rejection(&self, error: &GuardError) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        let mut response = error.to_response(self.realm());
        // RFC 9728 §5.1: a 401 says where the resource's metadata is.
        if response.status() == http::StatusCode::UNAUTHORIZED
            && let Some(url) = self.resource_metadata_url()
            && let Some(challenge) = response.headers().get(http::header::WWW_AUTHENTICATE)
            && let Ok(challenge) = challenge.to_str()
        {
            let separator = if challenge.contains(' ') { ", " } else { " " };
            let value = format!("{challenge}{separator}resource_metadata=\"{url}\"");
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(http::header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }

    /// The resource's public URL ([`GuardConfig::public_url`]), if set.
    pub fn public_url(&self) -> Option<&str> {
        self.inner.public_url.as_ref().map(|url| url.full.as_str())
    }

    /// The path of the resource's RFC 9728 metadata document:
    /// `/.well-known/oauth-protected-resource`, followed by the public URL's
    /// path if it has one (RFC 9728 §3.1). `None` without a public URL.
    pub fn resource_metadata_path(&self) -> Option<String> {
        let public_url = self.public_url()?;
        let path = public_url.parse::<Uri>().ok()?.path().trim_end_matches('/').to_owned();
        Some(format!("/.well-known/oauth-protected-resource{path}"))
    }

    /// The full URL of the RFC 9728 metadata document.
    pub fn resource_metadata_url(&self) -> Option<String> {
        let origin = &self.inner.public_url.as_ref()?.origin;
        Some(format!("{origin}{}", self.resource_metadata_path()?))
    }

    /// The RFC 9728 metadata document, `None` without a public URL:
    /// `resource`, `authorization_servers`, `bearer_methods_supported`, the
    /// DPoP algorithms, and `scopes_supported` when `scopes` is not empty.
    pub fn resource_metadata(
        &self,
        scopes: &[String],
        resource_name: Option<&str>,
    ) -> Option<serde_json::Value> {
        let mut document = serde_json::json!({
            "resource": self.public_url()?,
            "authorization_servers": [self.inner.expect.issuer],
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": crate::dpop::DPOP_ALGS.split(' ').collect::<Vec<_>>(),
        });
        if !scopes.is_empty() {
            document["scopes_supported"] = scopes.into();
        }
        if let Some(name) = resource_name {
            document["resource_name"] = name.into();
        }
        Some(document)
    }

    /// A key snapshot holding `kid`, fetching one if the policy allows.
    async fn keys_with(&self, kid: &str) -> Result<Arc<KeySnapshot>, GuardError> {
        let snapshot = self.snapshot();
        if snapshot.is_fresh(self.inner.max_age) && snapshot.keys.contains(kid) {
            return Ok(snapshot);
        }
        self.refresh_after(snapshot.generation).await;
        let snapshot = self.snapshot();
        if snapshot.keys.contains(kid) {
            return Ok(snapshot);
        }
        if let Some(error) = &snapshot.last_error {
            return Err(GuardError::Unavailable(error.clone()));
        }
        Err(GuardError::InvalidToken("the token is signed with an unknown key".into()))
    }

    fn snapshot(&self) -> Arc<KeySnapshot> {
        match self.inner.keys.read() {
            Ok(keys) => Arc::clone(&keys),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Fetches unless another request did since `seen_generation`, or the
    /// last attempt is more recent than the refetch interval. Concurrent
    /// callers queue on the lock and then find the new generation.
    async fn refresh_after(&self, seen_generation: u64) {
        let mut state = self.inner.refresh.lock().await;
        if self.snapshot().generation != seen_generation {
            return;
        }
        if state.last_attempt.is_some_and(|at| at.elapsed() < self.inner.refetch_interval) {
            return;
        }
        if let Err(error) = self.fetch_and_publish(&mut state).await {
            tracing::warn!(%error, "fetching the issuer's keys failed");
        }
    }

    async fn fetch_and_publish(&self, state: &mut RefreshState) -> Result<(), GuardError> {
        state.last_attempt = Some(Instant::now());
        let fetched = self.fetch_keys(state).await;
        let previous = self.snapshot();
        let generation = previous.generation + 1;
        let (snapshot, result) = match fetched {
            Ok(keys) => {
                tracing::debug!(keys = keys.len(), "fetched the issuer's keys");
                let snapshot = KeySnapshot {
                    keys: Arc::new(keys),
                    fetched_at: Some(Instant::now()),
                    generation,
                    last_error: None,
                };
                (snapshot, Ok(()))
            }
            // Keep serving with the keys we have; remember why we could not refresh.
            Err(error) => {
                let snapshot = KeySnapshot {
                    keys: Arc::clone(&previous.keys),
                    fetched_at: previous.fetched_at,
                    generation,
                    last_error: Some(error.to_string()),
                };
                (snapshot, Err(error))
            }
        };
        match self.inner.keys.write() {
            Ok(mut keys) => *keys = Arc::new(snapshot),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(snapshot),
        }
        if result.is_ok() {
            // Tokens verified with the old keys are judged again with the new ones.
            self.inner.tokens.clear_before(generation);
        }
        result
    }

    async fn fetch_keys(&self, state: &mut RefreshState) -> Result<KeySet, GuardError> {
        let jwks_uri = match (&self.inner.configured_jwks_uri, &state.jwks_uri) {
            (Some(uri), _) | (None, Some(uri)) => uri.clone(),
            (None, None) => {
                let uri = self.discover().await?;
                state.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let document: JwkSetDocument = self
            .inner
            .http
            .get_json(&jwks_uri)
            .await?
            .ok_or_else(|| GuardError::Unavailable(format!("{jwks_uri} answered 404")))?;
        Ok(KeySet::from_document(document))
    }

    /// Finds `jwks_uri` in the issuer's metadata, and checks that the
    /// metadata is the issuer's own (RFC 8414 §3.3).
    async fn discover(&self) -> Result<Uri, GuardError> {
        let base = &self.inner.issuer_base;
        for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
            let uri = parse_uri("the discovery URL", &format!("{base}{path}"))?;
            let Some(metadata) = self.inner.http.get_json::<Metadata>(&uri).await? else { continue };
            if metadata.issuer != self.inner.expect.issuer {
                return Err(GuardError::Unavailable(format!(
                    "{uri} describes the issuer `{}`, not `{}`",
                    metadata.issuer, self.inner.expect.issuer
                )));
            }
            return parse_uri("the discovered jwks_uri", &metadata.jwks_uri)
                .map_err(|err| GuardError::Unavailable(err.to_string()));
        }
        Err(GuardError::Unavailable(format!("{base} publishes no authorization server metadata")))
    }
}

/// The scheme a token was presented with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    DPoP,
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1). Any other
/// scheme, or no header, is "no token" (a bare challenge); two headers, or a
/// Bearer header without a well-formed token, are errors.
#[cfg(test)]
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, GuardError> {
    authorization_token(headers).and_then(|(scheme, token)| match scheme {
        Scheme::Bearer => Ok(token),
        Scheme::DPoP => Err(GuardError::MissingToken),
    })
}

/// The token of an `Authorization: Bearer` or `Authorization: DPoP` header
/// (RFC 6750 §2.1, RFC 9449 §7.1).
pub(crate) fn authorization_token(headers: &HeaderMap) -> Result<(Scheme, &str), GuardError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(GuardError::MissingToken),
        (Some(value), None) => value,
        (Some(_), Some(_)) => {
            return Err(GuardError::InvalidRequest(
                "the request has more than one Authorization header".into(),
            ));
        }
    };
    let value = value.to_str().map_err(|_| GuardError::InvalidToken("the token is malformed".into()))?;
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(GuardError::MissingToken);
    };
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::DPoP
    } else {
        return Err(GuardError::MissingToken);
    };
    let token = token.trim_matches(' ');
    let token68 = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    if token.is_empty() || !token.chars().all(token68) {
        return Err(GuardError::InvalidToken("the token is malformed".into()));
    }
    Ok((scheme, token))
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

/// Tokens that passed every check of [`Guard::validate`], by their exact text.
/// Only `exp` can change its verdict later, and it is checked on every hit.
struct TokenCache {
    capacity: usize,
    entries: RwLock<HashMap<Box<str>, CachedToken>>,
    /// Entries verified with keys older than this generation are void, even
    /// one inserted just after the clearing by a request that raced it.
    oldest_valid_generation: AtomicU64,
}

struct CachedToken {
    token: VerifiedToken,
    generation: u64,
}

impl TokenCache {
    fn new(capacity: usize) -> TokenCache {
        TokenCache {
            capacity,
            entries: RwLock::new(HashMap::new()),
            oldest_valid_generation: AtomicU64::new(0),
        }
    }

    fn find(&self, token: &str, leeway_secs: u64, now: u64) -> Option<VerifiedToken> {
        if self.capacity == 0 {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let cached = entries.get(token)?;
        if cached.generation < self.oldest_valid_generation.load(Ordering::Acquire) {
            return None;
        }
        jwt::check_expiry(cached.token.claims.exp, leeway_secs, now).ok()?;
        Some(cached.token.clone())
    }

    fn remember(&self, token: &str, verified: &VerifiedToken, generation: u64) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.write() else { return };
        if entries.len() >= self.capacity {
            let now = unix_now();
            entries.retain(|_, cached| cached.token.claims.exp > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(token.into(), CachedToken { token: verified.clone(), generation });
    }

    fn clear_before(&self, generation: u64) {
        self.oldest_valid_generation.fetch_max(generation, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, cached| cached.generation >= generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn token_of(values: &[&str]) -> Result<String, GuardError> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(http::header::AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        }
        bearer_token(&headers).map(str::to_owned)
    }

    #[test]
    fn bearer_tokens_are_read_per_rfc_6750() {
        assert_eq!(token_of(&["Bearer abc.def-_~+/="]).expect("token"), "abc.def-_~+/=");
        assert_eq!(token_of(&["bearer abc"]).expect("token"), "abc");
        assert!(matches!(token_of(&[]), Err(GuardError::MissingToken)));
        assert!(matches!(token_of(&["Basic dXNlcjpwdw=="]), Err(GuardError::MissingToken)));
        assert!(matches!(token_of(&["Bearer"]), Err(GuardError::MissingToken)));
        assert!(matches!(token_of(&["Bearer a b"]), Err(GuardError::InvalidToken(_))));
        assert!(matches!(token_of(&["Bearer a", "Bearer b"]), Err(GuardError::InvalidRequest(_))));
    }
}
