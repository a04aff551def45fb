//! The YourMembership contract (source document 002): `POST
//! /OAuth/GetAccessToken` with a PascalCase JSON body, answered with
//! `AccessToken`, `ExpiresOnUtc` and `RefreshToken`, errors as a
//! `ResponseStatus`, in JSON or, when asked (`Accept: text/csv`, the `.csv`
//! suffix or `?format=csv`), CSV with a header row.
//!
//! Unlike the document's sample response, nothing of the request is echoed
//! back: it carries the application's secret.

use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::client::GrantType;
use tessera_core::request::FormParams;
use tessera_core::{ErrorCode, OAuthError};

use crate::error::{ServerError, no_store, status_of};
use crate::routes::extract::{FORM_BODY_LIMIT, OAuthForm};
use crate::routes::token::{IssuedTokens, issue};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/OAuth/GetAccessToken", post(|state, request| get_access_token(state, request, false)))
        .route("/OAuth/GetAccessToken.csv", post(|state, request| get_access_token(state, request, true)))
}

/// The request body; the document's other members (`UsingRedis`, `Device`, …) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetAccessToken {
    grant_type: Option<String>,
    app_id: Option<String>,
    app_secret: Option<String>,
    /// The deprecated misspelling, still sent by older integrations.
    #[serde(rename = "AppSecert")]
    app_secert: Option<String>,
    scope: Option<String>,
    code: Option<String>,
    refresh_token: Option<String>,
}

/// An error with the request member it is about.
struct FieldError {
    error: ServerError,
    field: Option<&'static str>,
}

impl From<ServerError> for FieldError {
    fn from(error: ServerError) -> FieldError {
        FieldError { error, field: None }
    }
}

fn invalid(code: ErrorCode, field: &'static str, message: &str) -> FieldError {
    FieldError { error: code.with(message).into(), field: Some(field) }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

async fn get_access_token(State(state): State<AppState>, request: Request, csv_suffix: bool) -> Response {
    let format = match response_format(request.uri().query(), request.headers(), csv_suffix) {
        Ok(format) => format,
        Err(err) => return error_response(err, Format::Json),
    };
    let mut grant = None;
    let peer = crate::routes::extract::peer_ip(request.extensions());
    let outcome = async {
        let body = axum::body::to_bytes(request.into_body(), FORM_BODY_LIMIT)
            .await
            .map_err(|_| ServerError::PayloadTooLarge(FORM_BODY_LIMIT))?;
        let body: GetAccessToken = serde_json::from_slice(&body).map_err(|err| {
            invalid(ErrorCode::InvalidRequest, "Body", &format!("the body must be a JSON object: {err}"))
        })?;
        let form = OAuthForm { peer, ..translate(body, &mut grant)? };
        Ok::<_, FieldError>(issue(&state, &form).await?)
    }
    .await;
    match outcome {
        Ok(issued) => success_response(&issued, format),
        Err(mut err) => {
            err.field = err.field.or_else(|| field_of(&err.error, grant));
            error_response(err, format)
        }
    }
}

/// Their request → the standard token request (client_secret_post).
fn translate(body: GetAccessToken, grant: &mut Option<GrantType>) -> Result<OAuthForm, FieldError> {
    let grant_type = match (body.grant_type.as_deref(), &body.code, &body.refresh_token) {
        (Some("Code"), _, _) | (None, Some(_), None) => GrantType::AuthorizationCode,
        (Some("RefreshToken"), _, _) | (None, None, Some(_)) => GrantType::RefreshToken,
        (None, _, _) => {
            return Err(invalid(
                ErrorCode::InvalidRequest,
                "GrantType",
                "GrantType is required: Code or RefreshToken",
            ));
        }
        (Some(other), _, _) => {
            return Err(invalid(
                ErrorCode::UnsupportedGrantType,
                "GrantType",
                &format!("GrantType `{other}` is not supported; allowable values: Code, RefreshToken"),
            ));
        }
    };
    *grant = Some(grant_type);
    let app_id =
        body.app_id.ok_or_else(|| invalid(ErrorCode::InvalidRequest, "AppId", "AppId is required"))?;
    let secret = match (body.app_secret, body.app_secert) {
        (Some(secret), None) => Some(secret),
        (None, Some(secret)) => {
            tracing::warn!(client_id = %app_id, "deprecated AppSecert sent to /OAuth/GetAccessToken; send AppSecret");
            Some(secret)
        }
        (Some(secret), Some(misspelt)) if secret == misspelt => Some(secret),
        (Some(_), Some(_)) => {
            return Err(invalid(
                ErrorCode::InvalidRequest,
                "AppSecret",
                "AppSecret and the deprecated AppSecert differ",
            ));
        }
        (None, None) => None,
    };
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    pairs.append_pair("grant_type", grant_type.as_str()).append_pair("client_id", &app_id);
    if let Some(secret) = &secret {
        pairs.append_pair("client_secret", secret);
    }
    match grant_type {
        GrantType::AuthorizationCode => {
            let code =
                body.code.ok_or_else(|| invalid(ErrorCode::InvalidRequest, "Code", "Code is required"))?;
            pairs.append_pair("code", &code);
        }
        _ => {
            let token = body.refresh_token.ok_or_else(|| {
                invalid(ErrorCode::InvalidRequest, "RefreshToken", "RefreshToken is required")
            })?;
            pairs.append_pair("refresh_token", &token);
            // Narrowing on refresh is standard; a code keeps what was approved.
            if let Some(scope) = body.scope.filter(|scope| !scope.trim().is_empty()) {
                pairs.append_pair("scope", &scope);
            }
        }
    }
    let params = FormParams::parse(pairs.finish().as_bytes()).map_err(ServerError::from)?;
    Ok(OAuthForm { params, authorization: None, peer: None })
}

/// Which request member an OAuth error is about.
fn field_of(error: &ServerError, grant: Option<GrantType>) -> Option<&'static str> {
    let ServerError::OAuth(OAuthError { code, .. }) = error else { return None };
    match code {
        ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient => Some("AppId"),
        ErrorCode::InvalidScope => Some("Scope"),
        ErrorCode::UnsupportedGrantType => Some("GrantType"),
        ErrorCode::InvalidGrant => match grant {
            Some(GrantType::RefreshToken) => Some("RefreshToken"),
            _ => Some("Code"),
        },
        _ => None,
    }
}

