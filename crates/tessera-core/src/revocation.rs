//! Token revocation (RFC 7009): what revoking a token means, and who may.

use crate::UnixTime;
use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::grant::refresh::RefreshTokenRecord;
use crate::token::AccessTokenClaims;

/// An access token to remember as revoked until it would have expired anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRevocation {
    pub jti: String,
    pub expires_at: UnixTime,
}

/// Decides the revocation of a signature-verified access token.
///
/// RFC 7009 §2.1: the token must have been issued to the caller; if not, the
/// request is refused. An already expired token needs nothing remembered.
pub fn revoke_access_token(
    caller: &Client,
    claims: AccessTokenClaims,
    now: UnixTime,
) -> Result<Option<AccessTokenRevocation>, OAuthError> {
    if claims.client_id != caller.client_id {
        return Err(ErrorCode::UnauthorizedClient.with("the token was not issued to this client"));
    }
    if claims.exp <= now {
        return Ok(None);
    }
    Ok(Some(AccessTokenRevocation { jti: claims.jti, expires_at: claims.exp }))
}

/// Decides the revocation of a stored refresh token: the caller's own token's
/// whole family goes (RFC 7009 §2.1); another client's token is refused.
pub fn revoke_refresh_token(caller: &Client, record: &RefreshTokenRecord) -> Result<String, OAuthError> {
    if record.client_id != caller.client_id {
        return Err(ErrorCode::UnauthorizedClient.with("the token was not issued to this client"));
    }
    Ok(record.family_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn claims(client_id: &str, exp: u64) -> AccessTokenClaims {
        AccessTokenClaims { exp, ..fixtures::claims(client_id) }
    }

    fn client(id: &str) -> Client {
        fixtures::client(id)
    }

    #[test]
    fn own_live_token_is_remembered_until_expiry() {
        let decision = revoke_access_token(&client("app"), claims("app", 500), 100).expect("allowed");
        assert_eq!(decision, Some(AccessTokenRevocation { jti: "jti-1".into(), expires_at: 500 }));
    }

    #[test]
    fn expired_token_needs_nothing() {
        assert_eq!(revoke_access_token(&client("app"), claims("app", 100), 100), Ok(None));
    }

    #[test]
    fn another_clients_token_is_refused() {
        let err = revoke_access_token(&client("app"), claims("other", 500), 100).expect_err("refused");
        assert_eq!(err.code, ErrorCode::UnauthorizedClient);
    }
}
