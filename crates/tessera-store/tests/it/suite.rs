//! Behaviour every `Store` must have, whatever the database.

use tessera_core::UnixTime;
use tessera_core::authorize::AuthorizationCode;
use tessera_core::client::{Client, GrantType, PreviousSecret};
use tessera_core::client_auth::AuthMethod;
use tessera_core::grant::refresh::{NewFamily, RefreshPolicy, RefreshTokenRecord};
use tessera_core::jwt::Algorithm;
use tessera_core::par::PushedRequest;
use tessera_core::pkce::CodeChallenge;
use tessera_core::redirect_uri::RedirectUri;
use tessera_core::resource::Resource;
use tessera_core::scope::{Scope, ScopeSet};
use tessera_core::secret::SecretHash;
use tessera_core::user::{Role, User, Username};
use tessera_store::{
    AdminTokenRecord, AuditEvent, AuditOutcome, AuditQuery, ClientQuery, IssuedFromCode, KeyState,
    RefreshRotation, ScopeRecord, SessionRecord, SigningKeyRecord, Store, StoreError,
};

/// The OpenID Connect scopes every registry starts with.
pub(crate) const BUILT_IN_SCOPES: [&str; 4] = ["email", "offline_access", "openid", "profile"];

/// The registry's scopes other than the built-in ones, in order.
pub(crate) async fn own_scopes(store: &dyn Store) -> Vec<String> {
    let all: Vec<String> =
        store.list_scopes().await.expect("list").iter().map(|s| s.name.to_string()).collect();
    for built_in in BUILT_IN_SCOPES {
        assert!(all.iter().any(|name| name == built_in), "built-in scope {built_in} is present");
    }
    all.into_iter().filter(|name| !BUILT_IN_SCOPES.contains(&name.as_str())).collect()
}

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
        previous_secret: None,
        auth_method: AuthMethod::ClientSecretBasic,
        disabled: false,
        may_introspect_any_token: false,
        require_pkce: true,
        registration_token_hash: None,
        redirect_uris: vec![
            RedirectUri::parse("https://app.example.com/cb").expect("uri"),
            RedirectUri::parse("http://127.0.0.1:9000/cb").expect("uri"),
        ],
        post_logout_redirect_uris: vec![RedirectUri::parse("https://app.example.com/bye").expect("uri")],
        grant_types: vec![GrantType::ClientCredentials, GrantType::AuthorizationCode],
        scopes: ScopeSet::parse(scopes).expect("scopes"),
        default_scopes: ScopeSet::parse(defaults).expect("scopes"),
        resources: vec![Resource::parse("https://api.example.com").expect("resource")],
        access_token_lifetime: Some(600),
        jwks: None,
        jwks_uri: None,
        dpop_bound_access_tokens: true,
        require_pushed_authorization_requests: false,
        owner: None,
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

    assert_eq!(own_scopes(store).await, ["contact.read", "contact.write"]);

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
    public.auth_method = AuthMethod::None;
    store.create_client(&public).await.expect("public client");
    assert_eq!(store.find_client("app-3").await.expect("find"), Some(public));

    let mut keyed = client("app-4", "contact.read", "");
    keyed.auth_method = AuthMethod::PrivateKeyJwt;
    keyed.jwks = Some(
        tessera_core::client_assertion::JwkSet::parse_str(
            r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
        )
        .expect("jwks"),
    );
    store.create_client(&keyed).await.expect("keyed client");
    assert_eq!(store.find_client("app-4").await.expect("find").as_ref(), Some(&keyed));
    keyed.jwks = None;
    keyed.jwks_uri = Some("https://app.example.com/jwks".into());
    assert!(store.update_client(&keyed).await.expect("update"));
    assert_eq!(store.find_client("app-4").await.expect("find"), Some(keyed));
    assert!(store.delete_client("app-4").await.expect("delete"));

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
        activated_at: Some(5),
        retired_at: None,
    }
}

fn next_key(kid: &str, algorithm: Algorithm, created_at: UnixTime) -> SigningKeyRecord {
    SigningKeyRecord { state: KeyState::Next, created_at, activated_at: None, ..key(kid, algorithm) }
}

fn states(keys: &[SigningKeyRecord]) -> Vec<(String, KeyState)> {
    keys.iter().map(|key| (key.kid.clone(), key.state)).collect()
}

/// next -> current -> retired, one transaction per step; retired keys stay
/// published until pruned, and a rotation based on a stale view changes nothing.
pub(crate) async fn signing_key_rotation(store: &dyn Store) {
    store.create_key_if_absent(&key("es-1", Algorithm::Es256)).await.expect("current");
    store.create_key_if_absent(&next_key("es-2", Algorithm::Es256, 6)).await.expect("next");
    store.create_key_if_absent(&next_key("es-x", Algorithm::Es256, 6)).await.expect("second next loses");
    store.create_key_if_absent(&key("rs-1", Algorithm::Rs256)).await.expect("rsa current");
    let published = store.list_published_keys().await.expect("list");
    assert_eq!(
        states(&published),
        [
            ("es-1".into(), KeyState::Current),
            ("rs-1".into(), KeyState::Current),
            ("es-2".into(), KeyState::Next)
        ]
    );

    let before = store.change_generations().await.expect("generations");
    assert!(
        store
            .rotate_signing_key("es-1", &next_key("es-3", Algorithm::Es256, 100), 100, 0)
            .await
            .expect("rotate")
    );
    assert!(store.change_generations().await.expect("generations").signing_keys > before.signing_keys);
    let current = store.find_current_key(Algorithm::Es256).await.expect("find").expect("current");
    assert_eq!((current.kid.as_str(), current.activated_at), ("es-2", Some(100)));
    let published = store.list_published_keys().await.expect("list");
    assert_eq!(
        states(&published),
        [
            ("es-1".into(), KeyState::Retired),
            ("rs-1".into(), KeyState::Current),
            ("es-2".into(), KeyState::Current),
            ("es-3".into(), KeyState::Next)
        ]
    );
    assert_eq!(published[0].retired_at, Some(100));

    // A second rotator that still believes es-1 is current loses, changing nothing.
    assert!(
        !store
            .rotate_signing_key("es-1", &next_key("es-4", Algorithm::Es256, 101), 101, 0)
            .await
            .expect("stale")
    );
    assert_eq!(store.list_published_keys().await.expect("list").len(), 4);

    // The next rotation prunes keys retired before the retention cut-off.
    assert!(
        store
            .rotate_signing_key("es-2", &next_key("es-5", Algorithm::Es256, 200), 200, 150)
            .await
            .expect("rotate")
    );
    let published = store.list_published_keys().await.expect("list");
    assert_eq!(
        states(&published),
        [
            ("rs-1".into(), KeyState::Current),
            ("es-2".into(), KeyState::Retired),
            ("es-3".into(), KeyState::Current),
            ("es-5".into(), KeyState::Next)
        ]
    );

    // Without a next key there is nothing to promote: refused, nothing retired.
    let refused = store.rotate_signing_key("rs-1", &next_key("rs-2", Algorithm::Rs256, 300), 300, 0).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    let rsa = store.find_current_key(Algorithm::Rs256).await.expect("find").expect("still current");
    assert_eq!(rsa.kid, "rs-1");
}

