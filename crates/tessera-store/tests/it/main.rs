//! One suite for every store backend: each test takes `&dyn Store`.

mod suite;

use tessera_store::SqliteStore;

async fn fresh_sqlite() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("tessera.db")).await.expect("open store");
    (dir, store)
}

#[tokio::test]
async fn sqlite_scopes() {
    let (_dir, store) = fresh_sqlite().await;
    suite::scopes(&store).await;
}

#[tokio::test]
async fn sqlite_clients() {
    let (_dir, store) = fresh_sqlite().await;
    suite::clients(&store).await;
}

#[tokio::test]
async fn sqlite_client_updates() {
    let (_dir, store) = fresh_sqlite().await;
    suite::client_updates(&store).await;
}

#[tokio::test]
async fn sqlite_revoked_access_tokens() {
    let (_dir, store) = fresh_sqlite().await;
    suite::revoked_access_tokens(&store).await;
}

#[tokio::test]
async fn sqlite_registration_tokens() {
    let (_dir, store) = fresh_sqlite().await;
    suite::registration_tokens(&store).await;
}

#[tokio::test]
async fn sqlite_signing_keys() {
    let (_dir, store) = fresh_sqlite().await;
    suite::signing_keys(&store).await;
}

#[tokio::test]
async fn sqlite_reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tessera.db");
    let store = SqliteStore::open(&path).await.expect("open");
    suite::create_scope(&store, "contact.read").await;
    drop(store);
    let reopened = SqliteStore::open(&path).await.expect("reopen");
    let scopes = tessera_store::Store::list_scopes(&reopened).await.expect("list");
    assert_eq!(scopes.len(), 1);
}
