//! Refresh token mechanics the core leaves to the server: minting tokens, and
//! deriving a token's successor as HMAC(server key, token). Derivation lets a
//! just-rotated token, presented again within the grace window, get the same
//! successor back without any token ever being stored in clear.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::UnixTime;
use tessera_core::grant::refresh::RefreshPolicy;
use tessera_store::Store;

use crate::error::ServerError;
use crate::random::random_token;

const SUCCESSOR_KEY_NAME: &str = "refresh-successor-key";

pub struct RefreshTokens {
    pub policy: RefreshPolicy,
    successor_key: hmac::Key,
}

impl RefreshTokens {
    /// Loads the successor key, creating it on first start (shared by replicas).
    pub async fn load(
        store: &dyn Store,
        policy: RefreshPolicy,
        now: UnixTime,
    ) -> Result<RefreshTokens, ServerError> {
        let candidate = URL_SAFE_NO_PAD
            .decode(random_token(32)?)
            .map_err(|_| ServerError::Internal("random key encoding".into()))?;
        let key = store.server_secret(SUCCESSOR_KEY_NAME, &candidate, now).await?;
        Ok(RefreshTokens { policy, successor_key: hmac::Key::new(hmac::HMAC_SHA256, &key) })
    }

    /// A new, unrelated refresh token (256 bits).
    pub fn mint(&self) -> Result<String, ServerError> {
        random_token(32)
    }

    /// The successor of `token`: unguessable without the key, the same every time.
    pub fn successor_of(&self, token: &str) -> String {
        let tag = hmac::sign(&self.successor_key, token.as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }
}
