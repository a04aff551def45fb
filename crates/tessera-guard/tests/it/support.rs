//! Test doubles that talk real HTTP: a fake issuer on 127.0.0.1:0 whose keys
//! the test controls (and rotates), which counts its JWKS fetches and
//! answers introspection; a protected axum service behind the guard; and
//! helpers to sign tokens of any shape.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tessera_guard::{Guard, GuardConfig, VerifiedToken};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The audience the protected service accepts in these tests.
pub(crate) const AUDIENCE: &str = "https://api.test";
/// The introspection client of the fake issuer.
pub(crate) const INTROSPECTION_CLIENT: (&str, &str) = ("resource-server", "rs-secret");

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("debug").with_test_writer().try_init();
    }
});

pub(crate) fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// A signing key of the fake issuer.
pub(crate) enum SigningKey {
    Es256 { kid: String, pair: EcdsaKeyPair },
    Rs256 { kid: String, pair: RsaKeyPair },
}

impl SigningKey {
    pub(crate) fn es256(kid: &str) -> SigningKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
        SigningKey::Es256 { kid: kid.into(), pair }
    }

    pub(crate) fn rs256(kid: &str) -> SigningKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        SigningKey::Rs256 { kid: kid.into(), pair }
    }

    pub(crate) fn kid(&self) -> &str {
        match self {
            SigningKey::Es256 { kid, .. } | SigningKey::Rs256 { kid, .. } => kid,
        }
    }

    pub(crate) fn alg(&self) -> &'static str {
        match self {
            SigningKey::Es256 { .. } => "ES256",
            SigningKey::Rs256 { .. } => "RS256",
        }
    }

    /// The public key bytes (SEC1 point or PKCS#1 DER): what an attacker would
    /// use as an HMAC secret.
    pub(crate) fn public_bytes(&self) -> Vec<u8> {
        match self {
            SigningKey::Es256 { pair, .. } => pair.public_key().as_ref().to_vec(),
            SigningKey::Rs256 { pair, .. } => pair.public_key().as_ref().to_vec(),
        }
    }

    pub(crate) fn jwk(&self) -> Value {
        match self {
            SigningKey::Es256 { kid, pair } => {
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                })
            }
            SigningKey::Rs256 { kid, pair } => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            SigningKey::Es256 { pair, .. } => {
                pair.sign(&rng, message).expect("ES256 signature").as_ref().to_vec()
            }
            SigningKey::Rs256 { pair, .. } => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature).expect("RS256 signature");
                signature
            }
        }
    }

    /// A compact JWS with the usual access-token header.
    pub(crate) fn token(&self, claims: &Value) -> String {
        self.token_with_header(&json!({"alg": self.alg(), "typ": "at+jwt", "kid": self.kid()}), claims)
    }

    pub(crate) fn token_with_header(&self, header: &Value, claims: &Value) -> String {
        let signing_input = signing_input(header, claims);
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

pub(crate) fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// A fake issuer: discovery, JWKS (counted) and introspection.
pub(crate) struct FakeIssuer {
    pub(crate) url: String,
    state: Arc<IssuerState>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct IssuerState {
    url: String,
    keys: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    revoked: Mutex<HashSet<String>>,
    introspections: AtomicUsize,
}

impl FakeIssuer {
    /// Starts an issuer publishing `keys`.
    pub(crate) async fn start(keys: &[&SigningKey]) -> FakeIssuer {
        LazyLock::force(&TRACING);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind issuer");
        let url = format!("http://{}", listener.local_addr().expect("issuer address"));
        let state = Arc::new(IssuerState { url: url.clone(), ..IssuerState::default() });
        let app = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/jwks.json", get(jwks))
            .route("/introspect", post(introspect))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("issuer serves");
        });
        let issuer = FakeIssuer { url, state, task };
        issuer.publish(keys);
        issuer
    }

    /// Replaces the published key set (a rotation).
    pub(crate) fn publish(&self, keys: &[&SigningKey]) {
        *self.state.keys.lock().expect("keys lock") = keys.iter().map(|key| key.jwk()).collect();
    }

    pub(crate) fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    pub(crate) fn introspections(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }

    pub(crate) fn revoke(&self, token: &str) {
        self.state.revoked.lock().expect("revoked lock").insert(token.to_owned());
    }

    /// Claims of a valid token for [`AUDIENCE`], valid for five minutes.
    pub(crate) fn claims(&self, scope: &str) -> Value {
        let now = now();
        json!({
            "iss": self.url, "sub": "user-1", "aud": AUDIENCE, "client_id": "client-1",
            "scope": scope, "iat": now, "nbf": now, "exp": now + 300, "jti": format!("jti-{now}-{scope}"),
        })
    }

    /// The guard configuration the tests start from: discovery through this issuer.
    pub(crate) fn guard_config(&self) -> GuardConfig {
        GuardConfig::new(self.url.clone()).audience(AUDIENCE)
    }
}

impl Drop for FakeIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn metadata(State(state): State<Arc<IssuerState>>) -> Json<Value> {
    Json(json!({
        "issuer": state.url,
        "jwks_uri": format!("{}/jwks.json", state.url),
        "introspection_endpoint": format!("{}/introspect", state.url),
    }))
}

async fn jwks(State(state): State<Arc<IssuerState>>) -> Json<Value> {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = state.keys.lock().expect("keys lock").clone();
    Json(json!({ "keys": keys }))
}

async fn introspect(State(state): State<Arc<IssuerState>>, headers: HeaderMap, body: String) -> Json<Value> {
    state.introspections.fetch_add(1, Ordering::SeqCst);
    let (id, secret) = INTROSPECTION_CLIENT;
    let expected = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Json(json!({"active": false}));
    }
    let token = form_urlencoded::parse(body.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let revoked = state.revoked.lock().expect("revoked lock").contains(&token);
    Json(json!({"active": !revoked}))
}

/// A server on 127.0.0.1:0, stopped when dropped.
pub(crate) struct Served {
    pub(crate) url: String,
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn serve(app: Router) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address: SocketAddr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serves");
    });
    Served { url: format!("http://{address}"), task }
}

/// The protected service: `/whoami` needs any valid token and echoes what
/// the handler sees; `/invoices` also needs `invoices:read`.
pub(crate) async fn protected_service(config: GuardConfig) -> Served {
    let guard = Guard::new(config).expect("guard config is valid");
    let app = Router::new()
        .route("/invoices", get(|| async { "invoices" }))
        .route_layer(guard.require_scope(["invoices:read"]))
        .route("/whoami", get(whoami))
        .layer(guard.layer());
    serve(app).await
}

async fn whoami(Extension(token): Extension<VerifiedToken>) -> Json<Value> {
    Json(json!({
        "client_id": token.client_id(),
        "sub": token.subject(),
        "scopes": token.scopes,
        "scope": token.claims.scope,
        "jti": token.claims.jti,
    }))
}

/// What a call returned.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn challenge(&self) -> &str {
        self.headers.get("www-authenticate").map_or("", |v| v.to_str().expect("ascii challenge"))
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// GETs `url` with the token (if any) and extra headers.
pub(crate) async fn call(url: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request sent");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}
