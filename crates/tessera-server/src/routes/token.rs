//! `POST /token` (RFC 6749 §3.2): authenticate the client, decide the grant in
//! the core, persist what must be single-use, sign, answer.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::client::{Client, GrantType};
use tessera_core::client_auth::presented_credentials;
use tessera_core::dpop::{self, binds_refresh_token, ensure_refresh_binding};
use tessera_core::grant::authorization_code::exchange_code;
use tessera_core::grant::client_credentials::grant_client_credentials;
use tessera_core::grant::refresh::{
    NewFamily, RefreshTokenRecord, RotatedTokenUse, issues_refresh_token, refresh_access_token,
    rotated_token_use,
};
use tessera_core::grant::token_exchange::{self, PresentedToken, grant_token_exchange};
use tessera_core::grant::{
    AuthorizationCodeRequest, RefreshTokenRequest, TokenExchangeRequest, TokenRequest,
};
use tessera_core::id_token::{ID_TOKEN_TYP, id_token_claims, issues_id_token};
use tessera_core::jwt;
use tessera_core::secret::SecretHash;
use tessera_core::token::{ACCESS_TOKEN_TYP, AccessTokenGrant, Confirmation};
use tessera_core::{ErrorCode, OAuthError, UnixTime};
use tessera_store::{IssuedFromCode, RefreshRotation};

use crate::admin::audit::Entry;
use crate::dialects::Dialect;
use crate::dpop::{check_proof, proof_header};
use crate::error::{ServerError, no_store};
use crate::limits::ClientLimit;
use crate::metrics::timed;
use crate::random::{new_client_id, new_token_id};
use crate::routes::client_auth::authenticate_client;
use crate::routes::extract::OAuthForm;
use crate::state::AppState;
use crate::unix_now;

/// RFC 6749 §5.1 success body.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    /// RFC 8693 §2.2.1: only in a token exchange's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_token_type: Option<&'static str>,
}

/// What a grant produced: the access token to sign, maybe a refresh token,
/// and for OpenID requests what the ID token needs.
struct Issued {
    grant: AccessTokenGrant,
    refresh_token: Option<String>,
    id_token: Option<IdTokenFacts>,
}

/// The user facts an ID token carries, known once the code is redeemed.
struct IdTokenFacts {
    auth_time: u64,
    nonce: Option<String>,
}

/// A successful token response before it takes the shape of a wire contract
/// (the standard one below, or a dialect's).
pub(crate) struct IssuedTokens {
    pub(crate) grant_type: GrantType,
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    pub(crate) expires_at: UnixTime,
    pub(crate) scope: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) id_token: Option<String>,
    /// `sub`: the user for the user grants, the client for client_credentials.
    pub(crate) subject: String,
    pub(crate) client_id: String,
    /// The access token's `jti`.
    pub(crate) jti: String,
    /// `DPoP` for a DPoP-bound access token (RFC 9449 §5), else `Bearer`.
    pub(crate) token_type: &'static str,
    /// RFC 8693 §2.2.1 `issued_token_type`, for a token exchange.
    pub(crate) issued_token_type: Option<&'static str>,
}

pub(super) async fn token(State(state): State<AppState>, headers: HeaderMap, form: OAuthForm) -> Response {
    let response = match issue_with(&state, &form, proof_header(&headers)).await {
        Ok(issued) => no_store(Json(TokenResponse {
            access_token: issued.access_token,
            token_type: issued.token_type,
            expires_in: issued.expires_in,
            scope: issued.scope,
            refresh_token: issued.refresh_token,
            id_token: issued.id_token,
            issued_token_type: issued.issued_token_type,
        })),
        Err(err) => err.into_response(),
    };
    crate::dpop::with_nonce(&state, response)
}

/// The token endpoint's whole decision for a standard request: authenticate
/// the client, run the grant, persist what must be single use, sign. Every
/// outcome goes to the audit trail (queued: the response does not wait).
pub(crate) async fn issue(state: &AppState, form: &OAuthForm) -> Result<IssuedTokens, ServerError> {
    issue_with(state, form, Ok(None)).await
}

