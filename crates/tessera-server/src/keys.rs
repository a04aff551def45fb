//! Signing keys: generated on first start, kept in the store, parsed once into
//! in-memory key pairs (re-parsing per token would double the signing cost).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_core::UnixTime;
use tessera_core::id_token::ID_TOKEN_TYP;
use tessera_core::jwt::{self, Algorithm, Signer, SigningError};
use tessera_core::logout::IdTokenHint;
use tessera_core::token::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use tessera_store::{KeyState, SigningKeyRecord, Store};

use crate::error::ServerError;
use crate::store_cache::StoreCache;

/// The keys a running server signs with, and the JWKS it publishes. Rebuilt
/// from the store whenever the keys change (see `changes`), never edited.
pub struct KeySet {
    /// Public keys of every published key, by `kid`, for verifying our own tokens.
    verifiers: HashMap<String, Verifier>,
    /// ES256: signs access tokens (unless a resource asks for RS256).
    pub access_token_signer: Arc<SigningKey>,
    /// RS256: signs ID tokens, and the access tokens of resources that ask for RS256.
    pub id_token_signer: Arc<SigningKey>,
    /// `{"keys": [...]}`: next, current and retired keys, serialized once.
    pub jwks_json: Arc<str>,
    /// Access tokens this set verified, by their text. Verifying a P-256
    /// signature costs twice what signing does, and a resource server
    /// introspects the same token many times. Expiry and revocation are still
    /// judged on every use; a new key set starts empty.
    verified_access_tokens: StoreCache<Arc<AccessTokenClaims>>,
}

/// The algorithms Tessera keeps a key set for.
const ALGORITHMS: [Algorithm; 2] = [Algorithm::Es256, Algorithm::Rs256];

impl KeySet {
    /// Makes sure every algorithm has a current and a next key (creating them
    /// on first start), then loads the set.
    pub async fn load_or_create(store: &dyn Store, now: UnixTime) -> Result<KeySet, ServerError> {
        for algorithm in ALGORITHMS {
            ensure_key(store, algorithm, KeyState::Current, now).await?;
            ensure_key(store, algorithm, KeyState::Next, now).await?;
        }
        KeySet::load(store).await
    }

    /// Loads the published keys; the current one of each algorithm signs.
    pub async fn load(store: &dyn Store) -> Result<KeySet, ServerError> {
        let mut published = Vec::new();
        let mut verifiers = HashMap::new();
        let mut signers = HashMap::new();
        for record in store.list_published_keys().await? {
            let key = SigningKey::from_record(&record)?;
            published.push(key.public_jwk());
            verifiers.insert(key.kid.clone(), key.verifier());
            if record.state == KeyState::Current {
                signers.insert(record.algorithm, Arc::new(key));
            }
        }
        let mut signer = |algorithm: Algorithm| {
            signers.remove(&algorithm).ok_or_else(|| {
                ServerError::Internal(format!("the store has no current {} key", algorithm.as_str()))
            })
        };
        Ok(KeySet {
            verifiers,
            access_token_signer: signer(Algorithm::Es256)?,
            id_token_signer: signer(Algorithm::Rs256)?,
            jwks_json: json!({ "keys": published }).to_string().into(),
            verified_access_tokens: StoreCache::default(),
        })
    }

    /// The current key of `algorithm`, for an access token. Each algorithm has
    /// one current key, so an RS256 access token (a resource's choice) shares
    /// the ID tokens' key; `typ` (`at+jwt` or `JWT`) keeps the two apart.
    pub fn access_token_signer_for(&self, algorithm: Algorithm) -> &Arc<SigningKey> {
        match algorithm {
            Algorithm::Es256 => &self.access_token_signer,
            Algorithm::Rs256 => &self.id_token_signer,
        }
    }

    /// The `kid`s this set publishes.
    pub fn published_kids(&self) -> impl Iterator<Item = &str> {
        self.verifiers.keys().map(String::as_str)
    }
}

/// One algorithm's rotation: `retired` stopped signing, `current` took over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub algorithm: Algorithm,
    pub retired: String,
    pub current: String,
    pub next: String,
}

