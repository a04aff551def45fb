//! A fresh, uniquely named PostgreSQL database per test, dropped afterwards.
//!
//! The server is found at `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Where none answers, the test
//! prints why it is skipped, unless `REQUIRE_POSTGRES` is set (as `.ci/run`
//! does), in which case it fails.

use sqlx::{Connection, PgConnection};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test.
pub struct PostgresDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl PostgresDatabase {
    /// Creates the database, or returns `None` (after saying why) when
    /// PostgreSQL is unavailable and not required.
    pub async fn create(test_name: &str) -> Option<PostgresDatabase> {
        let database = PostgresDatabase::planned(test_name).await?;
        database.create_now().await;
        Some(database)
    }

    /// A uniquely named database that does not exist yet (for tests of a server
    /// that starts before its database); [`PostgresDatabase::create_now`] creates it.
    pub async fn planned(test_name: &str) -> Option<PostgresDatabase> {
        let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into());
        match PgConnection::connect(&admin_url).await {
            Ok(admin) => drop(admin),
            Err(err) if std::env::var_os("REQUIRE_POSTGRES").is_none() => {
                eprintln!(
                    "SKIPPED {test_name} on PostgreSQL: no server at {admin_url} ({err}); \
                     set TEST_POSTGRES_URL, or REQUIRE_POSTGRES=1 to fail instead"
                );
                return None;
            }
            Err(err) => panic!("PostgreSQL is required (REQUIRE_POSTGRES) but {admin_url} failed: {err}"),
        };
        let suffix: String = format!("{:x}", rand_suffix());
        let name = format!("tessera_test_{suffix}");
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("TEST_POSTGRES_URL must end with a database name"),
        };
        Some(PostgresDatabase { url, name, admin_url })
    }

    /// Makes the database unreachable, as an outage would: new connections are
    /// refused and the open ones are ended.
    pub async fn cut_off(&self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", self.name)))
            .execute(&mut admin)
            .await
            .expect("refuse connections");
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&self.name)
            .execute(&mut admin)
            .await
            .expect("end connections");
    }

    /// Ends an outage begun by [`PostgresDatabase::cut_off`].
    pub async fn restore(&self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", self.name)))
            .execute(&mut admin)
            .await
            .expect("accept connections");
    }

    pub async fn create_now(&self) {
        let mut admin = PgConnection::connect(&self.admin_url).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {}", self.name)))
            .execute(&mut admin)
            .await
            .expect("create test database");
    }
}

fn rand_suffix() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    (u128::from(hasher.finish()) << 64) | u128::from(std::process::id())
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any async context we could borrow: use a private runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}