fn response_format(query: Option<&str>, headers: &HeaderMap, csv_suffix: bool) -> Result<Format, FieldError> {
    let mut format = match csv_suffix {
        true => Format::Csv,
        false => {
            let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or("");
            match accept
                .split(',')
                .any(|media| media.split(';').next().is_some_and(|m| m.trim() == "text/csv"))
            {
                true => Format::Csv,
                false => Format::Json,
            }
        }
    };
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("format", "csv") => format = Format::Csv,
            ("format", "json") => format = Format::Json,
            ("format", _) => {
                return Err(invalid(ErrorCode::InvalidRequest, "format", "format must be csv or json"));
            }
            _ => {
                return Err(invalid(
                    ErrorCode::InvalidRequest,
                    "format",
                    "only `format` belongs in the URL; everything else goes in the JSON body",
                ));
            }
        }
    }
    Ok(format)
}

fn expires_on_utc(expires_at: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(expires_at)).to_string()
}

fn success_response(issued: &IssuedTokens, format: Format) -> Response {
    let expires = expires_on_utc(issued.expires_at);
    let refresh_token = issued.refresh_token.as_deref();
    match format {
        Format::Json => {
            let mut body = json!({ "AccessToken": issued.access_token, "ExpiresOnUtc": expires });
            if let Some(refresh_token) = refresh_token {
                body["RefreshToken"] = Value::String(refresh_token.to_owned());
            }
            no_store(axum::Json(body))
        }
        Format::Csv => csv_response(
            StatusCode::OK,
            &["AccessToken", "ExpiresOnUtc", "RefreshToken"],
            &[[issued.access_token.as_str(), expires.as_str(), refresh_token.unwrap_or("")]],
        ),
    }
}

fn error_response(err: FieldError, format: Format) -> Response {
    let (status, code, message) = match &err.error {
        ServerError::OAuth(oauth) => (status_of(oauth.code), oauth.code.as_str(), oauth.description.clone()),
        ServerError::PayloadTooLarge(limit) => {
            (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", format!("the body exceeds {limit} bytes"))
        }
        other => {
            tracing::error!(error = %other, "internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error".to_owned())
        }
    };
    match format {
        Format::Json => {
            let errors: Vec<Value> = err
                .field
                .map(|field| json!({ "ErrorCode": code, "FieldName": field, "Message": message }))
                .into_iter()
                .collect();
            let body =
                json!({ "ResponseStatus": { "ErrorCode": code, "Message": message, "Errors": errors } });
            no_store((status, axum::Json(body)))
        }
        Format::Csv => csv_response(
            status,
            &["ErrorCode", "FieldName", "Message"],
            &[[code, err.field.unwrap_or(""), &message]],
        ),
    }
}

/// A header row and data rows, quoted as RFC 4180 requires.
fn csv_response<const N: usize>(status: StatusCode, header_row: &[&str; N], rows: &[[&str; N]]) -> Response {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let written = std::iter::once(header_row).chain(rows).try_for_each(|row| writer.write_record(row));
    let body = match (written, writer.into_inner()) {
        (Ok(()), Ok(body)) => body,
        _ => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    };
    let mut response = no_store((status, Body::from(body)));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    response
}