/// Rotates every algorithm's keys one step (next -> current -> retired, with a
/// fresh next key), pruning keys retired more than `retention` ago. An
/// algorithm someone else rotated meanwhile is left alone.
pub async fn rotate_keys(
    store: &dyn Store,
    now: UnixTime,
    retention: Duration,
) -> Result<Vec<Rotation>, ServerError> {
    let mut rotations = Vec::new();
    for algorithm in ALGORITHMS {
        if let Some(rotation) = rotate(store, algorithm, now, retention).await? {
            rotations.push(rotation);
        }
    }
    Ok(rotations)
}

/// Rotates the algorithms whose current key has signed for `interval` or more.
pub async fn rotate_due_keys(
    store: &dyn Store,
    now: UnixTime,
    interval: Duration,
    retention: Duration,
) -> Result<Vec<Rotation>, ServerError> {
    let mut rotations = Vec::new();
    for algorithm in ALGORITHMS {
        let Some(current) = store.find_current_key(algorithm).await? else { continue };
        let since = current.activated_at.unwrap_or(current.created_at);
        if now.saturating_sub(since) < interval.as_secs() {
            continue;
        }
        if let Some(rotation) = rotate(store, algorithm, now, retention).await? {
            rotations.push(rotation);
        }
    }
    Ok(rotations)
}

async fn rotate(
    store: &dyn Store,
    algorithm: Algorithm,
    now: UnixTime,
    retention: Duration,
) -> Result<Option<Rotation>, ServerError> {
    let current = ensure_key(store, algorithm, KeyState::Current, now).await?;
    let next = ensure_key(store, algorithm, KeyState::Next, now).await?;
    let successor = SigningKey::generate_record(algorithm, KeyState::Next, now)?;
    let prune_before = now.saturating_sub(retention.as_secs());
    if !store.rotate_signing_key(&current.kid, &successor, now, prune_before).await? {
        return Ok(None);
    }
    Ok(Some(Rotation { algorithm, retired: current.kid, current: next.kid, next: successor.kid }))
}

impl KeySet {
    /// The claims of an access token this server signed, if its signature checks
    /// out. Header `alg` must be the algorithm of the key named by `kid`, so
    /// `none`, HMAC with a public key, or a foreign key never verify. Expiry and
    /// revocation are the caller's (the core's) to judge.
    pub fn verify_access_token(&self, token: &str) -> Option<AccessTokenClaims> {
        if let Some(claims) = self.verified_access_tokens.get(token) {
            return Some(AccessTokenClaims::clone(&claims));
        }
        let claims: AccessTokenClaims =
            serde_json::from_slice(&self.verify_payload(token, ACCESS_TOKEN_TYP)?).ok()?;
        self.verified_access_tokens.insert(token, Arc::new(claims.clone()));
        Some(claims)
    }

    /// The claims of an ID token this server signed (expired ones included:
    /// RP-initiated logout accepts them as hints).
    pub fn verify_id_token_hint(&self, token: &str) -> Option<IdTokenHint> {
        serde_json::from_slice(&self.verify_payload(token, ID_TOKEN_TYP)?).ok()
    }

    fn verify_payload(&self, token: &str, typ: &str) -> Option<Vec<u8>> {
        let parts = jwt::split(token)?;
        if parts.header.typ.as_deref() != Some(typ) {
            return None;
        }
        let verifier = self.verifiers.get(parts.header.kid.as_deref()?)?;
        if parts.header.alg != verifier.algorithm.as_str() {
            return None;
        }
        let algorithm: &'static dyn VerificationAlgorithm = match verifier.algorithm {
            Algorithm::Es256 => &ECDSA_P256_SHA256_FIXED,
            Algorithm::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(algorithm, &verifier.public_key)
            .verify(parts.signing_input.as_bytes(), &parts.signature)
            .ok()?;
        Some(parts.payload)
    }
}

/// A public key as the verifier needs it.
struct Verifier {
    algorithm: Algorithm,
    /// SEC1 point for EC, PKCS#1 `RSAPublicKey` DER for RSA.
    public_key: Vec<u8>,
}

