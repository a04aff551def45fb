//! Behaviour every `Store` must have, whatever the database.

use tessera_core::client::{Client, GrantType};
use tessera_core::jwt::Algorithm;
use tessera_core::redirect_uri::RedirectUri;
use tessera_core::resource::Resource;
use tessera_core::scope::{Scope, ScopeSet};
use tessera_core::secret::SecretHash;
use tessera_store::{KeyState, ScopeRecord, SigningKeyRecord, Store, StoreError};

pub(crate) async fn create_scope(store: &dyn Store, name: &str) {
    store
        .create_scope(&ScopeRecord {
            name: Scope::parse(name).expect("scope"),
            description: format!("about {name}"),
            created_at: 1,
        })
        .await
        .expect("create scope");
}

fn client(id: &str, scopes: &str, defaults: &str) -> Client {
    Client {
        client_id: id.into(),
        name: format!("App {id}"),
        org_url: Some("https://example.com".into()),
        secret_hash: Some(SecretHash::of("secret")),
        redirect_uris: vec![
            RedirectUri::parse("https://app.example.com/cb").expect("uri"),
            RedirectUri::parse("http://127.0.0.1:9000/cb").expect("uri"),
        ],
        grant_types: vec![GrantType::ClientCredentials, GrantType::AuthorizationCode],
        scopes: ScopeSet::parse(scopes).expect("scopes"),
        default_scopes: ScopeSet::parse(defaults).expect("scopes"),
        resources: vec![Resource::parse("https://api.example.com").expect("resource")],
        created_at: 42,
    }
}

pub(crate) async fn scopes(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    create_scope(store, "contact.write").await;
    let duplicate = store
        .create_scope(&ScopeRecord {
            name: Scope::parse("contact.read").expect("scope"),
            description: "again".into(),
            created_at: 2,
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(ref msg)) if msg == "scope `contact.read` already exists"),
        "{duplicate:?}"
    );

    let names: Vec<String> =
        store.list_scopes().await.expect("list").iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["contact.read", "contact.write"]);

    store.create_client(&client("app-1", "contact.read", "contact.read")).await.expect("client");
    let in_use = store.delete_scope("contact.read").await;
    assert!(
        matches!(in_use, Err(StoreError::Conflict(ref msg)) if msg.contains("app-1")),
        "deleting a scope in use must be refused and name the client: {in_use:?}"
    );
    assert!(store.delete_scope("contact.write").await.expect("delete"));
    assert!(!store.delete_scope("contact.write").await.expect("delete again"));
    store.delete_client("app-1").await.expect("delete client");
    assert!(store.delete_scope("contact.read").await.expect("no longer in use"));
}

pub(crate) async fn clients(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    create_scope(store, "contact.write").await;
    let original = client("app-1", "contact.read contact.write", "contact.read");
    store.create_client(&original).await.expect("create");

    let found = store.find_client("app-1").await.expect("find").expect("exists");
    assert_eq!(found, original, "a client must read back exactly as written");
    assert!(found.secret_hash.as_ref().is_some_and(|h| h.matches("secret")));
    assert_eq!(store.find_client("nope").await.expect("find"), None);

    let duplicate = store.create_client(&original).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{duplicate:?}");

    let unknown_scope = store.create_client(&client("app-2", "staff.read", "")).await;
    assert!(
        matches!(unknown_scope, Err(StoreError::Conflict(ref m)) if m.contains("staff.read")),
        "{unknown_scope:?}"
    );
    assert_eq!(
        store.find_client("app-2").await.expect("find"),
        None,
        "a failed create leaves nothing behind"
    );

    let mut public = client("app-3", "contact.read", "");
    public.secret_hash = None;
    store.create_client(&public).await.expect("public client");
    assert_eq!(store.find_client("app-3").await.expect("find"), Some(public));

    let ids: Vec<String> =
        store.list_clients().await.expect("list").into_iter().map(|c| c.client_id).collect();
    assert_eq!(ids, ["app-1", "app-3"]);

    assert!(store.delete_client("app-1").await.expect("delete"));
    assert!(!store.delete_client("app-1").await.expect("delete again"));
    assert_eq!(store.find_client("app-1").await.expect("find"), None);
}

fn key(kid: &str, algorithm: Algorithm) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        algorithm,
        state: KeyState::Current,
        private_key_der: vec![1, 2, 3],
        created_at: 5,
    }
}

pub(crate) async fn signing_keys(store: &dyn Store) {
    assert_eq!(store.find_current_key(Algorithm::Es256).await.expect("find"), None);
    store.create_current_key_if_absent(&key("es-1", Algorithm::Es256)).await.expect("create");
    // A second process starting at the same time loses the race quietly.
    store.create_current_key_if_absent(&key("es-2", Algorithm::Es256)).await.expect("create");
    store.create_current_key_if_absent(&key("rs-1", Algorithm::Rs256)).await.expect("create");

    let current = store.find_current_key(Algorithm::Es256).await.expect("find").expect("exists");
    assert_eq!(current, key("es-1", Algorithm::Es256));
    let published: Vec<String> =
        store.list_published_keys().await.expect("list").into_iter().map(|k| k.kid).collect();
    assert_eq!(published, ["es-1", "rs-1"]);
}
