//! Test harness: [`TestApp::spawn`] starts the real server on a random
//! loopback port with a fresh store, and offers typed helpers to seed it and
//! talk to it. Dev-only: never shipped.
//!
//! The store is a SQLite file in a temporary directory, or, with
//! `TEST_BACKEND=postgres`, a freshly created PostgreSQL database: the same
//! end-to-end suite runs against both.

mod browser;
mod postgres;

pub use browser::authorize_in_browser;
pub use postgres::PostgresDatabase;

use std::sync::LazyLock;

use reqwest::header::CONTENT_TYPE;
use std::sync::Arc;
use tessera_core::registration::ClientRegistration;

use tessera_server::config::Config;
use tessera_server::registry::{self, CreatedClient};
use tessera_server::state::AppState;
pub use tessera_server::unix_now;
use tessera_server::{Database, Server, open_store};
use tessera_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("debug").with_test_writer().try_init();
    }
});

/// A running server with its own data directory; stopped when dropped.
pub struct TestApp {
    /// The issuer URL, which is also where the server is reached unless an
    /// explicit issuer was configured.
    pub base_url: String,
    /// `http://127.0.0.1:PORT`: the server's own address, whatever its issuer.
    pub local_url: String,
    /// Redirects off, so tests see every 3xx themselves.
    pub http: reqwest::Client,
    pub config: Config,
    /// A second handle on the server's database, as the CLI would open it.
    store: Arc<dyn Store>,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    _data_dir: tempfile::TempDir,
    // Declared last: dropped after the server has been told to stop.
    _postgres: Option<PostgresDatabase>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration adjusted by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        LazyLock::force(&TRACING);
        let data_dir = tempfile::tempdir().expect("temp data dir");
        let mut config = Config::for_test(data_dir.path());
        let postgres = match std::env::var("TEST_BACKEND").as_deref() {
            Ok("postgres") => {
                let database = PostgresDatabase::create("the end-to-end suite")
                    .await
                    .expect("TEST_BACKEND=postgres needs a reachable PostgreSQL");
                config.database = Database::Postgres(database.url.clone());
                Some(database)
            }
            Ok("sqlite") | Err(_) => None,
            Ok(other) => panic!("TEST_BACKEND must be sqlite or postgres, not {other}"),
        };
        configure(&mut config);
        let server = Server::start(config.clone()).await.expect("server starts");
        let base_url = server.issuer().to_owned();
        let state = server.state();
        let local_url = format!("http://{}", server.local_addr());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let store = open_store(&config).await.expect("second store handle");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        TestApp {
            base_url,
            local_url,
            http,
            store,
            state,
            config,
            shutdown: Some(shutdown),
            task,
            _data_dir: data_dir,
            _postgres: postgres,
        }
    }

    /// The server's store, as a second connection would see it.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The running server's shared state (its audit log, caches and keys).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Waits until the server has seen every change made so far through
    /// [`TestApp::store`] (as it would a CLI's): it caches clients, keys,
    /// revocations and the discovery document.
    pub async fn caches_caught_up(&self) {
        self.state.caches_caught_up().await.expect("read change generations");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn add_scope(&self, name: &str) {
        registry::create_scope(self.store(), name, &format!("Access to {name}"), unix_now())
            .await
            .expect("scope added");
    }

    pub async fn register(&self, registration: ClientRegistration) -> CreatedClient {
        registry::create_client(self.store(), registration, unix_now()).await.expect("client registered")
    }

    /// Adds `scopes` to the registry and registers a confidential
    /// client_credentials client holding them. Returns (client_id, client_secret).
    pub async fn confidential_client(&self, scopes: &[&str]) -> (String, String) {
        for scope in scopes {
            if !self.store_has_scope(scope).await {
                self.add_scope(scope).await;
            }
        }
        let created = self
            .register(ClientRegistration {
                name: "Test app".into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                ..ClientRegistration::default()
            })
            .await;
        let secret = created.client_secret.expect("confidential clients get a secret");
        (created.client.client_id, secret)
    }

    async fn store_has_scope(&self, name: &str) -> bool {
        self.store()
            .list_scopes()
            .await
            .expect("list scopes")
            .iter()
            .any(|record| record.name.as_str() == name)
    }

    /// POSTs a form to `/token` as a well-behaved client would.
    pub async fn post_token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_form("/token", form).await
    }

    /// POSTs a form to `path` as a well-behaved client would.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
            .await
            .expect("form request sent")
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.http.get(self.url(path)).send().await.expect("request sent");
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.expect("json body")
    }
}

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn form_body(form: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

/// Shortcuts for the lifecycle endpoints, authenticating with HTTP Basic.
impl TestApp {
    /// A client_credentials access token for the client, or a panic.
    pub async fn access_token(&self, client_id: &str, secret: &str) -> String {
        let response =
            self.post_with_basic("/token", client_id, secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 200, "token request");
        let body: serde_json::Value = response.json().await.expect("token json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// POSTs a form to `path` with the client's Basic credentials.
    pub async fn post_with_basic(
        &self,
        path: &str,
        client_id: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .basic_auth(client_id, Some(secret))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
            .await
            .expect("request sent")
    }

    /// Introspects `token` as the given client and returns the JSON answer.
    pub async fn introspect(&self, client_id: &str, secret: &str, token: &str) -> serde_json::Value {
        let response = self.post_with_basic("/introspect", client_id, secret, &[("token", token)]).await;
        assert_eq!(response.status(), 200, "introspection request");
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.expect("introspection json")
    }
}

/// Users and browsers for the code flow.
impl TestApp {
    /// Adds an enabled user with a verified email; returns its user id.
    pub async fn add_user(&self, username: &str, password: &str) -> String {
        self.add_user_with_role(username, password, tessera_core::user::Role::User).await
    }

    /// Adds an enabled user who holds `role` in the console; returns its user id.
    pub async fn add_user_with_role(
        &self,
        username: &str,
        password: &str,
        role: tessera_core::user::Role,
    ) -> String {
        let new = tessera_server::users::NewUser {
            username: username.into(),
            password: password.into(),
            email: Some(format!("{username}@example.com")),
            email_verified: true,
            name: Some(format!("{username} Example")),
            role,
        };
        tessera_server::users::add_user(self.store(), new, unix_now()).await.expect("user added").user_id
    }

    /// A fresh browser: its own cookie jar, redirects not followed.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("browser")
    }
}

/// The value of the hidden input `name` in an HTML page, unescaped.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
