//! Unguessable identifiers and secrets from the operating system's CSPRNG.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ServerError;

/// `n_bytes` random bytes, base64url without padding.
pub fn random_token(n_bytes: usize) -> Result<String, ServerError> {
    let mut bytes = vec![0u8; n_bytes];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ServerError::Internal("the system random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A client id: 128 bits in lowercase hex, not secret but not guessable either.
/// Hex, because an id that starts with `-` would read as a flag on a command line.
pub fn new_client_id() -> Result<String, ServerError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ServerError::Internal("the system random generator failed".into()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A client secret: 256 bits, so a fast hash at rest is enough.
pub fn new_client_secret() -> Result<String, ServerError> {
    random_token(32)
}

/// A token id (`jti`): 128 bits.
pub fn new_token_id() -> Result<String, ServerError> {
    random_token(16)
}
