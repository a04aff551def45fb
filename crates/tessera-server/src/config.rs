//! Configuration: built-in defaults, then an optional TOML file, then
//! `TESSERA_*` environment variables (`__` for nesting), then command-line flags.
//!
//! [`RawConfig`] mirrors the file and is what the layers merge into;
//! [`Config::resolve`] checks it without I/O and produces the typed [`Config`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tessera_core::jwt::Algorithm;
use tessera_core::resource::{Resource, ResourceSettings};
use tessera_core::scope::{Scope, ScopeSet};
use tessera_core::secret::SecretHash;
use url::{Host, Url};

use crate::dialects::{Dialect, Dialects};
use crate::dynamic_clients::{RawRegistrationSettings, RegistrationSettings};
use crate::fetch::OutboundSettings;
use crate::limits::LimitSettings;

/// The configuration file and environment, as written by the operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Issuer URL (`iss` of every token, base of every endpoint). Defaults to
    /// `http://` (or `https://` with TLS) plus the listen address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Address to listen on.
    pub listen: String,
    /// Directory holding the SQLite database.
    pub data_dir: PathBuf,
    /// `postgres://user@host/db` to share a PostgreSQL database between replicas,
    /// or `sqlite://path`; default: SQLite in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// How long `serve` retries an unreachable database at start, e.g. "60s".
    #[serde(with = "humantime_serde")]
    pub database_startup_timeout: Duration,
    /// Allow an `http` issuer on a non-loopback host (only behind a TLS proxy).
    pub allow_insecure_http_issuer: bool,
    /// Lifetime of access tokens, e.g. "1h" or "15m".
    #[serde(with = "humantime_serde")]
    pub access_token_lifetime: Duration,
    /// Lifetime of authorization codes, e.g. "120s" (10s to 10m).
    #[serde(with = "humantime_serde")]
    pub authorization_code_lifetime: Duration,
    /// Absolute lifetime of a refresh token family, e.g. "30d".
    #[serde(with = "humantime_serde")]
    pub refresh_token_lifetime: Duration,
    /// Window after a rotation in which the old refresh token, presented again,
    /// gets the same successor instead of revoking the family ("0s": off).
    #[serde(with = "humantime_serde")]
    pub refresh_token_reuse_grace: Duration,
    /// How long a browser stays signed in, e.g. "8h".
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// How long an admin console sign-in lasts, e.g. "1h" (1m to 24h).
    #[serde(with = "humantime_serde")]
    pub admin_session_lifetime: Duration,
    /// How long the audit trail keeps events, e.g. "90d".
    #[serde(with = "humantime_serde")]
    pub audit_retention: Duration,
    /// Accept `code_challenge_method=plain` (RFC 9700 advises against it).
    pub allow_plain_pkce: bool,
    /// Every DPoP proof must carry a nonce this server handed out in a
    /// `DPoP-Nonce` header (RFC 9449 §8, §9).
    pub require_dpop_nonce: bool,
    /// Authorization requests only through the PAR endpoint (RFC 9126 §5);
    /// a client can also require it for itself.
    pub require_pushed_authorization_requests: bool,
    /// `aud` of tokens when neither request nor client names a resource; defaults to the issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_audience: Option<String>,
    /// Serve HTTPS with this PEM certificate chain and private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawTls>,
    /// A fixed RFC 7591 initial access token for `/register` (at least 32
    /// characters); tokens made by `tessera registration-token create` work too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_access_token: Option<String>,
    /// How often each server checks the store for client and key changes made
    /// elsewhere (the CLI, another replica), e.g. "250ms". On PostgreSQL a
    /// `NOTIFY` wakes servers at once; this is the backstop.
    #[serde(with = "humantime_serde")]
    pub change_poll_interval: Duration,
    /// Rotate the signing keys this often, e.g. "30d"; unset: only by `tessera keys rotate`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "humantime_serde")]
    pub signing_key_rotation_interval: Option<Duration>,
    /// How long a retired signing key stays in the JWKS, e.g. "1d"; at least
    /// the access token lifetime, so that tokens signed before a rotation
    /// validate until they expire.
    #[serde(with = "humantime_serde")]
    pub signing_key_retention: Duration,
    /// Vendor dialects to speak besides the standard, e.g. `["myob", "yourmembership"]`
    /// (or `TESSERA_DIALECTS=myob,yourmembership`).
    #[serde(default, deserialize_with = "list_or_commas")]
    pub dialects: Vec<String>,
    /// Request rates, sign-in lockout and timeouts (`[limits]`; see below).
    #[serde(default)]
    pub limits: LimitSettings,
    /// How documents named by clients (`jwks_uri`, Client ID Metadata
    /// Documents) are fetched (`[outbound]`; see below).
    #[serde(default)]
    pub outbound: OutboundSettings,
    /// Accept an https URL as `client_id` and read the client's metadata from
    /// the document there (draft-ietf-oauth-client-id-metadata-document).
    pub client_id_metadata_documents: bool,
    /// The scopes a client known by its metadata document may be given (each
    /// must be in the scope registry; others are ignored).
    #[serde(deserialize_with = "list_or_commas")]
    pub client_id_metadata_document_scopes: Vec<String>,
    /// Controls on dynamic client registration (`[registration]`; see below).
    #[serde(default)]
    pub registration: RawRegistrationSettings,
    /// Token settings per RFC 8707 resource, keyed by the resource URI
    /// (`[resources."https://api.example.com"]`); only in the file.
    #[serde(default)]
    pub resources: BTreeMap<String, RawResource>,
}

