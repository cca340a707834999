//! Secret keys and security tokens: zeroized when the last copy is dropped, never printed.

use std::fmt;
use std::sync::{Arc, OnceLock};

use zeroize::Zeroizing;

use crate::algorithm::{HashFunction, SigningKey};

/// An APIG secret key ("SK" / "AppSecret"). Its bytes are the HMAC key (SDK algorithms) or the
/// HKDF input keying material (V11). Cloning is cheap and shares one allocation, wiped on the last
/// drop; `Debug` and `Display` print `SecretKey(***)`.
///
/// A key also keeps, once first used, the HMAC keyed with it for each hash function (the SDK
/// algorithms' signing key), so that a verifier whose key store hands out clones of long-lived
/// `SecretKey`s does not key the HMAC again on every request. Those states are wiped on drop too.
#[derive(Clone)]
pub struct SecretKey(Arc<Inner>);

struct Inner {
    bytes: Zeroizing<Vec<u8>>,
    hmac_sha256: OnceLock<SigningKey>,
    hmac_sm3: OnceLock<SigningKey>,
}

impl SecretKey {
    /// Wraps the secret's UTF-8 text (non-ASCII is allowed: its UTF-8 bytes are the key).
    pub fn new(secret: impl Into<String>) -> Self {
        Self::wrap(Zeroizing::new(secret.into().into_bytes()))
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(secret: &[u8]) -> Self {
        Self::wrap(Zeroizing::new(secret.to_vec()))
    }

    fn wrap(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(Arc::new(Inner { bytes, hmac_sha256: OnceLock::new(), hmac_sm3: OnceLock::new() }))
    }

    /// The key bytes, for the HMAC.
    pub fn expose(&self) -> &[u8] {
        &self.0.bytes
    }

    /// Whether the key is empty (an empty key is refused by signers and verifiers).
    pub fn is_empty(&self) -> bool {
        self.0.bytes.is_empty()
    }

    /// The HMAC keyed with this secret for `hash`, made on first use.
    pub(crate) fn hmac(&self, hash: HashFunction) -> &SigningKey {
        let cell = match hash {
            HashFunction::Sha256 => &self.0.hmac_sha256,
            HashFunction::Sm3 => &self.0.hmac_sm3,
        };
        cell.get_or_init(|| SigningKey::new(hash, self.expose()))
    }
}

impl From<String> for SecretKey {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl From<&str> for SecretKey {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        crate::constant_time::eq(self.expose(), other.expose())
    }
}

impl Eq for SecretKey {}

/// The security token of temporary credentials (IAM's raw string, sent and signed as
/// `X-Security-Token`). Like a [`SecretKey`] it is wiped when the last copy is dropped and never
/// printed: `Debug` and `Display` print `SecurityToken(***)` / `***`. Cloning shares one allocation.
#[derive(Clone)]
pub struct SecurityToken(Arc<Zeroizing<String>>);

impl SecurityToken {
    /// Wraps the token text (checked when a [`Signer`](crate::Signer) is built with it).
    pub fn new(token: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(token.into())))
    }

    /// The token text, as sent in `X-Security-Token`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecurityToken {
    fn from(token: String) -> Self {
        Self::new(token)
    }
}

impl From<&str> for SecurityToken {
    fn from(token: &str) -> Self {
        Self::new(token)
    }
}

impl fmt::Debug for SecurityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecurityToken(***)")
    }
}

impl fmt::Display for SecurityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for SecurityToken {
    fn eq(&self, other: &Self) -> bool {
        crate::constant_time::eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for SecurityToken {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_security_token_is_never_printed() {
        let token = SecurityToken::new("gQpjb3Rva2Vu+/=");
        assert_eq!(format!("{token:?}"), "SecurityToken(***)");
        assert_eq!(format!("{token}"), "***");
        assert_eq!(format!("{:?}", Some(token.clone())), "Some(SecurityToken(***))");
        assert_eq!(token.expose(), "gQpjb3Rva2Vu+/=");
        assert_eq!(token, SecurityToken::from("gQpjb3Rva2Vu+/=".to_owned()));
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let key = SecretKey::new("super-secret");
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(key.expose(), b"super-secret");
    }
}
