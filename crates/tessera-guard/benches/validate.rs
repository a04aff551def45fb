//! Validation of a valid ES256 access token with the key already cached: the
//! guard's hot path. Two cases: a token seen for the first time (the full
//! signature check) and a token seen before (the verified-token cache), plus
//! the bare aws-lc-rs signature check that bounds the first case from below.
//!
//! `cargo bench -p tessera-guard -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, ParsedPublicKey,
};
use axum::Json;
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tessera_guard::{Guard, GuardConfig};

struct Fixture {
    key: EcdsaKeyPair,
    issuer: String,
    now: u64,
}

impl Fixture {
    fn token(&self, jti: u64) -> String {
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "bench"});
        let claims = json!({
            "iss": self.issuer, "sub": "user-1", "aud": self.issuer, "client_id": "client-1",
            "scope": "invoices:read invoices:write profile", "iat": self.now, "nbf": self.now,
            "exp": self.now + 3600, "jti": format!("jti-{jti}"),
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(&SystemRandom::new(), input.as_bytes()).expect("signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

fn validate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key");
    let point = key.public_key().as_ref().to_vec();
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "bench", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let app = Router::new().route("/jwks.json", get(move || async move { Json::<Value>(jwks) }));
    runtime.spawn(async move { axum::serve(listener, app).await });

    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let fixture = Fixture { key, issuer: issuer.clone(), now };
    let uncached = Guard::new(
        GuardConfig::new(issuer.clone()).jwks_uri(format!("{issuer}/jwks.json")).token_cache_capacity(0),
    )
    .expect("guard");
    let cached =
        Guard::new(GuardConfig::new(issuer.clone()).jwks_uri(format!("{issuer}/jwks.json"))).expect("guard");
    runtime.block_on(uncached.refresh_keys()).expect("keys fetched");
    runtime.block_on(cached.refresh_keys()).expect("keys fetched");

    let token = fixture.token(0);
    c.bench_function("validate ES256, cached key, signature checked", |b| {
        b.iter(|| runtime.block_on(uncached.validate(black_box(&token))).expect("valid"))
    });
    c.bench_function("validate ES256, cached key, token seen before", |b| {
        b.iter(|| runtime.block_on(cached.validate(black_box(&token))).expect("valid"))
    });
    // The floor of the first case: the P-256 signature check alone.
    let (input, signature) = token.rsplit_once('.').expect("compact JWS");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).expect("public key");
    c.bench_function("aws-lc-rs ES256 verify alone", |b| {
        b.iter(|| public.verify_sig(black_box(input.as_bytes()), black_box(&signature)).expect("valid"))
    });
}

criterion_group!(benches, validate);
criterion_main!(benches);
