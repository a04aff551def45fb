//! Persistence for Tessera: the [`Store`] trait the server talks to, its record
//! types and error, and its SQLite and PostgreSQL implementations, which share
//! one body of SQL (`sql_store`) and differ only in migrations and connection.
//!
//! The store holds no protocol rules. Whatever must hold across processes (one
//! current signing key per algorithm, later single-use codes) is enforced by one
//! atomic statement here, so that it holds however many servers share a database.

mod error;
mod postgres;
mod records;
mod rows;
mod sql_store;
mod sqlite;
mod sqlite_rotations;

pub use error::StoreError;
pub use postgres::PostgresStore;
pub use records::{
    AdminTokenRecord, AuditEvent, AuditOutcome, AuditQuery, ClientQuery, Generations, IssuedFromCode,
    KeyState, RefreshRotation, RefreshTokenState, ScopeRecord, SessionRecord, SigningKeyRecord,
};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use tessera_core::UnixTime;
use tessera_core::authorize::AuthorizationCode;
use tessera_core::client::Client;
use tessera_core::grant::refresh::RefreshTokenRecord;
use tessera_core::jwt::Algorithm;
use tessera_core::par::PushedRequest;
use tessera_core::scope::ScopeSet;
use tessera_core::secret::SecretHash;
use tessera_core::user::User;

