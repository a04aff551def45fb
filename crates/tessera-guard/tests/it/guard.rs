//! The guard in front of a real axum service, against a fake issuer, over HTTP.

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderName;
use serde_json::json;
use tessera_guard::{CredentialDecision, CredentialRequest, Introspection};

use crate::support::{
    AUDIENCE, FakeIssuer, INTROSPECTION_CLIENT, SigningKey, call, now, protected_service, signing_input,
};

/// An issuer with one ES256 key, and the default protected service.
async fn setup() -> (SigningKey, FakeIssuer, crate::support::Served) {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let service = protected_service(issuer.guard_config()).await;
    (key, issuer, service)
}

/// Asserts a 401 `invalid_token` whose description mentions `reason`.
#[track_caller]
fn assert_invalid_token(answer: &crate::support::Answer, reason: &str) {
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.challenge().starts_with("Bearer error=\"invalid_token\""), "{}", answer.challenge());
    assert_eq!(answer.json()["error"], "invalid_token");
    let description = answer.json()["error_description"].as_str().expect("description").to_owned();
    assert!(description.contains(reason), "`{description}` should mention `{reason}`");
}

#[tokio::test]
async fn valid_token_reaches_the_handler_with_its_claims() {
    let (key, issuer, service) = setup().await;
    let token = key.token(&issuer.claims("invoices:read profile"));
    let answer = call(&format!("{}/whoami", service.url), Some(&token), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let seen = answer.json();
    assert_eq!(seen["client_id"], "client-1");
    assert_eq!(seen["sub"], "user-1");
    assert_eq!(seen["scopes"], json!(["invoices:read", "profile"]));
    // The route with a scope requirement lets it through too.
    let answer = call(&format!("{}/invoices", service.url), Some(&token), &[]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "invoices"));
    assert_eq!(issuer.jwks_fetches(), 1, "keys are fetched once and cached");
}

