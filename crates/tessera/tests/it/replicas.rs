//! Two `tessera serve` processes on one PostgreSQL database, as replicas
//! behind a load balancer: both use the first one's issuer, and every request
//! below picks its replica on purpose. Whatever one replica (or the CLI)
//! changes, the other honours; every single-use rule holds across them.

use std::time::Duration;

use oauth2::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_testkit::{PostgresDatabase, authorize_in_browser};
use url::Url;

use crate::util::{Dir, ServeProcess, json};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const PASSWORD: &str = "correct horse battery";

struct Replicas {
    dir: Dir,
    a: ServeProcess,
    b: ServeProcess,
    http: reqwest::Client,
    // Last: dropped after both servers have stopped.
    _database: PostgresDatabase,
}

impl Replicas {
    /// `None` (after saying why) without PostgreSQL, unless it is required.
    async fn start(test: &str) -> Option<Replicas> {
        let database = PostgresDatabase::create(test).await?;
        let dir = Dir::new();
        std::fs::write(dir.path().join("tessera.toml"), format!("database_url = {:?}\n", database.url))
            .expect("config");
        let migrated = json(&dir.run(&["--config", "tessera.toml", "migrate", "--output", "json"]));
        assert!(migrated["applied"].as_array().is_some_and(|applied| applied.len() >= 8), "{migrated}");
        let a = ServeProcess::start(dir.command(&[
            "--config",
            "tessera.toml",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]));
        let b = ServeProcess::start(dir.command(&[
            "--config",
            "tessera.toml",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--issuer",
            &a.issuer,
        ]));
        assert_ne!(a.local_url, b.local_url);
        Some(Replicas { dir, a, b, http: reqwest::Client::new(), _database: database })
    }

    fn cli(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", "tessera.toml"];
        all.extend_from_slice(args);
        self.dir.run(&all)
    }

    /// A confidential client for the code flow (with refresh tokens), made by the CLI.
    fn code_flow_client(&self) -> (String, String) {
        self.cli(&["scope", "add", "contact.read", "--description", "Read contacts"]);
        let output = self.dir.run_with_stdin(
            &["--config", "tessera.toml", "user", "add", "alice", "--password-stdin"],
            PASSWORD,
        );
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let created = json(&self.cli(&[
            "client",
            "create",
            "--name",
            "Replicated",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "contact.read",
            "--output",
            "json",
        ]));
        (
            created["client_id"].as_str().expect("id").into(),
            created["client_secret"].as_str().expect("secret").into(),
        )
    }

    async fn post_with_basic(
        &self,
        url: String,
        id: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http.post(url).basic_auth(id, Some(secret)).form(form).send().await.expect("request")
    }
}

