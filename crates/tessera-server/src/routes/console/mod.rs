//! The admin console and developer portal at `/admin`: server-rendered pages
//! over `admin::service`, the same operations as the admin API.
//!
//! Every page needs a console session (`ConsoleActor`), a cookie scoped to
//! `/admin` with `SameSite=Strict`; without one, the browser is sent to the
//! login page. Every form carries the CSRF double-submit token. New secrets
//! reach the page after a redirect inside a sealed, one-time cookie
//! (`secret_box`), so a reload never shows them again and the server never
//! keeps them.

mod apps;
mod form;
mod page;
mod people;
mod session;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/apps") }))
        .route("/admin/", get(|| async { Redirect::to("/admin/apps") }))
        .route("/admin/login", get(session::login_page).post(session::login))
        .route("/admin/logout", post(session::logout))
        .route("/admin/assets/console.css", get(page::stylesheet))
        .route("/admin/assets/console.js", get(page::script))
        .route("/admin/apps", get(apps::list).post(apps::create))
        .route("/admin/apps/new", get(apps::new_form))
        .route("/admin/apps/{client_id}", get(apps::show).post(apps::update))
        .route("/admin/apps/{client_id}/edit", get(apps::edit_form))
        .route("/admin/apps/{client_id}/secret", post(apps::rotate_secret))
        .route("/admin/apps/{client_id}/disable", post(apps::disable))
        .route("/admin/apps/{client_id}/enable", post(apps::enable))
        .route("/admin/apps/{client_id}/delete", get(apps::confirm_delete).post(apps::delete))
        .route("/admin/scopes", get(people::scopes).post(people::add_scope))
        .route("/admin/scopes/{name}/delete", post(people::delete_scope))
        .route("/admin/users", get(people::users).post(people::add_user))
        .route("/admin/users/{user_id}", get(people::user).post(people::update_user))
        .route("/admin/users/{user_id}/password", post(people::reset_password))
        .route("/admin/users/{user_id}/consents/{client_id}/revoke", post(people::revoke_consent))
        .route("/admin/activity", get(people::activity))
        .route("/admin/tokens", get(people::tokens).post(people::create_token))
        .route("/admin/tokens/{token_id}/delete", post(people::delete_token))
}
