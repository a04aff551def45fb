//! Values the server hands out and later recognises without storing them, so
//! that every replica recognises what any of them handed out: DPoP nonces
//! (RFC 9449 §8), and the seal that marks an authorization request's
//! parameters as the ones a client pushed (RFC 9126) while they travel through
//! login and consent. Both are HMAC-SHA256 under keys every replica shares
//! (`Store::server_secret`), one key per purpose.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::UnixTime;
use tessera_core::request::FormParams;
use tessera_store::Store;

use crate::error::ServerError;
use crate::random::random_token;

const DPOP_NONCE_KEY_NAME: &str = "dpop-nonce-key";
const PUSHED_REQUEST_KEY_NAME: &str = "pushed-request-seal-key";

/// Seconds a DPoP nonce is handed out for; it is accepted for one more
/// window after that, so a nonce lives 5 to 10 minutes.
pub const DPOP_NONCE_WINDOW: u64 = 300;

/// How long the parameters of a pushed request, once its `request_uri` was
/// used, may take through login and consent.
pub const PUSHED_FLOW_LIFETIME: u64 = 30 * 60;

/// The authorization request parameter that carries the seal.
pub const PUSHED_SEAL_PARAM: &str = "pushed_request_seal";

pub struct RequestSeals {
    dpop_nonce_key: hmac::Key,
    pushed_request_key: hmac::Key,
}

impl RequestSeals {
    /// Loads the keys, creating them on first start (shared by replicas).
    pub async fn load(store: &dyn Store, now: UnixTime) -> Result<RequestSeals, ServerError> {
        let mut keys = Vec::new();
        for name in [DPOP_NONCE_KEY_NAME, PUSHED_REQUEST_KEY_NAME] {
            let candidate = URL_SAFE_NO_PAD
                .decode(random_token(32)?)
                .map_err(|_| ServerError::Internal("random key encoding".into()))?;
            keys.push(store.server_secret(name, &candidate, now).await?);
        }
        Ok(RequestSeals::with_keys(&keys[0], &keys[1]))
    }

    fn with_keys(dpop_nonce_key: &[u8], pushed_request_key: &[u8]) -> RequestSeals {
        RequestSeals {
            dpop_nonce_key: hmac::Key::new(hmac::HMAC_SHA256, dpop_nonce_key),
            pushed_request_key: hmac::Key::new(hmac::HMAC_SHA256, pushed_request_key),
        }
    }

    /// The DPoP nonce to hand out at `now`: unpredictable without the key,
    /// the same on every replica within a window.
    pub fn dpop_nonce(&self, now: UnixTime) -> String {
        self.dpop_nonce_of_window(now / DPOP_NONCE_WINDOW)
    }

    /// The nonces a proof may carry at `now`: this window's, and the one
    /// before, which a client may have been handed just before the window turned.
    pub fn accepted_dpop_nonces(&self, now: UnixTime) -> [String; 2] {
        let window = now / DPOP_NONCE_WINDOW;
        [self.dpop_nonce_of_window(window), self.dpop_nonce_of_window(window.saturating_sub(1))]
    }

    fn dpop_nonce_of_window(&self, window: u64) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.dpop_nonce_key, &window.to_be_bytes()))
    }

    /// `params` (a pushed request's, just taken from the store) sealed until
    /// `now` plus [`PUSHED_FLOW_LIFETIME`]; an earlier seal is replaced.
    pub fn seal_pushed(&self, params: &FormParams, now: UnixTime) -> FormParams {
        let unsealed = params.with_value(PUSHED_SEAL_PARAM, "");
        let expires_at = now.saturating_add(PUSHED_FLOW_LIFETIME);
        let tag = hmac::sign(&self.pushed_request_key, &sealed_message(&unsealed, expires_at));
        let seal = format!("{expires_at}.{}", URL_SAFE_NO_PAD.encode(tag));
        unsealed.with_value(PUSHED_SEAL_PARAM, &seal)
    }

    /// Whether `params` carry an unexpired seal made by [`seal_pushed`] for
    /// exactly these parameters.
    ///
    /// [`seal_pushed`]: RequestSeals::seal_pushed
    pub fn is_pushed(&self, params: &FormParams, now: UnixTime) -> bool {
        let Some((expires_at, tag)) = params.get(PUSHED_SEAL_PARAM).and_then(|seal| seal.split_once('.'))
        else {
            return false;
        };
        let (Ok(expires_at), Ok(tag)) = (expires_at.parse::<u64>(), URL_SAFE_NO_PAD.decode(tag)) else {
            return false;
        };
        let unsealed = params.with_value(PUSHED_SEAL_PARAM, "");
        now < expires_at
            && hmac::verify(&self.pushed_request_key, &sealed_message(&unsealed, expires_at), &tag).is_ok()
    }
}