/// [`issue`], with the request's `DPoP` header (RFC 9449): a valid proof binds
/// the access token to its key. Only the standard endpoint reads the header.
pub(crate) async fn issue_with(
    state: &AppState,
    form: &OAuthForm,
    dpop: Result<Option<String>, OAuthError>,
) -> Result<IssuedTokens, ServerError> {
    let outcome = decide(state, form, dpop).await;
    let error = match &outcome {
        Ok(_) => None,
        Err(ServerError::OAuth(err)) => Some(err.code.as_str()),
        // Counted by the limit's own metric; a flood is not written row by row to the audit trail.
        Err(ServerError::RateLimited(_)) => return outcome,
        Err(_) => Some("server_error"),
    };
    state.metrics().grant(form.params.get("grant_type").unwrap_or_default(), error);
    state.audit().record(grant_audit_entry(form, &outcome)).await;
    outcome
}

/// Who asked for what, and what they got or why not; never a credential.
fn grant_audit_entry(form: &OAuthForm, outcome: &Result<IssuedTokens, ServerError>) -> Entry {
    match outcome {
        Ok(issued) => Entry::new(format!("client:{}", issued.client_id), "token.issued")
            .target(&issued.client_id)
            .ip(form.peer)
            .detail("grant_type", issued.grant_type.as_str())
            .detail("scope", issued.scope.as_str())
            .detail("sub", issued.subject.as_str())
            .detail("jti", issued.jti.as_str()),
        Err(err) => {
            // The claimed id, which may name no client: bounded, and shown escaped.
            let claimed = presented_credentials(form.authorization.as_deref(), &form.params)
                .map(|presented| presented.client_id.chars().take(200).collect::<String>())
                .unwrap_or_else(|_| "unknown".into());
            let code = match err {
                ServerError::OAuth(err) => err.code.as_str(),
                _ => "server_error",
            };
            let grant_type: String =
                form.params.get("grant_type").unwrap_or_default().chars().take(64).collect();
            Entry::new(format!("client:{claimed}"), "token.refused")
                .target(claimed)
                .ip(form.peer)
                .failed()
                .detail("grant_type", grant_type)
                .detail("error", code)
        }
    }
}

async fn decide(
    state: &AppState,
    form: &OAuthForm,
    dpop: Result<Option<String>, OAuthError>,
) -> Result<IssuedTokens, ServerError> {
    let request = TokenRequest::parse(&form.params)?;
    let client = authenticate_client(state, form, ClientLimit::Token).await?;
    // RFC 9449 §5: the proof is checked (and its jti spent) before the grant
    // consumes anything; only an authenticated client gets this far.
    let jkt = match dpop? {
        Some(proof) => Some(check_proof(state, &proof, "POST", &state.endpoint("/token"), None).await?.jkt),
        None => None,
    };
    dpop::ensure_proof_if_required(&client, jkt.as_deref())?;
    let grant_type = request.grant_type();
    let mut issued = match request {
        TokenRequest::ClientCredentials(request) => Issued {
            grant: grant_client_credentials(state.policy(), &client, request, unix_now(), new_token_id()?)?,
            refresh_token: None,
            id_token: None,
        },
        TokenRequest::AuthorizationCode(request) => {
            redeem_code(state, &client, &request, jkt.as_deref()).await?
        }
        TokenRequest::RefreshToken(request) => refresh(state, &client, &request, jkt.as_deref()).await?,
        TokenRequest::TokenExchange(request) => exchange_token(state, &client, request).await?,
    };
    issued.grant.claims.cnf = jkt.map(|jkt| Confirmation { jkt });
    // Every grant is in the audit trail; a log line each would only repeat it.
    tracing::debug!(client_id = %client.client_id, %grant_type, jti = %issued.grant.claims.jti, "token issued");
    sign(state, grant_type, issued)
}

fn invalid_code() -> ServerError {
    ErrorCode::InvalidGrant.with("the code is invalid, expired or already used").into()
}

