//! Rows as every backend reads and writes them, and their conversion to and
//! from the core's types. Backends differ only in SQL text and placeholders.

use sqlx::query::Query;
use sqlx::{Database, Encode, Type};
use tessera_core::UnixTime;
use tessera_core::authorize::AuthorizationCode;
use tessera_core::client::{Client, GrantType, PreviousSecret};
use tessera_core::client_assertion::JwkSet;
use tessera_core::client_auth::AuthMethod;
use tessera_core::grant::refresh::RefreshTokenRecord;
use tessera_core::jwt::Algorithm;
use tessera_core::pkce::{ChallengeMethod, CodeChallenge};
use tessera_core::redirect_uri::RedirectUri;
use tessera_core::resource::Resource;
use tessera_core::scope::{Scope, ScopeSet};
use tessera_core::secret::SecretHash;
use tessera_core::user::{Role, User, Username};

use crate::{
    AdminTokenRecord, AuditEvent, AuditOutcome, KeyState, RefreshTokenState, ScopeRecord, SessionRecord,
    SigningKeyRecord, StoreError,
};

/// The columns of `clients`, in the order the insert and update statements bind them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClientRow {
    pub(crate) name: String,
    pub(crate) org_url: Option<String>,
    pub(crate) secret_hash: Option<Vec<u8>>,
    pub(crate) redirect_uris: String,
    pub(crate) post_logout_redirect_uris: String,
    pub(crate) grant_types: String,
    pub(crate) resources: String,
    pub(crate) created_at: i64,
    pub(crate) previous_secret_hash: Option<Vec<u8>>,
    pub(crate) previous_secret_expires_at: Option<i64>,
    pub(crate) token_endpoint_auth_method: String,
    pub(crate) disabled: bool,
    pub(crate) may_introspect_any_token: bool,
    pub(crate) registration_token_hash: Option<Vec<u8>>,
    pub(crate) require_pkce: bool,
    pub(crate) owner_user_id: Option<String>,
    pub(crate) access_token_lifetime: Option<i64>,
    pub(crate) jwks: Option<String>,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) dpop_bound_access_tokens: bool,
    pub(crate) require_pushed_authorization_requests: bool,
    pub(crate) client_id: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClientScopeRow {
    pub(crate) scope: String,
    pub(crate) is_default: bool,
}

/// The columns of `users`, in the order the insert and update statements bind them.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) username: String,
    pub(crate) email: Option<String>,
    pub(crate) email_verified: bool,
    pub(crate) name: Option<String>,
    pub(crate) password_hash: String,
    pub(crate) disabled: bool,
    pub(crate) role: String,
    pub(crate) created_at: i64,
    pub(crate) user_id: String,
}

impl UserRow {
    pub(crate) fn from_user(user: &User) -> UserRow {
        UserRow {
            username: user.username.as_str().to_owned(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            name: user.name.clone(),
            password_hash: user.password_hash.clone(),
            disabled: user.disabled,
            role: user.role.as_str().to_owned(),
            created_at: to_db_time(user.created_at),
            user_id: user.user_id.clone(),
        }
    }

    pub(crate) fn bind<'q, DB>(
        self,
        query: Query<'q, DB, <DB as Database>::Arguments>,
    ) -> Query<'q, DB, <DB as Database>::Arguments>
    where
        DB: Database,
        String: Encode<'q, DB> + Type<DB>,
        Option<String>: Encode<'q, DB> + Type<DB>,
        i64: Encode<'q, DB> + Type<DB>,
        bool: Encode<'q, DB> + Type<DB>,
    {
        query
            .bind(self.username)
            .bind(self.email)
            .bind(self.email_verified)
            .bind(self.name)
            .bind(self.password_hash)
            .bind(self.disabled)
            .bind(self.role)
            .bind(self.created_at)
            .bind(self.user_id)
    }

    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            username: Username::parse(&self.username).map_err(corrupt)?,
            user_id: self.user_id,
            email: self.email,
            email_verified: self.email_verified,
            name: self.name,
            password_hash: self.password_hash,
            disabled: self.disabled,
            role: Role::parse(&self.role).map_err(corrupt)?,
            created_at: from_db_time(self.created_at),
        })
    }
}

