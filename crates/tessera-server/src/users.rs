//! User accounts: creation, password changes and checks. Password hashing is
//! argon2id (OWASP parameters), run on the blocking thread pool so that a slow
//! hash never stalls the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::LazyLock;
use tessera_core::secret::SecretHash;
use tessera_core::user::{Role, User, Username, check_new_password, check_profile};
use tessera_core::{ErrorCode, UnixTime};
use tessera_store::{SessionRecord, Store};

use crate::error::ServerError;
use crate::random::{new_client_id, random_token};

/// Fields of a new user.
#[derive(Default)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub role: Role,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser").field("username", &self.username).finish_non_exhaustive()
    }
}

pub async fn add_user(store: &dyn Store, new: NewUser, now: UnixTime) -> Result<User, ServerError> {
    let username = Username::parse(&new.username)?;
    check_profile(new.email.as_deref(), new.name.as_deref())?;
    check_new_password(&new.password)?;
    let user = User {
        // Opaque and unrelated to the username, so a rename never changes `sub`.
        user_id: new_client_id()?,
        username,
        email: new.email,
        email_verified: new.email_verified,
        name: new.name,
        password_hash: hash_password(new.password).await?,
        disabled: false,
        role: new.role,
        created_at: now,
    };
    store.create_user(&user).await?;
    Ok(user)
}

pub async fn set_password(store: &dyn Store, username: &str, password: String) -> Result<(), ServerError> {
    check_new_password(&password)?;
    let mut user = existing_user(store, username).await?;
    user.password_hash = hash_password(password).await?;
    store.update_user(&user).await?;
    // Whoever held the old password may hold a session too: it ends here.
    store.delete_user_sessions(&user.user_id).await?;
    Ok(())
}

/// Starts a session for `user_id` lasting `lifetime` seconds and ends
/// `replaced`, the browser's previous one: a new id at every sign-in, so that a
/// planted cookie never becomes a session (fixation). Returns the new id.
pub async fn start_session(
    store: &dyn Store,
    user_id: &str,
    replaced: Option<&str>,
    now: UnixTime,
    lifetime: u64,
) -> Result<String, ServerError> {
    if let Some(old) = replaced {
        store.delete_session(&SecretHash::of(old)).await?;
    }
    let session_id = random_token(32)?;
    let session = SessionRecord {
        session_hash: SecretHash::of(&session_id),
        user_id: user_id.to_owned(),
        auth_time: now,
        expires_at: now + lifetime,
    };
    store.create_session(&session).await?;
    Ok(session_id)
}

pub async fn set_user_role(store: &dyn Store, username: &str, role: Role) -> Result<(), ServerError> {
    let mut user = existing_user(store, username).await?;
    user.role = role;
    store.update_user(&user).await?;
    Ok(())
}

pub async fn set_user_disabled(store: &dyn Store, username: &str, disabled: bool) -> Result<(), ServerError> {
    let mut user = existing_user(store, username).await?;
    user.disabled = disabled;
    store.update_user(&user).await?;
    Ok(())
}

/// The enabled user with these credentials, or `None`. Unknown users cost a
/// hash too, so timing does not reveal which usernames exist.
pub async fn check_credentials(
    store: &dyn Store,
    username: &str,
    password: String,
) -> Result<Option<User>, ServerError> {
    let user = match Username::parse(username) {
        Ok(username) => store.find_user_by_username(username.as_str()).await?,
        Err(_) => None,
    };
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    let matches = verify_password(password, hash).await?;
    Ok(user.filter(|user| matches && !user.disabled))
}

async fn existing_user(store: &dyn Store, username: &str) -> Result<User, ServerError> {
    store.find_user_by_username(username).await?.ok_or_else(|| {
        ErrorCode::InvalidRequest
            .with(format!("no user named `{username}` (list them with `tessera user list`)"))
            .into()
    })
}

/// A real argon2id hash of a random password, made once, compared against for
/// unknown users so that they cost as much as known ones.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    let password = SaltString::generate(&mut OsRng);
    argon2().ok()?.hash_password(password.as_str().as_bytes(), &salt).ok().map(|hash| hash.to_string())
});

fn argon2() -> Result<Argon2<'static>, ServerError> {
    // OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|err| ServerError::Internal(format!("argon2 parameters: {err}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

async fn hash_password(password: String) -> Result<String, ServerError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| ServerError::Internal(format!("password hashing failed: {err}")))
    })
    .await
    .map_err(|err| ServerError::Internal(format!("password hashing task failed: {err}")))?
}

/// Checks `password` against `hash`, or against the dummy hash when there is no user.
async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ServerError> {
    tokio::task::spawn_blocking(move || {
        let is_real = hash.is_some();
        let Some(hash) = hash.or_else(|| DUMMY_HASH.clone()) else { return Ok(false) };
        let Ok(parsed) = PasswordHash::new(&hash) else { return Ok(false) };
        let matches = argon2()?.verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(matches && is_real)
    })
    .await
    .map_err(|err| ServerError::Internal(format!("password check task failed: {err}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        let hash = DUMMY_HASH.clone().expect("generated");
        let parsed = PasswordHash::new(&hash).expect("parses");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone())).await.expect("verify"));
        assert!(!verify_password("wrong horse".into(), Some(hash)).await.expect("verify"));
        assert!(!verify_password("anything".into(), None).await.expect("no user never matches"));
    }
}
