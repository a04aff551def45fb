//! The SQLite store: one file in the data directory, in WAL mode so that the
//! CLI can read and write while a server runs.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;
use crate::sql_store::sql_store;
use crate::sqlite_rotations::Rotations;

/// About 16 MB of 4 KiB pages: the write-ahead log size at which the
/// checkpointer makes it start over. Starting over holds the writer back for
/// the copy and an fsync of the database (50 ms with ten million refresh
/// tokens); at 64 MB it came four times less often but stalled twice as long
/// (p99 of the refresh grant 120 ms instead of 65 ms) for no more throughput,
/// and every page lookup searches more of the log's index.
const WAL_RESTART_FRAMES: i64 = 4096;

/// Reading connections. Each keeps its own page cache (2 MB when full), so
/// more of them cost memory; reads are short, and four keep up with a
/// 2-core machine's load.
const READERS: u32 = 4;

/// The writer's page cache, in KiB (a negative `cache_size`): 16 MB.
const WRITER_CACHE_SIZE: &str = "-16384";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A [`Store`](crate::Store) on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pool: SqlitePool,
    /// The one writing connection. SQLite admits one writer at a time, and
    /// writers that collide wait in its busy handler, which sleeps in steps of
    /// up to 100 ms; queueing for this connection instead costs only the wait.
    writer: SqlitePool,
    /// Refresh token rotations, written in groups on `writer`.
    rotations: Rotations,
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
            .busy_timeout(Duration::from_secs(10))
            // A commit that crosses the autocheckpoint threshold copies the WAL
            // into the database and fsyncs, inside someone's request: 10 ms
            // stalls at p99. The server checkpoints from its watcher instead
            // (`Store::checkpoint`); the last connection to close does too.
            .pragma("wal_autocheckpoint", "0")
            // Keep the WAL file from staying large after a burst.
            .pragma("journal_size_limit", "67108864");
        // Every write looks up and inserts random keys (token hashes) in large
        // indexes; with the default 2 MB page cache their inner pages did not
        // stay cached once the store held millions of tokens.
        let writer_options = options.clone().pragma("cache_size", WRITER_CACHE_SIZE);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(writer_options).await?;
        MIGRATOR.run(&writer).await?;
        let pool = SqlitePoolOptions::new().max_connections(READERS).connect_with(options).await?;
        let rotations = Rotations::start(writer.clone());
        Ok(SqliteStore { pool, writer, rotations })
    }
}

impl SqliteStore {
    async fn checkpoint_wal(&self) -> Result<(), StoreError> {
        // PASSIVE copies what it can without waiting for anyone. But the log
        // only starts over when no reader is using it, which under steady
        // load is never: it grew past 200 MB in the benchmark, and every read
        // got slower. Past a bound, RESTART waits for the readers (short) and
        // holds back writers meanwhile; it runs on the writer connection, so
        // ours queue instead of sleeping in the busy handler.
        let (_busy, log_frames, _checkpointed): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&self.pool).await?;
        if log_frames > WAL_RESTART_FRAMES {
            sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&self.writer).await?;
        }
        Ok(())
    }

    /// Rotates `presented` if it is live: the successor's record, or `None`.
    async fn rotate_live_refresh_token(
        &self,
        presented: &tessera_core::secret::SecretHash,
        successor: &tessera_core::secret::SecretHash,
        now: tessera_core::UnixTime,
    ) -> Result<Option<tessera_core::grant::refresh::RefreshTokenRecord>, StoreError> {
        self.rotations.rotate(presented, successor, now).await
    }

    /// SQLite cannot push: servers poll the change counters.
    async fn listen_for_changes(&self) -> Result<Option<Box<dyn crate::ChangeSignals>>, StoreError> {
        Ok(None)
    }
}

sql_store!(SqliteStore, sqlx::Sqlite, "");