/// The columns of `authorization_codes` that describe the code.
#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    pub(crate) code_hash: Vec<u8>,
    pub(crate) client_id: String,
    pub(crate) user_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) redirect_uri_given: bool,
    pub(crate) scope: String,
    pub(crate) code_challenge: Option<String>,
    pub(crate) code_challenge_method: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) auth_time: i64,
    pub(crate) expires_at: i64,
    pub(crate) resources: String,
    pub(crate) dpop_jkt: Option<String>,
}

impl CodeRow {
    pub(crate) fn from_code(code: &AuthorizationCode) -> CodeRow {
        CodeRow {
            code_hash: code.code_hash.as_bytes().to_vec(),
            client_id: code.client_id.clone(),
            user_id: code.user_id.clone(),
            redirect_uri: code.redirect_uri.clone(),
            redirect_uri_given: code.redirect_uri_given,
            scope: code.scope.to_string(),
            code_challenge: code.code_challenge.as_ref().map(|c| c.value.clone()),
            code_challenge_method: code.code_challenge.as_ref().map(|c| c.method.as_str().to_owned()),
            nonce: code.nonce.clone(),
            auth_time: to_db_time(code.auth_time),
            expires_at: to_db_time(code.expires_at),
            resources: resources_column(&code.resources),
            dpop_jkt: code.dpop_jkt.clone(),
        }
    }

    pub(crate) fn bind<'q, DB>(
        self,
        query: Query<'q, DB, <DB as Database>::Arguments>,
    ) -> Query<'q, DB, <DB as Database>::Arguments>
    where
        DB: Database,
        Vec<u8>: Encode<'q, DB> + Type<DB>,
        String: Encode<'q, DB> + Type<DB>,
        Option<String>: Encode<'q, DB> + Type<DB>,
        i64: Encode<'q, DB> + Type<DB>,
        bool: Encode<'q, DB> + Type<DB>,
    {
        query
            .bind(self.code_hash)
            .bind(self.client_id)
            .bind(self.user_id)
            .bind(self.redirect_uri)
            .bind(self.redirect_uri_given)
            .bind(self.scope)
            .bind(self.code_challenge)
            .bind(self.code_challenge_method)
            .bind(self.nonce)
            .bind(self.auth_time)
            .bind(self.expires_at)
            .bind(self.resources)
            .bind(self.dpop_jkt)
    }

    pub(crate) fn into_code(self) -> Result<AuthorizationCode, StoreError> {
        let code_challenge = match (self.code_challenge, self.code_challenge_method) {
            (Some(value), Some(method)) => Some(CodeChallenge {
                value,
                method: ChallengeMethod::parse(&method)
                    .ok_or_else(|| StoreError::Corrupt(format!("challenge method `{method}`")))?,
            }),
            _ => None,
        };
        Ok(AuthorizationCode {
            code_hash: SecretHash::from_bytes(&self.code_hash)
                .ok_or_else(|| StoreError::Corrupt("code hash length".into()))?,
            client_id: self.client_id,
            user_id: self.user_id,
            redirect_uri: self.redirect_uri,
            redirect_uri_given: self.redirect_uri_given,
            scope: ScopeSet::parse(&self.scope).map_err(corrupt)?,
            code_challenge,
            nonce: self.nonce,
            auth_time: from_db_time(self.auth_time),
            expires_at: from_db_time(self.expires_at),
            resources: parse_resources_column(&self.resources)?,
            dpop_jkt: self.dpop_jkt,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    pub(crate) token_hash: Vec<u8>,
    pub(crate) family_id: String,
    pub(crate) client_id: String,
    pub(crate) user_id: String,
    pub(crate) scope: String,
    pub(crate) auth_time: i64,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) rotated_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) dpop_jkt: Option<String>,
    pub(crate) resources: String,
}

impl RefreshRow {
    pub(crate) fn into_record(self) -> Result<RefreshTokenRecord, StoreError> {
        Ok(RefreshTokenRecord {
            token_hash: SecretHash::from_bytes(&self.token_hash)
                .ok_or_else(|| StoreError::Corrupt("refresh token hash length".into()))?,
            family_id: self.family_id,
            client_id: self.client_id,
            user_id: self.user_id,
            scope: parse_scope(&self.scope)?,
            auth_time: from_db_time(self.auth_time),
            created_at: from_db_time(self.created_at),
            expires_at: from_db_time(self.expires_at),
            dpop_jkt: self.dpop_jkt,
            resources: parse_resources_column(&self.resources)?,
        })
    }
}

