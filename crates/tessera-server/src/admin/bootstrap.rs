//! The first administrator. There is never a default password: an operator
//! creates one with `tessera admin create`, or hands `serve` a username and
//! password in `TESSERA_ADMIN_USERNAME` / `TESSERA_ADMIN_PASSWORD`, which are
//! used only while no administrator exists.

use tessera_core::user::{Role, User};
use tessera_store::Store;

use crate::error::ServerError;
use crate::unix_now;
use crate::users::{self, NewUser};

/// Creates an administrator. An existing username is refused rather than
/// promoted: promoting is `tessera user role`, a deliberate act.
pub async fn create_admin(store: &dyn Store, username: &str, password: String) -> Result<User, ServerError> {
    let new = NewUser { username: username.to_owned(), password, role: Role::Admin, ..NewUser::default() };
    users::add_user(store, new, unix_now()).await
}

/// What `ensure_first_admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    Created,
    /// An administrator already exists; the variables were not used.
    AlreadyHasAdmin,
}

/// Creates the first administrator unless one exists.
pub async fn ensure_first_admin(
    store: &dyn Store,
    username: &str,
    password: String,
) -> Result<Bootstrap, ServerError> {
    let has_admin = store.list_users().await?.iter().any(|user| user.role == Role::Admin);
    if has_admin {
        return Ok(Bootstrap::AlreadyHasAdmin);
    }
    create_admin(store, username, password).await?;
    Ok(Bootstrap::Created)
}
