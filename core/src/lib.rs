#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod algorithm;
mod apig_response;
mod authorization;
mod canonical;
mod constant_time;
mod encoding;
mod error;
mod explain;
#[cfg(feature = "http")]
mod http;
mod key;
mod payload;
mod request;
mod scan;
mod settings;
mod sign;
mod time;
mod trace;
mod verify;

pub use crate::algorithm::{Algorithm, HashFunction};
pub use crate::apig_response::{
    APP_AUTH_PREFIX, ApigErrorResponse, DEFAULT_BODY_LIMIT, DEFAULT_CODE_PREFIX, clock_skew_from_apig_message,
};
pub use crate::authorization::{Authorization, MAX_ACCESS_KEY_LEN, MAX_AUTHORIZATION_LEN, MAX_SIGNED_HEADERS};
pub use crate::canonical::{CanonicalRequest, canonical_method, canonical_query, canonical_uri};
pub use crate::constant_time::eq as constant_time_eq;
pub use crate::encoding::decode as percent_decode;
pub use crate::encoding::{encode_unreserved, hex, normalize_header_value};
pub use crate::error::{Error, ErrorKind};
pub use crate::explain::{
    CANONICAL_REQUEST_MARKER, Difference, LineKind, apig_mismatch_message, canonical_request_from_apig_message, explain,
};
pub use crate::key::{SecretKey, SecurityToken};
pub use crate::payload::{PayloadHasher, hash_reader};
pub use crate::request::{
    CONTENT_HASH_HEADERS, HOP_BY_HOP_HEADERS, SignableBody, SignableRequest, UNSIGNED_PAYLOAD, UrlParts, X_DOMAIN_ID,
    X_PROJECT_ID, X_SDK_CONTENT_SHA256, X_SDK_CONTENT_SM3, X_SDK_DATE, X_SECURITY_TOKEN, is_hop_by_hop,
};
pub use crate::settings::{
    DEFAULT_V11_SERVICE, ExcludedHeaders, PayloadMode, Profile, SigningOptions, SigningSettings, VerifyOptions,
};
pub use crate::sign::{Signer, SignerBuilder, SigningOutput};
pub use crate::time::{Clock, FixedClock, SdkDate, SystemClock, system_time_from_unix_seconds};
pub use crate::trace::Trace;
pub use crate::verify::{HeadChecked, KeyResolver, TokenResolver, Verified, Verifier, VerifyPolicy};

/// The workspace README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