/// A successor stored by a rotation, with the token it replaced.
#[derive(sqlx::FromRow)]
pub(crate) struct RotatedRow {
    #[sqlx(flatten)]
    pub(crate) token: RefreshRow,
    pub(crate) rotated_from: Vec<u8>,
}

/// A refresh token looked up with its user's standing, in one read.
#[derive(sqlx::FromRow)]
pub(crate) struct FoundRefreshRow {
    #[sqlx(flatten)]
    pub(crate) token: RefreshRow,
    pub(crate) user_disabled: bool,
}

impl FoundRefreshRow {
    pub(crate) fn into_state(self) -> Result<RefreshTokenState, StoreError> {
        Ok(RefreshTokenState {
            rotated_at: self.token.rotated_at.map(from_db_time),
            revoked_at: self.token.revoked_at.map(from_db_time),
            user_disabled: self.user_disabled,
            record: self.token.into_record()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) session_hash: Vec<u8>,
    pub(crate) user_id: String,
    pub(crate) auth_time: i64,
    pub(crate) expires_at: i64,
}

impl SessionRow {
    pub(crate) fn into_record(self) -> Result<SessionRecord, StoreError> {
        Ok(SessionRecord {
            session_hash: SecretHash::from_bytes(&self.session_hash)
                .ok_or_else(|| StoreError::Corrupt("session hash length".into()))?,
            user_id: self.user_id,
            auth_time: from_db_time(self.auth_time),
            expires_at: from_db_time(self.expires_at),
        })
    }
}

/// Parses a stored space-separated scope list.
pub(crate) fn parse_scope(raw: &str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse(raw).map_err(corrupt)
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ScopeRow {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) created_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct KeyRow {
    pub(crate) kid: String,
    pub(crate) algorithm: String,
    pub(crate) state: String,
    pub(crate) private_key: Vec<u8>,
    pub(crate) created_at: i64,
    pub(crate) activated_at: Option<i64>,
    pub(crate) retired_at: Option<i64>,
}

impl ClientRow {
    pub(crate) fn from_client(client: &Client) -> ClientRow {
        let hash_bytes = |hash: Option<&SecretHash>| hash.map(|hash| hash.as_bytes().to_vec());
        ClientRow {
            name: client.name.clone(),
            org_url: client.org_url.clone(),
            secret_hash: hash_bytes(client.secret_hash.as_ref()),
            redirect_uris: json_list(client.redirect_uris.iter().map(RedirectUri::as_str)),
            post_logout_redirect_uris: json_list(
                client.post_logout_redirect_uris.iter().map(RedirectUri::as_str),
            ),
            grant_types: json_list(client.grant_types.iter().map(|grant| grant.as_str())),
            resources: json_list(client.resources.iter().map(Resource::as_str)),
            created_at: to_db_time(client.created_at),
            previous_secret_hash: hash_bytes(client.previous_secret.as_ref().map(|previous| &previous.hash)),
            previous_secret_expires_at: client.previous_secret.as_ref().map(|p| to_db_time(p.expires_at)),
            token_endpoint_auth_method: client.auth_method.as_str().to_owned(),
            disabled: client.disabled,
            may_introspect_any_token: client.may_introspect_any_token,
            registration_token_hash: hash_bytes(client.registration_token_hash.as_ref()),
            require_pkce: client.require_pkce,
            owner_user_id: client.owner.clone(),
            access_token_lifetime: client.access_token_lifetime.map(to_db_time),
            jwks: client.jwks.as_ref().map(|jwks| jwks.as_json().to_owned()),
            jwks_uri: client.jwks_uri.clone(),
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            client_id: client.client_id.clone(),
        }
    }

    /// Binds every column, in `CLIENT_COLUMNS` order, to an insert or update.
    pub(crate) fn bind<'q, DB>(
        self,
        query: Query<'q, DB, <DB as Database>::Arguments>,
    ) -> Query<'q, DB, <DB as Database>::Arguments>
    where
        DB: Database,
        String: Encode<'q, DB> + Type<DB>,
        Option<String>: Encode<'q, DB> + Type<DB>,
        Option<Vec<u8>>: Encode<'q, DB> + Type<DB>,
        i64: Encode<'q, DB> + Type<DB>,
        Option<i64>: Encode<'q, DB> + Type<DB>,
        bool: Encode<'q, DB> + Type<DB>,
    {
        query
            .bind(self.name)
            .bind(self.org_url)
            .bind(self.secret_hash)
            .bind(self.redirect_uris)
            .bind(self.grant_types)
            .bind(self.resources)
            .bind(self.created_at)
            .bind(self.previous_secret_hash)
            .bind(self.previous_secret_expires_at)
            .bind(self.token_endpoint_auth_method)
            .bind(self.disabled)
            .bind(self.may_introspect_any_token)
            .bind(self.registration_token_hash)
            .bind(self.require_pkce)
            .bind(self.post_logout_redirect_uris)
            .bind(self.owner_user_id)
            .bind(self.access_token_lifetime)
            .bind(self.jwks)
            .bind(self.jwks_uri)
            .bind(self.dpop_bound_access_tokens)
            .bind(self.require_pushed_authorization_requests)
            .bind(self.client_id)
    }

    pub(crate) fn into_client(self, scope_rows: Vec<ClientScopeRow>) -> Result<Client, StoreError> {
        let mut scopes = Vec::new();
        let mut default_scopes = Vec::new();
        for row in scope_rows {
            let scope = Scope::parse(&row.scope).map_err(corrupt)?;
            if row.is_default {
                default_scopes.push(scope.clone());
            }
            scopes.push(scope);
        }
        let previous_secret =
            match (optional_hash(self.previous_secret_hash)?, self.previous_secret_expires_at) {
                (Some(hash), Some(expires_at)) => {
                    Some(PreviousSecret { hash, expires_at: from_db_time(expires_at) })
                }
                _ => None,
            };
        let auth_method = AuthMethod::parse(&self.token_endpoint_auth_method).ok_or_else(|| {
            StoreError::Corrupt(format!("auth method `{}`", self.token_endpoint_auth_method))
        })?;
        Ok(Client {
            client_id: self.client_id,
            name: self.name,
            org_url: self.org_url,
            secret_hash: optional_hash(self.secret_hash)?,
            previous_secret,
            auth_method,
            disabled: self.disabled,
            may_introspect_any_token: self.may_introspect_any_token,
            registration_token_hash: optional_hash(self.registration_token_hash)?,
            require_pkce: self.require_pkce,
            redirect_uris: parse_json_list(&self.redirect_uris, |raw| RedirectUri::parse(raw).ok())?,
            post_logout_redirect_uris: parse_json_list(&self.post_logout_redirect_uris, |raw| {
                RedirectUri::parse(raw).ok()
            })?,
            grant_types: parse_json_list(&self.grant_types, GrantType::parse)?,
            scopes: scopes.into_iter().collect::<ScopeSet>(),
            default_scopes: default_scopes.into_iter().collect::<ScopeSet>(),
            resources: parse_json_list(&self.resources, |raw| Resource::parse(raw).ok())?,
            access_token_lifetime: self.access_token_lifetime.map(from_db_time),
            jwks: self.jwks.as_deref().map(JwkSet::parse_str).transpose().map_err(StoreError::Corrupt)?,
            jwks_uri: self.jwks_uri,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            owner: self.owner_user_id,
            created_at: from_db_time(self.created_at),
        })
    }
}

impl ScopeRow {
    pub(crate) fn into_record(self) -> Result<ScopeRecord, StoreError> {
        Ok(ScopeRecord {
            name: Scope::parse(&self.name).map_err(corrupt)?,
            description: self.description,
            created_at: from_db_time(self.created_at),
        })
    }
}

impl KeyRow {
    pub(crate) fn into_record(self) -> Result<SigningKeyRecord, StoreError> {
        Ok(SigningKeyRecord {
            algorithm: Algorithm::parse(&self.algorithm)
                .ok_or_else(|| StoreError::Corrupt(format!("key algorithm `{}`", self.algorithm)))?,
            state: KeyState::parse(&self.state)
                .ok_or_else(|| StoreError::Corrupt(format!("key state `{}`", self.state)))?,
            kid: self.kid,
            private_key_der: self.private_key,
            created_at: from_db_time(self.created_at),
            activated_at: self.activated_at.map(from_db_time),
            retired_at: self.retired_at.map(from_db_time),
        })
    }
}

/// Message for a scope that a client names but the registry lacks.
pub(crate) fn scope_not_registered(scope: &Scope) -> StoreError {
    StoreError::Conflict(format!("scope `{scope}` is not in the registry"))
}

pub(crate) fn scope_in_use(name: &str, holders: &[String]) -> StoreError {
    StoreError::Conflict(format!(
        "scope `{name}` is still granted to client(s) {}; remove it from them first",
        holders.join(", ")
    ))
}

fn optional_hash(bytes: Option<Vec<u8>>) -> Result<Option<SecretHash>, StoreError> {
    bytes
        .map(|bytes| SecretHash::from_bytes(&bytes).ok_or_else(|| StoreError::Corrupt("hash length".into())))
        .transpose()
}

/// RFC 8707 resources as their column holds them: a JSON array of URIs.
pub(crate) fn resources_column(resources: &[Resource]) -> String {
    json_list(resources.iter().map(Resource::as_str))
}

fn parse_resources_column(raw: &str) -> Result<Vec<Resource>, StoreError> {
    parse_json_list(raw, |raw| Resource::parse(raw).ok())
}

fn json_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    serde_json::Value::Array(items.map(|item| serde_json::Value::String(item.to_owned())).collect())
        .to_string()
}

fn parse_json_list<T>(raw: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, StoreError> {
    let items: Vec<String> =
        serde_json::from_str(raw).map_err(|err| StoreError::Corrupt(format!("list column: {err}")))?;
    items
        .iter()
        .map(|item| parse(item).ok_or_else(|| StoreError::Corrupt(format!("list item `{item}`"))))
        .collect()
}

fn corrupt(err: tessera_core::OAuthError) -> StoreError {
    StoreError::Corrupt(err.description)
}

// Database integers are i64; Unix times in seconds fit until the year 292 billion.
pub(crate) fn to_db_time(time: UnixTime) -> i64 {
    i64::try_from(time).unwrap_or(i64::MAX)
}

pub(crate) fn from_db_time(time: i64) -> UnixTime {
    u64::try_from(time).unwrap_or(0)
}

#[derive(sqlx::FromRow)]
pub(crate) struct AdminTokenRow {
    pub(crate) token_id: String,
    pub(crate) token_hash: Vec<u8>,
    pub(crate) user_id: String,
    pub(crate) name: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) last_used_at: Option<i64>,
}

impl AdminTokenRow {
    pub(crate) fn into_record(self) -> Result<AdminTokenRecord, StoreError> {
        Ok(AdminTokenRecord {
            token_hash: SecretHash::from_bytes(&self.token_hash)
                .ok_or_else(|| StoreError::Corrupt("admin token hash length".into()))?,
            token_id: self.token_id,
            user_id: self.user_id,
            name: self.name,
            created_at: from_db_time(self.created_at),
            expires_at: self.expires_at.map(from_db_time),
            last_used_at: self.last_used_at.map(from_db_time),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub(crate) event_id: i64,
    pub(crate) at: i64,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target: Option<String>,
    pub(crate) outcome: String,
    pub(crate) ip: Option<String>,
    pub(crate) details: String,
}

impl AuditRow {
    pub(crate) fn into_event(self) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            event_id: self.event_id,
            at: from_db_time(self.at),
            actor: self.actor,
            action: self.action,
            target: self.target,
            outcome: AuditOutcome::parse(&self.outcome)
                .ok_or_else(|| StoreError::Corrupt(format!("audit outcome `{}`", self.outcome)))?,
            ip: self.ip,
            details: self.details,
        })
    }
}

/// `text` as a LIKE operand, its wildcards escaped with `\`.
pub(crate) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A LIKE pattern for "contains `text`", case-folded (compare with `lower(column)`).
pub(crate) fn contains_pattern(text: &str) -> String {
    format!("%{}%", escape_like(&text.to_lowercase()))
}
