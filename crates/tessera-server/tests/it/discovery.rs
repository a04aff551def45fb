//! Discovery documents and the JWKS.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_core::user::Role;
use tessera_server::admin::service::create_token_for;
use tessera_server::unix_now;
use tessera_server::users::{NewUser, add_user};
use tessera_testkit::TestApp;

/// The scopes a discovery document lists, after checking it is served as JSON.
async fn listed_scopes(app: &TestApp, path: &str) -> Value {
    let response = app.http.get(app.url(path)).send().await.expect("discovery");
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], "application/json", "{path}");
    let metadata: Value = response.json().await.expect("json");
    metadata["scopes_supported"].clone()
}

#[tokio::test]
async fn both_metadata_documents_describe_what_is_supported() {
    let app = TestApp::spawn().await;
    app.add_scope("contact.read").await;
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let metadata = app.get_json(path).await;
        assert_eq!(
            metadata["issuer"],
            app.base_url.as_str(),
            "{path}: issuer equals the URL it was fetched under (RFC 8414 §3.3)"
        );
        assert_eq!(metadata["token_endpoint"], app.url("/token"));
        assert_eq!(metadata["jwks_uri"], app.url("/jwks.json"));
        assert_eq!(
            metadata["grant_types_supported"],
            serde_json::json!([
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ])
        );
        assert_eq!(metadata["authorization_endpoint"], app.url("/authorize"));
        assert_eq!(metadata["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(metadata["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            metadata["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt"])
        );
        assert_eq!(
            metadata["scopes_supported"],
            serde_json::json!(["contact.read", "email", "offline_access", "openid", "profile"]),
            "the registry, with the OpenID Connect scopes built in"
        );
        assert_eq!(metadata["userinfo_endpoint"], app.url("/userinfo"));
        assert_eq!(metadata["end_session_endpoint"], app.url("/logout"));
        assert_eq!(metadata["subject_types_supported"], serde_json::json!(["public"]));
        assert_eq!(metadata["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
        assert_eq!(metadata["introspection_endpoint"], app.url("/introspect"));
        assert_eq!(metadata["revocation_endpoint"], app.url("/revoke"));
        assert_eq!(metadata["registration_endpoint"], app.url("/register"));
        assert_eq!(
            metadata["introspection_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt"])
        );
        assert_eq!(
            metadata["revocation_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
        );
    }
}

/// The document is kept between requests, and a scope change made by any
/// writer (here a second connection, as the CLI or another replica would)
/// reaches it once the server has caught up with the store.
#[tokio::test]
async fn discovery_follows_scope_changes_made_through_the_store() {
    let app = TestApp::spawn().await;
    // Past the start's own changes (the first keys), so that what follows is the only change.
    app.caches_caught_up().await;
    let paths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"];
    for path in paths {
        assert_eq!(listed_scopes(&app, path).await, json!(["email", "offline_access", "openid", "profile"]));
    }

    app.add_scope("contact.read").await;
    app.caches_caught_up().await;
    for path in paths {
        assert_eq!(
            listed_scopes(&app, path).await,
            json!(["contact.read", "email", "offline_access", "openid", "profile"]),
            "{path}: a scope added after the document was served"
        );
    }

    assert!(app.store().delete_scope("contact.read").await.expect("delete"));
    app.caches_caught_up().await;
    for path in paths {
        assert_eq!(
            listed_scopes(&app, path).await,
            json!(["email", "offline_access", "openid", "profile"]),
            "{path}: a deleted scope is no longer listed"
        );
    }
}

/// A scope this server adds or deletes itself is listed (or not) on its next
/// request, without waiting for the watcher (which, polling once an hour
/// here, would not come).
#[tokio::test]
async fn discovery_follows_this_servers_own_scope_changes_at_once() {
    let app = TestApp::spawn_with(|config| config.change_poll_interval = Duration::from_secs(3600)).await;
    let path = "/.well-known/openid-configuration";
    assert_eq!(listed_scopes(&app, path).await, json!(["email", "offline_access", "openid", "profile"]));
    let admin = NewUser {
        username: "root".into(),
        password: "correct horse battery".into(),
        role: Role::Admin,
        ..NewUser::default()
    };
    let admin = add_user(app.store(), admin, unix_now()).await.expect("admin added");
    let token = create_token_for(app.store(), &admin, "test", None).await.expect("token").token;

    let created = app
        .http
        .post(app.url("/admin/api/scopes"))
        .bearer_auth(&token)
        .json(&json!({ "name": "invoices.read", "description": "Read your invoices" }))
        .send()
        .await
        .expect("create scope");
    assert_eq!(created.status(), 201);
    assert_eq!(
        listed_scopes(&app, path).await,
        json!(["email", "invoices.read", "offline_access", "openid", "profile"])
    );

    let deleted = app
        .http
        .delete(app.url("/admin/api/scopes/invoices.read"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete scope");
    assert_eq!(deleted.status(), 204);
    assert_eq!(listed_scopes(&app, path).await, json!(["email", "offline_access", "openid", "profile"]));
}

#[tokio::test]
async fn jwks_publishes_the_es256_and_rs256_public_keys_only() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/jwks.json")).send().await.expect("jwks");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = response.json().await.expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().expect("alg")).collect();
    algs.sort_unstable();
    // Each algorithm's current key and the next one, published ahead of rotation.
    assert_eq!(algs, ["ES256", "ES256", "RS256", "RS256"]);
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|kid| kid.len() == 43), "kid is a SHA-256 thumbprint");
        for private_member in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private_member).is_none(),
                "private member `{private_member}` must never be published"
            );
        }
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_store_signs_with_the_same_keys() {
    let kids = |jwks: Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    };
    let first = TestApp::spawn().await;
    let database = first.config.database.clone();
    let issuer = first.base_url.clone();
    // Replicas share one store and one configured issuer.
    let second = TestApp::spawn_with(|config| {
        config.database = database;
        config.issuer = Some(issuer);
    })
    .await;
    let second_jwks: Value = second
        .http
        .get(format!("{}/jwks.json", second.local_url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(kids(second_jwks), kids(first.get_json("/jwks.json").await));

    let (id, secret) = first.confidential_client(&["contact.read"]).await;
    let response = second
        .http
        .post(format!("{}/token", second.local_url))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token from the second server");
    let body: Value = response.json().await.expect("json");
    let token = body["access_token"].as_str().expect("access_token");
    assert_eq!(
        first.introspect(&id, &secret, token).await["active"],
        true,
        "either server verifies the other's tokens"
    );
}

#[tokio::test]
async fn health_and_unknown_paths() {
    let app = TestApp::spawn().await;
    assert_eq!(app.http.get(app.url("/healthz")).send().await.expect("healthz").status(), 200);
    assert_eq!(app.http.get(app.url("/readyz")).send().await.expect("readyz").status(), 200);
    let missing = app.http.get(app.url("/nope")).send().await.expect("404");
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.expect("json 404");
    assert_eq!(body["error"], "not_found");
}
