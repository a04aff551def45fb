//! Hardening: what `tessera serve` keeps when it is killed, and how it stops
//! when asked to.
//!
//! `sigkill_mid_load_loses_nothing_acknowledged` kills the server (SIGKILL: no
//! chance to clean up) in the middle of dynamic registrations,
//! client_credentials grants and refresh token rotations, restarts it on the
//! same data directory and checks that everything it acknowledged is still
//! there, exactly once, in a database that passes `PRAGMA integrity_check`.
//!
//! `sigterm_finishes_in_flight_requests` asks it to stop (SIGTERM) while a
//! request's body is still arriving: that request is answered in full, then
//! the process exits cleanly and its port is closed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use oauth2::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_testkit::authorize_in_browser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use crate::util::{Dir, ServeProcess, data_db, json};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const PASSWORD: &str = "correct horse battery";
/// The configured RFC 7591 initial access token (at least 32 characters).
const INITIAL_ACCESS_TOKEN: &str = "crash-safety-initial-access-token-4f1c9a2e7b";
/// Refresh token families that stop rotating just before the kill, so that
/// their last token is known for certain (the exactly-once check never
/// depends on luck).
const PARKED_FAMILIES: usize = 3;
/// Families that keep rotating through the kill.
const RUNNING_FAMILIES: usize = 3;
const REGISTRATION_WORKERS: usize = 2;
const GRANT_WORKERS: usize = 2;
/// How long the load runs before the kill, at least.
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1500);
/// A bound for anything that should take a moment, generous for a loaded
/// 2-core machine: reaching it means something hangs.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long `tessera serve` may take to exit once its last request is answered.
const EXIT_PATIENCE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
struct Credentials {
    id: String,
    secret: String,
}

impl Credentials {
    fn from_json(created: &Value) -> Credentials {
        Credentials {
            id: created["client_id"].as_str().expect("client_id").to_owned(),
            secret: created["client_secret"].as_str().expect("client_secret").to_owned(),
        }
    }
}

/// A data directory with a scope, a user and two clients, all made by the CLI
/// before the server starts: `machine` for client_credentials, `web` for the
/// code flow with refresh tokens.
struct Setup {
    dir: Dir,
    machine: Credentials,
    web: Credentials,
}

impl Setup {
    fn new() -> Setup {
        let dir = Dir::new();
        std::fs::write(
            dir.path().join("tessera.toml"),
            format!("initial_access_token = {INITIAL_ACCESS_TOKEN:?}\nrefresh_token_reuse_grace = \"0s\"\n"),
        )
        .expect("config");
        let cli = |args: &[&str]| {
            let mut all = vec!["--config", "tessera.toml"];
            all.extend_from_slice(args);
            dir.run(&all)
        };
        cli(&["scope", "add", "contact.read", "--description", "Read contacts"]);
        let added = dir.run_with_stdin(
            &["--config", "tessera.toml", "user", "add", "alice", "--password-stdin"],
            PASSWORD,
        );
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let machine = Credentials::from_json(&json(&cli(&[
            "client",
            "create",
            "--name",
            "Machine",
            "--scope",
            "contact.read",
            "--output",
            "json",
        ])));
        let web = Credentials::from_json(&json(&cli(&[
            "client",
            "create",
            "--name",
            "Web",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "contact.read",
            "--output",
            "json",
        ])));
        Setup { dir, machine, web }
    }

    /// `tessera serve` on a random port, with `extra` arguments.
    fn serve(&self, extra: &[&str]) -> ServeProcess {
        let mut args = vec!["--config", "tessera.toml", "serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut command = self.dir.command(&args);
        // The load below is one client and one address: abuse limits would
        // answer 429 long before anything interesting happens.
        for limit in ["PER_IP", "TOKEN_PER_CLIENT", "REGISTER_PER_IP"] {
            command.env(format!("TESSERA_LIMITS__{limit}"), "off");
        }
        ServeProcess::start(command)
    }
}

async fn post_form(
    http: &reqwest::Client,
    url: &str,
    client: &Credentials,
    form: &[(&str, &str)],
) -> reqwest::Result<reqwest::Response> {
    http.post(url).basic_auth(&client.id, Some(&client.secret)).form(form).send().await
}

/// Logs alice in (or reuses her session and consent) and redeems the code:
/// the first refresh token of a new family.
async fn new_family(server: &ServeProcess, browser: &reqwest::Client, web: &Credentials) -> String {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut url = Url::parse(&server.url("/authorize")).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &web.id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "contact.read")
        .append_pair("state", "crash")
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let back = authorize_in_browser(browser, url.as_str(), "alice", PASSWORD, &["contact.read"]).await;
    let code = back
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.secret().as_str()),
    ];
    let response =
        post_form(browser, &server.url("/token"), web, &form).await.expect("code redemption request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    body["refresh_token"].as_str().expect("a refresh token").to_owned()
}