/// `[resources."URI"]`: how the access tokens for one resource are made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResource {
    /// `aud` of its tokens; default: the resource URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Lifetime of its access tokens, at most `access_token_lifetime`; default: that.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "humantime_serde")]
    pub access_token_lifetime: Option<Duration>,
    /// `ES256` (default) or `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<String>,
}

/// A list from a TOML array, or from one comma-separated string (an environment variable).
pub(crate) fn list_or_commas<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCommas {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match ListOrCommas::deserialize(deserializer)? {
        ListOrCommas::List(list) => list,
        ListOrCommas::Commas(joined) => {
            joined.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect()
        }
    })
}

/// `[tls]` in the file; `TESSERA_TLS__CERT` / `TESSERA_TLS__KEY` in the environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM file with the certificate chain.
    pub cert: PathBuf,
    /// PEM file with the private key.
    pub key: PathBuf,
}

impl Default for RawConfig {
    fn default() -> RawConfig {
        RawConfig {
            issuer: None,
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./tessera-data"),
            database_url: None,
            database_startup_timeout: Duration::from_secs(60),
            allow_insecure_http_issuer: false,
            access_token_lifetime: Duration::from_secs(3600),
            authorization_code_lifetime: Duration::from_secs(120),
            refresh_token_lifetime: Duration::from_secs(30 * 86_400),
            refresh_token_reuse_grace: Duration::ZERO,
            session_lifetime: Duration::from_secs(8 * 3600),
            admin_session_lifetime: Duration::from_secs(3600),
            audit_retention: Duration::from_secs(90 * 86_400),
            allow_plain_pkce: false,
            require_dpop_nonce: false,
            require_pushed_authorization_requests: false,
            default_audience: None,
            tls: None,
            initial_access_token: None,
            change_poll_interval: Duration::from_millis(250),
            signing_key_rotation_interval: None,
            signing_key_retention: Duration::from_secs(86_400),
            dialects: Vec::new(),
            limits: LimitSettings::default(),
            outbound: OutboundSettings::default(),
            client_id_metadata_documents: false,
            client_id_metadata_document_scopes: ["openid", "profile", "email", "offline_access"]
                .map(str::to_owned)
                .to_vec(),
            registration: RawRegistrationSettings::default(),
            resources: BTreeMap::new(),
        }
    }
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Explicit issuer, without a trailing slash; `None` derives it from the bound address.
    pub issuer: Option<String>,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: Database,
    /// How long `serve` keeps retrying an unreachable database before giving up.
    pub database_startup_timeout: Duration,
    pub allow_insecure_http_issuer: bool,
    pub access_token_lifetime: Duration,
    pub authorization_code_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub refresh_token_reuse_grace: Duration,
    pub session_lifetime: Duration,
    pub admin_session_lifetime: Duration,
    pub audit_retention: Duration,
    pub allow_plain_pkce: bool,
    pub require_dpop_nonce: bool,
    pub require_pushed_authorization_requests: bool,
    pub default_audience: Option<String>,
    pub tls: Option<TlsFiles>,
    /// Hash of the configured initial access token; the token itself is not kept.
    pub initial_access_token: Option<SecretHash>,
    pub change_poll_interval: Duration,
    pub signing_key_rotation_interval: Option<Duration>,
    pub signing_key_retention: Duration,
    pub dialects: Dialects,
    pub limits: LimitSettings,
    pub outbound: OutboundSettings,
    /// The scopes metadata-document clients may get; `None` when such clients are off.
    pub client_id_metadata_documents: Option<ScopeSet>,
    pub registration: RegistrationSettings,
    /// Per-resource token settings; a resource not here gets the defaults.
    pub resources: BTreeMap<Resource, ResourceSettings>,
}

