//! `POST /consent`: the user's Allow or Deny, with the scopes they kept ticked
//! (granular consent). The grant holds only what was approved.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::ErrorCode;
use tessera_core::authorize::approved_scopes;
use tessera_core::scope::{Scope, ScopeSet};

use crate::admin::audit::Entry;
use crate::error::ServerError;
use crate::routes::authorize::{issue_code_and_redirect, redirect_error, signed_in_user};
use crate::routes::login::submitted_request;
use crate::state::AppState;
use crate::unix_now;

const CONSENT_BODY_LIMIT: usize = 32 * 1024;

/// The consent form: single fields plus the repeated `grant_scope` checkboxes.
struct ConsentForm {
    pairs: Vec<(String, String)>,
}

impl ConsentForm {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    fn ticked(&self) -> ScopeSet {
        self.pairs
            .iter()
            .filter(|(key, _)| key == "grant_scope")
            .filter_map(|(_, value)| Scope::parse(value).ok())
            .collect()
    }
}

pub(super) async fn consent(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ServerError> {
    let headers: HeaderMap = request.headers().clone();
    let peer = crate::routes::extract::peer_ip(request.extensions());
    let body = axum::body::to_bytes(request.into_body(), CONSENT_BODY_LIMIT)
        .await
        .map_err(|_| ServerError::PayloadTooLarge(CONSENT_BODY_LIMIT))?;
    let form = ConsentForm { pairs: form_urlencoded::parse(&body).into_owned().collect() };
    let (_, pending) =
        match submitted_request(&state, &headers, form.get("csrf"), form.get("request")).await? {
            Ok(submitted) => submitted,
            Err(response) => return Ok(response),
        };
    let Some((session, user)) = signed_in_user(&state, &headers, unix_now()).await? else {
        // The session ended while the page was open: start the request again.
        let location = HeaderValue::from_str(&format!("/authorize?{}", pending.encoded))
            .map_err(|_| ServerError::Internal("request is not a valid header".into()))?;
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response());
    };
    match form.get("decision") {
        Some("allow") => {}
        Some("deny") => {
            tracing::info!(client_id = %pending.client.client_id, user_id = %user.user_id, "consent denied");
            let entry = Entry::new(format!("user:{}", user.username), "consent.denied")
                .target(&pending.client.client_id)
                .ip(peer);
            state.audit().record(entry).await;
            return redirect_error(
                &state,
                &pending.request,
                ErrorCode::AccessDenied.with("the user denied the request"),
            );
        }
        _ => return Ok(state.pages().error(&ErrorCode::InvalidRequest.with("choose Allow or Deny"))),
    }
    let approved = approved_scopes(&pending.request, &form.ticked());
    // Remember what was approved now, and what was granted before for scopes not asked about now.
    let previous = state.store().find_consent(&user.user_id, &pending.client.client_id).await?;
    let remembered: ScopeSet = previous
        .unwrap_or_default()
        .filtered(|scope| !pending.request.scope.contains(scope.as_str()))
        .iter()
        .chain(approved.iter())
        .cloned()
        .collect();
    state.store().save_consent(&user.user_id, &pending.client.client_id, &remembered, unix_now()).await?;
    let entry = Entry::new(format!("user:{}", user.username), "consent.granted")
        .target(&pending.client.client_id)
        .ip(peer)
        .detail("scope", approved.to_string());
    state.audit().record(entry).await;
    state.client_used(&pending.client);
    issue_code_and_redirect(&state, &pending.request, &user, approved, session.auth_time).await
}
