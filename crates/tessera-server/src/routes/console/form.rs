//! Console form bodies. Unlike OAuth requests, console forms repeat fields
//! (one `redirect_uri` per row), so they are read as a list of pairs.

use axum::extract::{FromRequest, Request};
use tessera_core::ErrorCode;

use crate::error::ServerError;
use crate::routes::extract::is_form_urlencoded;

const CONSOLE_FORM_LIMIT: usize = 64 * 1024;

/// A submitted `application/x-www-form-urlencoded` console form.
pub(crate) struct ConsoleForm {
    pairs: Vec<(String, String)>,
}

impl ConsoleForm {
    /// The first value of `name`, trimmed; `None` if absent or blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name`, trimmed, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub(crate) fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The password-like value of `name`, untrimmed (spaces may be part of it).
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for ConsoleForm {
    type Rejection = ServerError;

    async fn from_request(request: Request, _state: &S) -> Result<ConsoleForm, ServerError> {
        if !is_form_urlencoded(request.headers()) {
            return Err(ErrorCode::InvalidRequest
                .with("the body must be application/x-www-form-urlencoded")
                .into());
        }
        let body = axum::body::to_bytes(request.into_body(), CONSOLE_FORM_LIMIT)
            .await
            .map_err(|_| ServerError::PayloadTooLarge(CONSOLE_FORM_LIMIT))?;
        Ok(ConsoleForm { pairs: form_urlencoded::parse(&body).into_owned().collect() })
    }
}
