//! The SQLite store: one file in the data directory, in WAL mode so that the
//! CLI can read and write while a server runs.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tessera_core::UnixTime;
use tessera_core::client::{Client, GrantType, PreviousSecret};
use tessera_core::client_auth::AuthMethod;
use tessera_core::jwt::Algorithm;
use tessera_core::redirect_uri::RedirectUri;
use tessera_core::resource::Resource;
use tessera_core::scope::{Scope, ScopeSet};
use tessera_core::secret::SecretHash;

use crate::error::OnConstraint;
use crate::{KeyState, ScopeRecord, SigningKeyRecord, Store, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A [`Store`] on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // The CLI and the server write to the same file; wait for each other.
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_scope(&self, scope: &ScopeRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO scopes (name, description, created_at) VALUES (?, ?, ?)")
            .bind(scope.name.as_str())
            .bind(&scope.description)
            .bind(to_db_time(scope.created_at))
            .execute(&self.pool)
            .await
            .on_unique_violation(|| format!("scope `{}` already exists", scope.name))?;
        Ok(())
    }

    async fn list_scopes(&self) -> Result<Vec<ScopeRecord>, StoreError> {
        let rows = sqlx::query("SELECT name, description, created_at FROM scopes ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ScopeRecord {
                    name: Scope::parse(row.try_get("name")?).map_err(corrupt)?,
                    description: row.try_get("description")?,
                    created_at: from_db_time(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    async fn delete_scope(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let holders: Vec<String> = sqlx::query_scalar(
            "SELECT client_id FROM client_scopes WHERE scope = ? ORDER BY client_id LIMIT 5",
        )
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        if !holders.is_empty() {
            return Err(StoreError::Conflict(format!(
                "scope `{name}` is still granted to client(s) {}; remove it from them first",
                holders.join(", ")
            )));
        }
        let deleted = sqlx::query("DELETE FROM scopes WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        bind_client_columns(sqlx::query(INSERT_CLIENT), client)
            .execute(&mut *tx)
            .await
            .on_unique_violation(|| format!("client `{}` already exists", client.client_id))?;
        insert_client_scopes(&mut tx, client).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated =
            bind_client_columns(sqlx::query(UPDATE_CLIENT), client).execute(&mut *tx).await?.rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM client_scopes WHERE client_id = ?")
            .bind(&client.client_id)
            .execute(&mut *tx)
            .await?;
        insert_client_scopes(&mut tx, client).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn find_client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) =
            sqlx::query(CLIENT_COLUMNS_WHERE_ID).bind(client_id).fetch_optional(&mut *conn).await?
        else {
            return Ok(None);
        };
        let scopes = sqlx::query("SELECT scope, is_default FROM client_scopes WHERE client_id = ?")
            .bind(client_id)
            .fetch_all(&mut *conn)
            .await?;
        client_from_rows(&row, &scopes).map(Some)
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT client_id FROM clients ORDER BY created_at, client_id")
                .fetch_all(&self.pool)
                .await?;
        let mut clients = Vec::with_capacity(ids.len());
        for id in ids {
            // A client deleted between the two reads is simply not listed.
            if let Some(client) = self.find_client(&id).await? {
                clients.push(client);
            }
        }
        Ok(clients)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at <= ?")
            .bind(to_db_time(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(jti)
        .bind(to_db_time(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM revoked_access_tokens WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    async fn create_registration_token(
        &self,
        token_hash: &SecretHash,
        created_at: UnixTime,
        expires_at: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO registration_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)")
            .bind(token_hash.as_bytes().as_slice())
            .bind(to_db_time(created_at))
            .bind(expires_at.map(to_db_time))
            .execute(&self.pool)
            .await
            .on_unique_violation(|| "registration token already exists".into())?;
        Ok(())
    }

    async fn is_registration_token_valid(
        &self,
        token_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM registration_tokens WHERE token_hash = ? AND (expires_at IS NULL OR expires_at > ?)",
        )
        .bind(token_hash.as_bytes().as_slice())
        .bind(to_db_time(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn create_current_key_if_absent(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, state, private_key, created_at)
             VALUES (?, ?, 'current', ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(key.algorithm.as_str())
        .bind(&key.private_key_der)
        .bind(to_db_time(key.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_current_key(&self, algorithm: Algorithm) -> Result<Option<SigningKeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT kid, algorithm, state, private_key, created_at FROM signing_keys
             WHERE algorithm = ? AND state = 'current'",
        )
        .bind(algorithm.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list_published_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, state, private_key, created_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }
}

const CLIENT_COLUMNS_WHERE_ID: &str =
    "SELECT client_id, name, org_url, secret_hash, redirect_uris, grant_types,
     resources, created_at, previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method,
     disabled, may_introspect_any_token, registration_token_hash
     FROM clients WHERE client_id = ?";

// Both statements bind the same parameters in the same order: see `bind_client_columns`.
const INSERT_CLIENT: &str =
    "INSERT INTO clients (name, org_url, secret_hash, redirect_uris, grant_types, resources,
     created_at, previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method, disabled,
     may_introspect_any_token, registration_token_hash, client_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const UPDATE_CLIENT: &str = "UPDATE clients SET name = ?, org_url = ?, secret_hash = ?, redirect_uris = ?,
     grant_types = ?, resources = ?, created_at = ?, previous_secret_hash = ?, previous_secret_expires_at = ?,
     token_endpoint_auth_method = ?, disabled = ?, may_introspect_any_token = ?, registration_token_hash = ?
     WHERE client_id = ?";

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_client_columns<'q>(query: SqliteQuery<'q>, client: &'q Client) -> SqliteQuery<'q> {
    let hash_bytes = |hash: Option<&SecretHash>| hash.map(|hash| hash.as_bytes().to_vec());
    query
        .bind(&client.name)
        .bind(&client.org_url)
        .bind(hash_bytes(client.secret_hash.as_ref()))
        .bind(json_list(client.redirect_uris.iter().map(RedirectUri::as_str)))
        .bind(json_list(client.grant_types.iter().map(|grant| grant.as_str())))
        .bind(json_list(client.resources.iter().map(Resource::as_str)))
        .bind(to_db_time(client.created_at))
        .bind(hash_bytes(client.previous_secret.as_ref().map(|previous| &previous.hash)))
        .bind(client.previous_secret.as_ref().map(|previous| to_db_time(previous.expires_at)))
        .bind(client.auth_method.as_str())
        .bind(client.disabled)
        .bind(client.may_introspect_any_token)
        .bind(hash_bytes(client.registration_token_hash.as_ref()))
        .bind(&client.client_id)
}

async fn insert_client_scopes(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    client: &Client,
) -> Result<(), StoreError> {
    for scope in client.scopes.iter() {
        sqlx::query("INSERT INTO client_scopes (client_id, scope, is_default) VALUES (?, ?, ?)")
            .bind(&client.client_id)
            .bind(scope.as_str())
            .bind(client.default_scopes.contains(scope.as_str()))
            .execute(&mut **tx)
            .await
            .map_err(|err| match &err {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::Conflict(format!("scope `{scope}` is not in the registry"))
                }
                _ => StoreError::Database(err),
            })?;
    }
    Ok(())
}

fn client_from_rows(
    row: &sqlx::sqlite::SqliteRow,
    scope_rows: &[sqlx::sqlite::SqliteRow],
) -> Result<Client, StoreError> {
    let mut scopes = Vec::new();
    let mut default_scopes = Vec::new();
    for scope_row in scope_rows {
        let scope = Scope::parse(scope_row.try_get("scope")?).map_err(corrupt)?;
        if scope_row.try_get::<bool, _>("is_default")? {
            default_scopes.push(scope.clone());
        }
        scopes.push(scope);
    }
    let secret_hash = optional_hash(row, "secret_hash")?;
    let previous_secret = match (
        optional_hash(row, "previous_secret_hash")?,
        row.try_get::<Option<i64>, _>("previous_secret_expires_at")?,
    ) {
        (Some(hash), Some(expires_at)) => Some(PreviousSecret { hash, expires_at: from_db_time(expires_at) }),
        _ => None,
    };
    let auth_method: String = row.try_get("token_endpoint_auth_method")?;
    Ok(Client {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        org_url: row.try_get("org_url")?,
        secret_hash,
        previous_secret,
        auth_method: AuthMethod::parse(&auth_method)
            .ok_or_else(|| StoreError::Corrupt(format!("auth method `{auth_method}`")))?,
        disabled: row.try_get("disabled")?,
        may_introspect_any_token: row.try_get("may_introspect_any_token")?,
        registration_token_hash: optional_hash(row, "registration_token_hash")?,
        redirect_uris: parse_json_list(row.try_get("redirect_uris")?, |raw| RedirectUri::parse(raw).ok())?,
        grant_types: parse_json_list(row.try_get("grant_types")?, GrantType::parse)?,
        scopes: scopes.into_iter().collect::<ScopeSet>(),
        default_scopes: default_scopes.into_iter().collect::<ScopeSet>(),
        resources: parse_json_list(row.try_get("resources")?, |raw| Resource::parse(raw).ok())?,
        created_at: from_db_time(row.try_get("created_at")?),
    })
}

fn optional_hash(row: &sqlx::sqlite::SqliteRow, column: &str) -> Result<Option<SecretHash>, StoreError> {
    match row.try_get::<Option<Vec<u8>>, _>(column)? {
        Some(bytes) => SecretHash::from_bytes(&bytes)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("{column} length"))),
        None => Ok(None),
    }
}

fn key_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<SigningKeyRecord, StoreError> {
    let algorithm: String = row.try_get("algorithm")?;
    let state: String = row.try_get("state")?;
    Ok(SigningKeyRecord {
        kid: row.try_get("kid")?,
        algorithm: Algorithm::parse(&algorithm)
            .ok_or_else(|| StoreError::Corrupt(format!("key algorithm `{algorithm}`")))?,
        state: KeyState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("key state `{state}`")))?,
        private_key_der: row.try_get("private_key")?,
        created_at: from_db_time(row.try_get("created_at")?),
    })
}

fn json_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    serde_json::Value::Array(items.map(|item| serde_json::Value::String(item.to_owned())).collect())
        .to_string()
}

fn parse_json_list<T>(raw: String, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, StoreError> {
    let items: Vec<String> =
        serde_json::from_str(&raw).map_err(|err| StoreError::Corrupt(format!("list column: {err}")))?;
    items
        .iter()
        .map(|item| parse(item).ok_or_else(|| StoreError::Corrupt(format!("list item `{item}`"))))
        .collect()
}

fn corrupt(err: tessera_core::OAuthError) -> StoreError {
    StoreError::Corrupt(err.description)
}

// SQLite integers are i64; Unix times in seconds fit until the year 292 billion.
fn to_db_time(time: u64) -> i64 {
    i64::try_from(time).unwrap_or(i64::MAX)
}

fn from_db_time(time: i64) -> u64 {
    u64::try_from(time).unwrap_or(0)
}