/// Consumes the code atomically, then lets the core judge the request against
/// it. A code presented again revokes what it issued (RFC 6749 §4.1.2).
async fn redeem_code(
    state: &AppState,
    client: &Client,
    request: &AuthorizationCodeRequest,
    jkt: Option<&str>,
) -> Result<Issued, ServerError> {
    let code_hash = SecretHash::of(&request.code);
    let now = unix_now();
    // The ids are chosen before the code is consumed and recorded by the same
    // statement: a replay racing this redemption must find what to revoke.
    let will_issue = IssuedFromCode {
        access_token_jti: new_token_id()?,
        access_token_expires_at: now + state.policy().access_token_lifetime,
        refresh_family_id: Some(new_client_id()?),
    };
    let consumed =
        timed(state, "consume_code", state.store().consume_code(&code_hash, now, &will_issue)).await?;
    let Some(code) = consumed else {
        if let Some(issued) = state.store().mark_code_replayed(&code_hash, now).await? {
            state.revoke_access_token(&issued.access_token_jti, issued.access_token_expires_at, now).await?;
            if let Some(family) = &issued.refresh_family_id {
                state.store().revoke_refresh_family(family, now).await?;
            }
            tracing::warn!(client_id = %client.client_id, "authorization code replayed: its tokens are revoked");
        }
        return Err(invalid_code());
    };
    let grant =
        exchange_code(state.policy(), client, request, &code, now, will_issue.access_token_jti.clone())?;
    // RFC 9449 §10: a code bound by dpop_jkt is spent, but issues nothing, without its key.
    dpop::ensure_code_binding(code.dpop_jkt.as_deref(), jkt)?;
    ensure_user_active(state, &code.user_id).await.map_err(|_| invalid_code())?;
    let refresh = match issues_refresh_token(client, &grant.scope) {
        true => {
            let token = state.refresh_tokens().mint()?;
            let family = NewFamily {
                family_id: will_issue.refresh_family_id.clone().unwrap_or_default(),
                client_id: client.client_id.clone(),
                user_id: code.user_id.clone(),
                scope: grant.scope.clone(),
                auth_time: code.auth_time,
                // What the code was granted, whatever this first token narrowed to.
                resources: code.resources.clone(),
            };
            let record = RefreshTokenRecord::first(&state.refresh_tokens().policy, &token, family, now)
                .bound_to(jkt.filter(|_| binds_refresh_token(client)).map(str::to_owned));
            // Replayed while this redemption ran: the family is stored revoked,
            // as the access token's jti already is. RFC 6749 §4.1.2 still
            // answers this first redemption; what it issued is dead.
            let stored = timed(
                state,
                "create_refresh_token",
                state.store().create_refresh_token_from_code(&record, &code_hash),
            );
            if !stored.await? {
                return Err(invalid_code());
            }
            Some(token)
        }
        false => None,
    };
    let id_token = issues_id_token(&grant.scope)
        .then_some(IdTokenFacts { auth_time: code.auth_time, nonce: code.nonce });
    Ok(Issued { grant, refresh_token: refresh, id_token })
}

/// Rotates the refresh token (RFC 9700 §4.14.2): the first presentation wins;
/// a later one within the grace window gets the same successor; any other
/// reuse revokes the whole family.
async fn refresh(
    state: &AppState,
    client: &Client,
    request: &RefreshTokenRequest,
    jkt: Option<&str>,
) -> Result<Issued, ServerError> {
    let invalid = || {
        ServerError::from(ErrorCode::InvalidGrant.with("the refresh token is invalid, expired or revoked"))
    };
    let presented = SecretHash::of(&request.refresh_token);
    let now = unix_now();
    // Judge first, so that a request the core refuses never rotates the token.
    let Some(found) = state.store().find_refresh_token(&presented).await? else { return Err(invalid()) };
    refresh_access_token(state.policy(), client, request, &found.record, now, String::new())?;
    // RFC 9449 §5: before rotating, so that a token without its key is spent on nothing.
    ensure_refresh_binding(found.record.dpop_jkt.as_deref(), jkt)?;
    if found.user_disabled {
        return Err(invalid());
    }

    let successor = state.refresh_tokens().successor_of(&request.refresh_token);
    let successor_hash = SecretHash::of(&successor);
    let rotation = timed(
        state,
        "rotate_refresh_token",
        state.store().rotate_refresh_token(&presented, &successor_hash, now),
    );
    let record = match rotation.await? {
        RefreshRotation::Rotated(record) => record,
        RefreshRotation::AlreadyRotated { record, rotated_at } => {
            match rotated_token_use(&state.refresh_tokens().policy, rotated_at, now) {
                RotatedTokenUse::SameSuccessor => record,
                RotatedTokenUse::Reuse => {
                    if state.store().revoke_refresh_family(&record.family_id, now).await? {
                        tracing::warn!(client_id = %client.client_id, family = %record.family_id, "refresh token reused: family revoked");
                    }
                    return Err(invalid());
                }
            }
        }
        RefreshRotation::Revoked(_) | RefreshRotation::Unknown => return Err(invalid()),
    };
    let grant = refresh_access_token(state.policy(), client, request, &record, now, new_token_id()?)?;
    Ok(Issued { grant, refresh_token: Some(successor), id_token: None })
}