/// What the seal's MAC covers: its expiry and every other parameter, in order.
fn sealed_message(unsealed: &FormParams, expires_at: UnixTime) -> Vec<u8> {
    format!("{expires_at}\n{}", unsealed.encode()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seals() -> RequestSeals {
        RequestSeals::with_keys(&[1; 32], &[2; 32])
    }

    #[test]
    fn dpop_nonces_are_good_for_their_window_and_the_next() {
        let seals = seals();
        let now = 1_700_000_000;
        let nonce = seals.dpop_nonce(now);
        assert_eq!(nonce.len(), 43, "256 bits, base64url");
        assert!(seals.accepted_dpop_nonces(now).contains(&nonce));
        assert!(seals.accepted_dpop_nonces(now + DPOP_NONCE_WINDOW).contains(&nonce), "the next window");
        assert!(!seals.accepted_dpop_nonces(now + 2 * DPOP_NONCE_WINDOW).contains(&nonce), "then not");
        assert_ne!(seals.dpop_nonce(now + DPOP_NONCE_WINDOW), nonce, "a new window, a new nonce");
        let other_key = RequestSeals::with_keys(&[3; 32], &[2; 32]);
        assert_ne!(other_key.dpop_nonce(now), nonce, "unpredictable without the key");
    }

    #[test]
    fn a_seal_covers_every_parameter_until_it_expires() {
        let seals = seals();
        let params = FormParams::parse(b"client_id=app&state=xyz&scope=a").expect("form");
        let sealed = seals.seal_pushed(&params, 100);
        assert!(seals.is_pushed(&sealed, 100));
        assert!(seals.is_pushed(&sealed, 100 + PUSHED_FLOW_LIFETIME - 1));
        assert!(!seals.is_pushed(&sealed, 100 + PUSHED_FLOW_LIFETIME), "expired");
        assert!(!seals.is_pushed(&params, 100), "never sealed");
        let round_trip = FormParams::parse(sealed.encode().as_bytes()).expect("form");
        assert!(seals.is_pushed(&round_trip, 100), "the seal survives encoding");

        for changed in [
            sealed.with_value("scope", "a b"),
            sealed.with_value("redirect_uri", "https://evil.example.com/cb"),
            sealed.with_value("state", ""),
        ] {
            assert!(!seals.is_pushed(&changed, 100), "{}", changed.encode());
        }
        let seal = sealed.get(PUSHED_SEAL_PARAM).expect("sealed");
        let (_, tag) = seal.split_once('.').expect("expiry and tag");
        let extended = sealed.with_value(PUSHED_SEAL_PARAM, &format!("{}.{tag}", 10 * PUSHED_FLOW_LIFETIME));
        assert!(!seals.is_pushed(&extended, 100), "the expiry is covered too");
        for garbage in ["", "x", "1.", ".abc", "99999999999.!!", "1.2.3"] {
            assert!(!seals.is_pushed(&params.with_value(PUSHED_SEAL_PARAM, garbage), 0), "{garbage}");
        }
        let other_key = RequestSeals::with_keys(&[1; 32], &[9; 32]);
        assert!(!other_key.is_pushed(&sealed, 100));

        let resealed = seals.seal_pushed(&sealed.with_value("prompt", ""), 200);
        assert!(seals.is_pushed(&resealed, 200), "a reseal replaces the old seal");
        assert_eq!(resealed.get_all(PUSHED_SEAL_PARAM).count(), 1);
    }
}