/// Every change to a client moves the clients counter, whoever writes it.
pub(crate) async fn client_changes_move_the_generation(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    let start = store.change_generations().await.expect("generations");
    let app = client("app-1", "contact.read", "contact.read");
    store.create_client(&app).await.expect("create");
    let created = store.change_generations().await.expect("generations");
    assert!(created.clients > start.clients);
    assert_eq!(created.signing_keys, start.signing_keys);
    store.update_client(&Client { disabled: true, ..app }).await.expect("update");
    let updated = store.change_generations().await.expect("generations");
    assert!(updated.clients > created.clients);
    store.delete_client("app-1").await.expect("delete");
    assert!(store.change_generations().await.expect("generations").clients > updated.clients);
}

/// A new revocation moves the revocations counter (servers cache "not revoked").
pub(crate) async fn revocations_move_their_generation(store: &dyn Store) {
    let before = store.change_generations().await.expect("generations");
    store.revoke_access_token("jti-1", 200, 100).await.expect("revoke");
    let after = store.change_generations().await.expect("generations");
    assert!(after.revocations > before.revocations);
    assert_eq!((after.clients, after.signing_keys), (before.clients, before.signing_keys));
}

/// Adding or deleting a scope moves the scopes counter (servers keep their
/// discovery document, which lists the scopes) and wakes listening servers;
/// no other cache is emptied.
pub(crate) async fn scope_changes_move_their_generation(store: &dyn Store) {
    let mut signals = store.change_signals().await.expect("listen");
    let before = store.change_generations().await.expect("generations");
    create_scope(store, "contact.read").await;
    let created = store.change_generations().await.expect("generations");
    assert!(created.scopes > before.scopes, "{before:?} -> {created:?}");
    assert_eq!(
        (created.clients, created.signing_keys, created.revocations),
        (before.clients, before.signing_keys, before.revocations)
    );
    if let Some(signals) = &mut signals {
        tokio::time::timeout(std::time::Duration::from_secs(10), signals.next())
            .await
            .expect("woken within 10 s")
            .expect("signal");
    }
    assert!(store.delete_scope("contact.read").await.expect("delete"));
    let deleted = store.change_generations().await.expect("generations");
    assert!(deleted.scopes > created.scopes, "{created:?} -> {deleted:?}");
    assert_eq!(deleted.clients, created.clients);
}

/// Background housekeeping runs beside writes and loses nothing.
pub(crate) async fn checkpoints_keep_what_was_written(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    for n in 0..20 {
        store
            .create_client(&client(&format!("app-{n}"), "contact.read", "contact.read"))
            .await
            .expect("create");
        store.checkpoint().await.expect("checkpoint");
    }
    assert_eq!(store.list_clients().await.expect("list").len(), 20);
}

pub(crate) async fn migrations_are_listed(store: &dyn Store) {
    let applied = store.applied_migrations().await.expect("migrations");
    assert_eq!(applied.first().map(|(version, _)| *version), Some(1));
    assert!(applied.iter().any(|(_, description)| description == "changes and key rotation"), "{applied:?}");
}

pub(crate) async fn signing_keys(store: &dyn Store) {
    assert_eq!(store.find_current_key(Algorithm::Es256).await.expect("find"), None);
    store.create_key_if_absent(&key("es-1", Algorithm::Es256)).await.expect("create");
    // A second process starting at the same time loses the race quietly.
    store.create_key_if_absent(&key("es-2", Algorithm::Es256)).await.expect("create");
    store.create_key_if_absent(&key("rs-1", Algorithm::Rs256)).await.expect("create");

    let current = store.find_current_key(Algorithm::Es256).await.expect("find").expect("exists");
    assert_eq!(current, key("es-1", Algorithm::Es256));
    let published: Vec<String> =
        store.list_published_keys().await.expect("list").into_iter().map(|k| k.kid).collect();
    assert_eq!(published, ["es-1", "rs-1"]);
}

pub(crate) async fn client_updates(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    create_scope(store, "contact.write").await;
    let original = client("app-1", "contact.read", "contact.read");
    store.create_client(&original).await.expect("create");

    let updated = Client {
        name: "Renamed".into(),
        secret_hash: Some(SecretHash::of("new")),
        previous_secret: Some(PreviousSecret { hash: SecretHash::of("secret"), expires_at: 99 }),
        auth_method: AuthMethod::ClientSecretPost,
        disabled: true,
        may_introspect_any_token: true,
        registration_token_hash: Some(SecretHash::of("rat")),
        scopes: ScopeSet::parse("contact.write").expect("scopes"),
        default_scopes: ScopeSet::parse("contact.write").expect("scopes"),
        redirect_uris: vec![],
        dpop_bound_access_tokens: false,
        require_pushed_authorization_requests: true,
        ..original.clone()
    };
    assert!(store.update_client(&updated).await.expect("update"));
    assert_eq!(store.find_client("app-1").await.expect("find"), Some(updated.clone()));

    let with_unknown_scope = Client { scopes: ScopeSet::parse("staff.read").expect("s"), ..updated.clone() };
    assert!(store.update_client(&with_unknown_scope).await.is_err());
    assert_eq!(
        store.find_client("app-1").await.expect("find"),
        Some(updated.clone()),
        "a failed update changes nothing"
    );

    let ghost = Client { client_id: "ghost".into(), ..updated };
    assert!(!store.update_client(&ghost).await.expect("update of a missing client"));
}

pub(crate) async fn revoked_access_tokens(store: &dyn Store) {
    assert!(!store.is_access_token_revoked("jti-1").await.expect("lookup"));
    store.revoke_access_token("jti-1", 200, 100).await.expect("revoke");
    store.revoke_access_token("jti-1", 200, 100).await.expect("revoking twice is harmless");
    store.revoke_access_token("jti-2", 150, 100).await.expect("revoke");
    assert!(store.is_access_token_revoked("jti-1").await.expect("lookup"));
    assert!(store.is_access_token_revoked("jti-2").await.expect("lookup"));
    // A later revocation forgets the entries whose tokens have expired.
    store.revoke_access_token("jti-3", 400, 160).await.expect("revoke");
    assert!(!store.is_access_token_revoked("jti-2").await.expect("expired entry purged"));
    assert!(store.is_access_token_revoked("jti-1").await.expect("still live"));
}

pub(crate) async fn registration_tokens(store: &dyn Store) {
    let forever = SecretHash::of("forever");
    let short = SecretHash::of("short");
    store.create_registration_token(&forever, 1, None).await.expect("create");
    store.create_registration_token(&short, 1, Some(100)).await.expect("create");
    assert!(store.is_registration_token_valid(&forever, 1_000_000).await.expect("lookup"));
    assert!(store.is_registration_token_valid(&short, 99).await.expect("lookup"));
    assert!(!store.is_registration_token_valid(&short, 100).await.expect("expired"));
    assert!(!store.is_registration_token_valid(&SecretHash::of("other"), 1).await.expect("unknown"));
}

