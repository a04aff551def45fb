//! Bodies of the fuzz targets over what `tessera-server` parses itself: the
//! vendor dialects' request bodies (YourMembership's JSON, answered in JSON or
//! CSV) and the form endpoints (`/token`, `/introspect`, `/revoke`, MYOB's
//! token endpoint). The dialect parsers are private, so requests go through the
//! public router (`routes::app`) of an in-process server with a SQLite store
//! in a temporary directory, holding a confidential client `app` (secret
//! `secret`) and a public client `spa`.
//!
//! Shared, through `#[path]`, by the fuzz targets and by
//! `crates/tessera-server/tests/fuzz_regressions.rs`. A body must never
//! panic; its `assert!`s are the invariants. Only `tessera-server` and its
//! own (dev-)dependencies may be used here.

#![allow(dead_code)]

use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, Uri, header};
use tessera_core::registration::{ClientRegistration, register_client};
use tessera_core::scope::ScopeSet;
use tessera_server::dialects::{Dialect, Dialects};
use tessera_server::{Config, Server, open_store, registry, routes, unix_now};
use tower::ServiceExt;

/// A fuzz target's name and body.
type Target = (&'static str, fn(&[u8]));

/// The fuzz targets of this module, by name.
pub(crate) const TARGETS: &[Target] =
    &[("dialect_yourmembership", dialect_yourmembership), ("server_forms", server_forms)];

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    /// Kept for the life of the process (the store lives in it).
    data_dir: tempfile::TempDir,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// Removes the server's data directory once the last request is answered: a
/// static is never dropped, so the regression test calls this itself (the fuzz
/// targets run with `TMPDIR` set to a scratch directory that `run.sh` removes).
pub(crate) fn remove_data_dir() {
    if let Some(harness) = HARNESS.get() {
        let _ = std::fs::remove_dir_all(harness.data_dir.path());
    }
}

fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let mut config = Config::for_test(data_dir.path());
        config.dialects = Dialects::new([Dialect::Myob, Dialect::YourMembership]);
        let router = runtime.block_on(async {
            let store = open_store(&config).await.expect("store opens");
            let now = unix_now();
            for scope in ["read", "write"] {
                registry::create_scope(store.as_ref(), scope, "Fuzzing", now).await.expect("scope");
            }
            // `openid` and `offline_access` come with the store.
            let known = ScopeSet::parse("openid offline_access read write").expect("scopes");
            for (client_id, public) in [("app", false), ("spa", true)] {
                let registration = ClientRegistration {
                    name: client_id.into(),
                    redirect_uris: vec!["https://app.example.com/cb".into()],
                    scopes: ["openid", "offline_access", "read", "write"].map(str::to_owned).to_vec(),
                    public,
                    ..ClientRegistration::default()
                };
                let client = register_client(registration, &known, client_id.into(), "secret", now)
                    .expect("fixture client");
                store.create_client(&client).await.expect("client stored");
            }
            drop(store);
            let server = Server::start(config).await.expect("server starts");
            routes::app(server.state())
        });
        Harness { runtime, router, data_dir }
    })
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

fn send(request: Request<Body>) -> Answer {
    let harness = harness();
    harness.runtime.block_on(async {
        let Ok(response) = harness.router.clone().oneshot(request).await;
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.expect("a response body is read");
        Answer { status: parts.status, headers: parts.headers, body }
    })
}

fn content_type(answer: &Answer) -> &str {
    answer.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("")
}

/// The lines of `data`: the first `n` (missing ones empty) and the rest.
fn lines<const N: usize>(data: &[u8]) -> ([&[u8]; N], &[u8]) {
    let mut heads: [&[u8]; N] = [&[]; N];
    let mut rest = data;
    for head in &mut heads {
        match rest.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                *head = &rest[..end];
                rest = &rest[end + 1..];
            }
            None => {
                *head = rest;
                rest = &[];
            }
        }
    }
    (heads, rest)
}

/// The RFC 6749 §5.2 error codes, plus the ones Tessera's other answers use.
fn is_error_code(code: &str) -> bool {
    !code.is_empty() && code.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'_')
}