/// The algorithm's key in `state`, generated and stored if it has none.
async fn ensure_key(
    store: &dyn Store,
    algorithm: Algorithm,
    state: KeyState,
    now: UnixTime,
) -> Result<SigningKeyRecord, ServerError> {
    if let Some(record) = find_key(store, algorithm, state).await? {
        return Ok(record);
    }
    store.create_key_if_absent(&SigningKey::generate_record(algorithm, state, now)?).await?;
    // Another process may have won the race; whichever key is stored is ours.
    find_key(store, algorithm, state).await?.ok_or_else(|| {
        ServerError::Internal(format!("no {} {} key after creating one", state.as_str(), algorithm.as_str()))
    })
}

async fn find_key(
    store: &dyn Store,
    algorithm: Algorithm,
    state: KeyState,
) -> Result<Option<SigningKeyRecord>, ServerError> {
    if state == KeyState::Current {
        return Ok(store.find_current_key(algorithm).await?);
    }
    let published = store.list_published_keys().await?;
    Ok(published.into_iter().find(|key| key.algorithm == algorithm && key.state == state))
}

enum Pair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

/// A parsed private key with its `kid`.
pub struct SigningKey {
    kid: String,
    pair: Pair,
    rng: SystemRandom,
}

impl SigningKey {
    fn generate_record(
        algorithm: Algorithm,
        state: KeyState,
        now: UnixTime,
    ) -> Result<SigningKeyRecord, ServerError> {
        let failed = |_| ServerError::Internal(format!("could not generate an {} key", algorithm.as_str()));
        let private_key_der = match algorithm {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(failed)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(failed)?
                .as_der()
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        let mut record = SigningKeyRecord {
            kid: String::new(),
            algorithm,
            state,
            private_key_der,
            created_at: now,
            activated_at: (state == KeyState::Current).then_some(now),
            retired_at: None,
        };
        record.kid = SigningKey::from_record(&record)?.thumbprint();
        Ok(record)
    }

    fn from_record(record: &SigningKeyRecord) -> Result<SigningKey, ServerError> {
        let rejected = |err: aws_lc_rs::error::KeyRejected| {
            ServerError::Internal(format!("stored key {} is unusable: {err}", record.kid))
        };
        let pair = match record.algorithm {
            Algorithm::Es256 => Pair::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &record.private_key_der)
                    .map_err(rejected)?,
            ),
            Algorithm::Rs256 => {
                Pair::Rs256(RsaKeyPair::from_pkcs8(&record.private_key_der).map_err(rejected)?)
            }
        };
        Ok(SigningKey { kid: record.kid.clone(), pair, rng: SystemRandom::new() })
    }

    /// The public key's required JWK members, in lexicographic order (RFC 7638 §3.2).
    fn required_members(&self) -> Value {
        match &self.pair {
            Pair::Es256(pair) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                json!({
                    "crv": "P-256",
                    "kty": "EC",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                })
            }
            Pair::Rs256(pair) => {
                let public = pair.public_key();
                json!({
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                })
            }
        }
    }

    /// RFC 7638 JWK thumbprint: the `kid` of a generated key.
    fn thumbprint(&self) -> String {
        // serde_json's map is sorted and compact, as §3.3 requires.
        let canonical = self.required_members().to_string();
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()))
    }

    fn verifier(&self) -> Verifier {
        let public_key = match &self.pair {
            Pair::Es256(pair) => pair.public_key().as_ref().to_vec(),
            Pair::Rs256(pair) => pair.public_key().as_ref().to_vec(),
        };
        Verifier { algorithm: self.algorithm(), public_key }
    }

    fn public_jwk(&self) -> Value {
        let mut jwk = self.required_members();
        if let Value::Object(members) = &mut jwk {
            members.insert("kid".into(), Value::String(self.kid.clone()));
            members.insert("use".into(), Value::String("sig".into()));
            members.insert("alg".into(), Value::String(self.algorithm().as_str().into()));
        }
        jwk
    }
}

impl Signer for SigningKey {
    fn algorithm(&self) -> Algorithm {
        match self.pair {
            Pair::Es256(_) => Algorithm::Es256,
            Pair::Rs256(_) => Algorithm::Rs256,
        }
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let failed = |_| SigningError(format!("{} signature failed", self.algorithm().as_str()));
        match &self.pair {
            Pair::Es256(pair) => Ok(pair.sign(&self.rng, message).map_err(failed)?.as_ref().to_vec()),
            Pair::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature).map_err(failed)?;
                Ok(signature)
            }
        }
    }
}
