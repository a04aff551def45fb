//! One suite for every store backend: each test in `suite` takes `&dyn Store`
//! and runs once on a fresh SQLite file and once on a fresh PostgreSQL database.

mod suite;

use tessera_store::{PostgresStore, SqliteStore};
use tessera_testkit::PostgresDatabase;

async fn fresh_sqlite() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("tessera.db")).await.expect("open store");
    (dir, store)
}

/// `None` (with a message saying why) where PostgreSQL is unavailable and not required.
async fn fresh_postgres(test: &str) -> Option<(PostgresDatabase, PostgresStore)> {
    let database = PostgresDatabase::create(test).await?;
    let store = PostgresStore::connect(&database.url).await.expect("connect and migrate");
    Some((database, store))
}

/// Defines `sqlite_<name>` and `postgres_<name>` tests running `suite::<name>`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_dir, store) = crate::fresh_sqlite().await;
                    crate::suite::$name(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((_database, store)) = crate::fresh_postgres(stringify!($name)).await else { return };
                    crate::suite::$name(&store).await;
                }
            )*
        }
    };
}

on_every_backend!(
    scopes,
    clients,
    client_updates,
    revoked_access_tokens,
    registration_tokens,
    signing_keys,
    concurrent_first_start_creates_one_key,
    signing_key_rotation,
    client_changes_move_the_generation,
    migrations_are_listed,
    checkpoints_keep_what_was_written,
    revocations_move_their_generation,
    a_replayed_code_starts_its_refresh_family_revoked,
    change_signals_wake_listeners,
    users,
    code_flow_records,
    concurrent_redemption_consumes_a_code_once,
    pushed_authorization_requests,
    concurrent_takes_use_a_pushed_request_once,
    seen_jtis,
    concurrent_records_of_a_jti_accept_one,
    refresh_token_rotation,
    dpop_bound_refresh_tokens_keep_their_key,
    concurrent_rotation_rotates_once,
    client_search_and_owners,
    admin_tokens,
    audit_trail,
);

#[tokio::test]
async fn sqlite_reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tessera.db");
    let store = SqliteStore::open(&path).await.expect("open");
    suite::create_scope(&store, "contact.read").await;
    drop(store);
    let reopened = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(suite::own_scopes(&reopened).await, ["contact.read"]);
}

#[tokio::test]
async fn postgres_reconnecting_keeps_data_and_migrations_are_idempotent() {
    let Some((database, store)) = fresh_postgres("reconnect").await else { return };
    suite::create_scope(&store, "contact.read").await;
    drop(store);
    let again = PostgresStore::connect(&database.url).await.expect("reconnect");
    assert_eq!(suite::own_scopes(&again).await, ["contact.read"]);
}
