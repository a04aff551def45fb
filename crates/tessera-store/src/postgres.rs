//! The PostgreSQL store: the scale-out backend that any number of `tessera
//! serve` replicas share. Rules that must hold across replicas are single
//! statements, enforced by the database.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use async_trait::async_trait;
use sqlx::postgres::PgListener;

use crate::sql_store::sql_store;
use crate::{ChangeSignals, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A [`Store`](crate::Store) on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL runs concurrent writers well.
    writer: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and applies migrations.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        // Migrations take an advisory lock, so replicas starting together apply them once.
        MIGRATOR.run(&pool).await?;
        Ok(PostgresStore { writer: pool.clone(), pool })
    }
}

/// The channel the `tessera_note_change` trigger notifies (migration 0008).
const CHANGES_CHANNEL: &str = "tessera_changes";

impl PostgresStore {
    /// PostgreSQL checkpoints on its own.
    async fn checkpoint_wal(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Rotates `presented` if it is live: the successor's record, or `None`.
    /// PostgreSQL runs concurrent writers well: one statement each, no groups.
    async fn rotate_live_refresh_token(
        &self,
        presented: &tessera_core::secret::SecretHash,
        successor: &tessera_core::secret::SecretHash,
        now: tessera_core::UnixTime,
    ) -> Result<Option<tessera_core::grant::refresh::RefreshTokenRecord>, StoreError> {
        sqlx::query_as::<_, crate::rows::RefreshRow>(ROTATE_REFRESH_TOKEN)
            .bind(successor.as_bytes().to_vec())
            .bind(crate::rows::to_db_time(now))
            .bind(presented.as_bytes().to_vec())
            .fetch_optional(&self.writer)
            .await?
            .map(crate::rows::RefreshRow::into_record)
            .transpose()
    }

    async fn listen_for_changes(&self) -> Result<Option<Box<dyn ChangeSignals>>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        Ok(Some(Box::new(Notifications { listener })))
    }
}

struct Notifications {
    listener: PgListener,
}

#[async_trait]
impl ChangeSignals for Notifications {
    async fn next(&mut self) -> Result<(), StoreError> {
        // `try_recv` gives `None` when the connection dropped; the next call
        // reconnects. Either way the caller re-reads the counters.
        self.listener.try_recv().await?;
        Ok(())
    }
}

/// The UPDATE locks the presented token's row, so of two concurrent rotations
/// the second waits, finds it rotated and stores nothing. "Live" is written as
/// `COALESCE(rotated_at, revoked_at) IS NULL` so that the planner cannot use
/// the partial index of live tokens (migration 0012) instead of the primary
/// key: on a young table, before statistics, it did, and every rotation
/// scanned all live tokens.
const ROTATE_REFRESH_TOKEN: &str = "WITH rotated AS (
         UPDATE refresh_tokens SET rotated_at = $2
         WHERE token_hash = $3 AND COALESCE(rotated_at, revoked_at) IS NULL
         RETURNING token_hash, family_id, client_id, user_id, scope, auth_time, expires_at, dpop_jkt, resources)
     INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time, created_at,
     expires_at, dpop_jkt, resources, rotated_from)
     SELECT $1, family_id, client_id, user_id, scope, auth_time, $2, expires_at, dpop_jkt, resources, token_hash
     FROM rotated
     RETURNING token_hash, family_id, client_id, user_id, scope, auth_time, created_at, expires_at,
     rotated_at, revoked_at, dpop_jkt, resources";

sql_store!(PostgresStore, sqlx::Postgres, " FOR UPDATE");
