//! Bodies of the fuzz targets over `tessera-guard`'s access-token validation,
//! through its public API (`Guard::validate`, `Guard::authorize`) against a
//! fixed JWKS served from a loopback socket (fetched once, never refetched).
//!
//! Shared, through `#[path]`, by the fuzz targets and by
//! `crates/tessera-guard/tests/fuzz_regressions.rs`. A body must never
//! panic; its `assert!`s are the invariants. Only `tessera-guard` and its own
//! dependencies may be used here.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::json;
use tessera_core::token::Audience;
use tessera_guard::{CredentialDecision, CredentialRequest, Guard, GuardConfig, GuardError, VerifiedToken};

/// A fuzz target's name and body.
type Target = (&'static str, fn(&[u8]));

/// The fuzz targets of this module, by name.
pub(crate) const TARGETS: &[Target] =
    &[("guard_jwt", guard_jwt), ("guard_jwt_signed", guard_jwt_signed), ("guard_headers", guard_headers)];

pub(crate) const ISSUER: &str = "https://auth.example.com";
pub(crate) const AUDIENCES: [&str; 2] = ["https://api.example.com", "urn:example:billing"];
pub(crate) const EC_KID: &str = "ec-1";
const RSA_KID: &str = "rsa-1";
const LEEWAY_SECS: u64 = 30;
const API_KEY_HEADER: &str = "x-api-key";
const CREDENTIALS_HEADER: &str = "x-cftoken";

/// A P-256 key made for these tests only (PKCS#8, base64): it signs the
/// structure-aware target's tokens and the committed seed tokens. Not a secret.
const EC_TEST_KEY_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgI5ewVwh6teP9bCJYj+yrvPYz9kEHukbr2MSXWBHj39ShRANCAAS7Kih3fqmyVoYLcun5js4gJEE5cdTbXPord1lOmwpiZLFzgrftFebI6CaKb4ZRSE95wfHt4Vl4Ns9q1IQ1HBrd";
/// The public half of an RSA-2048 test key, so RS256 verification is reachable.
const RSA_TEST_N: &str = "osyINBTGwzm1aOKOE60SP8y2FpbRjUdQhH_ft3ErRbTwKiSGm3To8GCsXk_cJIBCercjEZLNa3uuK70ut4E1Sp-dnj0Okhsfh087HWLihlKEyXBGOev603NpApngOHIZ_6eNZbGKkr4ZPqY9sdGzXiBPJZMXOS3JZo8kW9hsvAEq0q2mJQ7bhUCQkXbNQfN0uidv3ZutF_f5ZbaxFCw3K_1zhnO5pra7GUCuDEaT_CnTHLno1_JS_kCccUUzWV7ltXVk1gspoVPTrCBiLx_vRcLBSWDrNRZDAKYSqeWLkQL5jBGW4a2OHpzMbH_V6tQaR-sFqLQZDjez0kLw8zcuSw";

struct Harness {
    runtime: tokio::runtime::Runtime,
    /// Checks every signature (no verified-token cache).
    uncached: Guard,
    /// The default cache, to compare a remembered answer with a fresh one.
    cached: Guard,
    /// With the API-key and per-resource credential checks.
    with_headers: Guard,
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let der = STANDARD.decode(EC_TEST_KEY_PKCS8).expect("test key base64");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).expect("test key");
        let point = key.public_key().as_ref();
        let jwks = json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": EC_KID, "alg": "ES256", "use": "sig",
             "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])},
            {"kty": "RSA", "kid": RSA_KID, "alg": "RS256", "use": "sig", "n": RSA_TEST_N, "e": "AQAB"},
        ]});
        let jwks_uri = format!("http://127.0.0.1:{}/jwks.json", serve_forever(jwks.to_string()));
        let year = Duration::from_secs(365 * 86_400);
        let config = || {
            GuardConfig::new(ISSUER)
                .jwks_uri(jwks_uri.clone())
                .audience(AUDIENCES[0])
                .audience(AUDIENCES[1])
                .leeway(Duration::from_secs(LEEWAY_SECS))
                // Never refetch: an unknown `kid` must not reach the network.
                .jwks_refetch_interval(year)
                .jwks_max_age(year)
        };
        let with_headers =
            config().api_key_header(HeaderName::from_static(API_KEY_HEADER)).resource_credentials(
                HeaderName::from_static(CREDENTIALS_HEADER),
                |request: CredentialRequest| {
                    let allowed = request.credentials.is_some_and(|credentials| {
                        credentials.username == "admin" && credentials.password() == "pw"
                    });
                    async move {
                        match allowed {
                            true => CredentialDecision::Allow,
                            false => CredentialDecision::Deny("unknown company file user".into()),
                        }
                    }
                },
            );
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let guard = |config: GuardConfig| {
            let guard = Guard::new(config).expect("guard configuration");
            runtime.block_on(guard.refresh_keys()).expect("the fixed JWKS is served");
            guard
        };
        Harness {
            uncached: guard(config().token_cache_capacity(0)),
            cached: guard(config()),
            with_headers: guard(with_headers),
            runtime,
            key,
            rng: SystemRandom::new(),
        }
    })
}