/// Replicas starting together race to create the first keys; one wins per algorithm.
pub(crate) async fn concurrent_first_start_creates_one_key(store: &dyn Store) {
    let (a, b, c, d) = (
        key("es-a", Algorithm::Es256),
        key("es-b", Algorithm::Es256),
        key("es-c", Algorithm::Es256),
        key("es-d", Algorithm::Es256),
    );
    let outcomes = tokio::join!(
        store.create_key_if_absent(&a),
        store.create_key_if_absent(&b),
        store.create_key_if_absent(&c),
        store.create_key_if_absent(&d),
    );
    for outcome in [outcomes.0, outcomes.1, outcomes.2, outcomes.3] {
        outcome.expect("losing the race is not an error");
    }
    let current = store.find_current_key(Algorithm::Es256).await.expect("find").expect("one current");
    let published = store.list_published_keys().await.expect("list");
    assert_eq!(published.len(), 1, "exactly one key was stored");
    assert_eq!(published[0].kid, current.kid);
}

fn user(id: &str, username: &str) -> User {
    User {
        user_id: id.into(),
        username: Username::parse(username).expect("username"),
        email: Some(format!("{username}@example.com")),
        email_verified: true,
        name: Some("Alice Liddell".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        role: Role::Developer,
        created_at: 3,
    }
}

pub(crate) async fn users(store: &dyn Store) {
    let alice = user("u-1", "alice");
    store.create_user(&alice).await.expect("create");
    assert_eq!(store.find_user("u-1").await.expect("find"), Some(alice.clone()));
    assert_eq!(store.find_user_by_username("alice").await.expect("find"), Some(alice.clone()));
    assert_eq!(store.find_user_by_username("ALICE").await.expect("find"), None, "usernames are exact");
    let taken = store.create_user(&user("u-2", "alice")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(ref m)) if m.contains("alice")), "{taken:?}");

    let changed = User {
        disabled: true,
        password_hash: "$argon2id$other".into(),
        email: None,
        role: Role::Admin,
        ..alice.clone()
    };
    assert!(store.update_user(&changed).await.expect("update"));
    assert_eq!(store.find_user("u-1").await.expect("find"), Some(changed));
    assert!(!store.update_user(&user("ghost", "ghost")).await.expect("update missing"));

    store.create_user(&user("u-3", "bob")).await.expect("create");
    let names: Vec<String> =
        store.list_users().await.expect("list").iter().map(|u| u.username.to_string()).collect();
    assert_eq!(names, ["alice", "bob"]);
}

fn code(client_id: &str, user_id: &str, code: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: SecretHash::of(code),
        client_id: client_id.into(),
        user_id: user_id.into(),
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_uri_given: true,
        scope: ScopeSet::parse("contact.read").expect("scope"),
        code_challenge: CodeChallenge::parse(
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            Some("S256"),
            false,
        )
        .expect("challenge"),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: 10,
        expires_at: 130,
        resources: vec![],
        dpop_jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
    }
}

pub(crate) async fn code_flow_records(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    store.create_client(&client("app-1", "contact.read", "contact.read")).await.expect("client");
    store.create_user(&user("u-1", "alice")).await.expect("user");

    // Sessions: found until they expire, gone once deleted.
    let session = SessionRecord {
        session_hash: SecretHash::of("s"),
        user_id: "u-1".into(),
        auth_time: 5,
        expires_at: 100,
    };
    store.create_session(&session).await.expect("session");
    assert_eq!(store.find_session(&SecretHash::of("s"), 99).await.expect("find"), Some(session));
    assert_eq!(store.find_session(&SecretHash::of("s"), 100).await.expect("find"), None, "expired");
    store.delete_session(&SecretHash::of("s")).await.expect("delete");
    assert_eq!(store.find_session(&SecretHash::of("s"), 1).await.expect("find"), None);
    for id in ["s1", "s2"] {
        let session = SessionRecord {
            session_hash: SecretHash::of(id),
            user_id: "u-1".into(),
            auth_time: 5,
            expires_at: 100,
        };
        store.create_session(&session).await.expect("session");
    }
    assert_eq!(store.delete_user_sessions("u-1").await.expect("end all"), 2);
    assert_eq!(store.find_session(&SecretHash::of("s2"), 1).await.expect("find"), None);

    // Consent: remembered per user and client, replaced on change.
    assert_eq!(store.find_consent("u-1", "app-1").await.expect("find"), None);
    let read = ScopeSet::parse("contact.read").expect("scope");
    store.save_consent("u-1", "app-1", &read, 1).await.expect("save");
    let more = ScopeSet::parse("contact.read openid").expect("scope");
    store.save_consent("u-1", "app-1", &more, 2).await.expect("replace");
    assert_eq!(store.find_consent("u-1", "app-1").await.expect("find"), Some(more.clone()));
    assert_eq!(store.list_consents("u-1").await.expect("list"), vec![("app-1".to_string(), more, 2)]);
    store.create_refresh_token(&refresh("rt-consent", "fam-consent")).await.expect("refresh token");
    assert!(store.withdraw_consent("u-1", "app-1", 3).await.expect("withdraw"));
    assert!(!store.withdraw_consent("u-1", "app-1", 4).await.expect("withdraw again"));
    assert_eq!(store.find_consent("u-1", "app-1").await.expect("find"), None);
    let token = store.find_refresh_token(&SecretHash::of("rt-consent")).await.expect("find").expect("kept");
    assert_eq!(token.revoked_at, Some(3), "its refresh tokens are revoked");

    // Codes: read back exactly; consumed once; tokens remembered for replay.
    let original = code("app-1", "u-1", "the-code");
    store.create_code(&original).await.expect("code");
    assert_eq!(
        store.mark_code_replayed(&original.code_hash, 40).await.expect("mark"),
        None,
        "not consumed yet: not a replay"
    );
    let issued = IssuedFromCode {
        access_token_jti: "jti-9".into(),
        access_token_expires_at: 3650,
        refresh_family_id: Some("fam-9".into()),
    };
    let consumed = store.consume_code(&original.code_hash, 50, &issued).await.expect("consume");
    assert_eq!(consumed, Some(original.clone()));
    let other = IssuedFromCode { access_token_jti: "jti-other".into(), ..issued.clone() };
    assert_eq!(store.consume_code(&original.code_hash, 51, &other).await.expect("consume again"), None);
    // The replay finds what the consuming statement recorded, not the loser's ids.
    assert_eq!(store.mark_code_replayed(&original.code_hash, 52).await.expect("mark"), Some(issued.clone()));
    assert_eq!(store.consume_code(&SecretHash::of("unknown"), 50, &issued).await.expect("consume"), None);
}