/// Polls `check` until it holds; replicas learn of each other's changes
/// through NOTIFY, with the poll interval as the backstop.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within 5 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_client_registered_at_one_replica_is_usable_at_the_other_until_deleted() {
    let Some(replicas) = Replicas::start("replicas_share_clients").await else { return };
    replicas.cli(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let token = json(&replicas.cli(&["registration-token", "create", "--output", "json"]));
    let registered: Value = replicas
        .http
        .post(replicas.a.local("/register"))
        .bearer_auth(token["token"].as_str().expect("token"))
        .json(&json!({ "client_name": "Registered at A", "grant_types": ["client_credentials"], "scope": "contact.read" }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let id = registered["client_id"].as_str().expect("client_id");
    let secret = registered["client_secret"].as_str().expect("client_secret");
    let grant = [("grant_type", "client_credentials")];
    let at_b = replicas.post_with_basic(replicas.b.local("/token"), id, secret, &grant).await;
    assert_eq!(at_b.status(), StatusCode::OK, "B knows a client A registered a moment ago");

    // B caches that a token is not revoked; A revokes it; B learns.
    let token: Value = at_b.json().await.expect("json");
    let token = token["access_token"].as_str().expect("access_token");
    let introspect_at_b = || async {
        let answer: Value = replicas
            .post_with_basic(replicas.b.local("/introspect"), id, secret, &[("token", token)])
            .await
            .json()
            .await
            .expect("json");
        answer["active"] == true
    };
    assert!(introspect_at_b().await);
    let revoked =
        replicas.post_with_basic(replicas.a.local("/revoke"), id, secret, &[("token", token)]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    eventually("B sees the revocation made at A", || async { !introspect_at_b().await }).await;

    // B now has the client cached; A deletes it (RFC 7592).
    let management_path = format!("/register/{id}");
    let deleted = replicas
        .http
        .delete(replicas.a.local(&management_path))
        .bearer_auth(registered["registration_access_token"].as_str().expect("registration token"))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    eventually("B refuses the client A deleted", || async {
        replicas.post_with_basic(replicas.b.local("/token"), id, secret, &grant).await.status()
            == StatusCode::UNAUTHORIZED
    })
    .await;
}

/// Logs alice in at replica A (or reuses her session and consent) and returns a code.
async fn authorize_at_a(
    replicas: &Replicas,
    browser: &reqwest::Client,
    client_id: &str,
    challenge: &PkceCodeChallenge,
) -> String {
    let mut url = Url::parse(&replicas.a.local("/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "contact.read")
        .append_pair("state", "af0ifjsldkj")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let back = authorize_in_browser(browser, url.as_str(), "alice", PASSWORD, &["contact.read"]).await;
    assert_eq!(
        back.query_pairs().find(|(name, _)| name == "state").map(|(_, value)| value.into_owned()).as_deref(),
        Some("af0ifjsldkj")
    );
    back.query_pairs().find(|(name, _)| name == "code").map(|(_, value)| value.into_owned()).expect("code")
}

fn redemption_form<'a>(
    code: &'a str,
    verifier: &'a oauth2::PkceCodeVerifier,
) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.secret().as_str()),
    ]
}

fn split_across(replicas: &Replicas, count: usize) -> impl Iterator<Item = &ServeProcess> {
    (0..count).map(move |n| if n % 2 == 0 { &replicas.a } else { &replicas.b })
}

#[tokio::test]
async fn single_use_holds_across_replicas_for_codes_and_refresh_tokens() {
    let Some(replicas) = Replicas::start("replicas_single_use").await else { return };
    let (id, secret) = replicas.code_flow_client();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");

    // A code issued by A, redeemed 50 times at once, half at A and half at B.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = authorize_at_a(&replicas, &browser, &id, &challenge).await;
    let redemption = redemption_form(&code, &verifier);
    let responses = futures::future::join_all(
        split_across(&replicas, 50)
            .map(|replica| replicas.post_with_basic(replica.local("/token"), &id, &secret, &redemption)),
    )
    .await;
    let mut issued = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => issued.push(response.json::<Value>().await.expect("json")),
            status => assert_eq!(status, StatusCode::BAD_REQUEST),
        }
    }
    assert_eq!(issued.len(), 1, "exactly one of 50 redemptions across two replicas succeeds");
    // RFC 9700 §4.2.4: the replays revoke what the one redemption issued, at both replicas.
    let access_token = issued[0]["access_token"].as_str().expect("access token");
    for replica in [&replicas.a, &replicas.b] {
        let introspected: Value = replicas
            .post_with_basic(replica.local("/introspect"), &id, &secret, &[("token", access_token)])
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(introspected["active"], false);
    }
    let refresh_token = issued[0]["refresh_token"].as_str().expect("refresh token");
    let refreshed = replicas
        .post_with_basic(
            replicas.b.local("/token"),
            &id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST, "its refresh family is revoked too");

    // A fresh family (session and consent remembered at A): rotated at B,
    // its successor revoked at A, then dead at B.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = authorize_at_a(&replicas, &browser, &id, &challenge).await;
    let family: Value = replicas
        .post_with_basic(replicas.a.local("/token"), &id, &secret, &redemption_form(&code, &verifier))
        .await
        .json()
        .await
        .expect("json");
    let rt1 = family["refresh_token"].as_str().expect("refresh token").to_owned();
    let rotated: Value = replicas
        .post_with_basic(
            replicas.b.local("/token"),
            &id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await
        .json()
        .await
        .expect("json");
    let rt2 = rotated["refresh_token"].as_str().expect("successor").to_owned();
    let revoked =
        replicas.post_with_basic(replicas.a.local("/revoke"), &id, &secret, &[("token", &rt2)]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let after_revocation = replicas
        .post_with_basic(
            replicas.b.local("/token"),
            &id,
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
        )
        .await;
    assert_eq!(after_revocation.status(), StatusCode::BAD_REQUEST, "a family revoked at A is dead at B");

    // A third family, its refresh token presented 20 times at once across both.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = authorize_at_a(&replicas, &browser, &id, &challenge).await;
    let family: Value = replicas
        .post_with_basic(replicas.b.local("/token"), &id, &secret, &redemption_form(&code, &verifier))
        .await
        .json()
        .await
        .expect("json");
    let rt = family["refresh_token"].as_str().expect("refresh token").to_owned();
    let presentation = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
    let responses = futures::future::join_all(
        split_across(&replicas, 20)
            .map(|replica| replicas.post_with_basic(replica.local("/token"), &id, &secret, &presentation)),
    )
    .await;
    let mut successors = Vec::new();
    for response in responses {
        if response.status() == StatusCode::OK {
            let body: Value = response.json().await.expect("json");
            successors.push(body["refresh_token"].as_str().expect("successor").to_owned());
        }
    }
    assert_eq!(successors.len(), 1, "one rotation of 20 concurrent presentations across two replicas");
    let successor = [("grant_type", "refresh_token"), ("refresh_token", successors[0].as_str())];
    for replica in [&replicas.a, &replicas.b] {
        let response = replicas.post_with_basic(replica.local("/token"), &id, &secret, &successor).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "the reuse revoked the family everywhere");
    }
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("JWS header").kid.expect("kid")
}

