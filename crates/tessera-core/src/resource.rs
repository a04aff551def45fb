//! Resource indicators (RFC 8707): which API an access token is for.

use std::fmt;

use url::Url;

use crate::error::{ErrorCode, OAuthError};

/// An absolute URI without a fragment naming a protected resource; it becomes
/// the token's `aud`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource(String);

impl Resource {
    pub fn parse(raw: &str) -> Result<Resource, OAuthError> {
        if raw.chars().any(char::is_control) {
            return Err(ErrorCode::InvalidTarget.with("a resource must not contain control characters"));
        }
        let url = Url::parse(raw)
            .map_err(|_| ErrorCode::InvalidTarget.with(format!("resource `{raw}` is not an absolute URI")))?;
        if url.fragment().is_some() {
            return Err(
                ErrorCode::InvalidTarget.with(format!("resource `{raw}` must not contain a fragment"))
            );
        }
        // Kept as sent: `aud` must compare equal to what the resource server expects.
        Ok(Resource(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_absolute_uris_only() {
        assert!(Resource::parse("https://api.example.com/v1").is_ok());
        assert!(Resource::parse("urn:example:api").is_ok());
        let relative = Resource::parse("/v1").expect_err("relative");
        assert_eq!(relative.code, ErrorCode::InvalidTarget);
        let fragment = Resource::parse("https://api.example.com/#x").expect_err("fragment");
        assert_eq!(fragment.code, ErrorCode::InvalidTarget);
    }
}
