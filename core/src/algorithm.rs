//! The signing algorithms: `SDK-HMAC-SHA256`, `SDK-HMAC-SM3`, `V11-HMAC-SHA256`, `V11-HMAC-SM3`.

use std::fmt;
use std::str::FromStr;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use sm3::Sm3;
use zeroize::Zeroizing;

use crate::encoding::{HexText, hex, hex_into};
use crate::error::{Error, ErrorKind};
use crate::request::{X_SDK_CONTENT_SHA256, X_SDK_CONTENT_SM3};

/// A signing algorithm, named by the token that opens the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// `SDK-HMAC-SHA256`: the APIG default. HMAC-SHA256 keyed with the secret's bytes.
    #[default]
    SdkHmacSha256,
    /// `SDK-HMAC-SM3`: as the default with SM3 in place of SHA-256 everywhere.
    SdkHmacSm3,
    /// `V11-HMAC-SHA256`: adds a credential scope `yyyymmdd/region/service` and an HKDF-derived key.
    V11HmacSha256,
    /// `V11-HMAC-SM3`: V11 with SM3.
    V11HmacSm3,
}

/// The hash function under an [`Algorithm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// SHA-256.
    Sha256,
    /// SM3 (GB/T 32905-2016).
    Sm3,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Self; 4] = [Self::SdkHmacSha256, Self::SdkHmacSm3, Self::V11HmacSha256, Self::V11HmacSm3];

    /// The token, e.g. `SDK-HMAC-SHA256`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SdkHmacSha256 => "SDK-HMAC-SHA256",
            Self::SdkHmacSm3 => "SDK-HMAC-SM3",
            Self::V11HmacSha256 => "V11-HMAC-SHA256",
            Self::V11HmacSm3 => "V11-HMAC-SM3",
        }
    }

    /// Whether this is a V11 algorithm (credential scope, derived key, `Credential=` field).
    pub const fn is_v11(self) -> bool {
        matches!(self, Self::V11HmacSha256 | Self::V11HmacSm3)
    }

    /// The hash function used for the body, the canonical request and the HMAC.
    pub const fn hash_function(self) -> HashFunction {
        match self {
            Self::SdkHmacSha256 | Self::V11HmacSha256 => HashFunction::Sha256,
            Self::SdkHmacSm3 | Self::V11HmacSm3 => HashFunction::Sm3,
        }
    }

    /// The (lower-case) headers whose value replaces the body hash, in order of preference:
    /// `x-sdk-content-sha256`, and for SM3 first `x-sdk-content-sm3` (Python v3 core) then
    /// `x-sdk-content-sha256` (Go APIG SDK).
    pub const fn content_hash_headers(self) -> &'static [&'static str] {
        match self.hash_function() {
            HashFunction::Sha256 => &[X_SDK_CONTENT_SHA256],
            HashFunction::Sm3 => &[X_SDK_CONTENT_SM3, X_SDK_CONTENT_SHA256],
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// The algorithm of a token, exactly as written in `Authorization` (case-sensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            crate::settings::unknown(ErrorKind::UnsupportedAlgorithm, "algorithm", s, &Self::ALL.map(Self::as_str))
        })
    }
}

impl TryFrom<&str> for Algorithm {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Error> {
        s.parse()
    }
}

impl HashFunction {
    /// Lower-case hex digest of `data`.
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Self::Sha256 => hex(&Sha256::digest(data)),
            Self::Sm3 => hex(&Sm3::digest(data)),
        }
    }

    /// Appends the lower-case hex digest of `data` to `out`.
    pub fn hash_hex_into(self, data: &[u8], out: &mut String) {
        match self {
            Self::Sha256 => hex_into(&Sha256::digest(data), out),
            Self::Sm3 => hex_into(&Sm3::digest(data), out),
        }
    }

    /// The lower-case hex digest of `data`, on the stack.
    pub(crate) fn hash_hex_text(self, data: &[u8]) -> HexText {
        match self {
            Self::Sha256 => HexText::new(&Sha256::digest(data)),
            Self::Sm3 => HexText::new(&Sm3::digest(data)),
        }
    }

    /// Lower-case hex digest of the empty body.
    pub const fn empty_hash(self) -> &'static str {
        match self {
            Self::Sha256 => "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            Self::Sm3 => "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",
        }
    }
}