#[tokio::test]
async fn rs256_tokens_and_audience_arrays_verify() {
    let es = SigningKey::es256("es");
    let rs = SigningKey::rs256("rs");
    let issuer = FakeIssuer::start(&[&es, &rs]).await;
    let service = protected_service(issuer.guard_config()).await;
    let mut claims = issuer.claims("a");
    claims["aud"] = json!(["https://other.test", AUDIENCE]);
    let answer = call(&format!("{}/whoami", service.url), Some(&rs.token(&claims)), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn scope_as_a_json_array_is_accepted() {
    // The `myp` dialect writes `scope` as an array.
    let (key, issuer, service) = setup().await;
    let mut claims = issuer.claims("");
    claims["scope"] = json!(["invoices:read", "offline_access"]);
    let answer = call(&format!("{}/invoices", service.url), Some(&key.token(&claims)), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = call(&format!("{}/whoami", service.url), Some(&key.token(&claims)), &[]).await;
    assert_eq!(answer.json()["scope"], "invoices:read offline_access");
}

/// RFC 9449 §7.2: a DPoP-bound token is not a bearer token; the guard does
/// not check DPoP proofs, so it refuses bound tokens.
#[tokio::test]
async fn a_dpop_bound_token_is_refused_as_a_bearer_token() {
    let (key, issuer, service) = setup().await;
    let mut claims = issuer.claims("invoices:read");
    claims["cnf"] = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let answer = call(&format!("{}/whoami", service.url), Some(&key.token(&claims)), &[]).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.body.contains("invalid_token"), "{}", answer.body);
}

#[tokio::test]
async fn missing_token_gets_a_bare_bearer_challenge() {
    let (_key, _issuer, service) = setup().await;
    let answer = call(&format!("{}/whoami", service.url), None, &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.challenge(), "Bearer");
    // Another scheme is not a bearer token either.
    let answer = call(&format!("{}/whoami", service.url), None, &[("authorization", "Basic dTpw")]).await;
    assert_eq!((answer.status, answer.challenge()), (401, "Bearer"));
}

#[tokio::test]
async fn realm_appears_in_every_challenge() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let service = protected_service(issuer.guard_config().realm("invoices")).await;
    let answer = call(&format!("{}/whoami", service.url), None, &[]).await;
    assert_eq!(answer.challenge(), "Bearer realm=\"invoices\"");
    let answer =
        call(&format!("{}/invoices", service.url), Some(&key.token(&issuer.claims("other"))), &[]).await;
    assert_eq!(
        answer.challenge(),
        "Bearer realm=\"invoices\", error=\"insufficient_scope\", scope=\"invoices:read\""
    );
}

#[tokio::test]
async fn expired_token_is_refused() {
    let (key, issuer, service) = setup().await;
    let mut claims = issuer.claims("a");
    // Past the 30 s default leeway.
    claims["exp"] = json!(now() - 31);
    claims["iat"] = json!(now() - 400);
    claims["nbf"] = json!(now() - 400);
    let answer = call(&format!("{}/whoami", service.url), Some(&key.token(&claims)), &[]).await;
    assert_invalid_token(&answer, "expired");
    // Within the leeway it still passes.
    claims["exp"] = json!(now() - 5);
    let answer = call(&format!("{}/whoami", service.url), Some(&key.token(&claims)), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn token_not_yet_valid_is_refused() {
    let (key, issuer, service) = setup().await;
    let mut claims = issuer.claims("a");
    claims["nbf"] = json!(now() + 120);
    let answer = call(&format!("{}/whoami", service.url), Some(&key.token(&claims)), &[]).await;
    assert_invalid_token(&answer, "not valid yet");
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let (key, issuer, service) = setup().await;
    let mut claims = issuer.claims("a");
    claims["aud"] = json!("https://other-api.test");
    let answer = call(&format!("{}/whoami", service.url), Some(&key.token(&claims)), &[]).await;
    assert_invalid_token(&answer, "aud");
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let (key, issuer, service) = setup().await;
    let mut claims = issuer.claims("a");
    claims["iss"] = json!(format!("{}/", issuer.url));
    let answer = call(&format!("{}/whoami", service.url), Some(&key.token(&claims)), &[]).await;
    assert_invalid_token(&answer, "another issuer");
}

#[tokio::test]
async fn alg_none_is_refused() {
    let (_key, issuer, service) = setup().await;
    let header = json!({"alg": "none", "typ": "at+jwt", "kid": "key-1"});
    let token = format!("{}.", signing_input(&header, &issuer.claims("a")));
    let answer = call(&format!("{}/whoami", service.url), Some(&token), &[]).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.json()["error"], "invalid_token");
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let (key, issuer, service) = setup().await;
    let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": "key-1"});
    let input = signing_input(&header, &issuer.claims("a"));
    for secret in [key.public_bytes(), key.jwk().to_string().into_bytes()] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        let answer = call(&format!("{}/whoami", service.url), Some(&token), &[]).await;
        assert_invalid_token(&answer, "algorithm");
    }
}

#[tokio::test]
async fn wrong_typ_is_refused() {
    let (key, issuer, service) = setup().await;
    let claims = issuer.claims("a");
    for typ in [Some("JWT"), Some("id_token+jwt"), None] {
        let mut header = json!({"alg": "ES256", "kid": "key-1"});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        let answer =
            call(&format!("{}/whoami", service.url), Some(&key.token_with_header(&header, &claims)), &[])
                .await;
        assert_invalid_token(&answer, "typ");
    }
    // RFC 9068 allows the full media type, in any case.
    let header = json!({"alg": "ES256", "kid": "key-1", "typ": "application/AT+JWT"});
    let answer =
        call(&format!("{}/whoami", service.url), Some(&key.token_with_header(&header, &claims)), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let (key, issuer, service) = setup().await;
    let token = key.token(&issuer.claims("a"));
    // Flip a bit of the signature.
    let (input, signature) = token.rsplit_once('.').expect("three parts");
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    bytes[10] ^= 0x01;
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes));
    let answer = call(&format!("{}/whoami", service.url), Some(&tampered), &[]).await;
    assert_invalid_token(&answer, "signature");
    // And a payload swapped under the original signature.
    let (header, _) = input.split_once('.').expect("header");
    let mut claims = issuer.claims("admin");
    claims["sub"] = json!("someone-else");
    let forged = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let answer = call(&format!("{}/whoami", service.url), Some(&forged), &[]).await;
    assert_invalid_token(&answer, "signature");
}

#[tokio::test]
async fn unknown_kid_after_rotation_refetches_once_per_interval() {
    let old = SigningKey::es256("old");
    let issuer = FakeIssuer::start(&[&old]).await;
    let interval = Duration::from_millis(1500);
    let service = protected_service(issuer.guard_config().jwks_refetch_interval(interval)).await;
    let url = format!("{}/whoami", service.url);
    let answer = call(&url, Some(&old.token(&issuer.claims("a"))), &[]).await;
    assert_eq!((answer.status, issuer.jwks_fetches()), (200, 1));

    // The issuer rotates; once the interval has passed, a token with the new
    // kid makes the guard refetch, and concurrent requests share that fetch.
    let new = SigningKey::es256("new");
    issuer.publish(&[&new]);
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let token = new.token(&issuer.claims("a"));
    let calls = (0..8).map(|_| {
        let (url, token) = (url.clone(), token.clone());
        async move { call(&url, Some(&token), &[]).await }
    });
    for answer in futures_join_all(calls).await {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(issuer.jwks_fetches(), 2, "one refetch for all concurrent requests");

    // A second unknown kid within the interval does not trigger another fetch.
    let newer = SigningKey::es256("newer");
    issuer.publish(&[&new, &newer]);
    let answer = call(&url, Some(&newer.token(&issuer.claims("a"))), &[]).await;
    assert_invalid_token(&answer, "unknown key");
    assert_eq!(issuer.jwks_fetches(), 2, "no fetch within the refetch interval");

    // After the interval it is fetched, and the withdrawn key no longer verifies.
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let answer = call(&url, Some(&newer.token(&issuer.claims("a"))), &[]).await;
    assert_eq!((answer.status, issuer.jwks_fetches()), (200, 3));
    let answer = call(&url, Some(&old.token(&issuer.claims("b"))), &[]).await;
    assert_invalid_token(&answer, "unknown key");
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("task finished"));
    }
    outputs
}

