//! Gateway-issued credentials and the store requests are authenticated against.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::sigv4::CredentialScope;

/// The public half of a SigV4 key pair (`AKID…`); safe to log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret half of a SigV4 key pair. Debug is redacted so it can never reach a log line.
pub struct SecretKey {
    secret: String,
    /// The last signing key derived from this secret and the scope it was derived for: a key
    /// signs with one scope all day, and deriving costs four HMACs per request.
    derived: Mutex<Option<(CredentialScope, [u8; 32])>>,
}

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            derived: Mutex::new(None),
        }
    }

    /// The raw secret, for deriving signing keys only.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// The signing key for `scope`: the cached one when the scope is the last one seen,
    /// otherwise `derive()`'s, which is then cached.
    pub(crate) fn signing_key_for(
        &self,
        scope: &CredentialScope,
        derive: impl FnOnce() -> [u8; 32],
    ) -> [u8; 32] {
        // A panic while holding the lock leaves plain data behind: still usable.
        let lock = || self.derived.lock().unwrap_or_else(|p| p.into_inner());
        let cached = lock().as_ref().filter(|(s, _)| s == scope).map(|(_, k)| *k);
        if let Some(key) = cached {
            return key;
        }
        let key = derive();
        *lock() = Some((scope.clone(), key));
        key
    }
}

impl Clone for SecretKey {
    fn clone(&self) -> Self {
        Self::new(self.secret.clone())
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.secret == other.secret
    }
}

impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A bearer token (`Authorization: Bearer …`, boto3's `AWS_BEARER_TOKEN_BEDROCK`). Debug is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// Who a request was authenticated as: the gateway-issued key it was signed with, and what that
/// key may use.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The gateway-issued key's configured name (not its secret): safe to log and to meter by.
    pub key_name: String,
    /// The providers the key may reach; `None` for all.
    pub providers: Option<Vec<String>>,
    /// The model ids (as clients send them) the key may call; `None` for all.
    pub models: Option<globset::GlobSet>,
}

/// Keys are identified by name; their allowances come with the name from config.
impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.key_name == other.key_name
    }
}

impl Eq for Identity {}

impl Identity {
    /// A key that may use every provider and model.
    pub fn new(key_name: impl Into<String>) -> Self {
        Self {
            key_name: key_name.into(),
            providers: None,
            models: None,
        }
    }

    /// Whether this key may send `model_id` (as the client sent it) to `provider`.
    pub fn allows(&self, provider: &str, model_id: &str) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|p| p.iter().any(|p| p == provider))
            && self.models.as_ref().is_none_or(|m| m.is_match(model_id))
    }
}

/// A SigV4 key pair and the identity it authenticates as.
#[derive(Clone, Debug)]
pub struct Credential {
    pub access_key_id: AccessKeyId,
    pub secret: SecretKey,
    pub identity: Identity,
}

/// Looks credentials up by access key id and bearer tokens by value.
#[derive(Clone, Debug, Default)]
pub struct KeyStore {
    by_access_key: HashMap<String, Credential>,
    // Only digests are kept: comparing fixed-length digests in constant time hides both the
    // token's bytes and its length from timing.
    bearers: Vec<([u8; 32], Identity)>,
}

impl KeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a SigV4 credential.
    pub fn insert(&mut self, credential: Credential) {
        self.by_access_key
            .insert(credential.access_key_id.as_str().to_owned(), credential);
    }

    /// Adds a bearer token.
    pub fn insert_bearer(&mut self, token: &BearerToken, identity: Identity) {
        self.bearers
            .push((Sha256::digest(token.expose().as_bytes()).into(), identity));
    }

    /// The credential for an access key id. Key ids are public, so a plain map lookup is fine.
    pub fn lookup(&self, access_key_id: &str) -> Option<&Credential> {
        self.by_access_key.get(access_key_id)
    }

    /// The identity a bearer token belongs to; every stored token is compared, in constant time.
    pub fn lookup_bearer(&self, token: &str) -> Option<&Identity> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (digest, identity) in &self.bearers {
            if constant_time_eq(digest, &presented) && found.is_none() {
                found = Some(identity);
            }
        }
        found
    }
}

/// Compares without an early exit, so the time taken does not reveal where inputs first differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}