/// A keyed HMAC, prepared once and cloned per message (saves the two key-pad compressions).
#[derive(Clone)]
pub(crate) enum SigningKey {
    Sha256(Hmac<Sha256>),
    Sm3(Hmac<Sm3>),
}

impl SigningKey {
    pub(crate) fn new(hash: HashFunction, key: &[u8]) -> Self {
        // HMAC accepts keys of any length: `new_from_slice` cannot fail here, but stays non-panicking.
        match hash {
            HashFunction::Sha256 => Self::Sha256(
                Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default())),
            ),
            HashFunction::Sm3 => {
                Self::Sm3(Hmac::<Sm3>::new_from_slice(key).unwrap_or_else(|_| Hmac::<Sm3>::new(&Default::default())))
            }
        }
    }

    /// Lower-case hex HMAC of the concatenation of `parts`, on the stack (no buffer for the
    /// message).
    pub(crate) fn sign_hex_parts(&self, parts: &[&str]) -> HexText {
        match self.clone() {
            Self::Sha256(mut mac) => {
                parts.iter().for_each(|part| mac.update(part.as_bytes()));
                HexText::new(&mac.finalize().into_bytes())
            }
            Self::Sm3(mut mac) => {
                parts.iter().for_each(|part| mac.update(part.as_bytes()));
                HexText::new(&mac.finalize().into_bytes())
            }
        }
    }

    /// Lower-case hex HMAC of `message`, on the stack.
    pub(crate) fn sign_hex(&self, message: &[u8]) -> HexText {
        match self.clone() {
            Self::Sha256(mut mac) => {
                mac.update(message);
                HexText::new(&mac.finalize().into_bytes())
            }
            Self::Sm3(mut mac) => {
                mac.update(message);
                HexText::new(&mac.finalize().into_bytes())
            }
        }
    }
}

/// The V11 signing key: the lower-hex text (64 ASCII characters) of
/// HKDF(hash, salt = access key, IKM = secret, info = credential scope, 32 bytes).
pub(crate) fn derive_v11_key(hash: HashFunction, access_key: &str, secret: &[u8], scope: &str) -> Zeroizing<String> {
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is always a valid HKDF output length for 32-byte hashes; the error arm is unreachable.
    let _ = match hash {
        HashFunction::Sha256 => {
            Hkdf::<Sha256>::new(Some(access_key.as_bytes()), secret).expand(scope.as_bytes(), okm.as_mut())
        }
        HashFunction::Sm3 => {
            Hkdf::<Sm3>::new(Some(access_key.as_bytes()), secret).expand(scope.as_bytes(), okm.as_mut())
        }
    };
    Zeroizing::new(hex(okm.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(a.as_str().parse::<Algorithm>().unwrap(), a);
        }
        assert_eq!("sdk-hmac-sha256".parse::<Algorithm>().unwrap_err().kind(), ErrorKind::UnsupportedAlgorithm);
    }

    #[test]
    fn empty_hashes_are_right() {
        assert_eq!(HashFunction::Sha256.hash_hex(b""), HashFunction::Sha256.empty_hash());
        assert_eq!(HashFunction::Sm3.hash_hex(b""), HashFunction::Sm3.empty_hash());
        for hash in [HashFunction::Sha256, HashFunction::Sm3] {
            for data in [&b""[..], b"abc", &[0xa5; 200]] {
                assert_eq!(hash.hash_hex_text(data).as_str(), hash.hash_hex(data));
            }
        }
    }

    #[test]
    fn hmac_sha256_rfc4231_case_2() {
        let out = SigningKey::new(HashFunction::Sha256, b"Jefe").sign_hex(b"what do ya want for nothing?");
        assert_eq!(out.as_str(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        for hash in [HashFunction::Sha256, HashFunction::Sm3] {
            let key = SigningKey::new(hash, b"Jefe");
            let parts = ["what do ", "", "ya want", " for nothing?"];
            assert_eq!(key.sign_hex_parts(&parts).as_str(), key.sign_hex(parts.concat().as_bytes()).as_str());
        }
    }

    #[test]
    fn v11_key_matches_the_vector() {
        // sign-variants.json: query_duplicate_keys__V11-HMAC-SHA256
        let key = derive_v11_key(
            HashFunction::Sha256,
            "AKTESTEXAMPLE0000001",
            b"sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv",
            "20240403/cn-north-4/apic",
        );
        assert_eq!(key.as_str(), "d27454cd0f09de51d55ede0bf559c83d84d2937c587a146f1046b491b3805630");
    }
}
