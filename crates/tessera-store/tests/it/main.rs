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
    scope_changes_move_their_generation,
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
    resources_stay_with_codes_and_refresh_families,
    concurrent_rotation_rotates_once,
    concurrent_rotations_of_many_tokens_each_get_their_own_successor,
    client_search_and_owners,
    admin_tokens,
    audit_trail,
    unused_registrations_expire,
    concurrent_use_and_expiry_agree,
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

/// What undoing migration 0018 (client first uses) takes, to run it again.
const BEFORE_FIRST_USE_TRACKING: &str = "DROP INDEX clients_unowned_registrations;
    DROP TABLE client_first_use;
    DELETE FROM _sqlx_migrations WHERE version = 18;";

#[tokio::test]
async fn sqlite_upgrading_to_first_use_tracking_keeps_existing_registrations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tessera.db");
    let store = SqliteStore::open(&path).await.expect("open");
    suite::create_scope(&store, "contact.read").await;
    suite::create_dynamic_client(&store, "from-before", 10).await;
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    sqlx::raw_sql(BEFORE_FIRST_USE_TRACKING).execute(&pool).await.expect("undo 0018");
    pool.close().await;
    let upgraded = SqliteStore::open(&path).await.expect("migrates again");
    suite::registrations_from_before_first_use_tracking_count_as_used(&upgraded).await;
}

#[tokio::test]
async fn postgres_upgrading_to_first_use_tracking_keeps_existing_registrations() {
    let Some((database, store)) = fresh_postgres("first use upgrade").await else { return };
    suite::create_scope(&store, "contact.read").await;
    suite::create_dynamic_client(&store, "from-before", 10).await;
    drop(store);
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    sqlx::raw_sql(BEFORE_FIRST_USE_TRACKING).execute(&pool).await.expect("undo 0018");
    pool.close().await;
    let upgraded = PostgresStore::connect(&database.url).await.expect("migrates again");
    suite::registrations_from_before_first_use_tracking_count_as_used(&upgraded).await;
}