/// 11. YourMembership's `POST /OAuth/GetAccessToken`: line 1 is what follows
///     the path (`.csv` and/or `?query`), line 2 the `Accept` header, the rest
///     the JSON body. The answer is in the format asked for, and is valid JSON
///     or RFC 4180 CSV with a header row and one record of the same width.
pub(crate) fn dialect_yourmembership(data: &[u8]) {
    let ([suffix, accept], body) = lines::<2>(data);
    let (csv_suffix, query) = match suffix.strip_prefix(b".csv") {
        Some(query) => (true, query),
        None => (false, suffix),
    };
    let query = query.strip_prefix(b"?").unwrap_or(query);
    let Ok(query) = std::str::from_utf8(query) else { return };
    let path = if csv_suffix { "/OAuth/GetAccessToken.csv" } else { "/OAuth/GetAccessToken" };
    let uri = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
    let Ok(uri) = uri.parse::<Uri>() else { return };
    let query = uri.query().map(str::to_owned);
    let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    let accept = HeaderValue::from_bytes(accept).ok().filter(|value| !value.is_empty());
    if let Some(accept) = &accept {
        request = request.header(header::ACCEPT, accept.clone());
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else { return };
    let answer = send(request);
    assert!(!answer.status.is_server_error(), "{} {:?}", answer.status, answer.body);
    if answer.status == StatusCode::REQUEST_TIMEOUT {
        return;
    }

    let asks_csv = {
        let accept = accept.as_ref().and_then(|value| value.to_str().ok()).unwrap_or("");
        let accepts_csv =
            accept.split(',').any(|media| media.split(';').next().is_some_and(|m| m.trim() == "text/csv"));
        let mut format = Some(csv_suffix || accepts_csv);
        for (name, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
            format = match (name.as_ref(), value.as_ref(), format) {
                (_, _, None) => None,
                ("format", "csv", _) => Some(true),
                ("format", "json", _) => Some(false),
                _ => None,
            };
        }
        // A query it cannot read is refused in JSON.
        format.unwrap_or(false)
    };
    let media = content_type(&answer);
    if asks_csv {
        assert!(media.starts_with("text/csv"), "asked for CSV, got {media:?}");
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(answer.body.as_ref());
        let records: Vec<csv::StringRecord> =
            reader.records().collect::<Result<_, _>>().expect("the answer is valid CSV");
        assert_eq!(records.len(), 2, "a header row and one record: {:?}", answer.body);
        let header_row: Vec<&str> = records[0].iter().collect();
        assert!(
            header_row == ["AccessToken", "ExpiresOnUtc", "RefreshToken"]
                || header_row == ["ErrorCode", "FieldName", "Message"],
            "{header_row:?}"
        );
        assert_eq!(records[1].len(), 3);
        if header_row[0] == "ErrorCode" {
            assert!(is_error_code(&records[1][0]), "{:?}", &records[1][0]);
            assert!(!answer.status.is_success());
        }
    } else {
        assert!(media.starts_with("application/json"), "asked for JSON, got {media:?}");
        let json: serde_json::Value = serde_json::from_slice(&answer.body).expect("the answer is valid JSON");
        match json.get("ResponseStatus") {
            Some(status) => {
                assert!(!answer.status.is_success());
                let code = status["ErrorCode"].as_str().expect("ErrorCode is a string");
                assert!(is_error_code(code), "{code:?}");
                assert!(status["Errors"].is_array());
            }
            None => {
                assert!(answer.status.is_success());
                assert!(json["AccessToken"].is_string() && json["ExpiresOnUtc"].is_string(), "{json}");
            }
        }
    }
}

/// 12. The form endpoints: line 1 is the path (`/token`, `/introspect`,
///     `/revoke` or MYOB's `/oauth2/v1/authorize`), line 2 the `Authorization`
///     header, line 3 the `Content-Type` (empty: a form), the rest the body.
///     Nothing is a server error, and every error is an RFC 6749 JSON error.
pub(crate) fn server_forms(data: &[u8]) {
    let ([path, authorization, media], body) = lines::<3>(data);
    let path = match path {
        b"/token" | b"/introspect" | b"/revoke" | b"/oauth2/v1/authorize" => {
            std::str::from_utf8(path).expect("one of the paths above")
        }
        _ => return,
    };
    let media = if media.is_empty() { &b"application/x-www-form-urlencoded"[..] } else { media };
    let Ok(media) = HeaderValue::from_bytes(media) else { return };
    let mut request = Request::post(path).header(header::CONTENT_TYPE, media);
    if !authorization.is_empty() {
        let Ok(authorization) = HeaderValue::from_bytes(authorization) else { return };
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let Ok(request) = request.body(Body::from(body.to_vec())) else { return };
    let answer = send(request);
    assert!(!answer.status.is_server_error(), "{} {:?}", answer.status, answer.body);
    if answer.body.is_empty() || answer.status == StatusCode::REQUEST_TIMEOUT {
        return;
    }
    assert!(content_type(&answer).starts_with("application/json"), "{:?}", answer.headers);
    let json: serde_json::Value = serde_json::from_slice(&answer.body).expect("the answer is valid JSON");
    if !answer.status.is_success() {
        let code = json["error"].as_str().expect("an error answer names its error");
        assert!(is_error_code(code), "{code:?}");
    }
}
