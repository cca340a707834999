//! The records and enums that cross the FFI, and their conversions to and from the core's types.

use apig::{SignableBody, SignableRequest};

/// A signing algorithm (the token opening the `Authorization` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Algorithm {
    /// `SDK-HMAC-SHA256`: the APIG default.
    SdkHmacSha256,
    /// `SDK-HMAC-SM3`.
    SdkHmacSm3,
    /// `V11-HMAC-SHA256`: credential scope and HKDF-derived key (needs a region).
    V11HmacSha256,
    /// `V11-HMAC-SM3`.
    V11HmacSm3,
}

#[uniffi::export]
impl Algorithm {
    /// The token, e.g. `SDK-HMAC-SHA256`.
    pub fn token(&self) -> String {
        apig::Algorithm::from(*self).as_str().to_owned()
    }
}

/// The algorithm named by `token` (`SDK-HMAC-SHA256`, `SDK-HMAC-SM3`, `V11-HMAC-SHA256`, `V11-HMAC-SM3`).
///
/// # Errors
/// `UnsupportedAlgorithm` for any other token.
#[uniffi::export]
pub fn parse_algorithm(token: &str) -> Result<Algorithm, crate::ApigError> {
    Ok(token.parse::<apig::Algorithm>()?.into())
}

impl From<Algorithm> for apig::Algorithm {
    fn from(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::SdkHmacSha256 => Self::SdkHmacSha256,
            Algorithm::SdkHmacSm3 => Self::SdkHmacSm3,
            Algorithm::V11HmacSha256 => Self::V11HmacSha256,
            Algorithm::V11HmacSm3 => Self::V11HmacSm3,
        }
    }
}

impl From<apig::Algorithm> for Algorithm {
    fn from(algorithm: apig::Algorithm) -> Self {
        match algorithm {
            apig::Algorithm::SdkHmacSha256 => Self::SdkHmacSha256,
            apig::Algorithm::SdkHmacSm3 => Self::SdkHmacSm3,
            apig::Algorithm::V11HmacSha256 => Self::V11HmacSha256,
            apig::Algorithm::V11HmacSm3 => Self::V11HmacSm3,
        }
    }
}

/// Which client's conventions a signer follows (the core's `apig::Profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, uniffi::Enum)]
pub enum Profile {
    /// APIG's App-authentication signers (the default).
    #[default]
    Apig,
    /// Huawei Cloud's v3 SDKs: `UNSIGNED-PAYLOAD` for a non-JSON `Content-Type`, `_` names not
    /// signed, an empty body hashed, `Host` as written.
    HuaweiCloudV3,
}

impl From<Profile> for apig::Profile {
    fn from(profile: Profile) -> Self {
        match profile {
            Profile::Apig => Self::Apig,
            Profile::HuaweiCloudV3 => Self::HuaweiCloudV3,
        }
    }
}

/// The options of temporary credentials and Huawei Cloud service APIs, for `Signer(…, options)`.
/// Fields left `null`/`nil` keep the core's defaults (none; profile `Apig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct SignerOptions {
    /// The security token of temporary credentials: every request gets `X-Security-Token`,
    /// added before signing and signed.
    #[uniffi(default = None)]
    pub security_token: Option<String>,
    /// A project id: every request gets `X-Project-Id`, signed (regional service APIs).
    #[uniffi(default = None)]
    pub project_id: Option<String>,
    /// An account (domain) id: every request gets `X-Domain-Id`, signed (global service APIs).
    #[uniffi(default = None)]
    pub domain_id: Option<String>,
    /// The client conventions (default `Apig`).
    #[uniffi(default = None)]
    pub profile: Option<Profile>,
}

/// One header: a name and a value. Requests carry an ordered list of them (names may repeat).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Header {
    /// The header name, as sent.
    pub name: String,
    /// The header value, as sent.
    pub value: String,
}

/// An HTTP request to sign (client) or verify (server).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Request {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// An absolute URL (`https://host/path?query`) or, on a server, the request target (`/path?query`).
    pub url: String,
    /// The headers, in order.
    #[uniffi(default)]
    pub headers: Vec<Header>,
    /// The exact body bytes (empty for no body).
    #[uniffi(default)]
    pub body: Vec<u8>,
    /// Signing: sign `UNSIGNED-PAYLOAD` instead of the body hash (the signer adds
    /// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`). Verifying: the body is not available, so only
    /// requests declaring an unsigned payload can be checked.
    #[uniffi(default = false)]
    pub unsigned_payload: bool,
}

impl Request {
    /// Runs `f` on the core's borrowed view of this request.
    pub(crate) fn with_signable<T>(&self, f: impl FnOnce(&SignableRequest<'_>) -> T) -> T {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect();
        f(&signable(&self.method, &self.url, &headers, &self.body, self.unsigned_payload))
    }
}

/// The core's view of a request given by its fields (a [`Request`]'s, or the JVM fast path's
/// borrowed from its argument buffer).
pub(crate) fn signable<'a>(
    method: &'a str,
    url: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
    unsigned_payload: bool,
) -> SignableRequest<'a> {
    let body = if unsigned_payload { SignableBody::Unsigned } else { SignableBody::Bytes(body) };
    SignableRequest::new(method, url, headers, body)
}

/// The intermediate strings behind a signature.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Trace {
    /// The canonical request, exactly as hashed (lines joined with `\n`).
    pub canonical_request: String,
    /// The string to sign, exactly as fed to the HMAC.
    pub string_to_sign: String,
}

impl From<&apig::Trace> for Trace {
    fn from(trace: &apig::Trace) -> Self {
        Self { canonical_request: trace.canonical_request.clone(), string_to_sign: trace.string_to_sign.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_round_trip_through_the_core() {
        for core in apig::Algorithm::ALL {
            let ours = Algorithm::from(core);
            assert_eq!(apig::Algorithm::from(ours), core);
            assert_eq!(ours.token(), core.as_str());
            assert_eq!(parse_algorithm(core.as_str()), Ok(ours));
        }
        assert_eq!(parse_algorithm("HMAC-MD5").map_err(|e| e.code()), Err("unsupported_algorithm".to_owned()));
    }
}