/// RFC 6749 §4.1.2: a code is used once, however many requests race for it.
pub(crate) async fn concurrent_redemption_consumes_a_code_once(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    store.create_client(&client("app-1", "contact.read", "contact.read")).await.expect("client");
    store.create_user(&user("u-1", "alice")).await.expect("user");
    let original = code("app-1", "u-1", "raced");
    store.create_code(&original).await.expect("code");
    let hash = &original.code_hash;
    let will_issue = IssuedFromCode {
        access_token_jti: "jti".into(),
        access_token_expires_at: 99,
        refresh_family_id: None,
    };
    let outcomes = tokio::join!(
        store.consume_code(hash, 60, &will_issue),
        store.consume_code(hash, 60, &will_issue),
        store.consume_code(hash, 60, &will_issue),
        store.consume_code(hash, 60, &will_issue),
        store.consume_code(hash, 60, &will_issue),
        store.consume_code(hash, 60, &will_issue),
        store.consume_code(hash, 60, &will_issue),
        store.consume_code(hash, 60, &will_issue),
    );
    let winners =
        [outcomes.0, outcomes.1, outcomes.2, outcomes.3, outcomes.4, outcomes.5, outcomes.6, outcomes.7]
            .into_iter()
            .map(|outcome| outcome.expect("no error"))
            .filter(Option::is_some)
            .count();
    assert_eq!(winners, 1);
}

fn pushed(client_id: &str, request_uri: &str, expires_at: UnixTime) -> PushedRequest {
    PushedRequest {
        request_uri_hash: SecretHash::of(request_uri),
        client_id: client_id.into(),
        params: format!("client_id={client_id}&response_type=code&state=s%26t"),
        expires_at,
    }
}

/// RFC 9126: a pushed request is read back exactly, once, and only until it expires.
pub(crate) async fn pushed_authorization_requests(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    for id in ["app-1", "app-2"] {
        store.create_client(&client(id, "contact.read", "contact.read")).await.expect("client");
    }
    let first = pushed("app-1", "urn:first", 160);
    store.save_pushed_request(&first, 100).await.expect("save");
    let unknown = SecretHash::of("urn:unknown");
    assert_eq!(store.take_pushed_request(&unknown, 101).await.expect("take"), None);
    assert_eq!(
        store.take_pushed_request(&first.request_uri_hash, 101).await.expect("take"),
        Some(first.clone())
    );
    assert_eq!(
        store.take_pushed_request(&first.request_uri_hash, 102).await.expect("take again"),
        None,
        "used once"
    );

    let expiring = pushed("app-1", "urn:expiring", 110);
    store.save_pushed_request(&expiring, 100).await.expect("save");
    assert_eq!(
        store.take_pushed_request(&expiring.request_uri_hash, 110).await.expect("take"),
        None,
        "expired at expires_at"
    );

    // Saving forgets the expired ones: taking this one before its expiry finds it gone.
    let pruned = pushed("app-1", "urn:pruned", 120);
    store.save_pushed_request(&pruned, 100).await.expect("save");
    let kept = pushed("app-1", "urn:kept", 500);
    store.save_pushed_request(&kept, 100).await.expect("save");
    store.save_pushed_request(&pushed("app-1", "urn:later", 260), 200).await.expect("save");
    assert_eq!(store.take_pushed_request(&pruned.request_uri_hash, 119).await.expect("take"), None);
    assert_eq!(
        store.take_pushed_request(&kept.request_uri_hash, 201).await.expect("take"),
        Some(kept.clone())
    );

    assert!(matches!(
        store.save_pushed_request(&pushed("app-1", "urn:later", 300), 200).await,
        Err(StoreError::Conflict(_))
    ));

    // A deleted client's pushed requests go with it.
    let orphan = pushed("app-2", "urn:orphan", 900);
    store.save_pushed_request(&orphan, 200).await.expect("save");
    assert!(store.delete_client("app-2").await.expect("delete"));
    assert_eq!(store.take_pushed_request(&orphan.request_uri_hash, 201).await.expect("take"), None);
}

/// RFC 9126 §4: a request_uri is used once, however many requests race for it.
pub(crate) async fn concurrent_takes_use_a_pushed_request_once(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    store.create_client(&client("app-1", "contact.read", "contact.read")).await.expect("client");
    let raced = pushed("app-1", "urn:raced", 160);
    store.save_pushed_request(&raced, 100).await.expect("save");
    let hash = &raced.request_uri_hash;
    let outcomes = tokio::join!(
        store.take_pushed_request(hash, 101),
        store.take_pushed_request(hash, 101),
        store.take_pushed_request(hash, 101),
        store.take_pushed_request(hash, 101),
        store.take_pushed_request(hash, 101),
        store.take_pushed_request(hash, 101),
        store.take_pushed_request(hash, 101),
        store.take_pushed_request(hash, 101),
    );
    let winners =
        [outcomes.0, outcomes.1, outcomes.2, outcomes.3, outcomes.4, outcomes.5, outcomes.6, outcomes.7]
            .into_iter()
            .map(|outcome| outcome.expect("no error"))
            .filter(Option::is_some)
            .count();
    assert_eq!(winners, 1);
}

/// A one-time identifier is recorded once until it expires; after that it may be
/// recorded again, and expired records are pruned.
pub(crate) async fn seen_jtis(store: &dyn Store) {
    let key = SecretHash::of("dpop:jkt-1:jti-1");
    assert!(store.record_jti_once(&key, 160, 100).await.expect("record"), "first time");
    assert!(!store.record_jti_once(&key, 160, 101).await.expect("record"), "replay");
    assert!(!store.record_jti_once(&key, 300, 159).await.expect("record"), "replay before expiry");
    // Another purpose, issuer or jti is another key.
    assert!(store.record_jti_once(&SecretHash::of("dpop:jkt-2:jti-1"), 160, 101).await.expect("record"));
    assert!(
        store.record_jti_once(&SecretHash::of("client_assertion:app:jti-1"), 160, 101).await.expect("record")
    );
    // Expired at expires_at: recorded again, with the new expiry.
    assert!(store.record_jti_once(&key, 400, 160).await.expect("record"), "expired");
    assert!(!store.record_jti_once(&key, 500, 399).await.expect("record"), "the new expiry holds");
    // Many records, then pruning (on some of the calls) never refuses a new key
    // nor forgets a live one.
    for index in 0..200 {
        let fresh = SecretHash::of(&format!("dpop:jkt-1:bulk-{index}"));
        assert!(store.record_jti_once(&fresh, 450, 401).await.expect("record"));
    }
    for index in 0..200 {
        let fresh = SecretHash::of(&format!("dpop:jkt-1:later-{index}"));
        assert!(store.record_jti_once(&fresh, 900, 460).await.expect("record"));
    }
    assert!(store.record_jti_once(&key, 900, 460).await.expect("record"), "expired at 400");
    assert!(
        !store.record_jti_once(&SecretHash::of("dpop:jkt-1:later-7"), 900, 461).await.expect("record"),
        "pruning kept the live ones"
    );
    assert!(store.record_jti_once(&SecretHash::of("dpop:jkt-1:bulk-7"), 900, 461).await.expect("record"));
}