/// How a worker's last request ended.
enum End {
    /// Told to stop before the kill: nothing was in flight.
    Parked,
    /// Could not connect: the request never reached the server.
    NeverSent,
    /// Sent, but its answer was lost: the server may or may not have acted on it.
    InDoubt(String),
}

impl End {
    fn of(err: &reqwest::Error) -> End {
        if err.is_connect() { End::NeverSent } else { End::InDoubt(causes(&err)) }
    }

    fn in_doubt(&self) -> bool {
        matches!(self, End::InDoubt(_))
    }
}

/// An error and its sources, on one line.
fn causes(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Parked => f.write_str("parked before the kill"),
            End::NeverSent => f.write_str("its next request could not connect"),
            End::InDoubt(error) => write!(f, "in doubt: {error}"),
        }
    }
}

/// What the workers have had acknowledged so far (for progress and the report).
struct Tally {
    registrations: AtomicUsize,
    grants: AtomicUsize,
    rotations: Vec<AtomicUsize>,
}

impl Tally {
    fn new(families: usize) -> Tally {
        Tally {
            registrations: AtomicUsize::new(0),
            grants: AtomicUsize::new(0),
            rotations: (0..families).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Every kind of work has been acknowledged at least once, by every family.
    fn all_progressed(&self) -> bool {
        self.registrations.load(Ordering::SeqCst) > 0
            && self.grants.load(Ordering::SeqCst) > 0
            && self.rotations.iter().all(|count| count.load(Ordering::SeqCst) > 0)
    }

    fn describe(&self) -> String {
        let rotations: Vec<usize> = self.rotations.iter().map(|count| count.load(Ordering::SeqCst)).collect();
        format!(
            "registrations {}, grants {}, rotations per family {rotations:?}",
            self.registrations.load(Ordering::SeqCst),
            self.grants.load(Ordering::SeqCst)
        )
    }
}

/// Registers clients at `/register` until a request fails; returns those
/// acknowledged (201 with the whole body received).
async fn register_until_killed(url: String, tally: Arc<Tally>) -> (Vec<Credentials>, End) {
    let http = reqwest::Client::new();
    let metadata = json!({
        "client_name": "Registered under load",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "contact.read",
    });
    let mut registered = Vec::new();
    loop {
        let response = match http.post(&url).bearer_auth(INITIAL_ACCESS_TOKEN).json(&metadata).send().await {
            Ok(response) => response,
            Err(err) => return (registered, End::of(&err)),
        };
        let status = response.status();
        let body = match response.text().await {
            Ok(body) => body,
            Err(err) => return (registered, End::InDoubt(causes(&err))),
        };
        assert_eq!(status, StatusCode::CREATED, "registration under load: {body}");
        let body: Value = serde_json::from_str(&body).expect("registration JSON");
        assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
        registered.push(Credentials::from_json(&body));
        tally.registrations.fetch_add(1, Ordering::SeqCst);
    }
}

/// client_credentials grants until a request fails; returns the last access
/// token received.
async fn grant_until_killed(url: String, machine: Credentials, tally: Arc<Tally>) -> (Option<String>, End) {
    let http = reqwest::Client::new();
    let mut last = None;
    loop {
        let response = match post_form(&http, &url, &machine, &[("grant_type", "client_credentials")]).await {
            Ok(response) => response,
            Err(err) => return (last, End::of(&err)),
        };
        let status = response.status();
        let body = match response.text().await {
            Ok(body) => body,
            Err(err) => return (last, End::InDoubt(causes(&err))),
        };
        assert_eq!(status, StatusCode::OK, "client_credentials under load: {body}");
        let body: Value = serde_json::from_str(&body).expect("token JSON");
        last = Some(body["access_token"].as_str().expect("access_token").to_owned());
        tally.grants.fetch_add(1, Ordering::SeqCst);
    }
}

/// One refresh token family, rotated in sequence.
struct Family {
    index: usize,
    /// The last refresh token whose rotation answer was received.
    token: String,
    rotations: usize,
    end: End,
}

/// Rotates `token` again and again until a request fails or `park` is set.
async fn rotate_until_killed(
    url: String,
    web: Credentials,
    index: usize,
    mut token: String,
    park: Option<Arc<AtomicBool>>,
    tally: Arc<Tally>,
) -> Family {
    let http = reqwest::Client::new();
    let mut rotations = 0;
    let end = loop {
        if park.as_ref().is_some_and(|park| park.load(Ordering::SeqCst)) {
            break End::Parked;
        }
        let form = [("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
        let response = match post_form(&http, &url, &web, &form).await {
            Ok(response) => response,
            Err(err) => break End::of(&err),
        };
        let status = response.status();
        let body = match response.text().await {
            Ok(body) => body,
            Err(err) => break End::InDoubt(causes(&err)),
        };
        assert_eq!(status, StatusCode::OK, "family {index}, rotation {}: {body}", rotations + 1);
        let body: Value = serde_json::from_str(&body).expect("token JSON");
        token = body["refresh_token"].as_str().expect("a successor").to_owned();
        rotations += 1;
        tally.rotations[index].fetch_add(1, Ordering::SeqCst);
        // A little think time, different per family, so that a running family
        // is sometimes between requests when the server dies.
        tokio::time::sleep(Duration::from_millis(2 * (index % 3) as u64)).await;
    };
    Family { index, token, rotations, end }
}

async fn join<T>(handle: JoinHandle<T>, what: &str) -> T {
    tokio::time::timeout(PATIENCE, handle)
        .await
        .unwrap_or_else(|_| panic!("{what} did not stop within {PATIENCE:?}"))
        .unwrap_or_else(|err| panic!("{what} failed: {err}"))
}

/// `PRAGMA integrity_check` on the database file, opened read-only.
async fn integrity_check(db: &Path) -> Vec<String> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db).read_only(true);
    let mut connection =
        sqlx::SqliteConnection::connect_with(&options).await.expect("open the database read-only");
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut connection)
        .await
        .expect("PRAGMA integrity_check");
    connection.close().await.expect("close the database");
    rows
}

async fn error_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("json error");
    body["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn sigkill_mid_load_loses_nothing_acknowledged() {
    let setup = Setup::new();
    let mut server = setup.serve(&[]);
    let issuer = server.issuer.clone();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser");
    let families = PARKED_FAMILIES + RUNNING_FAMILIES;
    let mut first_tokens = Vec::new();
    for _ in 0..families {
        first_tokens.push(new_family(&server, &browser, &setup.web).await);
    }

    // The load: registrations, grants and rotations, all at once.
    let tally = Arc::new(Tally::new(families));
    let park = Arc::new(AtomicBool::new(false));
    let registering: Vec<_> = (0..REGISTRATION_WORKERS)
        .map(|_| tokio::spawn(register_until_killed(server.url("/register"), Arc::clone(&tally))))
        .collect();
    let granting: Vec<_> = (0..GRANT_WORKERS)
        .map(|_| {
            tokio::spawn(grant_until_killed(server.url("/token"), setup.machine.clone(), Arc::clone(&tally)))
        })
        .collect();
    let mut parked = Vec::new();
    let mut running = Vec::new();
    for (index, token) in first_tokens.into_iter().enumerate() {
        let parks = index < PARKED_FAMILIES;
        let rotating = tokio::spawn(rotate_until_killed(
            server.url("/token"),
            setup.web.clone(),
            index,
            token,
            parks.then(|| Arc::clone(&park)),
            Arc::clone(&tally),
        ));
        if parks { parked.push(rotating) } else { running.push(rotating) }
    }
    let started = Instant::now();
    loop {
        let workers_alive = registering.iter().all(|handle| !handle.is_finished())
            && granting.iter().all(|handle| !handle.is_finished())
            && parked.iter().chain(&running).all(|handle| !handle.is_finished());
        if !workers_alive {
            // Joined below, which shows why it stopped.
            break;
        }
        if started.elapsed() >= LOAD_BEFORE_KILL && tally.all_progressed() {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "no progress under load: {}", tally.describe());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    park.store(true, Ordering::SeqCst);
    let mut outcome = Vec::new();
    for handle in parked {
        outcome.push(join(handle, "a parked family").await);
    }
    // Checked once all are joined, so that a worker's own failure shows first.
    let stopped_early = [
        ("a registration worker", registering.iter().any(JoinHandle::is_finished)),
        ("a grant worker", granting.iter().any(JoinHandle::is_finished)),
        ("a running family", running.iter().any(JoinHandle::is_finished)),
    ];

    server.kill();
    println!("killed (SIGKILL) under load after {:?}: {}", started.elapsed(), tally.describe());

    let mut registered = Vec::new();
    let mut registrations_in_doubt = 0;
    for handle in registering {
        let (acknowledged, end) = join(handle, "a registration worker").await;
        registered.extend(acknowledged);
        registrations_in_doubt += usize::from(end.in_doubt());
    }
    let mut last_access_token = None;
    let mut grants_in_doubt = 0;
    for handle in granting {
        let (last, end) = join(handle, "a grant worker").await;
        last_access_token = last_access_token.or(last);
        grants_in_doubt += usize::from(end.in_doubt());
    }
    for handle in running {
        outcome.push(join(handle, "a running family").await);
    }
    for (what, stopped) in stopped_early {
        assert!(!stopped, "{what} stopped before the kill");
    }
    let rotations: usize = outcome.iter().map(|family| family.rotations).sum();
    let in_doubt: Vec<&Family> = outcome.iter().filter(|family| family.end.in_doubt()).collect();
    println!(
        "acknowledged before the kill: {} registrations, {} client_credentials grants, {rotations} rotations \
         in {families} families",
        registered.len(),
        tally.grants.load(Ordering::SeqCst),
    );
    println!(
        "in flight at the kill: {registrations_in_doubt} registrations and {grants_in_doubt} grants in doubt; \
         {} of {families} families in doubt (excluded from exactly-once)",
        in_doubt.len()
    );
    for family in &outcome {
        println!("  family {}: {} rotations, {}", family.index, family.rotations, family.end);
    }
    assert!(!registered.is_empty(), "no registration was acknowledged before the kill");
    assert!(rotations > 0, "no rotation was acknowledged before the kill");
    let last_access_token = last_access_token.expect("no client_credentials grant before the kill");
    assert!(in_doubt.len() <= RUNNING_FAMILIES, "parked families had nothing in flight");

    let db = data_db(setup.dir.path());
    assert_eq!(integrity_check(&db).await, ["ok"], "the database as the kill left it");

    // Restart on the same data directory, with the same issuer.
    let server = setup.serve(&["--issuer", &issuer]);
    let http = reqwest::Client::new();
    let token_url = server.local("/token");

    // Every acknowledged registration exists, and its secret works.
    let failures: Vec<String> = futures::stream::iter(&registered)
        .map(|client| {
            let (http, token_url) = (&http, &token_url);
            async move {
                match post_form(http, token_url, client, &[("grant_type", "client_credentials")]).await {
                    Ok(response) if response.status() == StatusCode::OK => None,
                    Ok(response) => Some(format!("{}: {}", client.id, response.status())),
                    Err(err) => Some(format!("{}: {err}", client.id)),
                }
            }
        })
        .buffer_unordered(4)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {} acknowledged registrations do not work after the restart: {failures:?}",
        failures.len(),
        registered.len()
    );

    // An access token issued before the kill still validates (the signing keys survived).
    let introspected: Value =
        post_form(&http, &server.local("/introspect"), &setup.machine, &[("token", &last_access_token)])
            .await
            .expect("introspection")
            .json()
            .await
            .expect("json");
    assert_eq!(introspected["active"], true, "{introspected}");

    // The last refresh token each family received works exactly once.
    for family in &outcome {
        let form = [("grant_type", "refresh_token"), ("refresh_token", family.token.as_str())];
        let first = post_form(&http, &token_url, &setup.web, &form).await.expect("refresh request");
        if family.end.in_doubt() {
            // Its last rotation may have committed: then this is a replay, refused.
            let status = first.status();
            assert!(
                [StatusCode::OK, StatusCode::BAD_REQUEST].contains(&status),
                "family {} (in doubt): {status}",
                family.index
            );
            println!(
                "  family {} (in doubt): its last token {} after the restart",
                family.index,
                if status == StatusCode::OK {
                    "still rotated (the request in flight had not committed)"
                } else {
                    "was a replay (the request in flight had committed)"
                }
            );
            continue;
        }
        assert_eq!(
            first.status(),
            StatusCode::OK,
            "family {}: its last acknowledged token after {} rotations was lost",
            family.index,
            family.rotations
        );
        let body: Value = first.json().await.expect("json");
        let successor = body["refresh_token"].as_str().expect("a successor");
        assert_ne!(successor, family.token);
        let replay = post_form(&http, &token_url, &setup.web, &form).await.expect("refresh request");
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST, "family {}: used twice", family.index);
        assert_eq!(error_of(replay).await, "invalid_grant");
    }

