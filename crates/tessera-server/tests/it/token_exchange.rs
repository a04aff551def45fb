//! OAuth 2.0 Token Exchange (RFC 8693): an API gateway trades a user's token
//! for one addressed to a downstream API, impersonating the user or acting
//! for them (`act`), with the RFC's errors.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_core::registration::ClientRegistration;

use crate::code_flow::{Flow, error_of, flow, tokens};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const DOWNSTREAM: &str = "https://contacts-api.example.com";
const ELSEWHERE: &str = "https://reports.example.com";

struct Client {
    id: String,
    secret: String,
}

async fn client(flow: &Flow, name: &str, grant_types: &[&str], resources: &[&str]) -> Client {
    let created = flow
        .app
        .register(ClientRegistration {
            name: name.into(),
            grant_types: grant_types.iter().map(|grant| grant.to_string()).collect(),
            scopes: vec!["contact.read".into(), "contact.write".into()],
            resources: resources.iter().map(|resource| resource.to_string()).collect(),
            ..ClientRegistration::default()
        })
        .await;
    Client { id: created.client.client_id, secret: created.client_secret.expect("secret") }
}

async fn gateway(flow: &Flow) -> Client {
    client(flow, "API gateway", &["client_credentials", GRANT], &[DOWNSTREAM, ELSEWHERE]).await
}

/// A user's access token from the code flow, with both contact scopes.
async fn user_token(flow: &Flow) -> String {
    let body = tokens(flow, &flow.app.browser(), &["contact.read", "contact.write"]).await;
    body["access_token"].as_str().expect("access token").to_owned()
}

async fn exchange(flow: &Flow, client: &Client, form: &[(&str, &str)]) -> reqwest::Response {
    let mut body = vec![("grant_type", GRANT)];
    body.extend_from_slice(form);
    flow.app.post_with_basic("/token", &client.id, &client.secret, &body).await
}

async fn exchanged(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.expect("json")
}

/// Verifies `token` with `jsonwebtoken` against the served JWKS.
async fn verify(flow: &Flow, token: &str, audience: &str) -> Value {
    let header = decode_header(token).expect("JWT header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwks: JwkSet = serde_json::from_value(flow.app.get_json("/jwks.json").await).expect("jwks");
    let jwk = jwks.find(&header.kid.expect("kid")).expect("published key");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[&flow.app.base_url]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "nbf", "iat"]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).expect("key"), &validation).expect("verifies").claims
}

#[tokio::test]
async fn impersonation_gives_the_gateway_a_narrowed_user_token_for_the_downstream_api() {
    let flow = flow().await;
    let gateway = gateway(&flow).await;
    let subject = user_token(&flow).await;
    let body = exchanged(
        exchange(
            &flow,
            &gateway,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN),
                ("requested_token_type", ACCESS_TOKEN),
                ("audience", DOWNSTREAM),
                ("scope", "contact.read"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "contact.read");
    assert!(body.get("refresh_token").is_none(), "no refresh token from an exchange");
    let expires_in = body["expires_in"].as_u64().expect("expires_in");
    assert!(expires_in > 0 && expires_in <= 3600);

    let token = body["access_token"].as_str().expect("access token");
    let claims = verify(&flow, token, DOWNSTREAM).await;
    assert_eq!(claims["sub"], flow.user_id.as_str(), "the user stays the subject");
    assert_eq!(claims["aud"], DOWNSTREAM);
    assert_eq!(claims["client_id"], gateway.id.as_str());
    assert_eq!(claims["scope"], "contact.read");
    assert!(claims.get("act").is_none(), "impersonation: no act");
    let lifetime = claims["exp"].as_u64().zip(claims["iat"].as_u64()).map(|(exp, iat)| exp - iat);
    assert!(lifetime.is_some_and(|lifetime| lifetime <= 3600), "never outlives the subject token");

    // `resource` (RFC 8707) names the target too; no `scope`: what both hold.
    let body = exchanged(
        exchange(
            &flow,
            &gateway,
            &[
                ("subject_token", &subject),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
                ("resource", ELSEWHERE),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "contact.read contact.write");
    let claims = verify(&flow, body["access_token"].as_str().expect("token"), ELSEWHERE).await;
    assert_eq!(claims["aud"], ELSEWHERE);
}

#[tokio::test]
async fn delegation_records_the_actor_and_nests_the_chain() {
    let flow = flow().await;
    let gateway = gateway(&flow).await;
    let subject = user_token(&flow).await;
    let actor = flow.app.access_token(&gateway.id, &gateway.secret).await;
    let body = exchanged(
        exchange(
            &flow,
            &gateway,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN),
                ("actor_token", &actor),
                ("actor_token_type", ACCESS_TOKEN),
                ("audience", DOWNSTREAM),
                ("scope", "contact.read contact.write"),
            ],
        )
        .await,
    )
    .await;
    let delegated = body["access_token"].as_str().expect("token").to_owned();
    let claims = verify(&flow, &delegated, DOWNSTREAM).await;
    assert_eq!(claims["sub"], flow.user_id.as_str());
    assert_eq!(claims["act"], json!({ "sub": gateway.id }));
    let introspection = flow.app.introspect(&gateway.id, &gateway.secret, &delegated).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["act"], json!({ "sub": gateway.id }));

    // The downstream API exchanges the delegated token in turn, acting itself.
    let api = client(&flow, "Contacts API", &["client_credentials", GRANT], &[ELSEWHERE]).await;
    let api_actor = flow.app.access_token(&api.id, &api.secret).await;
    let body = exchanged(
        exchange(
            &flow,
            &api,
            &[
                ("subject_token", &delegated),
                ("subject_token_type", ACCESS_TOKEN),
                ("actor_token", &api_actor),
                ("actor_token_type", ACCESS_TOKEN),
                ("scope", "contact.read"),
            ],
        )
        .await,
    )
    .await;
    let claims = verify(&flow, body["access_token"].as_str().expect("token"), ELSEWHERE).await;
    assert_eq!(claims["sub"], flow.user_id.as_str());
    assert_eq!(claims["client_id"], api.id.as_str());
    assert_eq!(claims["act"], json!({ "sub": api.id, "act": { "sub": gateway.id } }));
}