/// Of eight requests racing with one `jti`, exactly one is first.
pub(crate) async fn concurrent_records_of_a_jti_accept_one(store: &dyn Store) {
    let key = SecretHash::of("dpop:jkt-1:raced");
    let outcomes = tokio::join!(
        store.record_jti_once(&key, 160, 100),
        store.record_jti_once(&key, 160, 100),
        store.record_jti_once(&key, 160, 100),
        store.record_jti_once(&key, 160, 100),
        store.record_jti_once(&key, 160, 100),
        store.record_jti_once(&key, 160, 100),
        store.record_jti_once(&key, 160, 100),
        store.record_jti_once(&key, 160, 100),
    );
    let firsts =
        [outcomes.0, outcomes.1, outcomes.2, outcomes.3, outcomes.4, outcomes.5, outcomes.6, outcomes.7]
            .into_iter()
            .map(|outcome| outcome.expect("no error"))
            .filter(|first| *first)
            .count();
    assert_eq!(firsts, 1);
}

fn refresh(token: &str, family: &str) -> RefreshTokenRecord {
    let family = NewFamily {
        family_id: family.into(),
        client_id: "app-1".into(),
        user_id: "u-1".into(),
        scope: ScopeSet::parse("contact.read").expect("scope"),
        auth_time: 5,
        resources: vec![],
    };
    RefreshTokenRecord::first(&RefreshPolicy { lifetime: 1000, reuse_grace: 0 }, token, family, 10)
}

async fn refresh_fixtures(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    store.create_client(&client("app-1", "contact.read", "contact.read")).await.expect("client");
    store.create_user(&user("u-1", "alice")).await.expect("user");
}

/// RFC 9449 §5: a DPoP-bound family keeps its key through rotations.
pub(crate) async fn dpop_bound_refresh_tokens_keep_their_key(store: &dyn Store) {
    refresh_fixtures(store).await;
    let bound = refresh("rt-b1", "fam-b").bound_to(Some("jkt-1".into()));
    store.create_refresh_token(&bound).await.expect("create");
    let found = store.find_refresh_token(&SecretHash::of("rt-b1")).await.expect("find").expect("stored");
    assert_eq!(found.record.dpop_jkt.as_deref(), Some("jkt-1"));
    let rotated = store
        .rotate_refresh_token(&SecretHash::of("rt-b1"), &SecretHash::of("rt-b2"), 20)
        .await
        .expect("rotate");
    assert_eq!(rotated, RefreshRotation::Rotated(bound.successor("rt-b2", 20)));
    let successor = store.find_refresh_token(&SecretHash::of("rt-b2")).await.expect("find").expect("stored");
    assert_eq!(successor.record, bound.successor("rt-b2", 20), "the successor is bound to the same key");
    let unbound = refresh("rt-u1", "fam-u");
    store.create_refresh_token(&unbound).await.expect("create");
    let found = store.find_refresh_token(&SecretHash::of("rt-u1")).await.expect("find").expect("stored");
    assert_eq!(found.record.dpop_jkt, None);
}

/// RFC 8707: a code keeps the resources it was granted, and so does the
/// refresh family it starts, through every rotation.
pub(crate) async fn resources_stay_with_codes_and_refresh_families(store: &dyn Store) {
    refresh_fixtures(store).await;
    let resources: Vec<Resource> = ["https://api.example.com", "urn:example:files"]
        .iter()
        .map(|raw| Resource::parse(raw).expect("resource"))
        .collect();
    let granted = AuthorizationCode { resources: resources.clone(), ..code("app-1", "u-1", "c-r") };
    store.create_code(&granted).await.expect("code");
    let will_issue = IssuedFromCode {
        access_token_jti: "jti-r".into(),
        access_token_expires_at: 99,
        refresh_family_id: Some("fam-r".into()),
    };
    let consumed =
        store.consume_code(&granted.code_hash, 20, &will_issue).await.expect("consume").expect("consumed");
    assert_eq!(consumed, granted, "the code comes back with its resources");

    let family = RefreshTokenRecord { resources: resources.clone(), ..refresh("rt-r1", "fam-r") };
    assert!(store.create_refresh_token_from_code(&family, &granted.code_hash).await.expect("create"));
    let found = store.find_refresh_token(&SecretHash::of("rt-r1")).await.expect("find").expect("stored");
    assert_eq!(found.record.resources, resources);
    let rotated = store
        .rotate_refresh_token(&SecretHash::of("rt-r1"), &SecretHash::of("rt-r2"), 30)
        .await
        .expect("rotate");
    assert_eq!(rotated, RefreshRotation::Rotated(family.successor("rt-r2", 30)));
    let successor = store.find_refresh_token(&SecretHash::of("rt-r2")).await.expect("find").expect("stored");
    assert_eq!(successor.record, family.successor("rt-r2", 30), "the successor keeps the resources");

    let direct = RefreshTokenRecord { resources: resources.clone(), ..refresh("rt-d1", "fam-d") };
    store.create_refresh_token(&direct).await.expect("create");
    let found = store.find_refresh_token(&SecretHash::of("rt-d1")).await.expect("find").expect("stored");
    assert_eq!(found.record, direct);
}

pub(crate) async fn refresh_token_rotation(store: &dyn Store) {
    refresh_fixtures(store).await;
    let first = refresh("rt-1", "fam-1");
    store.create_refresh_token(&first).await.expect("create");
    assert_eq!(store.count_live_refresh_families(10).await.expect("count"), 1);
    assert_eq!(
        store.count_live_refresh_families(1010).await.expect("count"),
        0,
        "an expired family is not live"
    );

    let rotated = store
        .rotate_refresh_token(&SecretHash::of("rt-1"), &SecretHash::of("rt-2"), 20)
        .await
        .expect("rotate");
    assert_eq!(rotated, RefreshRotation::Rotated(first.successor("rt-2", 20)), "the successor's record");
    let presented = store.find_refresh_token(&SecretHash::of("rt-1")).await.expect("find").expect("kept");
    assert_eq!(presented.rotated_at, Some(20), "the same statement marked the presented token rotated");
    let successor =
        store.find_refresh_token(&SecretHash::of("rt-2")).await.expect("find").expect("successor stored");
    assert_eq!(successor.record, first.successor("rt-2", 20), "same family, scope, user and end");
    assert_eq!((successor.rotated_at, successor.revoked_at), (None, None));
    assert_eq!(store.count_live_refresh_families(20).await.expect("count"), 1, "a rotation keeps one family");

    let again = store
        .rotate_refresh_token(&SecretHash::of("rt-1"), &SecretHash::of("rt-2"), 21)
        .await
        .expect("again");
    assert_eq!(again, RefreshRotation::AlreadyRotated { record: first.clone(), rotated_at: 20 });

    assert!(store.revoke_refresh_family("fam-1", 30).await.expect("revoke"), "this call revoked the family");
    assert!(!store.revoke_refresh_family("fam-1", 31).await.expect("revoke again"), "only once");
    assert_eq!(
        store.count_live_refresh_families(31).await.expect("count"),
        0,
        "a revoked family is not live"
    );
    let dead = store
        .rotate_refresh_token(&SecretHash::of("rt-2"), &SecretHash::of("rt-3"), 32)
        .await
        .expect("rotate");
    assert!(matches!(dead, RefreshRotation::Revoked(_)), "{dead:?}");
    let unknown =
        store.rotate_refresh_token(&SecretHash::of("nope"), &SecretHash::of("x"), 32).await.expect("rotate");
    assert_eq!(unknown, RefreshRotation::Unknown);

    let key = store.server_secret("refresh-successor", b"first", 1).await.expect("secret");
    assert_eq!(key, b"first");
    assert_eq!(
        store.server_secret("refresh-successor", b"second", 2).await.expect("secret"),
        b"first",
        "kept"
    );
}

