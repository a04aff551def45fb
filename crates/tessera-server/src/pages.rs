//! Server-rendered HTML pages (login, consent, errors): templates compiled
//! into the binary, rendered with autoescaping, served with headers that keep
//! them out of frames and caches.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;
use tessera_core::OAuthError;

use crate::error::ServerError;

/// The compiled templates.
pub struct Pages {
    templates: Environment<'static>,
}

impl Pages {
    pub fn new() -> Result<Pages, ServerError> {
        let mut templates = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("../templates/base.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("consent.html", include_str!("../templates/consent.html")),
            ("error.html", include_str!("../templates/error.html")),
            ("logout.html", include_str!("../templates/logout.html")),
            ("applications.html", include_str!("../templates/applications.html")),
            ("admin/base.html", include_str!("../templates/admin/base.html")),
            ("admin/login.html", include_str!("../templates/admin/login.html")),
            ("admin/error.html", include_str!("../templates/admin/error.html")),
            ("admin/apps.html", include_str!("../templates/admin/apps.html")),
            ("admin/app.html", include_str!("../templates/admin/app.html")),
            ("admin/app_form.html", include_str!("../templates/admin/app_form.html")),
            ("admin/delete_app.html", include_str!("../templates/admin/delete_app.html")),
            ("admin/scopes.html", include_str!("../templates/admin/scopes.html")),
            ("admin/users.html", include_str!("../templates/admin/users.html")),
            ("admin/user.html", include_str!("../templates/admin/user.html")),
            ("admin/activity.html", include_str!("../templates/admin/activity.html")),
            ("admin/tokens.html", include_str!("../templates/admin/tokens.html")),
        ] {
            templates
                .add_template(name, source)
                .map_err(|err| ServerError::Internal(format!("template {name}: {err}")))?;
        }
        Ok(Pages { templates })
    }

    /// Renders `name` (autoescaped: every template ends in `.html`).
    pub fn render(&self, name: &str, status: StatusCode, context: impl Serialize) -> Response {
        let rendered = self.templates.get_template(name).and_then(|template| template.render(context));
        match rendered {
            Ok(html) => page_response(status, html),
            Err(err) => ServerError::Internal(format!("rendering {name}: {err}")).into_response(),
        }
    }

    /// An error page for a request that must not be redirected.
    pub fn error(&self, err: &OAuthError) -> Response {
        self.render(
            "error.html",
            StatusCode::BAD_REQUEST,
            minijinja::context! { code => err.code.as_str(), description => &err.description },
        )
    }
}

/// HTML with the headers every page needs: no framing (clickjacking), no
/// caching (pages carry CSRF tokens), a strict content security policy.
pub fn page_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /assets/tessera.css`.
pub async fn stylesheet() -> Response {
    let mut response = include_str!("../assets/tessera.css").into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
