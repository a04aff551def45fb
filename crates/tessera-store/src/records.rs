//! Records the store keeps that are not protocol types of the core.

use tessera_core::UnixTime;
use tessera_core::grant::refresh::RefreshTokenRecord;
use tessera_core::jwt::Algorithm;
use tessera_core::scope::Scope;
use tessera_core::secret::SecretHash;

/// A named scope with the description shown to people (consent, console).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRecord {
    pub name: Scope,
    pub description: String,
    pub created_at: UnixTime,
}

/// Where a signing key is in its life: published ahead, signing, or kept for verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Current,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
        }
    }

    pub fn parse(raw: &str) -> Option<KeyState> {
        [KeyState::Next, KeyState::Current, KeyState::Retired].into_iter().find(|state| state.as_str() == raw)
    }
}

/// A signing key pair as stored: PKCS#8 DER of the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: Algorithm,
    pub state: KeyState,
    pub private_key_der: Vec<u8>,
    pub created_at: UnixTime,
    /// When it became current (and began signing).
    pub activated_at: Option<UnixTime>,
    /// When it stopped signing; it stays published until pruned.
    pub retired_at: Option<UnixTime>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// A logged-in browser session; the cookie carries the id, the store its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub session_hash: SecretHash,
    pub user_id: String,
    /// When the user last entered their password (OpenID Connect `auth_time`).
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
}

/// The tokens issued from an authorization code, for revocation on replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFromCode {
    pub access_token_jti: String,
    pub access_token_expires_at: UnixTime,
    pub refresh_family_id: Option<String>,
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRotation {
    /// This call rotated the token; this is its successor's record, now stored.
    Rotated(RefreshTokenRecord),
    /// Someone rotated it before, at `rotated_at`.
    AlreadyRotated {
        record: RefreshTokenRecord,
        rotated_at: UnixTime,
    },
    /// Its family is revoked.
    Revoked(RefreshTokenRecord),
    Unknown,
}

/// A stored refresh token and where it is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenState {
    pub record: RefreshTokenRecord,
    pub rotated_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    /// Its user is disabled: the token is good for nothing while they are.
    pub user_disabled: bool,
}

/// The change counters of what servers cache (see migration 0008): a server
/// whose cached copy was loaded at an older generation must drop it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Generations {
    pub clients: i64,
    pub signing_keys: i64,
    pub revocations: i64,
    pub scopes: i64,
}

impl Generations {
    /// Whether every counter has reached `other`'s.
    pub fn covers(&self, other: &Generations) -> bool {
        self.clients >= other.clients
            && self.signing_keys >= other.signing_keys
            && self.revocations >= other.revocations
            && self.scopes >= other.scopes
    }
}

/// Which clients to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientQuery {
    /// Only the clients this user registered.
    pub owner: Option<String>,
    /// Case-insensitive substring of the name or the client id.
    pub text: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// A bearer token for the admin API, stored as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTokenRecord {
    pub token_id: String,
    pub token_hash: SecretHash,
    /// The token acts as this user, with the user's role at the time of use.
    pub user_id: String,
    pub name: String,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
}

/// Whether an audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Success,
    Failure,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
        }
    }

    pub fn parse(raw: &str) -> Option<AuditOutcome> {
        [AuditOutcome::Success, AuditOutcome::Failure].into_iter().find(|outcome| outcome.as_str() == raw)
    }
}

/// One entry of the audit trail: who did what to what, when, from where.
/// Callers must never put a secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Assigned by the store; ignored when recording.
    pub event_id: i64,
    pub at: UnixTime,
    /// `user:<username>`, `client:<client_id>`, `api-token:<id>` or `cli`.
    pub actor: String,
    /// Dotted, noun first: `client.created`, `token.issued`, `login.failed`.
    pub action: String,
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    pub ip: Option<String>,
    /// A JSON object with the action's particulars.
    pub details: String,
}

/// Which audit events to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// An action, or a prefix of one ending in `.` (`client.`).
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// Only events older than this id (for paging).
    pub before_id: Option<i64>,
    pub limit: u32,
}