/// RFC 9700 §4.14.2: concurrent presentations of one refresh token rotate it once.
pub(crate) async fn concurrent_rotation_rotates_once(store: &dyn Store) {
    refresh_fixtures(store).await;
    store.create_refresh_token(&refresh("rt-race", "fam-race")).await.expect("create");
    let presented = SecretHash::of("rt-race");
    let successor = SecretHash::of("rt-next");
    let outcomes = tokio::join!(
        store.rotate_refresh_token(&presented, &successor, 40),
        store.rotate_refresh_token(&presented, &successor, 40),
        store.rotate_refresh_token(&presented, &successor, 40),
        store.rotate_refresh_token(&presented, &successor, 40),
        store.rotate_refresh_token(&presented, &successor, 40),
        store.rotate_refresh_token(&presented, &successor, 40),
    );
    let all = [outcomes.0, outcomes.1, outcomes.2, outcomes.3, outcomes.4, outcomes.5]
        .map(|o| o.expect("no error"));
    let rotated = all.iter().filter(|o| matches!(o, RefreshRotation::Rotated(_))).count();
    let already = all.iter().filter(|o| matches!(o, RefreshRotation::AlreadyRotated { .. })).count();
    assert_eq!((rotated, already), (1, 5));
}

/// Rotations that arrive together (SQLite writes them as one group) each
/// rotate their own token, whatever the others in the group are: live,
/// presented twice, revoked or unknown.
pub(crate) async fn concurrent_rotations_of_many_tokens_each_get_their_own_successor(store: &dyn Store) {
    refresh_fixtures(store).await;
    let live: Vec<RefreshTokenRecord> =
        (0..40).map(|n| refresh(&format!("rt-many-{n}"), &format!("fam-many-{n}"))).collect();
    for record in &live {
        store.create_refresh_token(record).await.expect("create");
    }
    store.create_refresh_token(&refresh("rt-dead", "fam-dead")).await.expect("create");
    assert!(store.revoke_refresh_family("fam-dead", 45).await.expect("revoke"));

    let mut presented: Vec<(String, String)> =
        (0..40).map(|n| (format!("rt-many-{n}"), format!("rt-many-{n}-next"))).collect();
    presented.push(("rt-many-7".into(), "rt-many-7-next".into()));
    presented.push(("rt-dead".into(), "rt-dead-next".into()));
    presented.push(("rt-unknown".into(), "rt-unknown-next".into()));
    let hashes: Vec<(SecretHash, SecretHash)> = presented
        .iter()
        .map(|(token, successor)| (SecretHash::of(token), SecretHash::of(successor)))
        .collect();
    let outcomes = futures::future::join_all(
        hashes.iter().map(|(token, successor)| store.rotate_refresh_token(token, successor, 50)),
    )
    .await;

    for (n, record) in live.iter().enumerate() {
        let expected = record.successor(&format!("rt-many-{n}-next"), 50);
        match n {
            // Presented twice: one presentation rotated it, the other found it rotated.
            7 => {
                let pair = [outcomes[7].as_ref().expect("ok"), outcomes[40].as_ref().expect("ok")];
                let rotated =
                    pair.iter().filter(|o| ***o == RefreshRotation::Rotated(expected.clone())).count();
                let already = pair
                    .iter()
                    .filter(|o| matches!(o, RefreshRotation::AlreadyRotated { rotated_at: 50, .. }))
                    .count();
                assert_eq!((rotated, already), (1, 1), "{pair:?}");
            }
            _ => assert_eq!(outcomes[n].as_ref().expect("ok"), &RefreshRotation::Rotated(expected.clone())),
        }
        let successor = store
            .find_refresh_token(&SecretHash::of(&format!("rt-many-{n}-next")))
            .await
            .expect("find")
            .expect("successor stored");
        assert_eq!(successor.record, expected);
        let old = store.find_refresh_token(&record.token_hash).await.expect("find").expect("kept");
        assert_eq!(old.rotated_at, Some(50), "token {n} marked rotated");
    }
    assert!(matches!(outcomes[41].as_ref().expect("ok"), RefreshRotation::Revoked(_)));
    assert_eq!(outcomes[42].as_ref().expect("ok"), &RefreshRotation::Unknown);
    for dead in ["rt-dead-next", "rt-unknown-next"] {
        assert!(store.find_refresh_token(&SecretHash::of(dead)).await.expect("find").is_none(), "{dead}");
    }
}

/// Where the backend pushes changes (PostgreSQL), a listener wakes up when
/// another connection changes a client; elsewhere servers poll.
pub(crate) async fn change_signals_wake_listeners(store: &dyn Store) {
    let Some(mut signals) = store.change_signals().await.expect("listen") else { return };
    create_scope(store, "contact.read").await;
    store.create_client(&client("app-1", "contact.read", "contact.read")).await.expect("create");
    tokio::time::timeout(std::time::Duration::from_secs(10), signals.next())
        .await
        .expect("woken within 10 s")
        .expect("signal");
}

/// A replay marks its code; a redemption still under way then starts its
/// refresh family revoked (one already started is the replay's to revoke).
pub(crate) async fn a_replayed_code_starts_its_refresh_family_revoked(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    store.create_client(&client("app-1", "contact.read", "contact.read")).await.expect("client");
    store.create_user(&user("u-1", "alice")).await.expect("user");
    let policy = RefreshPolicy { lifetime: 1000, reuse_grace: 0 };
    let family = |id: &str| NewFamily {
        family_id: id.into(),
        client_id: "app-1".into(),
        user_id: "u-1".into(),
        scope: ScopeSet::parse("contact.read").expect("scope"),
        auth_time: 1,
        resources: vec![],
    };
    let will_issue = |jti: &str| IssuedFromCode {
        access_token_jti: jti.into(),
        access_token_expires_at: 99,
        refresh_family_id: Some(format!("fam-{jti}")),
    };

    let first = code("app-1", "u-1", "first");
    store.create_code(&first).await.expect("code");
    store.consume_code(&first.code_hash, 10, &will_issue("a")).await.expect("consume").expect("consumed");
    let record = RefreshTokenRecord::first(&policy, "rt-a", family("fam-a"), 10);
    assert!(store.create_refresh_token_from_code(&record, &first.code_hash).await.expect("create"));
    let live = store.find_refresh_token(&SecretHash::of("rt-a")).await.expect("find").expect("stored");
    assert_eq!(live.revoked_at, None);

    let second = code("app-1", "u-1", "second");
    store.create_code(&second).await.expect("code");
    store.consume_code(&second.code_hash, 10, &will_issue("b")).await.expect("consume").expect("consumed");
    assert!(store.mark_code_replayed(&second.code_hash, 11).await.expect("mark").is_some());
    let record = RefreshTokenRecord::first(&policy, "rt-b", family("fam-b"), 11);
    assert!(store.create_refresh_token_from_code(&record, &second.code_hash).await.expect("create"));
    let dead = store.find_refresh_token(&SecretHash::of("rt-b")).await.expect("find").expect("stored");
    assert_eq!(dead.revoked_at, Some(11), "born revoked, at the replay's time");
    let unknown = SecretHash::of("no-such-code");
    assert!(!store.create_refresh_token_from_code(&record, &unknown).await.expect("create"));
}

