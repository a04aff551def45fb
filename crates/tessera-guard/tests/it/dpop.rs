//! DPoP (RFC 9449 §7) at the guard: bound tokens with a proof of possession.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_core::dpop::{access_token_hash, parse_jwk};

use crate::support::{Answer, FakeIssuer, Served, SigningKey, call, now, protected_service, signing_input};

const PUBLIC_URL: &str = "https://api.test";

struct Setup {
    key: SigningKey,
    issuer: FakeIssuer,
    service: Served,
    proof_key: SigningKey,
}

async fn setup() -> Setup {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let service = protected_service(issuer.guard_config().public_url(PUBLIC_URL)).await;
    Setup { key, issuer, service, proof_key: SigningKey::es256("proof") }
}

fn jkt(key: &SigningKey) -> String {
    parse_jwk(&key.jwk()).expect("a valid jwk").thumbprint
}

fn bound_token(setup: &Setup) -> String {
    let mut claims = setup.issuer.claims("invoices:read");
    claims["cnf"] = json!({ "jkt": jkt(&setup.proof_key) });
    setup.key.token(&claims)
}

fn proof_with(key: &SigningKey, claims: &Value) -> String {
    let header = json!({ "typ": "dpop+jwt", "alg": key.alg(), "jwk": key.jwk() });
    let input = signing_input(&header, claims);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes())))
}

fn proof_claims(method: &str, htu: &str, token: &str) -> Value {
    json!({
        "jti": URL_SAFE_NO_PAD.encode(rand_bytes()),
        "htm": method, "htu": htu, "iat": now(), "ath": access_token_hash(token),
    })
}

fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    bytes
}

async fn dpop_call(setup: &Setup, token: &str, proof: &str) -> Answer {
    let authorization = format!("DPoP {token}");
    call(
        &format!("{}/whoami", setup.service.url),
        None,
        &[("authorization", &authorization), ("dpop", proof)],
    )
    .await
}

#[track_caller]
fn assert_dpop_refusal(answer: &Answer, error: &str) {
    assert_eq!(answer.status, 401, "{}", answer.body);
    let challenge = answer.challenge();
    assert!(challenge.starts_with("DPoP algs=\"ES256 RS256 PS256\""), "{challenge}");
    assert!(challenge.contains(&format!("error=\"{error}\"")), "{challenge}");
    // RFC 9728 §5.1: the public URL has no path, so neither has the metadata's.
    assert!(
        challenge.ends_with(", resource_metadata=\"https://api.test/.well-known/oauth-protected-resource\""),
        "{challenge}"
    );
    assert_eq!(answer.json()["error"], error);
}

#[tokio::test]
async fn a_valid_proof_is_accepted_once() {
    let setup = setup().await;
    let token = bound_token(&setup);
    let proof = proof_with(&setup.proof_key, &proof_claims("GET", &format!("{PUBLIC_URL}/whoami"), &token));
    let answer = dpop_call(&setup, &token, &proof).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["client_id"], "client-1");
    // The same proof again is a replay.
    let answer = dpop_call(&setup, &token, &proof).await;
    assert_dpop_refusal(&answer, "invalid_dpop_proof");
    assert!(answer.body.contains("already used"), "{}", answer.body);
}

#[tokio::test]
async fn proofs_for_another_request_or_key_are_refused() {
    let setup = setup().await;
    let token = bound_token(&setup);
    let htu = format!("{PUBLIC_URL}/whoami");
    let wrong_htu = proof_claims("GET", &format!("{PUBLIC_URL}/invoices"), &token);
    let wrong_htm = proof_claims("POST", &htu, &token);
    let mut no_ath = proof_claims("GET", &htu, &token);
    no_ath.as_object_mut().expect("object").remove("ath");
    let other_token = proof_claims("GET", &htu, "another-token");
    for claims in [wrong_htu, wrong_htm, no_ath, other_token] {
        let answer = dpop_call(&setup, &token, &proof_with(&setup.proof_key, &claims)).await;
        assert_dpop_refusal(&answer, "invalid_dpop_proof");
    }
    // A proof signed by another key than the one the token is bound to.
    let other_key = SigningKey::es256("other");
    let answer = dpop_call(&setup, &token, &proof_with(&other_key, &proof_claims("GET", &htu, &token))).await;
    assert_dpop_refusal(&answer, "invalid_dpop_proof");
    assert!(answer.body.contains("another key"), "{}", answer.body);
    // No proof at all.
    let authorization = format!("DPoP {token}");
    let answer =
        call(&format!("{}/whoami", setup.service.url), None, &[("authorization", &authorization)]).await;
    assert_dpop_refusal(&answer, "invalid_dpop_proof");
}

#[tokio::test]
async fn an_rsa_proof_key_works_too() {
    let mut setup = setup().await;
    setup.proof_key = SigningKey::rs256("proof-rsa");
    let token = bound_token(&setup);
    let proof = proof_with(&setup.proof_key, &proof_claims("GET", &format!("{PUBLIC_URL}/whoami"), &token));
    let answer = dpop_call(&setup, &token, &proof).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn a_bound_token_as_bearer_and_an_unbound_token_as_dpop_are_refused() {
    let setup = setup().await;
    let token = bound_token(&setup);
    let answer = call(&format!("{}/whoami", setup.service.url), Some(&token), &[]).await;
    assert_dpop_refusal(&answer, "invalid_token");

    let unbound = setup.key.token(&setup.issuer.claims("invoices:read"));
    let proof = proof_with(&setup.proof_key, &proof_claims("GET", &format!("{PUBLIC_URL}/whoami"), &unbound));
    let answer = dpop_call(&setup, &unbound, &proof).await;
    assert_dpop_refusal(&answer, "invalid_token");
    // Bearer tokens still work as before.
    let answer = call(&format!("{}/whoami", setup.service.url), Some(&unbound), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn a_public_url_with_a_path_is_not_repeated_in_htu() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let service = protected_service(issuer.guard_config().public_url("https://api.test/v1")).await;
    let setup = Setup { key, issuer, service, proof_key: SigningKey::es256("proof") };
    let token = bound_token(&setup);
    // Requests arrive at `/whoami`: the proof names the origin plus that path.
    let doubled = proof_claims("GET", "https://api.test/v1/whoami", &token);
    let answer = dpop_call(&setup, &token, &proof_with(&setup.proof_key, &doubled)).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    // RFC 9728 §3.1: the metadata path carries the resource's path after the well-known part.
    let challenge = answer.challenge();
    assert!(
        challenge.ends_with("resource_metadata=\"https://api.test/.well-known/oauth-protected-resource/v1\""),
        "{challenge}"
    );
    let proof = proof_claims("GET", "https://api.test/whoami", &token);
    let answer = dpop_call(&setup, &token, &proof_with(&setup.proof_key, &proof)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}
