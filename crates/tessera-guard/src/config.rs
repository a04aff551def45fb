//! What a valid token looks like for this resource server, where the keys come
//! from, and the optional extra checks. Plain data with chained setters;
//! [`crate::Guard::new`] checks it once and turns it into the running guard.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::credentials::{CredentialDecision, CredentialRequest, CredentialVerifier};
use crate::introspection::Introspection;

/// The JWS algorithms the guard can verify. `none` and the HMAC family are not
/// here on purpose: a resource server holds only public keys, and accepting
/// HMAC would let anyone sign with a public key's bytes as the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256: what Tessera signs access tokens with.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits.
    Rs256,
}

impl Algorithm {
    /// The JOSE name (`ES256`, `RS256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
        }
    }

    /// The algorithm named `raw`, if the guard supports it.
    pub fn parse(raw: &str) -> Option<Algorithm> {
        match raw {
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            _ => None,
        }
    }
}

/// The guard's settings. Start from [`GuardConfig::new`] with the issuer; every
/// other setting has a default.
///
/// ```
/// use std::time::Duration;
/// use tessera_guard::GuardConfig;
///
/// let config = GuardConfig::new("https://auth.example.com")
///     .audience("https://api.example.com")
///     .leeway(Duration::from_secs(10));
/// ```
#[derive(Clone)]
pub struct GuardConfig {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: Duration,
    pub(crate) jwks_refetch_interval: Duration,
    pub(crate) jwks_max_age: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) token_cache_capacity: usize,
    pub(crate) realm: Option<String>,
    pub(crate) introspection: Option<Introspection>,
    pub(crate) api_key_header: Option<HeaderName>,
    pub(crate) resource_credentials: Option<ResourceCredentialsCheck>,
    pub(crate) public_url: Option<String>,
}

/// The credential header and the service's callback that judges it.
#[derive(Clone)]
pub(crate) struct ResourceCredentialsCheck {
    pub(crate) header: HeaderName,
    pub(crate) verifier: Arc<dyn CredentialVerifier>,
}

impl GuardConfig {
    /// Tokens must carry exactly this `iss`. Unless [`GuardConfig::jwks_uri`]
    /// is set, the JWKS location is discovered from
    /// `{issuer}/.well-known/oauth-authorization-server` (RFC 8414), falling
    /// back to `{issuer}/.well-known/openid-configuration`.
    ///
    /// Defaults: audience = the issuer (Tessera's default `aud`), algorithms
    /// ES256 and RS256, 30 s leeway, at most one JWKS refetch per 30 s for an
    /// unknown `kid`, keys refreshed when older than 10 minutes, 10 s HTTP
    /// timeout, 10,000 verified tokens remembered.
    pub fn new(issuer: impl Into<String>) -> GuardConfig {
        GuardConfig {
            issuer: issuer.into(),
            jwks_uri: None,
            audiences: Vec::new(),
            algorithms: vec![Algorithm::Es256, Algorithm::Rs256],
            leeway: Duration::from_secs(30),
            jwks_refetch_interval: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(600),
            http_timeout: Duration::from_secs(10),
            token_cache_capacity: 10_000,
            realm: None,
            introspection: None,
            api_key_header: None,
            resource_credentials: None,
            public_url: None,
        }
    }

    /// The resource's public base URL (e.g. `https://api.example.com`), as
    /// clients address it. Setting it turns on DPoP (RFC 9449 §7): a bound
    /// token is accepted with `Authorization: DPoP` and a proof whose `htu` is
    /// this URL's origin plus the request path (the path as requests arrive,
    /// so a URL with a path such as `https://example.com/api` does not repeat
    /// it). Unset, bound tokens are refused.
    pub fn public_url(mut self, public_url: impl Into<String>) -> GuardConfig {
        self.public_url = Some(public_url.into());
        self
    }

    /// Fetch keys from this JWKS URL and skip discovery.
    pub fn jwks_uri(mut self, jwks_uri: impl Into<String>) -> GuardConfig {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// Accept tokens whose `aud` contains `audience`. Call it again to accept
    /// several; a token needs to name one of them. Without any, the issuer
    /// itself is the audience, as Tessera issues it by default.
    pub fn audience(mut self, audience: impl Into<String>) -> GuardConfig {
        self.audiences.push(audience.into());
        self
    }

    /// Replace the algorithm allow-list (default ES256 and RS256).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> GuardConfig {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> GuardConfig {
        self.leeway = leeway;
        self
    }