/// Where the store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// SQLite at this file path.
    Sqlite(PathBuf),
    /// PostgreSQL at this URL (it may hold a password: never printed).
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Database {
    /// A description for people and logs, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("SQLite {}", path.display()),
            Database::Postgres(url) => match Url::parse(url) {
                Ok(url) => format!(
                    "PostgreSQL {}:{}{}",
                    url.host_str().unwrap_or("?"),
                    url.port().unwrap_or(5432),
                    url.path()
                ),
                Err(_) => "PostgreSQL".into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A configuration problem, naming the setting and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Load(Box<figment::Error>),
    #[error("unknown setting `{key}`{}", closest.map(|known| format!(" (did you mean `{known}`?)")).unwrap_or_default())]
    UnknownKey { key: String, closest: Option<&'static str> },
    #[error("`{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

impl RawConfig {
    /// The merged layers, not yet checked (see [`Config::resolve`]).
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<RawConfig, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(invalid("--config", format!("{} is not a readable file", file.display())));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("TESSERA_").split("__").filter(|key| is_known_key(key.as_str())))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|err| match &err.kind {
                figment::error::Kind::UnknownField(key, _) => {
                    ConfigError::UnknownKey { key: key.clone(), closest: closest_key(key) }
                }
                _ => ConfigError::Load(Box::new(err)),
            })
    }

    /// The same settings with every secret replaced by `********` (for printing).
    pub fn masked(&self) -> RawConfig {
        const MASK: &str = "********";
        let database_url = self.database_url.as_deref().map(|raw| match Url::parse(raw) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some(MASK));
                url.to_string()
            }
            _ => raw.to_owned(),
        });
        RawConfig {
            database_url,
            initial_access_token: self.initial_access_token.as_ref().map(|_| MASK.to_owned()),
            ..self.clone()
        }
    }
}