#[tokio::test]
async fn a_key_rotation_is_seen_by_both_replicas_without_restart() {
    let Some(replicas) = Replicas::start("replicas_key_rotation").await else { return };
    replicas.cli(&["scope", "add", "contact.read", "--description", "Read contacts"]);
    let created = json(&replicas.cli(&[
        "client",
        "create",
        "--name",
        "Rotating",
        "--scope",
        "contact.read",
        "--output",
        "json",
    ]));
    let id = created["client_id"].as_str().expect("id");
    let secret = created["client_secret"].as_str().expect("secret");
    let grant = [("grant_type", "client_credentials")];
    let token_from = |replica: &ServeProcess| {
        let request = replicas.post_with_basic(replica.local("/token"), id, secret, &grant);
        async move {
            let body: Value = request.await.json().await.expect("json");
            body["access_token"].as_str().expect("access token").to_owned()
        }
    };
    let before = token_from(&replicas.a).await;

    let rotations = json(&replicas.cli(&["keys", "rotate", "--output", "json"]));
    let es256 = rotations.as_array().expect("rotations").iter().find(|r| r["alg"] == "ES256").expect("ES256");
    assert_eq!(es256["retired"], kid_of(&before).as_str());
    let new_kid = es256["current"].as_str().expect("current");

    for replica in [&replicas.a, &replicas.b] {
        eventually("the replica signs with the new key", || async {
            kid_of(&token_from(replica).await) == new_kid
        })
        .await;
        let jwks: Value = replicas
            .http
            .get(replica.local("/jwks.json"))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("json");
        let kids: Vec<&str> =
            jwks["keys"].as_array().expect("keys").iter().filter_map(|key| key["kid"].as_str()).collect();
        for kid in [es256["retired"].as_str(), Some(new_kid), es256["next"].as_str()] {
            assert!(kids.contains(&kid.expect("kid")), "{kid:?} published by {}", replica.local_url);
        }
        let introspected: Value = replicas
            .post_with_basic(replica.local("/introspect"), id, secret, &[("token", &before)])
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(introspected["active"], true, "a token signed before the rotation still validates");
    }
}