/// Everything Tessera keeps. Implemented for SQLite; shared by server and CLI.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Housekeeping a server runs in the background, off the request path:
    /// on SQLite, moving the write-ahead log into the database file.
    async fn checkpoint(&self) -> Result<(), StoreError>;

    /// Adds a scope; `Conflict` if the name is taken.
    async fn create_scope(&self, scope: &ScopeRecord) -> Result<(), StoreError>;
    async fn list_scopes(&self) -> Result<Vec<ScopeRecord>, StoreError>;
    /// Deletes a scope; `Conflict` naming the clients while any still holds it.
    async fn delete_scope(&self, name: &str) -> Result<bool, StoreError>;

    /// Adds a client with its scopes; `Conflict` if the id is taken.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Replaces every field and scope of an existing client; `false` if it does not exist.
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;
    /// Records a client's first use: `true` the first time, `false` after (or
    /// when the client no longer exists). It is not a change to the client:
    /// the clients generation does not move, and no cache is cleared.
    async fn mark_client_used(&self, client_id: &str, now: UnixTime) -> Result<bool, StoreError>;
    /// Deletes up to `limit` clients registered through RFC 7591 (they have a
    /// registration access token and no owner) before `created_before` and
    /// never marked used, with their codes, refresh tokens and consents, in one
    /// transaction; returns their ids. A first use recorded concurrently
    /// either is seen (the client stays) or finds the client gone.
    async fn delete_unused_registrations(
        &self,
        created_before: UnixTime,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// Remembers a revoked access token until `expires_at`, and forgets the
    /// revocations whose tokens have expired by `now`.
    async fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError>;

    /// Stores an RFC 7591 initial access token (its hash).
    async fn create_registration_token(
        &self,
        token_hash: &SecretHash,
        created_at: UnixTime,
        expires_at: Option<UnixTime>,
    ) -> Result<(), StoreError>;
    /// Whether an unexpired initial access token with this hash exists.
    async fn is_registration_token_valid(
        &self,
        token_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Adds a user; `Conflict` if the username is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    async fn find_user(&self, user_id: &str) -> Result<Option<User>, StoreError>;
    async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Replaces every field of an existing user; `false` if it does not exist.
    async fn update_user(&self, user: &User) -> Result<bool, StoreError>;

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The unexpired session with this hash.
    async fn find_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError>;
    async fn delete_session(&self, session_hash: &SecretHash) -> Result<(), StoreError>;
    /// Ends every session of a user (after a password change); returns how many.
    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64, StoreError>;

    /// Remembers (replacing) the scopes `user_id` approved for `client_id`.
    async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &ScopeSet,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    async fn find_consent(&self, user_id: &str, client_id: &str) -> Result<Option<ScopeSet>, StoreError>;
    /// Every client a user approved, with the scopes and when: (client_id, scope, granted_at).
    async fn list_consents(&self, user_id: &str) -> Result<Vec<(String, ScopeSet, UnixTime)>, StoreError>;
    /// Withdraws a user's approval of a client: the consent is forgotten and the
    /// refresh tokens it led to are revoked, in one transaction.
    async fn withdraw_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    async fn create_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;
    /// Marks the code consumed and returns it, in one statement: of any number
    /// of concurrent calls, exactly one gets `Some`. The same statement records
    /// the ids the tokens it leads to will carry, so that a replay racing the
    /// redemption still finds what to revoke.
    async fn consume_code(
        &self,
        code_hash: &SecretHash,
        now: UnixTime,
        will_issue: &IssuedFromCode,
    ) -> Result<Option<AuthorizationCode>, StoreError>;
    /// For a code presented again: marks it replayed and returns the ids of
    /// the tokens its redemption issues, in one statement. From then on
    /// [`Store::create_refresh_token_from_code`] stores the family revoked, so
    /// a redemption still under way cannot start a live one after the replay
    /// revoked it.
    async fn mark_code_replayed(
        &self,
        code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<IssuedFromCode>, StoreError>;

    /// Stores a pushed authorization request (RFC 9126), and forgets the ones
    /// that expired by `now`, in one transaction.
    async fn save_pushed_request(&self, pushed: &PushedRequest, now: UnixTime) -> Result<(), StoreError>;
    /// Deletes the pushed request with this hash and returns it if unexpired
    /// at `now`, in one statement: of any number of concurrent calls, at most
    /// one gets `Some`, so a `request_uri` is used once across replicas.
    async fn take_pushed_request(
        &self,
        request_uri_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<PushedRequest>, StoreError>;

    /// Records a one-time identifier (a DPoP proof's or a client assertion's
    /// `jti`), keyed by the SHA-256 of `"{purpose}:{issuer_or_jkt}:{jti}"`,
    /// until `expires_at`. `true` the first time the key is recorded, or if its
    /// earlier record had expired by `now`; `false` for a replay. One statement:
    /// of any number of concurrent calls with one key, across replicas, exactly
    /// one gets `true`. Expired records are pruned now and then, best effort.
    async fn record_jti_once(
        &self,
        key: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    async fn create_refresh_token(&self, record: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// Stores the first refresh token of the family started by redeeming
    /// `code_hash`: revoked already if the code was replayed meanwhile. One
    /// statement, which on PostgreSQL locks the code's row: it and
    /// `mark_code_replayed` take effect one after the other, never interleaved.
    /// `false` if there is no such code.
    async fn create_refresh_token_from_code(
        &self,
        record: &RefreshTokenRecord,
        code_hash: &SecretHash,
    ) -> Result<bool, StoreError>;
    /// Marks the presented token rotated and stores its successor (same family,
    /// scope, user and end; `successor_hash`, created `now`) in one transaction,
    /// so that of concurrent presentations exactly one rotates.
    async fn rotate_refresh_token(
        &self,
        presented: &SecretHash,
        successor_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<RefreshRotation, StoreError>;
    /// The token, where it is in its life, and whether its user is disabled
    /// (one read: the refresh grant's hot path).
    async fn find_refresh_token(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<RefreshTokenState>, StoreError>;
    /// Revokes every refresh token of a client (when it is disabled).
    async fn revoke_client_refresh_tokens(&self, client_id: &str, now: UnixTime) -> Result<u64, StoreError>;
    /// Revokes every token of the family; `true` if this call revoked any.
    async fn revoke_refresh_family(&self, family_id: &str, now: UnixTime) -> Result<bool, StoreError>;

    /// Stores a server secret unless one with this name exists; returns the stored one.
    async fn server_secret(&self, name: &str, candidate: &[u8], now: UnixTime)
    -> Result<Vec<u8>, StoreError>;

    /// Stores `key` in its state (current or next) unless the algorithm already
    /// has a key in that state; safe when several processes race at first start.
    async fn create_key_if_absent(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    async fn find_current_key(&self, algorithm: Algorithm) -> Result<Option<SigningKeyRecord>, StoreError>;
    /// Keys whose public halves belong in the JWKS: next, current and retired.
    async fn list_published_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// One rotation step for `successor.algorithm`, in one transaction: the
    /// current key `expected_current` is retired, the next key becomes current,
    /// `successor` becomes next, and retired keys retired before `prune_before`
    /// are deleted. `false` (and nothing changed) if `expected_current` is no
    /// longer current: someone else rotated first. `Conflict` if there is no next key.
    async fn rotate_signing_key(
        &self,
        expected_current: &str,
        successor: &SigningKeyRecord,
        now: UnixTime,
        prune_before: UnixTime,
    ) -> Result<bool, StoreError>;

    /// The change counters of what servers cache (clients, signing keys,
    /// revocations, scopes), for cache invalidation.
    async fn change_generations(&self) -> Result<Generations, StoreError>;
    /// A stream of wake-ups sent when another process changes what servers cache,
    /// where the backend can push them (PostgreSQL `LISTEN`); `None` where the
    /// counters must be polled.
    async fn change_signals(&self) -> Result<Option<Box<dyn ChangeSignals>>, StoreError>;

    /// Migrations applied to this database, oldest first: (version, description).
    async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError>;

    /// Clients matching `query`, newest first, and how many match in all.
    async fn search_clients(&self, query: &ClientQuery) -> Result<(Vec<Client>, u64), StoreError>;

    async fn create_admin_token(&self, token: &AdminTokenRecord) -> Result<(), StoreError>;
    /// The unexpired token with this hash, recording that it was used at `now`.
    async fn use_admin_token(
        &self,
        token_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<AdminTokenRecord>, StoreError>;
    /// Every token, or those of one user.
    async fn list_admin_tokens(&self, user_id: Option<&str>) -> Result<Vec<AdminTokenRecord>, StoreError>;
    /// Deletes a token (only if it belongs to `user_id`, when given).
    async fn delete_admin_token(&self, token_id: &str, user_id: Option<&str>) -> Result<bool, StoreError>;

    /// Appends events to the audit trail, all or none.
    async fn record_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    async fn search_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
    /// Forgets events recorded before `before`; returns how many.
    async fn prune_audit_events(&self, before: UnixTime) -> Result<u64, StoreError>;

    /// Refresh token families that can still be used at `now` (one live token each).
    async fn count_live_refresh_families(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Wake-ups from other processes' changes. A wake-up says only "look again":
/// the generation counters say what changed, so a missed one loses nothing.
#[async_trait]
pub trait ChangeSignals: Send {
    /// Waits for the next wake-up. Also returns after a lost connection was
    /// re-established, since wake-ups may have been missed meanwhile.
    async fn next(&mut self) -> Result<(), StoreError>;
}
