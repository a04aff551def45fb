//! Sealing short-lived values into cookies: AES-256-GCM under a key every
//! replica shares (`Store::server_secret`). The console uses it to show a new
//! client secret once, after a redirect, without keeping the secret anywhere
//! on the server: the browser holds it sealed, and the page that opens it
//! deletes the cookie.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::UnixTime;
use tessera_store::Store;

use crate::error::ServerError;

const KEY_NAME: &str = "console_secret_box";

pub struct SecretBox {
    key: LessSafeKey,
}

impl SecretBox {
    pub async fn load(store: &dyn Store, now: UnixTime) -> Result<SecretBox, ServerError> {
        let mut candidate = [0u8; 32];
        SystemRandom::new()
            .fill(&mut candidate)
            .map_err(|_| ServerError::Internal("no randomness".into()))?;
        let key = store.server_secret(KEY_NAME, &candidate, now).await?;
        SecretBox::with_key(&key)
    }

    fn with_key(key: &[u8]) -> Result<SecretBox, ServerError> {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| ServerError::Internal("secret box key has the wrong length".into()))?;
        Ok(SecretBox { key: LessSafeKey::new(key) })
    }

    /// `plaintext` sealed for `purpose` (bound as associated data, so a value
    /// sealed for one purpose never opens as another), in URL-safe base64.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<String, ServerError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| ServerError::Internal("no randomness".into()))?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| ServerError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The plaintext, if `sealed` was made by `seal` for `purpose` with this key.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let opened = self.key.open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buffer).ok()?;
        Some(opened.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_what_it_sealed_for_the_same_purpose() {
        let sealer = SecretBox::with_key(&[7; 32]).expect("key");
        let sealed = sealer.seal("client-secret", b"s3cret").expect("sealed");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(sealer.open("client-secret", &sealed).as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(sealer.open("api-token", &sealed), None, "another purpose");
        let other = SecretBox::with_key(&[8; 32]).expect("key");
        assert_eq!(other.open("client-secret", &sealed), None, "another key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(sealer.open("client-secret", &String::from_utf8(tampered).expect("utf8")), None);
        assert_eq!(sealer.open("client-secret", "short"), None);
        assert_ne!(sealer.seal("client-secret", b"s3cret").expect("sealed"), sealed, "fresh nonce");
    }
}
