//! End users: the people who log in at the authorization server and approve
//! applications. Passwords are hashed by the server (argon2id); the core only
//! knows users as data.

use crate::UnixTime;
use crate::error::{ErrorCode, OAuthError};

/// A user account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Stable, opaque identifier: the `sub` of the user's tokens.
    pub user_id: String,
    pub username: Username,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// A PHC string (`$argon2id$…`).
    pub password_hash: String,
    pub disabled: bool,
    /// What the user may do in the admin console and API.
    pub role: Role,
    pub created_at: UnixTime,
}

/// A user's standing in the admin console. Every user can log in to approve
/// applications; developers also manage their own applications in the
/// developer portal, and administrators manage everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Role {
    #[default]
    User,
    Developer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::User, Role::Developer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Developer => "developer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, OAuthError> {
        Role::ALL.into_iter().find(|role| role.as_str() == raw).ok_or_else(|| {
            ErrorCode::InvalidRequest
                .with(format!("unknown role `{}`; known: user, developer, admin", raw.escape_default()))
        })
    }

    /// Whether the user may sign in to the console at all.
    pub fn may_use_console(self) -> bool {
        self != Role::User
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A login name: 1 to 64 characters of letters, digits and `. _ @ + -`, not
/// starting with `-` (it would read as a flag on the command line).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, OAuthError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-');
        let valid = (1..=64).contains(&raw.len()) && raw.chars().all(allowed) && !raw.starts_with('-');
        if !valid {
            return Err(ErrorCode::InvalidRequest
                .with("a username is 1 to 64 letters, digits or `. _ @ + -`, and does not start with `-`"));
        }
        Ok(Username(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks profile fields given for a new or updated user.
pub fn check_profile(email: Option<&str>, name: Option<&str>) -> Result<(), OAuthError> {
    if let Some(email) = email {
        let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
        if !well_formed || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ErrorCode::InvalidRequest
                .with(format!("`{}` is not an email address", email.escape_default())));
        }
    }
    if let Some(name) = name
        && (name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control))
    {
        return Err(ErrorCode::InvalidRequest.with("a name is 1 to 200 printable characters"));
    }
    Ok(())
}

/// Passwords shorter than this are refused; no other composition rules (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 8;

pub fn check_new_password(password: &str) -> Result<(), OAuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > 1024 {
        return Err(
            ErrorCode::InvalidRequest.with(format!("a password has {MIN_PASSWORD_CHARS} to 1024 characters"))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["alice", "a.b_c@example.com", "x+1", "A-9"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-alice", "al ice", "al\u{0}ice", "ålice", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::parse("Admin").is_err(), "role names are exact");
        assert!(!Role::User.may_use_console());
        assert!(Role::Developer.may_use_console() && Role::Admin.may_use_console());
    }

    #[test]
    fn profiles_and_passwords() {
        assert!(check_profile(Some("alice@example.com"), Some("Alice Liddell")).is_ok());
        assert!(check_profile(None, None).is_ok());
        for bad in ["alice", "@example.com", "alice@localhost", "a b@example.com", "alice@.example.com"] {
            assert!(check_profile(Some(bad), None).is_err(), "{bad}");
        }
        assert!(check_profile(None, Some(" ")).is_err());
        assert!(check_new_password("correct horse").is_ok());
        assert!(check_new_password("short").is_err());
    }

    #[test]
    fn debug_hides_the_password_hash() {
        let user = User {
            user_id: "u1".into(),
            username: Username::parse("alice").expect("valid"),
            email: None,
            email_verified: false,
            name: None,
            password_hash: "$argon2id$secret-material".into(),
            disabled: false,
            role: Role::User,
            created_at: 0,
        };
        assert!(!format!("{user:?}").contains("argon2id"));
    }
}