pub(crate) async fn client_search_and_owners(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    store.create_user(&user("u-dev", "dev")).await.expect("user");
    for (id, name, created_at, owner) in [
        ("c-1", "Payroll Sync", 10, Some("u-dev")),
        ("c-2", "payroll 100%_done", 20, None),
        ("c-3", "Invoices", 30, Some("u-dev")),
    ] {
        let client = Client {
            name: name.into(),
            created_at,
            owner: owner.map(str::to_owned),
            ..client(id, "contact.read", "contact.read")
        };
        store.create_client(&client).await.expect("create");
    }
    let ids =
        |found: (Vec<Client>, u64)| (found.0.into_iter().map(|c| c.client_id).collect::<Vec<_>>(), found.1);
    let all = ClientQuery { limit: 10, ..ClientQuery::default() };
    assert_eq!(
        ids(store.search_clients(&all).await.expect("all")),
        (vec!["c-3".into(), "c-2".into(), "c-1".into()], 3)
    );
    let page = ClientQuery { limit: 1, offset: 1, ..all.clone() };
    assert_eq!(ids(store.search_clients(&page).await.expect("page")), (vec!["c-2".into()], 3));
    let text = ClientQuery { text: Some("PAYROLL".into()), ..all.clone() };
    assert_eq!(ids(store.search_clients(&text).await.expect("text")), (vec!["c-2".into(), "c-1".into()], 2));
    let wildcard = ClientQuery { text: Some("0%_".into()), ..all.clone() };
    assert_eq!(ids(store.search_clients(&wildcard).await.expect("literal")), (vec!["c-2".into()], 1));
    let by_id = ClientQuery { text: Some("c-1".into()), ..all.clone() };
    assert_eq!(ids(store.search_clients(&by_id).await.expect("by id")), (vec!["c-1".into()], 1));
    let owned = ClientQuery { owner: Some("u-dev".into()), ..all.clone() };
    assert_eq!(
        ids(store.search_clients(&owned).await.expect("owned")),
        (vec!["c-3".into(), "c-1".into()], 2)
    );
    let found = store.find_client("c-1").await.expect("find").expect("exists");
    assert_eq!((found.owner.as_deref(), found.access_token_lifetime), (Some("u-dev"), Some(600)));
}

pub(crate) async fn admin_tokens(store: &dyn Store) {
    store.create_user(&user("u-a", "ann")).await.expect("user");
    store.create_user(&user("u-b", "bea")).await.expect("user");
    let token = |id: &str, user_id: &str, expires_at: Option<UnixTime>| AdminTokenRecord {
        token_id: id.into(),
        token_hash: SecretHash::of(id),
        user_id: user_id.into(),
        name: format!("token {id}"),
        created_at: 100,
        expires_at,
        last_used_at: None,
    };
    store.create_admin_token(&token("t-1", "u-a", None)).await.expect("create");
    store.create_admin_token(&token("t-2", "u-b", Some(200))).await.expect("create");
    let used = store.use_admin_token(&SecretHash::of("t-1"), 150).await.expect("use").expect("live");
    assert_eq!((used.token_id.as_str(), used.user_id.as_str()), ("t-1", "u-a"));
    assert_eq!(store.use_admin_token(&SecretHash::of("t-2"), 200).await.expect("use"), None, "expired");
    assert_eq!(store.use_admin_token(&SecretHash::of("nope"), 150).await.expect("use"), None);
    let listed = store.list_admin_tokens(Some("u-a")).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(150), "use is recorded");
    assert_eq!(store.list_admin_tokens(None).await.expect("list all").len(), 2);
    assert!(!store.delete_admin_token("t-1", Some("u-b")).await.expect("delete"), "not bea's token");
    assert!(store.delete_admin_token("t-1", Some("u-a")).await.expect("delete"));
    assert_eq!(store.use_admin_token(&SecretHash::of("t-1"), 150).await.expect("use"), None, "deleted");
}