#[tokio::test]
async fn missing_scope_gets_insufficient_scope() {
    let (key, issuer, service) = setup().await;
    let token = key.token(&issuer.claims("profile invoices:write"));
    let answer = call(&format!("{}/invoices", service.url), Some(&token), &[]).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.challenge(), "Bearer error=\"insufficient_scope\", scope=\"invoices:read\"");
    assert_eq!(answer.json()["error"], "insufficient_scope");
}

#[tokio::test]
async fn revoked_token_is_refused_when_revocation_checking_is_on() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let (id, secret) = INTROSPECTION_CLIENT;
    let introspection = Introspection::new(format!("{}/introspect", issuer.url), id, secret)
        .cache_ttl(Duration::from_secs(60));
    let service = protected_service(issuer.guard_config().revocation_check(introspection)).await;
    let url = format!("{}/whoami", service.url);
    let live = key.token(&issuer.claims("a"));
    let revoked = key.token(&issuer.claims("b"));
    issuer.revoke(&revoked);

    let answer = call(&url, Some(&live), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = call(&url, Some(&revoked), &[]).await;
    assert_invalid_token(&answer, "revoked");
    // A positive answer is cached; a negative one never is.
    let _ = call(&url, Some(&live), &[]).await;
    let _ = call(&url, Some(&revoked), &[]).await;
    assert_eq!(issuer.introspections(), 3);
}

#[tokio::test]
async fn api_key_header_must_name_the_client() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let config = issuer.guard_config().api_key_header(HeaderName::from_static("x-myobapi-key"));
    let service = protected_service(config).await;
    let url = format!("{}/whoami", service.url);
    let token = key.token(&issuer.claims("a"));

    let answer = call(&url, Some(&token), &[("x-myobapi-key", "client-1")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = call(&url, Some(&token), &[("x-myobapi-key", "client-2")]).await;
    assert_invalid_token(&answer, "x-myobapi-key header does not name the token's client");
    let answer = call(&url, Some(&token), &[]).await;
    assert_invalid_token(&answer, "x-myobapi-key");
}

#[tokio::test]
async fn cftoken_callback_allows_and_denies() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let config = issuer.guard_config().resource_credentials(
        HeaderName::from_static("x-myobapi-cftoken"),
        |request: CredentialRequest| async move {
            match request.credentials {
                Some(credentials)
                    if credentials.username == "Administrator"
                        && credentials.password() == "s3cret"
                        && request.token.client_id() == "client-1"
                        && request.uri.path() == "/whoami" =>
                {
                    CredentialDecision::Allow
                }
                Some(_) => CredentialDecision::Deny("the company file credentials are wrong".into()),
                None => CredentialDecision::Deny("this company file needs x-myobapi-cftoken".into()),
            }
        },
    );
    let service = protected_service(config).await;
    let url = format!("{}/whoami", service.url);
    let token = key.token(&issuer.claims("a"));
    let cftoken = |text: &str| STANDARD.encode(text);

    let answer = call(&url, Some(&token), &[("x-myobapi-cftoken", &cftoken("Administrator:s3cret"))]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = call(&url, Some(&token), &[("x-myobapi-cftoken", &cftoken("Administrator:wrong"))]).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.json(),
        json!({"error": "access_denied", "error_description": "the company file credentials are wrong"})
    );
    let answer = call(&url, Some(&token), &[]).await;
    assert_eq!(
        (answer.status, answer.json()["error_description"].as_str()),
        (403, Some("this company file needs x-myobapi-cftoken"))
    );
    let answer = call(&url, Some(&token), &[("x-myobapi-cftoken", "%%%")]).await;
    assert_eq!((answer.status, answer.json()["error"].as_str()), (400, Some("invalid_request")));
    // Without a valid token the callback is never asked.
    let answer = call(&url, None, &[("x-myobapi-cftoken", &cftoken("Administrator:s3cret"))]).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn header_alg_must_be_the_keys_algorithm() {
    // An RS256 token naming the kid of an ES256 key is refused before any
    // signature check, even though RS256 is on the allow-list.
    let es = SigningKey::es256("es");
    let rs = SigningKey::rs256("rs");
    let issuer = FakeIssuer::start(&[&es]).await;
    let service = protected_service(issuer.guard_config()).await;
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": "es"});
    let token = rs.token_with_header(&header, &issuer.claims("a"));
    let answer = call(&format!("{}/whoami", service.url), Some(&token), &[]).await;
    assert_invalid_token(&answer, "does not match its key");
}

#[tokio::test]
async fn unreachable_issuer_fails_closed_with_503() {
    let key = SigningKey::es256("key-1");
    let issuer = FakeIssuer::start(&[&key]).await;
    let token = key.token(&issuer.claims("a"));
    // Nothing listens on a port that was just released.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let config = issuer.guard_config().jwks_uri(format!("{dead}/jwks.json"));
    let service = protected_service(config).await;
    let answer = call(&format!("{}/whoami", service.url), Some(&token), &[]).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
}
