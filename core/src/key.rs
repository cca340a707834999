//! Secret keys: zeroized when the last copy is dropped, never printed.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

/// An APIG secret key ("SK" / "AppSecret"). Its bytes are the HMAC key (SDK algorithms) or the
/// HKDF input keying material (V11). Cloning is cheap and shares one allocation, wiped on the last
/// drop; `Debug` and `Display` print `SecretKey(***)`.
#[derive(Clone)]
pub struct SecretKey(Arc<Zeroizing<Vec<u8>>>);

impl SecretKey {
    /// Wraps the secret's UTF-8 text (non-ASCII is allowed: its UTF-8 bytes are the key).
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(secret.into().into_bytes())))
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(secret: &[u8]) -> Self {
        Self(Arc::new(Zeroizing::new(secret.to_vec())))
    }

    /// The key bytes, for the HMAC.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the key is empty (an empty key is refused by signers and verifiers).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
        use subtle::ConstantTimeEq;
        bool::from(self.expose().ct_eq(other.expose()))
    }
}

impl Eq for SecretKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let key = SecretKey::new("super-secret");
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(key.expose(), b"super-secret");
    }
}