pub(crate) async fn audit_trail(store: &dyn Store) {
    let event = |at: UnixTime, action: &str, target: &str| AuditEvent {
        event_id: 0,
        at,
        actor: "user:ann".into(),
        action: action.into(),
        target: Some(target.into()),
        outcome: if action.ends_with("refused") { AuditOutcome::Failure } else { AuditOutcome::Success },
        ip: Some("192.0.2.7".into()),
        details: r#"{"grant_type":"client_credentials"}"#.into(),
    };
    store
        .record_audit_events(&[
            event(10, "client.created", "c-1"),
            event(20, "token.issued", "c-1"),
            event(30, "token.refused", "c-2"),
            event(40, "client.deleted", "c-1"),
        ])
        .await
        .expect("record");
    let actions = |events: Vec<AuditEvent>| events.into_iter().map(|e| e.action).collect::<Vec<_>>();
    let all = AuditQuery { limit: 10, ..AuditQuery::default() };
    let everything = store.search_audit_events(&all).await.expect("all");
    assert_eq!(
        actions(everything.clone()),
        ["client.deleted", "token.refused", "token.issued", "client.created"]
    );
    assert_eq!(everything[1].outcome, AuditOutcome::Failure);
    assert_eq!(everything[1].details, r#"{"grant_type":"client_credentials"}"#);
    let prefix = AuditQuery { action: Some("client.".into()), ..all.clone() };
    assert_eq!(
        actions(store.search_audit_events(&prefix).await.expect("prefix")),
        ["client.deleted", "client.created"]
    );
    let exact = AuditQuery { action: Some("token.issued".into()), ..all.clone() };
    assert_eq!(actions(store.search_audit_events(&exact).await.expect("exact")), ["token.issued"]);
    let target = AuditQuery { target: Some("c-2".into()), ..all.clone() };
    assert_eq!(actions(store.search_audit_events(&target).await.expect("target")), ["token.refused"]);
    let older = AuditQuery { before_id: Some(everything[1].event_id), limit: 1, ..all.clone() };
    assert_eq!(actions(store.search_audit_events(&older).await.expect("page")), ["token.issued"]);
    // A batch larger than one statement's rows is written whole.
    let bulk: Vec<AuditEvent> = (0..1203).map(|i| event(50 + i, "bulk.written", "c-9")).collect();
    store.record_audit_events(&bulk).await.expect("record a large batch");
    let written = AuditQuery { action: Some("bulk.written".into()), limit: 5000, ..AuditQuery::default() };
    assert_eq!(store.search_audit_events(&written).await.expect("bulk").len(), 1203);
    assert_eq!(store.prune_audit_events(30).await.expect("prune"), 2);
    let kept = |action: &str| AuditQuery { action: Some(action.into()), limit: 10, ..AuditQuery::default() };
    assert_eq!(
        actions(store.search_audit_events(&kept("client.")).await.expect("after prune")),
        ["client.deleted"]
    );
    assert_eq!(
        actions(store.search_audit_events(&kept("token.")).await.expect("after prune")),
        ["token.refused"]
    );
}

/// Registers a client as `/register` does: with a registration access token, without an owner.
pub(crate) async fn create_dynamic_client(store: &dyn Store, id: &str, created_at: UnixTime) {
    let client = Client {
        registration_token_hash: Some(SecretHash::of(&format!("registration access token of {id}"))),
        created_at,
        ..client(id, "contact.read", "contact.read")
    };
    store.create_client(&client).await.expect("dynamic client");
}

/// Migration 0018 (first uses), run again over a database that has a dynamic
/// registration: the registration counts as used, so an upgrade deletes nothing.
pub(crate) async fn registrations_from_before_first_use_tracking_count_as_used(store: &dyn Store) {
    assert!(store.delete_unused_registrations(UnixTime::MAX, 100).await.expect("prune").is_empty());
    assert!(!store.mark_client_used("from-before", 20).await.expect("mark"), "already counted as used");
    assert!(store.find_client("from-before").await.expect("find").is_some());
}

/// Dynamic registrations nobody used expire with everything they hold; a used
/// one, an owned one, an administrator's and a young one stay.
pub(crate) async fn unused_registrations_expire(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    store.create_user(&user("u-1", "alice")).await.expect("user");
    let dynamic = |id: &str, created_at: UnixTime| Client {
        registration_token_hash: Some(SecretHash::of(&format!("registration access token of {id}"))),
        created_at,
        ..client(id, "contact.read", "contact.read")
    };
    for registered in [
        dynamic("unused", 100),
        dynamic("used", 100),
        dynamic("young", 500),
        Client { owner: Some("u-1".into()), ..dynamic("owned", 100) },
        Client { created_at: 100, ..client("admin-made", "contact.read", "contact.read") },
    ] {
        store.create_client(&registered).await.expect("client");
    }

    // What the unused client holds goes with it.
    let read = ScopeSet::parse("contact.read").expect("scope");
    store.save_consent("u-1", "unused", &read, 110).await.expect("consent");
    let unused_code = code("unused", "u-1", "code of unused");
    store.create_code(&unused_code).await.expect("code");
    let family = NewFamily {
        family_id: "family of unused".into(),
        client_id: "unused".into(),
        user_id: "u-1".into(),
        scope: read.clone(),
        auth_time: 5,
        resources: vec![],
    };
    let policy = RefreshPolicy { lifetime: 1000, reuse_grace: 0 };
    store
        .create_refresh_token(&RefreshTokenRecord::first(&policy, "rt of unused", family, 110))
        .await
        .expect("rt");
    let unused_push = pushed("unused", "urn:unused", 900);
    store.save_pushed_request(&unused_push, 110).await.expect("push");

    // Recording a use is once, and is not a client change: no cache is emptied.
    let before = store.change_generations().await.expect("generations");
    assert!(store.mark_client_used("used", 150).await.expect("mark"));
    assert!(!store.mark_client_used("used", 160).await.expect("mark again"), "recorded once");
    assert!(!store.mark_client_used("no-such-client", 160).await.expect("mark"), "nothing to mark");
    assert_eq!(store.change_generations().await.expect("generations"), before);

    assert_eq!(store.delete_unused_registrations(200, 100).await.expect("prune"), ["unused"]);
    assert!(store.change_generations().await.expect("generations").clients > before.clients);
    assert_eq!(store.find_client("unused").await.expect("find"), None);
    assert_eq!(store.find_consent("u-1", "unused").await.expect("consent"), None);
    assert_eq!(store.find_refresh_token(&SecretHash::of("rt of unused")).await.expect("rt"), None);
    assert_eq!(store.take_pushed_request(&unused_push.request_uri_hash, 120).await.expect("push"), None);
    let issued = IssuedFromCode {
        access_token_jti: "jti".into(),
        access_token_expires_at: 3650,
        refresh_family_id: None,
    };
    assert_eq!(store.consume_code(&unused_code.code_hash, 50, &issued).await.expect("code"), None);
    assert!(!store.mark_client_used("unused", 210).await.expect("mark"), "a deleted client is not marked");
    for kept in ["used", "young", "owned", "admin-made"] {
        assert!(store.find_client(kept).await.expect("find").is_some(), "{kept} stays");
    }
    assert!(store.delete_unused_registrations(200, 100).await.expect("prune again").is_empty());

    // Oldest first, at most `limit` at a time.
    for (id, created_at) in [("old-b", 20), ("old-a", 20), ("old-c", 30)] {
        store.create_client(&dynamic(id, created_at)).await.expect("client");
    }
    assert_eq!(store.delete_unused_registrations(200, 2).await.expect("prune"), ["old-a", "old-b"]);
    assert_eq!(store.delete_unused_registrations(1000, 2).await.expect("prune"), ["old-c", "young"]);
    let left: Vec<String> =
        store.list_clients().await.expect("list").into_iter().map(|c| c.client_id).collect();
    assert_eq!(left, ["admin-made", "owned", "used"]);
}

/// A first use racing the expiry: either the use is seen and the client
/// stays, or the client is deleted and the use finds nothing to mark.
pub(crate) async fn concurrent_use_and_expiry_agree(store: &dyn Store) {
    create_scope(store, "contact.read").await;
    let ids = ["dyn-0", "dyn-1", "dyn-2", "dyn-3"];
    for id in ids {
        let client = Client {
            registration_token_hash: Some(SecretHash::of("registration access token")),
            created_at: 10,
            ..client(id, "contact.read", "contact.read")
        };
        store.create_client(&client).await.expect("client");
    }
    let (deleted, marked_0, marked_1, marked_2, marked_3) = tokio::join!(
        store.delete_unused_registrations(100, 100),
        store.mark_client_used(ids[0], 20),
        store.mark_client_used(ids[1], 20),
        store.mark_client_used(ids[2], 20),
        store.mark_client_used(ids[3], 20),
    );
    let deleted = deleted.expect("prune");
    for (id, marked) in ids.into_iter().zip([marked_0, marked_1, marked_2, marked_3]) {
        let marked = marked.expect("mark");
        let exists = store.find_client(id).await.expect("find").is_some();
        assert_eq!(marked, exists, "{id}: marked exactly when it survived");
        assert_eq!(deleted.contains(&id.to_owned()), !exists, "{id}: reported exactly when deleted");
    }
}