#[tokio::test]
async fn refusals_carry_the_rfc_error_codes() {
    let flow = flow().await;
    let gateway = gateway(&flow).await;
    let browser = flow.app.browser();
    let subject = tokens(&flow, &browser, &["contact.read", "contact.write"]).await;
    let subject = subject["access_token"].as_str().expect("access token").to_owned();
    let base = |extra: &[(&'static str, &str)]| {
        let mut form: Vec<(&'static str, String)> =
            vec![("subject_token", subject.clone()), ("subject_token_type", ACCESS_TOKEN.to_owned())];
        form.extend(extra.iter().map(|(name, value)| (*name, value.to_string())));
        form
    };

    let plain = client(&flow, "Plain service", &["client_credentials"], &[DOWNSTREAM]).await;
    assert_eq!(refused(&flow, &plain, base(&[("audience", DOWNSTREAM)])).await, "unauthorized_client");
    assert_eq!(
        refused(&flow, &gateway, base(&[("audience", "https://evil.example.com")])).await,
        "invalid_target"
    );
    assert_eq!(
        refused(&flow, &gateway, base(&[("audience", DOWNSTREAM), ("scope", "contact.read openid")])).await,
        "invalid_scope",
        "openid is in neither the gateway's scopes nor beyond the subject's: refused"
    );
    let narrow = tokens(&flow, &browser, &["contact.read"]).await;
    let narrow_subject = vec![
        ("subject_token", narrow["access_token"].as_str().expect("token").to_owned()),
        ("subject_token_type", ACCESS_TOKEN.to_owned()),
        ("scope", "contact.read contact.write".to_owned()),
    ];
    assert_eq!(
        refused(&flow, &gateway, narrow_subject).await,
        "invalid_scope",
        "wider than the subject token"
    );

    for garbage in ["not-a-token", "a.b.c"] {
        let form =
            vec![("subject_token", garbage.to_owned()), ("subject_token_type", ACCESS_TOKEN.to_owned())];
        assert_eq!(refused(&flow, &gateway, form).await, "invalid_request", "RFC 8693 §2.2.2: {garbage}");
    }
    assert_eq!(
        refused(
            &flow,
            &gateway,
            vec![
                ("subject_token", subject.clone()),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:saml2".to_owned())
            ]
        )
        .await,
        "invalid_request"
    );
    assert_eq!(
        refused(
            &flow,
            &gateway,
            base(&[("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")])
        )
        .await,
        "invalid_request"
    );
    assert_eq!(
        refused(&flow, &gateway, vec![("subject_token_type", ACCESS_TOKEN.to_owned())]).await,
        "invalid_request",
        "subject_token is required"
    );

    // Another client's token cannot be the actor.
    let other = client(&flow, "Other", &["client_credentials"], &[]).await;
    let foreign_actor = flow.app.access_token(&other.id, &other.secret).await;
    let mut form = base(&[("actor_token_type", ACCESS_TOKEN)]);
    form.push(("actor_token", foreign_actor));
    assert_eq!(refused(&flow, &gateway, form).await, "invalid_request");

    // A revoked subject token is refused.
    let revoke =
        flow.app.post_with_basic("/revoke", &flow.client_id, &flow.secret, &[("token", &subject)]).await;
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(refused(&flow, &gateway, base(&[("audience", DOWNSTREAM)])).await, "invalid_request");
}

async fn refused(flow: &Flow, client: &Client, form: Vec<(&'static str, String)>) -> String {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let response = exchange(flow, client, &pairs).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    error_of(response).await
}