/// Answers every HTTP request on a loopback port with `body`, for the life of
/// the process; returns the port.
fn serve_forever(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => request.extend_from_slice(&buffer[..read]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

/// A compact JWS of the given header and claims texts, signed with the test key.
pub(crate) fn sign(header: &[u8], claims: &[u8]) -> String {
    let harness = harness();
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = harness.key.sign(&harness.rng, input.as_bytes()).expect("ECDSA signing");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// What the guard promises about a token it accepted (RFC 9068, its docs).
fn assert_acceptable(token: &str, verified: &VerifiedToken) {
    assert_eq!(token.split('.').count(), 3, "a compact JWS");
    let claims = &verified.claims;
    assert_eq!(claims.iss, ISSUER);
    let names_us = |aud: &String| AUDIENCES.contains(&aud.as_str());
    match &claims.aud {
        Audience::One(one) => assert!(names_us(one), "aud {one:?}"),
        Audience::Many(many) => assert!(many.iter().any(names_us), "aud {many:?}"),
    }
    let now = now();
    assert!(now < claims.exp.saturating_add(LEEWAY_SECS), "expired: exp {}", claims.exp);
    assert!(claims.nbf <= now.saturating_add(LEEWAY_SECS), "not yet valid: nbf {}", claims.nbf);
    let split: Vec<&str> = claims.scope.split(' ').filter(|scope| !scope.is_empty()).collect();
    assert_eq!(verified.scopes, split);
    assert_eq!(claims.scope, verified.scopes.join(" "));
    let header = token.split('.').next().unwrap_or_default();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("header base64url"))
            .expect("header JSON");
    let typ = header["typ"].as_str().expect("typ is a string").to_ascii_lowercase();
    assert!(typ == "at+jwt" || typ == "application/at+jwt", "typ {typ:?}");
    assert!(matches!(header["alg"].as_str(), Some("ES256" | "RS256")), "alg {}", header["alg"]);
    assert!(header.get("crit").is_none());
}

fn validate(guard: &Guard, token: &str) -> Result<VerifiedToken, GuardError> {
    harness().runtime.block_on(guard.validate(token))
}

/// The RFC 6750 answer to a refusal is well formed.
fn assert_rejection(guard: &Guard, error: &GuardError) {
    let response = guard.rejection(error);
    let status = response.status();
    assert!(status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE, "{status} for {error}");
    if status == StatusCode::UNAUTHORIZED {
        assert!(response.headers().contains_key(http::header::WWW_AUTHENTICATE), "{error}");
    }
}

/// 8. Any text as the bearer token, with and without the verified-token cache.
pub(crate) fn guard_jwt(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let harness = harness();
    let fresh = validate(&harness.uncached, token);
    match &fresh {
        Ok(verified) => assert_acceptable(token, verified),
        Err(error) => assert_rejection(&harness.uncached, error),
    }
    let first = validate(&harness.cached, token);
    let remembered = validate(&harness.cached, token);
    if let (Ok(fresh), Ok(first), Ok(remembered)) = (&fresh, &first, &remembered) {
        assert_eq!(fresh, first);
        assert_eq!(first, remembered, "a remembered token reads the same");
    }
    if fresh.is_err() {
        assert!(first.is_err() && remembered.is_err(), "the cache never accepts what a check refuses");
    }
}

/// 9. Structure-aware: the first line is the JOSE header JSON, the rest the
///    claims JSON; both are signed with the test key, so the checks after the
///    signature (`typ`, `alg`, `kid`, claims) are what is fuzzed. A token the
///    guard accepts must stop verifying once its signature is altered.
pub(crate) fn guard_jwt_signed(data: &[u8]) {
    let (header, claims) = match data.iter().position(|&byte| byte == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[][..]),
    };
    let token = sign(header, claims);
    let harness = harness();
    match validate(&harness.uncached, &token) {
        Ok(verified) => {
            assert_acceptable(&token, &verified);
            let header: serde_json::Value = serde_json::from_slice(header).expect("accepted header parses");
            assert_eq!(header["kid"], EC_KID, "only the signing key's kid verifies");
            assert_eq!(header["alg"], "ES256");
            let (input, signature) = token.rsplit_once('.').expect("compact JWS");
            let mut altered = URL_SAFE_NO_PAD.decode(signature).expect("our signature");
            altered[7] ^= 0x20;
            let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(altered));
            assert!(validate(&harness.uncached, &forged).is_err(), "an altered signature verifies");
        }
        Err(error) => assert_rejection(&harness.uncached, &error),
    }
}

/// 10. A request's headers through `Guard::authorize`: line 1 is the
///     `Authorization` value, line 2 the API-key header, line 3 the per-resource
///     credential header (an empty line leaves a header out; `\x1f` separates
///     repeated values of one header).
pub(crate) fn guard_headers(data: &[u8]) {
    let mut lines = data.split(|&byte| byte == b'\n');
    let mut request = http::Request::builder().uri("/invoices");
    let names = [http::header::AUTHORIZATION.as_str(), API_KEY_HEADER, CREDENTIALS_HEADER];
    let mut sent: [Vec<Vec<u8>>; 3] = Default::default();
    for (index, name) in names.into_iter().enumerate() {
        let Some(line) = lines.next() else { break };
        for value in line.split(|&byte| byte == 0x1f).filter(|value| !value.is_empty()) {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                sent[index].push(value.as_bytes().to_vec());
                request = request.header(name, value);
            }
        }
    }
    let Ok(request) = request.body(()) else { return };
    let (parts, ()) = request.into_parts();
    let harness = harness();
    match harness.runtime.block_on(harness.with_headers.authorize(&parts)) {
        Ok(verified) => {
            let [authorization, api_key, credentials] = &sent;
            assert_eq!(authorization.len(), 1, "exactly one Authorization header");
            let token = std::str::from_utf8(&authorization[0]).expect("an accepted header is text");
            let token = token.split_once(' ').map(|(_, token)| token.trim_matches(' ')).unwrap_or_default();
            assert_acceptable(token, &verified);
            assert_eq!(
                api_key.as_slice(),
                [verified.claims.client_id.as_bytes()],
                "the API key names the client"
            );
            assert_eq!(credentials.len(), 1, "the credential callback allowed only admin:pw");
        }
        Err(error) => assert_rejection(&harness.with_headers, &error),
    }
}
