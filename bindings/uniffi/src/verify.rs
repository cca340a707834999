//! The server side: a [`Verifier`] checks a received [`Request`] against known keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use apig::{KeyResolver, SecretKey, SignableRequest};

use crate::convert::{Algorithm, Request};
use crate::errors::ApigError;

/// Looks up secrets, implemented in Kotlin or Swift (a database, a keychain, …).
///
/// Return `null`/`nil` for an unknown or disabled key; do not throw.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// The secret of `access_key`, or none when the key is unknown.
    fn secret(&self, access_key: String) -> Option<String>;
}

struct ForeignKeyStore(Arc<dyn KeyStore>);

impl KeyResolver for ForeignKeyStore {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        self.0.secret(access_key.to_owned()).map(SecretKey::new)
    }
}

/// What a verifier accepts. Every field left `null`/`nil` keeps the core's default (APIG's documented
/// behaviour: 15 minutes of skew, `host` need not be signed, unsigned payloads accepted, all algorithms,
/// any V11 region and service).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct VerifyPolicy {
    /// Largest accepted distance in seconds between `X-Sdk-Date` and the verifier's clock.
    #[uniffi(default = None)]
    pub max_skew_seconds: Option<u64>,
    /// Require `host` to be signed.
    #[uniffi(default = None)]
    pub require_host: Option<bool>,
    /// Accept `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (an unauthenticated body).
    #[uniffi(default = None)]
    pub allow_unsigned_payload: Option<bool>,
    /// The algorithms accepted.
    #[uniffi(default = None)]
    pub allowed_algorithms: Option<Vec<Algorithm>>,
    /// V11: the region the credential scope must name.
    #[uniffi(default = None)]
    pub region: Option<String>,
    /// V11: the service the credential scope must name.
    #[uniffi(default = None)]
    pub service: Option<String>,
}

impl From<VerifyPolicy> for apig::VerifyPolicy {
    fn from(policy: VerifyPolicy) -> Self {
        let core = Self::default();
        Self {
            max_skew: policy.max_skew_seconds.map_or(core.max_skew, Duration::from_secs),
            require_host: policy.require_host.unwrap_or(core.require_host),
            allow_unsigned_payload: policy.allow_unsigned_payload.unwrap_or(core.allow_unsigned_payload),
            allowed_algorithms: policy
                .allowed_algorithms
                .map_or(core.allowed_algorithms, |list| list.into_iter().map(Into::into).collect()),
            region: policy.region.or(core.region),
            service: policy.service.or(core.service),
        }
    }
}

/// A request that passed verification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Verified {
    /// The access key that signed it.
    pub access_key: String,
    /// The algorithm used.
    pub algorithm: Algorithm,
    /// The signed header names, lower case and sorted.
    pub signed_headers: Vec<String>,
    /// The signing time, as its `X-Sdk-Date` text.
    pub date: String,
    /// Whether the body was left out of the signature (it is then not authenticated).
    pub unsigned_payload: bool,
    /// The signed `X-Security-Token` of temporary credentials (a token sent unsigned is not
    /// reported). The signature proves the temporary secret; the token is IAM's to validate.
    pub security_token: Option<String>,
}

impl From<apig::Verified> for Verified {
    fn from(v: apig::Verified) -> Self {
        Self {
            signed_headers: v.signed_header_names().map(str::to_owned).collect(),
            access_key: v.access_key,
            algorithm: v.algorithm.into(),
            date: v.date.to_string(),
            unsigned_payload: v.unsigned_payload,
            security_token: v.security_token.as_ref().map(|t| t.expose().to_owned()),
        }
    }
}

/// Verifies signed requests. Thread-safe; build it once and share it.
#[derive(Debug, uniffi::Object)]
pub struct Verifier(apig::Verifier<Arc<dyn KeyResolver>>);

#[uniffi::export]
impl Verifier {
    /// A verifier of the keys in `keys` (access key → secret).
    #[uniffi::constructor(default(policy = None))]
    pub fn new(keys: HashMap<String, String>, policy: Option<VerifyPolicy>) -> Self {
        let keys: HashMap<String, SecretKey> = keys.into_iter().map(|(k, s)| (k, SecretKey::new(s))).collect();
        Self::with_resolver(Arc::new(keys), policy)
    }

    /// A verifier that asks `store` for each secret.
    #[uniffi::constructor(default(policy = None))]
    pub fn with_key_store(store: Arc<dyn KeyStore>, policy: Option<VerifyPolicy>) -> Self {
        Self::with_resolver(Arc::new(ForeignKeyStore(store)), policy)
    }

    /// Verifies `request` as at `now` (default: the system clock).
    ///
    /// # Errors
    /// The first failed check, as a verification error (`MissingAuthorization` … `SignatureMismatch`,
    /// the latter with the verifier's trace) or `InvalidRequest`.
    #[uniffi::method(default(now = None))]
    pub fn verify(&self, request: &Request, now: Option<SystemTime>) -> Result<Verified, ApigError> {
        Ok(request.with_signable(|r| self.verify_signable(r, now))?.into())
    }
}

impl Verifier {
    /// [`Verifier::verify`] of the core's view of a request.
    pub(crate) fn verify_signable(
        &self,
        request: &SignableRequest<'_>,
        now: Option<SystemTime>,
    ) -> Result<apig::Verified, apig::Error> {
        match now {
            Some(now) => self.0.verify_at(request, now),
            None => self.0.verify(request),
        }
    }

    fn with_resolver(resolver: Arc<dyn KeyResolver>, policy: Option<VerifyPolicy>) -> Self {
        Self(apig::Verifier::new(resolver).with_policy(policy.unwrap_or_default().into()))
    }
}