    /// The least time between two JWKS fetches caused by tokens naming an
    /// unknown `kid` (default 30 s). It bounds what a flood of forged `kid`s
    /// can make the guard fetch: one request per interval, shared by every
    /// request waiting for it.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> GuardConfig {
        self.jwks_refetch_interval = interval;
        self
    }

    /// Keys older than this are fetched again on the next request (default
    /// 10 minutes), so a key the issuer withdrew stops verifying. If that
    /// fetch fails, the old keys stay in use.
    pub fn jwks_max_age(mut self, max_age: Duration) -> GuardConfig {
        self.jwks_max_age = max_age;
        self
    }

    /// Timeout of each call to the issuer (default 10 s).
    pub fn http_timeout(mut self, timeout: Duration) -> GuardConfig {
        self.http_timeout = timeout;
        self
    }

    /// How many verified tokens to remember (default 10,000; 0 turns it off).
    ///
    /// An ES256 signature check costs tens of microseconds, and clients send
    /// the same token many times. A remembered token is compared byte for
    /// byte, its `exp` is checked again on every use, and the memory is
    /// cleared whenever the key set changes.
    pub fn token_cache_capacity(mut self, capacity: usize) -> GuardConfig {
        self.token_cache_capacity = capacity;
        self
    }

    /// The `realm` of every `WWW-Authenticate` challenge.
    pub fn realm(mut self, realm: impl Into<String>) -> GuardConfig {
        self.realm = Some(realm.into());
        self
    }

    /// Ask the issuer's RFC 7662 introspection endpoint about every token, and
    /// refuse those it reports `active: false` (revoked ones). See
    /// [`Introspection`] for the cache of positive answers.
    pub fn revocation_check(mut self, introspection: Introspection) -> GuardConfig {
        self.introspection = Some(introspection);
        self
    }

    /// Require a header (such as `x-myobapi-key`) whose value is the token's
    /// `client_id`: the API key names the application, and must name the one
    /// the token was issued to.
    pub fn api_key_header(mut self, header: HeaderName) -> GuardConfig {
        self.api_key_header = Some(header);
        self
    }

    /// Decode a per-resource credential header (such as `x-myobapi-cftoken`,
    /// Base64 of `user:password`) and let `verifier` allow or deny each
    /// request. The verifier runs after the token checks and is called with
    /// `credentials: None` when the header is absent, so it decides which
    /// resources need one.
    ///
    /// ```
    /// use http::HeaderName;
    /// use tessera_guard::{CredentialDecision, CredentialRequest, GuardConfig};
    ///
    /// let config = GuardConfig::new("https://auth.example.com").resource_credentials(
    ///     HeaderName::from_static("x-myobapi-cftoken"),
    ///     |request: CredentialRequest| async move {
    ///         match request.credentials {
    ///             Some(credentials) if credentials.username == "admin" => CredentialDecision::Allow,
    ///             _ => CredentialDecision::Deny("unknown company file user".into()),
    ///         }
    ///     },
    /// );
    /// ```
    pub fn resource_credentials<F, Fut>(mut self, header: HeaderName, verifier: F) -> GuardConfig
    where
        F: Fn(CredentialRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CredentialDecision> + Send + 'static,
    {
        self.resource_credentials = Some(ResourceCredentialsCheck { header, verifier: Arc::new(verifier) });
        self
    }
}

impl fmt::Debug for GuardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardConfig")
            .field("issuer", &self.issuer)
            .field("jwks_uri", &self.jwks_uri)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("jwks_refetch_interval", &self.jwks_refetch_interval)
            .field("jwks_max_age", &self.jwks_max_age)
            .field("http_timeout", &self.http_timeout)
            .field("token_cache_capacity", &self.token_cache_capacity)
            .field("realm", &self.realm)
            .field("introspection", &self.introspection)
            .field("api_key_header", &self.api_key_header)
            .field("resource_credentials", &self.resource_credentials.as_ref().map(|check| &check.header))
            .finish()
    }
}
