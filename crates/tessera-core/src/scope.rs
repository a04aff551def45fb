//! Scopes and scope sets (RFC 6749 §3.3), and the subset rule that limits a
//! client to what it was granted.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::{ErrorCode, OAuthError};

/// Scopes that only mean something in a flow with a user.
pub const USER_ONLY_SCOPES: &[&str] = &["openid", "offline_access"];

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    pub fn parse(raw: &str) -> Result<Scope, OAuthError> {
        let is_scope_char = |c: char| matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
        if raw.is_empty() || !raw.chars().all(is_scope_char) {
            return Err(ErrorCode::InvalidScope.with(format!(
                "`{}` is not a valid scope: use printable ASCII without spaces, `\"` or `\\`",
                raw.escape_default()
            )));
        }
        Ok(Scope(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_user_only(&self) -> bool {
        USER_ONLY_SCOPES.contains(&self.0.as_str())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes, kept sorted so that output is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-delimited `scope` parameter. Extra spaces are tolerated
    /// (real clients send them); anything else that is not a scope is refused.
    pub fn parse(raw: &str) -> Result<ScopeSet, OAuthError> {
        raw.split(' ').filter(|token| !token.is_empty()).map(Scope::parse).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|held| held.as_str() == scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes of `self` that `other` lacks.
    pub fn missing_from<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a Scope> {
        self.0.difference(&other.0)
    }

    /// Keeps only the scopes for which `keep` holds.
    pub fn filtered(&self, keep: impl Fn(&Scope) -> bool) -> ScopeSet {
        ScopeSet(self.0.iter().filter(|scope| keep(scope)).cloned().collect())
    }

    /// Checks that `self`, as requested by a client, stays within `granted`.
    pub fn ensure_within(&self, granted: &ScopeSet) -> Result<(), OAuthError> {
        let missing: Vec<&str> = self.missing_from(granted).map(Scope::as_str).collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ErrorCode::InvalidScope
            .with(format!("the client was not granted the scope(s): {}", missing.join(" "))))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> ScopeSet {
        ScopeSet(iter.into_iter().collect())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (idx, scope) in self.0.iter().enumerate() {
            if idx > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[track_caller]
    fn check_parse(raw: &str, expect: Expect) {
        let actual = match ScopeSet::parse(raw) {
            Ok(set) => format!("{set:?} => {set}"),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn parses_and_sorts() {
        check_parse(
            "contact.write client.read",
            expect![[
                r#"ScopeSet({Scope("client.read"), Scope("contact.write")}) => client.read contact.write"#
            ]],
        );
    }

    #[test]
    fn tolerates_extra_spaces_and_duplicates() {
        check_parse(
            " contact.write  contact.write ",
            expect![[r#"ScopeSet({Scope("contact.write")}) => contact.write"#]],
        );
    }

    #[test]
    fn refuses_forbidden_characters() {
        check_parse(
            "read \"write\"",
            expect![[
                r#"Err(invalid_scope: `\"write\"` is not a valid scope: use printable ASCII without spaces, `"` or `\`)"#
            ]],
        );
        check_parse(
            "read\twrite",
            expect![[
                r#"Err(invalid_scope: `read\twrite` is not a valid scope: use printable ASCII without spaces, `"` or `\`)"#
            ]],
        );
        check_parse(
            "lecture.é",
            expect![[
                r#"Err(invalid_scope: `lecture.\u{e9}` is not a valid scope: use printable ASCII without spaces, `"` or `\`)"#
            ]],
        );
    }

    #[track_caller]
    fn check_within(requested: &str, granted: &str, expect: Expect) {
        let requested = ScopeSet::parse(requested).expect("requested");
        let granted = ScopeSet::parse(granted).expect("granted");
        let actual = match requested.ensure_within(&granted) {
            Ok(()) => "Ok".to_owned(),
            Err(err) => format!("Err({err})"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn subset_rule() {
        check_within("a", "a b", expect!["Ok"]);
        check_within("", "a b", expect!["Ok"]);
        check_within("a b", "a b", expect!["Ok"]);
        check_within(
            "a c d",
            "a b",
            expect!["Err(invalid_scope: the client was not granted the scope(s): c d)"],
        );
        check_within("a", "", expect!["Err(invalid_scope: the client was not granted the scope(s): a)"]);
    }
}