/// RFC 8693: the server verifies the presented tokens (signature, revocation,
/// their client); the core decides the rest.
async fn exchange_token(
    state: &AppState,
    client: &Client,
    request: TokenExchangeRequest,
) -> Result<Issued, ServerError> {
    let subject = presented_token(state, &request.subject_token).await?;
    let actor = match &request.actor_token {
        Some(token) => Some(presented_token(state, token).await?),
        None => None,
    };
    let grant =
        grant_token_exchange(state.policy(), client, request, subject, actor, unix_now(), new_token_id()?)?;
    Ok(Issued { grant, refresh_token: None, id_token: None })
}

async fn presented_token(state: &AppState, token: &str) -> Result<PresentedToken, ServerError> {
    let Some(claims) = state.keys().verify_access_token(token) else {
        return Ok(PresentedToken { claims: None, revoked: false, client_active: false });
    };
    let revoked = state.is_access_token_revoked(&claims.jti).await?;
    let client_active = state.find_client(&claims.client_id).await?.is_some_and(|client| !client.disabled);
    Ok(PresentedToken { claims: Some(claims), revoked, client_active })
}

async fn ensure_user_active(state: &AppState, user_id: &str) -> Result<(), ServerError> {
    match state.store().find_user(user_id).await? {
        Some(user) if !user.disabled => Ok(()),
        _ => Err(ErrorCode::InvalidGrant.with("the user is disabled or deleted").into()),
    }
}

fn sign(state: &AppState, grant_type: GrantType, issued: Issued) -> Result<IssuedTokens, ServerError> {
    let signer = state.keys().access_token_signer_for(issued.grant.algorithm).clone();
    let access_token = match state.settings().dialects.has(Dialect::Myp) {
        // IdentityServer style, which MYP integrations parse: `scope` as an array.
        true => {
            let mut claims = serde_json::to_value(&issued.grant.claims)
                .map_err(|err| ServerError::Internal(format!("claims do not serialize: {err}")))?;
            claims["scope"] = issued.grant.scope.iter().map(|scope| scope.as_str()).collect();
            jwt::encode(signer.as_ref(), ACCESS_TOKEN_TYP, &claims)?
        }
        false => jwt::encode(signer.as_ref(), ACCESS_TOKEN_TYP, &issued.grant.claims)?,
    };
    let id_token = match issued.id_token {
        Some(facts) => {
            let claims = id_token_claims(
                state.policy(),
                &issued.grant.claims.client_id,
                &issued.grant.claims.sub,
                facts.auth_time,
                facts.nonce,
                &access_token,
                issued.grant.claims.iat,
            );
            Some(jwt::encode(state.keys().id_token_signer.as_ref(), ID_TOKEN_TYP, &claims)?)
        }
        None => None,
    };
    Ok(IssuedTokens {
        grant_type,
        access_token,
        expires_in: issued.grant.expires_in,
        expires_at: issued.grant.claims.exp,
        scope: issued.grant.scope.to_string(),
        refresh_token: issued.refresh_token,
        id_token,
        subject: issued.grant.claims.sub,
        client_id: issued.grant.claims.client_id,
        jti: issued.grant.claims.jti,
        token_type: match issued.grant.claims.cnf {
            Some(_) => dpop::TOKEN_TYPE,
            None => "Bearer",
        },
        issued_token_type: (grant_type == GrantType::TokenExchange)
            .then_some(token_exchange::ACCESS_TOKEN_TYPE),
    })
}
