//! The PostgreSQL store: the scale-out backend that any number of `tessera
//! serve` replicas share. Rules that must hold across replicas are single
//! statements, enforced by the database.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::StoreError;
use crate::sql_store::sql_store;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A [`Store`](crate::Store) on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
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
        Ok(PostgresStore { pool })
    }
}

sql_store!(PostgresStore, sqlx::Postgres);
