//! The outbound fetcher (`tessera_server::fetch`): what the defaults refuse,
//! and what a fetch that may reach a local server still refuses. Only
//! loopback is ever connected to: refusals of other addresses are shown on
//! the checks that run before any connection.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tessera_server::fetch::{FetchError, Fetcher, OutboundSettings, check_url, filter_addresses};

use crate::document_server::{Answer, DocumentServer};

/// What tests need to reach the local document server, and nothing more.
fn local() -> OutboundSettings {
    OutboundSettings { allow_http: true, allow_private_addresses: true, ..OutboundSettings::default() }
}

async fn fetch(settings: &OutboundSettings, url: &str) -> Result<serde_json::Value, FetchError> {
    Fetcher::new(settings).fetch_json(url, u64::MAX).await.map(|document| document.json)
}

#[tokio::test]
async fn a_json_document_is_fetched_with_its_cache_lifetime() {
    let server = DocumentServer::start().await;
    server.serve("/doc", Answer::json_with_cache_control(&json!({"a": 1}), "public, max-age=3600"));
    let fetched = Fetcher::new(&local()).fetch_json(&server.url("/doc"), 1024).await.expect("fetched");
    assert_eq!(fetched.json, json!({"a": 1}));
    assert_eq!(fetched.cache_lifetime(), Duration::from_secs(3600));
    server.serve("/jwks", Answer::typed("application/jwk-set+json; charset=utf-8", r#"{"keys":[]}"#));
    assert_eq!(fetch(&local(), &server.url("/jwks")).await, Ok(json!({"keys": []})));
}

#[tokio::test]
async fn the_defaults_refuse_http() {
    let server = DocumentServer::start().await;
    server.serve_json("/doc", &json!({}));
    let refused = fetch(&OutboundSettings::default(), &server.url("/doc")).await;
    assert_eq!(refused, Err(FetchError::NotHttps));
    assert_eq!(refused.expect_err("refused").to_string(), "only https URLs are fetched");
    assert_eq!(server.hits("/doc"), 0);
}

#[tokio::test]
async fn the_defaults_refuse_loopback_by_address_and_by_name() {
    let server = DocumentServer::start().await;
    server.serve_json("/doc", &json!({}));
    let port = server.url("").rsplit(':').next().expect("port").to_owned();
    // http allowed, private addresses not: the address is what is refused.
    let http_only = OutboundSettings { allow_http: true, ..OutboundSettings::default() };
    let by_address = fetch(&http_only, &server.url("/doc")).await.expect_err("loopback refused");
    assert_eq!(by_address, FetchError::AddressRefused("127.0.0.1".into()));
    assert_eq!(
        by_address.to_string(),
        "127.0.0.1 is not a public address; documents are fetched from public addresses only"
    );
    // A name is resolved, and every loopback address it has is dropped.
    let by_name = fetch(&http_only, &format!("http://localhost:{port}/doc")).await.expect_err("refused");
    assert_eq!(by_name, FetchError::NoPublicAddress("localhost".into()));
    assert_eq!(
        by_name.to_string(),
        "localhost resolves to no public address; documents are fetched from public addresses only"
    );
    assert_eq!(
        fetch(&OutboundSettings::default(), &format!("https://[::1]:{port}/doc")).await,
        Err(FetchError::AddressRefused("::1".into()))
    );
    assert_eq!(server.hits("/doc"), 0, "nothing reached the server");
    // The same fetch with private addresses allowed does reach it.
    assert_eq!(fetch(&local(), &format!("http://localhost:{port}/doc")).await, Ok(json!({})));
}

#[test]
fn the_defaults_refuse_the_cloud_metadata_address_and_private_networks() {
    let defaults = OutboundSettings::default();
    for (url, host) in [
        ("https://169.254.169.254/latest/meta-data/iam/", "169.254.169.254"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
        ("https://10.0.0.5/jwks.json", "10.0.0.5"),
        ("https://10.255.255.255/", "10.255.255.255"),
        ("https://172.20.1.1/", "172.20.1.1"),
        ("https://192.168.0.10/", "192.168.0.10"),
        ("https://100.100.100.200/", "100.100.100.200"),
        ("https://[::ffff:10.0.0.5]/", "::ffff:10.0.0.5"),
    ] {
        let refused = check_url(url, &defaults).expect_err(url);
        assert_eq!(refused, FetchError::AddressRefused(host.into()), "{url}");
        assert!(refused.to_string().ends_with("documents are fetched from public addresses only"));
    }
    // Names resolving there keep no address, so no connection is attempted;
    // link-local stays refused even with private addresses allowed.
    let resolved: Vec<SocketAddr> =
        ["169.254.169.254:443", "10.0.0.5:443"].iter().map(|a| a.parse().expect("address")).collect();
    assert!(filter_addresses(resolved.clone(), false).is_empty());
    assert_eq!(
        filter_addresses(resolved, true),
        vec!["10.0.0.5:443".parse::<SocketAddr>().expect("address")]
    );
    let open = local();
    assert!(check_url("http://169.254.169.254/latest/meta-data/", &open).is_err());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = DocumentServer::start().await;
    server.serve("/moved", Answer::redirect(&server.url("/doc")));
    server.serve_json("/doc", &json!({}));
    let refused = fetch(&local(), &server.url("/moved")).await.expect_err("a redirect");
    assert_eq!(refused, FetchError::Redirect(302));
    assert_eq!(refused.to_string(), "the answer was a redirect (HTTP 302); redirects are not followed");
    assert_eq!(server.hits("/doc"), 0, "the target was never fetched");
}

#[tokio::test]
async fn an_oversized_body_is_refused_while_it_is_read() {
    let server = DocumentServer::start().await;
    let settings = OutboundSettings { max_document_size: 4096, ..local() };
    // With a Content-Length over the limit: refused before the body is read.
    let big = json!({"padding": "x".repeat(5000)});
    server.serve_json("/big", &big);
    let refused = fetch(&settings, &server.url("/big")).await.expect_err("too large");
    assert_eq!(refused, FetchError::TooLarge(4096));
    assert_eq!(refused.to_string(), "the document is larger than 4096 bytes");
    // Without a length and never ending: the count while reading stops it,
    // long before the timeout would.
    server.serve("/endless", Answer::Endless);
    let started = std::time::Instant::now();
    assert_eq!(fetch(&settings, &server.url("/endless")).await, Err(FetchError::TooLarge(4096)));
    assert!(started.elapsed() < Duration::from_secs(4), "stopped by the size, not the timeout");
    // The caller's smaller limit applies too.
    server.serve_json("/small", &json!({"padding": "x".repeat(2000)}));
    let fetcher = Fetcher::new(&settings);
    assert_eq!(
        fetcher.fetch_json(&server.url("/small"), 1024).await.map(|_| ()),
        Err(FetchError::TooLarge(1024))
    );
    assert!(fetcher.fetch_json(&server.url("/small"), 4096).await.is_ok());
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = DocumentServer::start().await;
    server.serve("/slow", Answer::Slow(Duration::from_secs(3), Box::new(Answer::json(&json!({})))));
    let settings = OutboundSettings { timeout: Duration::from_millis(300), ..local() };
    let started = std::time::Instant::now();
    let refused = fetch(&settings, &server.url("/slow")).await.expect_err("timed out");
    assert_eq!(refused, FetchError::Timeout(Duration::from_millis(300)));
    assert_eq!(refused.to_string(), "no complete answer within 300ms");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn only_json_content_types_and_200_answers_are_accepted() {
    let server = DocumentServer::start().await;
    server.serve("/html", Answer::typed("text/html", r#"{"keys": []}"#));
    server.serve("/untyped-ish", Answer::typed("text/plain", "{}"));
    server.serve("/broken", Answer::typed("application/json", "{\"secret-looking\": "));
    server.serve("/gone", Answer::status(404));
    let html = fetch(&local(), &server.url("/html")).await.expect_err("html");
    assert_eq!(html, FetchError::NotJsonType("`text/html`".into()));
    assert_eq!(html.to_string(), "the answer's Content-Type `text/html` is not JSON");
    assert_eq!(
        fetch(&local(), &server.url("/untyped-ish")).await,
        Err(FetchError::NotJsonType("`text/plain`".into()))
    );
    let broken = fetch(&local(), &server.url("/broken")).await.expect_err("invalid JSON");
    assert!(matches!(broken, FetchError::InvalidJson { .. }), "{broken:?}");
    assert!(!broken.to_string().contains("secret-looking"), "errors never quote the body: {broken}");
    assert_eq!(fetch(&local(), &server.url("/gone")).await, Err(FetchError::Status(404)));
}

#[tokio::test]
async fn a_refused_connection_says_so() {
    // A port that was just free: nothing listens there.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let refused =
        fetch(&local(), &format!("http://127.0.0.1:{port}/doc")).await.expect_err("nothing listens");
    assert!(matches!(&refused, FetchError::Connect(cause) if cause.contains("refused")), "{refused:?}");
    assert!(refused.to_string().starts_with("the connection failed: "), "{refused}");
}