    assert_eq!(integrity_check(&db).await, ["ok"], "the database after the restart and the checks");
    drop(server);
}

/// Reads from `stream` until `complete` says the bytes so far are enough, or
/// the peer closes; fails after [`PATIENCE`].
async fn read_until(stream: &mut TcpStream, buffer: &mut Vec<u8>, complete: impl Fn(&[u8]) -> bool) {
    let reading = async {
        let mut chunk = [0_u8; 4096];
        while !complete(buffer) {
            let read = stream.read(&mut chunk).await.expect("read from the server");
            if read == 0 {
                break;
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
    };
    tokio::time::timeout(PATIENCE, reading).await.expect("the server answers");
}

fn header_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|window| window == b"\r\n\r\n").map(|at| at + 4)
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests() {
    let setup = Setup::new();
    let mut server = setup.serve(&[]);
    let address = server.local_url.strip_prefix("http://").expect("plain HTTP").to_owned();
    let authorization = reqwest::Client::new()
        .post(server.local("/token"))
        .basic_auth(&setup.machine.id, Some(&setup.machine.secret))
        .build()
        .expect("request")
        .headers()["authorization"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let body = "grant_type=client_credentials&scope=contact.read";
    let (first_part, rest) = body.split_at(body.len() / 2);

    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: {address}\r\nAuthorization: {authorization}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send the headers");
    // The interim answer comes once the handler starts reading the body: the
    // request is in flight for certain, not merely queued in the kernel.
    let mut interim = Vec::new();
    read_until(&mut stream, &mut interim, |bytes| header_end(bytes).is_some()).await;
    let interim = String::from_utf8_lossy(&interim).into_owned();
    assert!(interim.starts_with("HTTP/1.1 100 "), "expected 100 Continue, got {interim:?}");
    stream.write_all(first_part.as_bytes()).await.expect("send half the body");

    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(rest.as_bytes()).await.expect("send the rest of the body after SIGTERM");

    // Read until the peer closes: a server shutting down closes the connection after the answer.
    let mut response = Vec::new();
    read_until(&mut stream, &mut response, |_| false).await;
    let end = header_end(&response)
        .unwrap_or_else(|| panic!("incomplete response: {:?}", String::from_utf8_lossy(&response)));
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let content_length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no Content-Length: {head}"));
    let answer = &response[end..];
    assert_eq!(answer.len(), content_length, "the whole body, then the connection closes: {head}");
    let answer: Value = serde_json::from_slice(answer).expect("token JSON");
    assert!(answer["access_token"].as_str().is_some_and(|token| !token.is_empty()), "{answer}");

    let deadline = Instant::now() + EXIT_PATIENCE;
    let status = loop {
        if let Some(status) = server.try_wait() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "tessera serve did not exit within {EXIT_PATIENCE:?} of answering"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "tessera serve exited with {status} after SIGTERM:\n{}", server.output());
    let refused = TcpStream::connect(&address).await;
    assert!(refused.is_err(), "{address} still accepts connections after the server exited");
}