impl Config {
    /// Merges defaults, the TOML file (if any), `TESSERA_*` variables and flags.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Config::resolve(RawConfig::load(file, overrides)?)
    }

    /// Checks a raw configuration and types its values.
    pub fn resolve(raw: RawConfig) -> Result<Config, ConfigError> {
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            invalid("listen", format!("`{}` is not an address like 127.0.0.1:8080", raw.listen))
        })?;
        let issuer = raw
            .issuer
            .as_deref()
            .map(|issuer| check_issuer(issuer, raw.allow_insecure_http_issuer))
            .transpose()?;
        if raw.access_token_lifetime < Duration::from_secs(1)
            || raw.access_token_lifetime > Duration::from_secs(86_400)
        {
            return Err(invalid("access_token_lifetime", "must be between 1s and 24h"));
        }
        if raw.authorization_code_lifetime < Duration::from_secs(10)
            || raw.authorization_code_lifetime > Duration::from_secs(600)
        {
            return Err(invalid("authorization_code_lifetime", "must be between 10s and 10m"));
        }
        if raw.refresh_token_reuse_grace > Duration::from_secs(60) {
            return Err(invalid(
                "refresh_token_reuse_grace",
                "must be at most 60s: it is for concurrent tabs, not storage",
            ));
        }
        if raw.refresh_token_lifetime < Duration::from_secs(60) {
            return Err(invalid("refresh_token_lifetime", "must be at least 1m"));
        }
        if raw.session_lifetime < Duration::from_secs(60) {
            return Err(invalid("session_lifetime", "must be at least 1m"));
        }
        if !(Duration::from_secs(60)..=Duration::from_secs(86_400)).contains(&raw.admin_session_lifetime) {
            return Err(invalid("admin_session_lifetime", "must be 1m to 24h"));
        }
        if raw.audit_retention < Duration::from_secs(86_400) {
            return Err(invalid("audit_retention", "must be at least 1d"));
        }
        if let Some(audience) = &raw.default_audience
            && Url::parse(audience).is_err()
        {
            return Err(invalid("default_audience", "must be an absolute URI"));
        }
        if raw.change_poll_interval < Duration::from_millis(10)
            || raw.change_poll_interval > Duration::from_secs(60)
        {
            return Err(invalid("change_poll_interval", "must be between 10ms and 60s"));
        }
        if raw.signing_key_rotation_interval.is_some_and(|interval| interval < Duration::from_secs(3600)) {
            return Err(invalid("signing_key_rotation_interval", "must be at least 1h"));
        }
        if raw.signing_key_retention < raw.access_token_lifetime {
            return Err(invalid(
                "signing_key_retention",
                "must be at least access_token_lifetime, or tokens signed before a rotation stop validating early",
            ));
        }
        let mut dialects = Vec::new();
        for name in &raw.dialects {
            dialects.push(Dialect::parse(name).ok_or_else(|| {
                invalid("dialects", format!("unknown dialect `{name}`; valid: {}", Dialect::valid_names()))
            })?);
        }
        let dialects = Dialects::new(dialects);
        let documented_code_lifetime = Duration::from_secs(120)..=Duration::from_secs(300);
        if dialects.has(Dialect::Myob) && !documented_code_lifetime.contains(&raw.authorization_code_lifetime)
        {
            return Err(invalid(
                "authorization_code_lifetime",
                "must be between 2m and 5m with the myob dialect, as its integrations expect",
            ));
        }
        raw.limits.check().map_err(|(key, message)| invalid(key, message))?;
        raw.outbound.check().map_err(|(key, message)| invalid(key, message))?;
        let metadata_document_scopes: ScopeSet = raw
            .client_id_metadata_document_scopes
            .iter()
            .map(|name| Scope::parse(name))
            .collect::<Result<_, _>>()
            .map_err(|err| invalid("client_id_metadata_document_scopes", err.description))?;
        let registration = raw.registration.resolve().map_err(|(key, message)| invalid(key, message))?;
        let resources = resolve_resources(&raw.resources, raw.access_token_lifetime)?;
        let initial_access_token = match raw.initial_access_token.as_deref().map(str::trim) {
            Some(token) if token.len() < 32 => {
                return Err(invalid(
                    "initial_access_token",
                    "must be at least 32 characters; generate one with `tessera registration-token create`",
                ));
            }
            Some(token) => Some(SecretHash::of(token)),
            None => None,
        };
        let database = match raw.database_url.as_deref() {
            None => Database::Sqlite(raw.data_dir.join("tessera.db")),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres(url.to_owned())
            }
            Some(url) => match url.strip_prefix("sqlite://") {
                Some(path) if !path.is_empty() => Database::Sqlite(PathBuf::from(path)),
                _ => {
                    return Err(invalid(
                        "database_url",
                        "must start with postgres:// or postgresql://, or be sqlite://PATH",
                    ));
                }
            },
        };
        Ok(Config {
            initial_access_token,
            issuer,
            listen,
            database,
            database_startup_timeout: raw.database_startup_timeout,
            data_dir: raw.data_dir,
            allow_insecure_http_issuer: raw.allow_insecure_http_issuer,
            access_token_lifetime: raw.access_token_lifetime,
            authorization_code_lifetime: raw.authorization_code_lifetime,
            refresh_token_lifetime: raw.refresh_token_lifetime,
            refresh_token_reuse_grace: raw.refresh_token_reuse_grace,
            session_lifetime: raw.session_lifetime,
            admin_session_lifetime: raw.admin_session_lifetime,
            audit_retention: raw.audit_retention,
            allow_plain_pkce: raw.allow_plain_pkce,
            require_dpop_nonce: raw.require_dpop_nonce,
            require_pushed_authorization_requests: raw.require_pushed_authorization_requests,
            default_audience: raw.default_audience,
            tls: raw.tls.map(|tls| TlsFiles { cert: tls.cert, key: tls.key }),
            change_poll_interval: raw.change_poll_interval,
            signing_key_rotation_interval: raw.signing_key_rotation_interval,
            signing_key_retention: raw.signing_key_retention,
            dialects,
            limits: raw.limits,
            outbound: raw.outbound,
            client_id_metadata_documents: raw
                .client_id_metadata_documents
                .then_some(metadata_document_scopes),
            registration,
            resources,
        })
    }

    /// A configuration for tests: loopback on a random port, data in `data_dir`.
    pub fn for_test(data_dir: &Path) -> Config {
        Config {
            issuer: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            database: Database::Sqlite(data_dir.join("tessera.db")),
            database_startup_timeout: Duration::from_secs(5),
            allow_insecure_http_issuer: false,
            access_token_lifetime: Duration::from_secs(3600),
            authorization_code_lifetime: Duration::from_secs(120),
            refresh_token_lifetime: Duration::from_secs(86_400),
            refresh_token_reuse_grace: Duration::ZERO,
            session_lifetime: Duration::from_secs(3600),
            admin_session_lifetime: Duration::from_secs(3600),
            audit_retention: Duration::from_secs(90 * 86_400),
            allow_plain_pkce: false,
            require_dpop_nonce: false,
            require_pushed_authorization_requests: false,
            default_audience: None,
            tls: None,
            initial_access_token: None,
            change_poll_interval: Duration::from_millis(20),
            signing_key_rotation_interval: None,
            signing_key_retention: Duration::from_secs(86_400),
            dialects: Dialects::default(),
            limits: LimitSettings::default(),
            outbound: OutboundSettings::default(),
            client_id_metadata_documents: None,
            registration: RegistrationSettings::default(),
            resources: BTreeMap::new(),
        }
    }

    /// The issuer for a server bound to `local_addr`.
    pub fn issuer_for(&self, local_addr: SocketAddr) -> Result<String, ConfigError> {
        if let Some(issuer) = &self.issuer {
            return Ok(issuer.clone());
        }
        if local_addr.ip().is_unspecified() {
            return Err(invalid(
                "issuer",
                format!(
                    "listening on {local_addr} needs an explicit issuer: the URL clients use to reach this server"
                ),
            ));
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        check_issuer(&format!("{scheme}://{local_addr}"), self.allow_insecure_http_issuer)
    }
}

/// Top-level keys of [`RawConfig`], as environment variables name them.
const KNOWN_KEYS: &[&str] = &[
    "issuer",
    "listen",
    "data_dir",
    "database_url",
    "database_startup_timeout",
    "allow_insecure_http_issuer",
    "access_token_lifetime",
    "authorization_code_lifetime",
    "refresh_token_lifetime",
    "refresh_token_reuse_grace",
    "session_lifetime",
    "admin_session_lifetime",
    "audit_retention",
    "allow_plain_pkce",
    "require_dpop_nonce",
    "require_pushed_authorization_requests",
    "default_audience",
    "tls",
    "initial_access_token",
    "change_poll_interval",
    "signing_key_rotation_interval",
    "signing_key_retention",
    "dialects",
    "limits",
    "outbound",
    "client_id_metadata_documents",
    "client_id_metadata_document_scopes",
    "registration",
    "resources",
];

/// `TESSERA_*` variables read elsewhere (by the CLI and the log filter).
const OTHER_VARIABLES: &[&str] = &[
    "TESSERA_CONFIG",
    "TESSERA_LOG",
    "TESSERA_LOG_FORMAT",
    "TESSERA_ADMIN_USERNAME",
    "TESSERA_ADMIN_PASSWORD",
];

/// The setting a mistyped `key` most likely meant, if any is close.
pub fn closest_key(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    KNOWN_KEYS
        .iter()
        .map(|known| (strsim::levenshtein(&key, known), *known))
        .filter(|(distance, known)| *distance <= 3.max(known.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Every top-level setting, in the order of [`RawConfig`].
pub fn known_keys() -> &'static [&'static str] {
    KNOWN_KEYS
}

fn is_known_key(key: &str) -> bool {
    let top_level = key.split('.').next().unwrap_or(key);
    KNOWN_KEYS.iter().any(|known| known.eq_ignore_ascii_case(top_level))
}

/// `TESSERA_*` variables that no setting reads (likely typos, worth a
/// warning), each with the variable it probably meant.
pub fn unexpected_env_vars() -> Vec<(String, Option<String>)> {
    std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| {
            name.strip_prefix("TESSERA_").is_some_and(|key| {
                !OTHER_VARIABLES.contains(&name.as_str()) && !is_known_key(&key.replace("__", "."))
            })
        })
        .map(|name| {
            let key = name.trim_start_matches("TESSERA_").to_ascii_lowercase();
            let closest = closest_key(&key).map(|known| format!("TESSERA_{}", known.to_ascii_uppercase()));
            (name, closest)
        })
        .collect()
}

/// `[resources."URI"]`: each key an RFC 8707 resource (an absolute URI without
/// a fragment), each lifetime within the server's (and so within
/// `signing_key_retention`, which is at least the server's: a retired key
/// outlives every token it signed), each algorithm one Tessera signs with.
fn resolve_resources(
    raw: &BTreeMap<String, RawResource>,
    server_lifetime: Duration,
) -> Result<BTreeMap<Resource, ResourceSettings>, ConfigError> {
    let mut resources = BTreeMap::new();
    for (uri, settings) in raw {
        let resource = Resource::parse(uri).map_err(|_| {
            invalid("resources", format!("`{uri}` is not a resource: use an absolute URI without a fragment"))
        })?;
        if let Some(audience) = &settings.audience
            && (audience.trim().is_empty() || audience.chars().any(char::is_control))
        {
            return Err(invalid(
                "resources",
                format!("`{uri}`: audience must be a non-empty name without control characters"),
            ));
        }
        let access_token_lifetime = match settings.access_token_lifetime {
            Some(lifetime) if lifetime < Duration::from_secs(1) => {
                return Err(invalid(
                    "resources",
                    format!("`{uri}`: access_token_lifetime must be at least 1s"),
                ));
            }
            Some(lifetime) if lifetime > server_lifetime => {
                return Err(invalid(
                    "resources",
                    format!(
                        "`{uri}`: access_token_lifetime must be at most the server's access_token_lifetime ({})",
                        humantime::format_duration(server_lifetime)
                    ),
                ));
            }
            lifetime => lifetime.map(|lifetime| lifetime.as_secs()),
        };
        let signing_alg = match settings.signing_alg.as_deref() {
            None => ResourceSettings::default().signing_alg,
            Some(name) => Algorithm::parse(name).ok_or_else(|| {
                invalid("resources", format!("`{uri}`: unknown signing_alg `{name}`; valid: ES256, RS256"))
            })?,
        };
        let audience = settings.audience.clone();
        resources.insert(resource, ResourceSettings { audience, access_token_lifetime, signing_alg });
    }
    Ok(resources)
}

/// RFC 8414 §2: an `https` URL with no query or fragment. `http` only on loopback,
/// unless the operator explicitly allows it.
fn check_issuer(raw: &str, allow_insecure_http: bool) -> Result<String, ConfigError> {
    let url = Url::parse(raw).map_err(|_| invalid("issuer", format!("`{raw}` is not an absolute URL")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("issuer", "must not have a query or fragment (RFC 8414 §2)"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) || allow_insecure_http => {}
        "http" => {
            return Err(invalid(
                "issuer",
                format!(
                    "`{raw}` uses http on a non-loopback host; use https, or set allow_insecure_http_issuer = true if TLS ends at a proxy"
                ),
            ));
        }
        other => return Err(invalid("issuer", format!("scheme `{other}` is not http or https"))),
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(domain)) => domain == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawConfig {
        RawConfig::default()
    }

    #[test]
    fn defaults_need_nothing() {
        let config = Config::resolve(raw()).expect("defaults resolve");
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.issuer_for(config.listen).expect("issuer"), "http://127.0.0.1:8080");
    }

    #[test]
    fn http_issuer_only_on_loopback() {
        let refused = Config::resolve(RawConfig { issuer: Some("http://auth.example.com".into()), ..raw() });
        assert!(matches!(refused, Err(ConfigError::Invalid { key: "issuer", .. })), "{refused:?}");
        let allowed = Config::resolve(RawConfig {
            issuer: Some("http://auth.example.com/".into()),
            allow_insecure_http_issuer: true,
            ..raw()
        })
        .expect("explicitly allowed");
        assert_eq!(allowed.issuer.as_deref(), Some("http://auth.example.com"));
        for ok in ["https://auth.example.com", "http://localhost:8080", "http://[::1]:8080"] {
            assert!(Config::resolve(RawConfig { issuer: Some(ok.into()), ..raw() }).is_ok(), "{ok}");
        }
        let query = Config::resolve(RawConfig { issuer: Some("https://a.example.com/?x=1".into()), ..raw() });
        assert!(query.is_err());
    }

    #[test]
    fn unspecified_listen_address_needs_an_issuer() {
        let config = Config::resolve(RawConfig { listen: "0.0.0.0:8080".into(), ..raw() }).expect("resolves");
        let err = config.issuer_for(config.listen).expect_err("needs issuer");
        assert!(err.to_string().starts_with("`issuer`: listening on 0.0.0.0:8080"), "{err}");
    }

    #[test]
    fn file_and_overrides_layer_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("tessera.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\naccess_token_lifetime = \"15m\"\ndata_dir = \"/from/file\"\n",
        )
        .expect("write");
        let overrides = Overrides { data_dir: Some("/from/flag".into()), ..Overrides::default() };
        let config = Config::load(Some(&file), &overrides).expect("loads");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.access_token_lifetime, Duration::from_secs(900));
        assert_eq!(config.data_dir, PathBuf::from("/from/flag"));
    }

    #[test]
    fn environment_keys_are_recognised_by_their_top_level_name() {
        assert!(is_known_key("data_dir"));
        assert!(is_known_key("tls.cert"));
        assert!(!is_known_key("data_dri"));
        assert!(!is_known_key("bin"));
    }

    #[test]
    fn database_url_selects_the_backend_and_hides_credentials() {
        let sqlite = Config::resolve(raw()).expect("default");
        assert_eq!(sqlite.database, Database::Sqlite(PathBuf::from("./tessera-data/tessera.db")));
        let postgres = Config::resolve(RawConfig {
            database_url: Some("postgres://tessera:hunter2@db.internal:6432/auth".into()),
            ..raw()
        })
        .expect("postgres");
        assert_eq!(postgres.database.describe(), "PostgreSQL db.internal:6432/auth");
        assert!(!format!("{postgres:?}").contains("hunter2"), "Debug never shows the password");
        let bad = Config::resolve(RawConfig { database_url: Some("mysql://x".into()), ..raw() });
        assert!(matches!(bad, Err(ConfigError::Invalid { key: "database_url", .. })));
    }

    #[test]
    fn dialects_come_from_a_list_or_a_comma_separated_variable() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("tessera.toml");
        std::fs::write(&file, "dialects = [\"myob\", \"myp\"]\n").expect("write");
        let config = Config::load(Some(&file), &Overrides::default()).expect("loads");
        assert!(config.dialects.has(Dialect::Myob) && config.dialects.has(Dialect::Myp));
        assert!(!config.dialects.has(Dialect::YourMembership));

        let from_env: RawConfig = Figment::from(Serialized::defaults(RawConfig::default()))
            .merge(Serialized::default("dialects", "yourmembership, myid"))
            .extract()
            .expect("comma-separated");
        let config = Config::resolve(from_env).expect("resolves");
        assert!(config.dialects.has(Dialect::YourMembership) && config.dialects.has(Dialect::MyId));

        let unknown = Config::resolve(RawConfig { dialects: vec!["myobb".into()], ..raw() });
        let message = unknown.expect_err("unknown dialect").to_string();
        assert!(
            message.contains("unknown dialect `myobb`; valid: myob, yourmembership, myp, myid"),
            "{message}"
        );
    }

    #[test]
    fn myob_keeps_codes_within_its_documented_lifetime() {
        let long = RawConfig {
            dialects: vec!["myob".into()],
            authorization_code_lifetime: Duration::from_secs(600),
            ..raw()
        };
        assert!(matches!(
            Config::resolve(long),
            Err(ConfigError::Invalid { key: "authorization_code_lifetime", .. })
        ));
        let documented = RawConfig { dialects: vec!["myob".into()], ..raw() };
        assert!(Config::resolve(documented).is_ok());
    }

    #[test]
    fn resources_are_read_from_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("tessera.toml");
        std::fs::write(
            &file,
            "access_token_lifetime = \"30m\"\n\
             [resources.\"https://api.example.com/v1\"]\n\
             audience = \"api\"\n\
             access_token_lifetime = \"5m\"\n\
             signing_alg = \"RS256\"\n\
             [resources.\"urn:example:files\"]\n",
        )
        .expect("write");
        let config = Config::load(Some(&file), &Overrides::default()).expect("loads");
        let api = Resource::parse("https://api.example.com/v1").expect("resource");
        let files = Resource::parse("urn:example:files").expect("resource");
        assert_eq!(
            config.resources.get(&api),
            Some(&ResourceSettings {
                audience: Some("api".into()),
                access_token_lifetime: Some(300),
                signing_alg: Algorithm::Rs256,
            })
        );
        assert_eq!(config.resources.get(&files), Some(&ResourceSettings::default()));
    }

    #[test]
    fn resource_settings_are_checked() {
        let with = |uri: &str, resource: RawResource| {
            let raw = RawConfig { resources: BTreeMap::from([(uri.to_owned(), resource)]), ..raw() };
            Config::resolve(raw).map(|_| ()).map_err(|err| err.to_string())
        };
        let api = "https://api.example.com";
        assert_eq!(with(api, RawResource::default()), Ok(()));
        assert_eq!(
            with("/relative", RawResource::default()),
            Err("`resources`: `/relative` is not a resource: use an absolute URI without a fragment".into())
        );
        assert_eq!(
            with("https://api.example.com/#part", RawResource::default()),
            Err("`resources`: `https://api.example.com/#part` is not a resource: use an absolute URI without a fragment"
                .into())
        );
        let longer =
            RawResource { access_token_lifetime: Some(Duration::from_secs(7200)), ..RawResource::default() };
        assert_eq!(
            with(api, longer),
            Err("`resources`: `https://api.example.com`: access_token_lifetime must be at most the server's access_token_lifetime (1h)"
                .into())
        );
        let equal =
            RawResource { access_token_lifetime: Some(Duration::from_secs(3600)), ..RawResource::default() };
        assert_eq!(with(api, equal), Ok(()));
        let zero = RawResource { access_token_lifetime: Some(Duration::ZERO), ..RawResource::default() };
        assert_eq!(
            with(api, zero),
            Err("`resources`: `https://api.example.com`: access_token_lifetime must be at least 1s".into())
        );
        let unknown = RawResource { signing_alg: Some("HS256".into()), ..RawResource::default() };
        assert_eq!(
            with(api, unknown),
            Err("`resources`: `https://api.example.com`: unknown signing_alg `HS256`; valid: ES256, RS256"
                .into())
        );
        let blank = RawResource { audience: Some(" ".into()), ..RawResource::default() };
        assert_eq!(
            with(api, blank),
            Err("`resources`: `https://api.example.com`: audience must be a non-empty name without control characters"
                .into())
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("tessera.toml");
        std::fs::write(&file, "listn = \"127.0.0.1:9000\"\n").expect("write");
        let err = Config::load(Some(&file), &Overrides::default()).expect_err("typo");
        assert!(err.to_string().contains("listn"), "{err}");
    }

    #[test]
    fn outbound_and_metadata_document_settings_are_checked() {
        let defaults = Config::resolve(raw()).expect("defaults");
        assert_eq!(
            (defaults.client_id_metadata_documents, defaults.outbound),
            (None, OutboundSettings::default())
        );
        let on = Config::resolve(RawConfig { client_id_metadata_documents: true, ..raw() }).expect("on");
        let scopes = on.client_id_metadata_documents.map(|scopes| scopes.to_string());
        assert_eq!(scopes.as_deref(), Some("email offline_access openid profile"));
        let bad_scope =
            Config::resolve(RawConfig { client_id_metadata_document_scopes: vec!["a\"b".into()], ..raw() });
        assert!(
            matches!(bad_scope, Err(ConfigError::Invalid { key: "client_id_metadata_document_scopes", .. })),
            "{bad_scope:?}"
        );
        let outbound = |outbound: OutboundSettings| Config::resolve(RawConfig { outbound, ..raw() });
        let slow =
            outbound(OutboundSettings { timeout: Duration::from_secs(120), ..OutboundSettings::default() });
        assert!(matches!(slow, Err(ConfigError::Invalid { key: "outbound.timeout", .. })), "{slow:?}");
        let huge = outbound(OutboundSettings { max_document_size: 1 << 30, ..OutboundSettings::default() });
        assert!(
            matches!(huge, Err(ConfigError::Invalid { key: "outbound.max_document_size", .. })),
            "{huge:?}"
        );

        let from_env: RawConfig = Figment::from(Serialized::defaults(RawConfig::default()))
            .merge(Serialized::default("client_id_metadata_document_scopes", "openid, mcp:tools"))
            .merge(Serialized::default("outbound.timeout", "2s"))
            .extract()
            .expect("comma-separated scopes and a nested key");
        assert_eq!(from_env.client_id_metadata_document_scopes, ["openid", "mcp:tools"]);
        assert_eq!(from_env.outbound.timeout, Duration::from_secs(2));
    }
}
