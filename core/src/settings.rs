//! Settings: what a [`Signer`](crate::Signer) signs with and what a [`Verifier`](crate::Verifier)
//! accepts, as small enums with a documented `Default`, and their parsing from the strings and
//! numbers every front end receives (Python keywords, Node options, CLI flags, config files).
//!
//! Every front end builds its signer through [`SigningOptions`] → [`SigningSettings`] →
//! [`Signer::from_settings`](crate::Signer::from_settings) and its verifier policy through
//! [`VerifyOptions`] → [`VerifyPolicy`](crate::VerifyPolicy), so the defaults, the valid values and
//! the errors for bad ones are the core's, the same in every language.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::error::{Error, ErrorKind, quoted};
use crate::request::is_hop_by_hop;
use crate::verify::VerifyPolicy;

/// The service name APIG uses in V11 credential scopes.
pub const DEFAULT_V11_SERVICE: &str = "apic";

/// Which of the request's headers the signer leaves out of the signature. `Authorization` is never
/// signed, whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExcludedHeaders {
    /// The hop-by-hop headers ([`HOP_BY_HOP_HEADERS`](crate::HOP_BY_HOP_HEADERS): `Connection`,
    /// `Transfer-Encoding`, …, any case): they belong to one connection and proxies rewrite or drop
    /// them, so a signature over them would not survive the way to the gateway. The default, in every
    /// language.
    #[default]
    HopByHop,
    /// None: every header given is signed, as Huawei's signers do.
    None,
}

impl ExcludedHeaders {
    /// Every value, in the order error messages list them.
    pub const ALL: [Self; 2] = [Self::HopByHop, Self::None];

    /// The name parsed by [`FromStr`]: `hop-by-hop` or `none`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HopByHop => "hop-by-hop",
            Self::None => "none",
        }
    }

    /// Whether the header `name` (any case) is left out of the signature. Inlined into the signer's
    /// loop over the headers: with the default, only a header of a hop-by-hop name's length and
    /// first letter is compared.
    #[inline(always)]
    pub fn excludes(self, name: &str) -> bool {
        match self {
            Self::HopByHop => is_hop_by_hop(name),
            Self::None => false,
        }
    }
}

/// How the body enters the signature, for every request of a signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayloadMode {
    /// The request's [`SignableBody`](crate::SignableBody) as given: its bytes hashed, a precomputed
    /// hash, or `UNSIGNED-PAYLOAD` for [`SignableBody::Unsigned`](crate::SignableBody::Unsigned). The
    /// default.
    #[default]
    Signed,
    /// Every request is signed with `UNSIGNED-PAYLOAD` (and `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`
    /// added), whatever its body: for bodies that cannot be read ahead. The body is then not
    /// authenticated; gateways may refuse it.
    Unsigned,
}

impl PayloadMode {
    /// Every value, in the order error messages list them.
    pub const ALL: [Self; 2] = [Self::Signed, Self::Unsigned];

    /// The name parsed by [`FromStr`]: `signed` or `unsigned`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::Unsigned => "unsigned",
        }
    }

    /// [`Unsigned`](Self::Unsigned) when `unsigned_payload` is true, else [`Signed`](Self::Signed):
    /// the boolean option (`unsigned_payload=True`, `--unsigned-payload`) front ends take.
    pub const fn from_unsigned(unsigned_payload: bool) -> Self {
        if unsigned_payload { Self::Unsigned } else { Self::Signed }
    }
}

/// Which client's conventions a [`Signer`](crate::Signer) follows for the headers it adds and the
/// body hash, beyond the algorithm itself (SPEC-credentials §2–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// APIG's App-authentication signers: every header given is signed (but the
    /// [`ExcludedHeaders`]), a `Host` added for an absolute URL drops the scheme's default port, the
    /// body is hashed unless the request declares `X-Sdk-Content-Sha256`. The default.
    #[default]
    Apig,
    /// Huawei Cloud's v3 SDKs (`huaweicloudsdkcore`), the way every Huawei Cloud service API is
    /// called, byte for byte as the Python v3 signer:
    /// - a request whose `Content-Type` does not start with `application/json` or
    ///   `application/bson` gets `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (signed), so its body is
    ///   not hashed;
    /// - an empty body is signed with the empty-body hash, even when `X-Sdk-Content-Sha256` is
    ///   present;
    /// - header names containing `_` are not signed (they are still sent);
    /// - a `Host` added for an absolute URL is its authority as written (an explicit `:443` kept).
    ///
    /// Named `huaweicloud-v3` (also parsed from `v3`).
    HuaweiCloudV3,
}

impl Profile {
    /// Every value, in the order error messages list them.
    pub const ALL: [Self; 2] = [Self::Apig, Self::HuaweiCloudV3];

    /// The name parsed by [`FromStr`]: `apig` or `huaweicloud-v3`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Apig => "apig",
            Self::HuaweiCloudV3 => "huaweicloud-v3",
        }
    }

    /// Whether the v3 SDKs' rule adds `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` for a request of
    /// this `Content-Type` value: the value as given does not start with `application/json` or
    /// `application/bson` (so `application/json;charset=UTF-8` is JSON, ` application/json` is not).
    pub fn unsigned_payload_for(self, content_type: &str) -> bool {
        self == Self::HuaweiCloudV3
            && !content_type.starts_with("application/json")
            && !content_type.starts_with("application/bson")
    }

    /// Whether header `name` is left out of the signature by the profile (the v3 SDKs skip names
    /// containing `_`).
    #[inline]
    pub fn skips_header(self, name: &str) -> bool {
        // (a byte scan the core has already: `contains` would bring `memchr` into the browser's module)
        self == Self::HuaweiCloudV3 && crate::scan::any_byte(name.as_bytes(), |b| b == b'_')
    }
}

/// What a [`Signer`](crate::Signer) signs with. `Default` is APIG's default: `SDK-HMAC-SHA256`, no
/// region, service `apic`, hop-by-hop headers left out, the body signed, the [`Profile::Apig`]
/// conventions, no project or domain id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSettings {
    /// The algorithm (default [`Algorithm::SdkHmacSha256`]).
    pub algorithm: Algorithm,
    /// The region of the V11 credential scope (default none; required by the V11 algorithms, ignored
    /// by the others).
    pub region: Option<String>,
    /// The service of the V11 credential scope (default [`DEFAULT_V11_SERVICE`], `apic`).
    pub service: String,
    /// The headers left out of the signature (default [`ExcludedHeaders::HopByHop`]).
    pub excluded_headers: ExcludedHeaders,
    /// How bodies are signed (default [`PayloadMode::Signed`]).
    pub payload: PayloadMode,
    /// The client conventions followed (default [`Profile::Apig`]).
    pub profile: Profile,
    /// A project id, sent and signed as `X-Project-Id` (a regional Huawei Cloud service's
    /// BasicCredentials; default none).
    pub project_id: Option<String>,
    /// An account (domain) id, sent and signed as `X-Domain-Id` (a global service's
    /// GlobalCredentials: IAM, BSS, …; default none).
    pub domain_id: Option<String>,
}

impl Default for SigningSettings {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::default(),
            region: None,
            service: DEFAULT_V11_SERVICE.to_owned(),
            excluded_headers: ExcludedHeaders::default(),
            payload: PayloadMode::default(),
            profile: Profile::default(),
            project_id: None,
            domain_id: None,
        }
    }
}

impl SigningSettings {
    /// Checks the settings that depend on each other: a V11 algorithm needs a region, and its region
    /// and service must be plain names (ASCII letters, digits, `-`, `_`, `.`); a project or domain
    /// id must be a non-empty header value without control characters.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] naming what is wrong.
    pub fn check(&self) -> Result<(), Error> {
        check_credential_value("project id", self.project_id.as_deref())?;
        check_credential_value("domain id", self.domain_id.as_deref())?;
        if !self.algorithm.is_v11() {
            return Ok(());
        }
        let plain =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        let invalid = |why: &str| Err(Error::new(ErrorKind::InvalidConfig, why.to_owned()));
        match &self.region {
            None => invalid("V11 algorithms need a region (the credential scope is yyyymmdd/region/service)"),
            Some(region) if !plain(region) => invalid("the region must be a plain name like cn-north-4"),
            Some(_) if !plain(&self.service) => invalid("the service must be a plain name like apic"),
            Some(_) => Ok(()),
        }
    }
}

/// Checks a value the signer adds as a header of its own (`X-Project-Id`, `X-Domain-Id`,
/// `X-Security-Token`): non-empty once trimmed, no control character (CR, LF, NUL, …). The message
/// names `what`, never the value (a token is a secret).
///
/// # Errors
/// [`ErrorKind::InvalidConfig`].
pub(crate) fn check_credential_value(what: &str, value: Option<&str>) -> Result<(), Error> {
    let Some(value) = value else { return Ok(()) };
    // (the header-value check every signed header gets: one copy of it in the browser's module)
    let why = match crate::canonical::canonical_value(what, value) {
        Ok("") => "must not be empty",
        Ok(_) => return Ok(()),
        Err(_) => "has a control character (CR, LF, NUL…): it cannot be sent as a header",
    };
    Err(Error::new(ErrorKind::InvalidConfig, format!("the {what} {why}")))
}

/// The signing options as a front end receives them, each `None` keeping the
/// [`SigningSettings::default`]; parsed by `SigningSettings::try_from(options)`.
///
/// ```
/// use apig::{Algorithm, SigningOptions, SigningSettings};
/// let settings = SigningSettings::try_from(SigningOptions {
///     algorithm: Some("V11-HMAC-SHA256"),
///     region: Some("cn-north-4"),
///     ..SigningOptions::default()
/// })?;
/// assert_eq!((settings.algorithm, settings.service.as_str()), (Algorithm::V11HmacSha256, "apic"));
/// # Ok::<(), apig::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigningOptions<'a> {
    /// An algorithm token (`SDK-HMAC-SHA256`, `SDK-HMAC-SM3`, `V11-HMAC-SHA256`, `V11-HMAC-SM3`).
    pub algorithm: Option<&'a str>,
    /// The V11 region.
    pub region: Option<&'a str>,
    /// The V11 service.
    pub service: Option<&'a str>,
    /// `hop-by-hop` or `none` ([`ExcludedHeaders`]).
    pub excluded_headers: Option<&'a str>,
    /// Sign every body as `UNSIGNED-PAYLOAD` ([`PayloadMode::from_unsigned`]).
    pub unsigned_payload: Option<bool>,
    /// `apig` or `huaweicloud-v3` (alias `v3`) ([`Profile`]).
    pub profile: Option<&'a str>,
    /// The project id sent as `X-Project-Id`.
    pub project_id: Option<&'a str>,
    /// The domain (account) id sent as `X-Domain-Id`.
    pub domain_id: Option<&'a str>,
}

impl TryFrom<SigningOptions<'_>> for SigningSettings {
    type Error = Error;

    /// # Errors
    /// [`ErrorKind::UnsupportedAlgorithm`] for an unknown algorithm token,
    /// [`ErrorKind::InvalidConfig`] for an unknown `excluded_headers` or `profile` value (each
    /// message names the bad value and lists the valid ones). An empty project or domain id, or one
    /// with a control character, is refused by [`SigningSettings::check`] when the signer is built. Consistency (V11 and its region) is checked by
    /// [`SigningSettings::check`] when the signer is built.
    fn try_from(options: SigningOptions<'_>) -> Result<Self, Error> {
        let mut settings = Self::default();
        if let Some(algorithm) = options.algorithm {
            settings.algorithm = algorithm.parse()?;
        }
        settings.region = options.region.map(str::to_owned);
        if let Some(service) = options.service {
            service.clone_into(&mut settings.service);
        }
        if let Some(excluded) = options.excluded_headers {
            settings.excluded_headers = excluded.parse()?;
        }
        if let Some(unsigned) = options.unsigned_payload {
            settings.payload = PayloadMode::from_unsigned(unsigned);
        }
        if let Some(profile) = options.profile {
            settings.profile = profile.parse()?;
        }
        // (their values are checked with the rest by `check`, when the signer is built)
        settings.project_id = options.project_id.map(str::to_owned);
        settings.domain_id = options.domain_id.map(str::to_owned);
        Ok(settings)
    }
}

/// The verifier options as a front end receives them, each `None` keeping the
/// [`VerifyPolicy::default`]; parsed by `VerifyPolicy::try_from(options)`. `S` is the type of the
/// algorithm names (`&str` or `String`).
///
/// ```
/// use std::time::Duration;
/// use apig::{Algorithm, VerifyOptions, VerifyPolicy};
/// let policy = VerifyPolicy::try_from(VerifyOptions {
///     max_skew_seconds: Some(30.0),
///     algorithms: Some(&["SDK-HMAC-SHA256"][..]),
///     ..VerifyOptions::default()
/// })?;
/// assert_eq!(policy.max_skew, Duration::from_secs(30));
/// assert_eq!(policy.allowed_algorithms, [Algorithm::SdkHmacSha256]);
/// assert!(policy.allow_unsigned_payload); // the default
/// # Ok::<(), apig::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifyOptions<'a, S = &'a str> {
    /// The largest accepted distance between `X-Sdk-Date` and the clock, in seconds (≥ 0, finite).
    pub max_skew_seconds: Option<f64>,
    /// Require `host` to be signed.
    pub require_host: Option<bool>,
    /// Accept `UNSIGNED-PAYLOAD`.
    pub allow_unsigned_payload: Option<bool>,
    /// The accepted algorithm tokens.
    pub algorithms: Option<&'a [S]>,
    /// V11: the region the credential scope must name.
    pub region: Option<&'a str>,
    /// V11: the service the credential scope must name.
    pub service: Option<&'a str>,
}

impl<S> Default for VerifyOptions<'_, S> {
    fn default() -> Self {
        Self {
            max_skew_seconds: None,
            require_host: None,
            allow_unsigned_payload: None,
            algorithms: None,
            region: None,
            service: None,
        }
    }
}

impl<S: AsRef<str>> TryFrom<VerifyOptions<'_, S>> for VerifyPolicy {
    type Error = Error;

    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a negative, infinite or NaN skew
    /// ([`VerifyPolicy::max_skew_from_seconds`]); [`ErrorKind::UnsupportedAlgorithm`] for an unknown
    /// algorithm token.
    fn try_from(options: VerifyOptions<'_, S>) -> Result<Self, Error> {
        let mut policy = Self::default();
        if let Some(seconds) = options.max_skew_seconds {
            policy.max_skew = Self::max_skew_from_seconds(seconds)?;
        }
        if let Some(require) = options.require_host {
            policy.require_host = require;
        }
        if let Some(allow) = options.allow_unsigned_payload {
            policy.allow_unsigned_payload = allow;
        }
        if let Some(names) = options.algorithms {
            policy.allowed_algorithms = names.iter().map(|name| name.as_ref().parse()).collect::<Result<_, _>>()?;
        }
        if let Some(region) = options.region {
            policy.region = Some(region.to_owned());
        }
        if let Some(service) = options.service {
            policy.service = Some(service.to_owned());
        }
        Ok(policy)
    }
}

impl VerifyPolicy {
    /// The skew of `seconds` (fractions allowed).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a negative, infinite, NaN or too large number.
    pub fn max_skew_from_seconds(seconds: f64) -> Result<Duration, Error> {
        Duration::try_from_secs_f64(seconds).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                // (the value is not written back: formatting an f64 would bring the float
                // printing code, ~20 KB, into the WebAssembly module of every binding that verifies)
                "the max skew must be a finite number of seconds ≥ 0".to_owned(),
            )
        })
    }
}

/// The error for `value`, not one of `valid` (`what` names the setting).
#[cold]
pub(crate) fn unknown(kind: ErrorKind, what: &str, value: &str, valid: &[&str]) -> Error {
    let mut message = format!("unsupported {what} {}; expected one of ", quoted(value));
    for (i, name) in valid.iter().enumerate() {
        if i > 0 {
            message.push_str(", ");
        }
        message.push_str(name);
    }
    Error::new(kind, message)
}

impl FromStr for ExcludedHeaders {
    type Err = Error;

    /// `hop-by-hop` or `none`, any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| unknown(ErrorKind::InvalidConfig, "excluded headers", s, &Self::ALL.map(Self::as_str)))
    }
}

impl FromStr for PayloadMode {
    type Err = Error;

    /// `signed` or `unsigned`, any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| unknown(ErrorKind::InvalidConfig, "payload mode", s, &Self::ALL.map(Self::as_str)))
    }
}

impl FromStr for Profile {
    type Err = Error;

    /// `apig` or `huaweicloud-v3` (also `v3`), any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        let is = |name: &str| s.eq_ignore_ascii_case(name);
        if is("apig") {
            Ok(Self::Apig)
        } else if is("huaweicloud-v3") || is("v3") {
            Ok(Self::HuaweiCloudV3)
        } else {
            Err(unknown(ErrorKind::InvalidConfig, "profile", s, &["apig", "huaweicloud-v3"]))
        }
    }
}

macro_rules! try_from_str_and_display {
    ($($ty:ty),*) => {$(
        impl TryFrom<&str> for $ty {
            type Error = Error;

            fn try_from(s: &str) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

try_from_str_and_display!(ExcludedHeaders, PayloadMode, Profile);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::HOP_BY_HOP_HEADERS;

    #[test]
    fn defaults_are_apigs() {
        let settings = SigningSettings::default();
        assert_eq!(settings.algorithm, Algorithm::SdkHmacSha256);
        assert_eq!((settings.region, settings.service.as_str()), (None, "apic"));
        assert_eq!(settings.excluded_headers, ExcludedHeaders::HopByHop);
        assert_eq!(settings.payload, PayloadMode::Signed);
        assert_eq!((settings.profile, settings.project_id, settings.domain_id), (Profile::Apig, None, None));
        assert_eq!(SigningSettings::try_from(SigningOptions::default()), Ok(SigningSettings::default()));
        assert_eq!(VerifyPolicy::try_from(VerifyOptions::<&str>::default()), Ok(VerifyPolicy::default()));
    }

    #[test]
    fn every_algorithm_name_parses_and_round_trips() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.as_str().parse::<Algorithm>(), Ok(algorithm));
            assert_eq!(Algorithm::try_from(algorithm.to_string().as_str()), Ok(algorithm));
            let options = SigningOptions { algorithm: Some(algorithm.as_str()), ..SigningOptions::default() };
            assert_eq!(SigningSettings::try_from(options).map(|s| s.algorithm), Ok(algorithm));
        }
        for value in ExcludedHeaders::ALL {
            assert_eq!(value.as_str().to_ascii_uppercase().parse::<ExcludedHeaders>(), Ok(value));
        }
        for value in PayloadMode::ALL {
            assert_eq!(PayloadMode::try_from(value.to_string().as_str()), Ok(value));
        }
    }

    #[test]
    fn bad_names_are_typed_errors_naming_the_value_and_the_valid_ones() {
        for bad in ["", "MD5", "sdk-hmac-sha256", "SDK-HMAC-SHA256 ", "HMAC-SHA256"] {
            let err = SigningSettings::try_from(SigningOptions { algorithm: Some(bad), ..SigningOptions::default() })
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm, "{bad:?}");
            assert!(err.message().contains(&format!("{bad:?}")), "{err}");
            for algorithm in Algorithm::ALL {
                assert!(err.message().contains(algorithm.as_str()), "{err}");
            }
        }
        let err = "all".parse::<ExcludedHeaders>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert_eq!(err.message(), "unsupported excluded headers \"all\"; expected one of hop-by-hop, none");
        let err = "maybe".parse::<PayloadMode>().unwrap_err();
        assert_eq!(err.message(), "unsupported payload mode \"maybe\"; expected one of signed, unsigned");
        let err = VerifyPolicy::try_from(VerifyOptions {
            algorithms: Some(&["SDK-HMAC-SHA256", "MD5"][..]),
            ..VerifyOptions::default()
        })
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e30] {
            let err = VerifyPolicy::try_from(VerifyOptions::<&str> {
                max_skew_seconds: Some(bad),
                ..VerifyOptions::default()
            })
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{bad}");
            // (names the setting, not the f64: see max_skew_from_seconds)
            assert!(err.message().contains("max skew"), "{err}");
        }
    }

    #[test]
    fn options_override_only_what_they_give() {
        let options = SigningOptions {
            algorithm: Some("V11-HMAC-SM3"),
            region: Some("cn-north-4"),
            service: Some("svc"),
            excluded_headers: Some("none"),
            unsigned_payload: Some(true),
            profile: Some("V3"),
            project_id: Some("0a1b"),
            domain_id: Some("9f8e"),
        };
        let settings = SigningSettings::try_from(options).unwrap();
        assert_eq!(
            settings,
            SigningSettings {
                algorithm: Algorithm::V11HmacSm3,
                region: Some("cn-north-4".to_owned()),
                service: "svc".to_owned(),
                excluded_headers: ExcludedHeaders::None,
                payload: PayloadMode::Unsigned,
                profile: Profile::HuaweiCloudV3,
                project_id: Some("0a1b".to_owned()),
                domain_id: Some("9f8e".to_owned()),
            }
        );
        assert_eq!(settings.check(), Ok(()));
        let names = vec!["SDK-HMAC-SM3".to_owned()];
        let policy = VerifyPolicy::try_from(VerifyOptions {
            max_skew_seconds: Some(1.5),
            require_host: Some(true),
            allow_unsigned_payload: Some(false),
            algorithms: Some(names.as_slice()),
            region: Some("r"),
            service: None,
        })
        .unwrap();
        assert_eq!(policy.max_skew, Duration::from_millis(1500));
        assert!(policy.require_host && !policy.allow_unsigned_payload);
        assert_eq!(policy.allowed_algorithms, [Algorithm::SdkHmacSm3]);
        assert_eq!((policy.region.as_deref(), policy.service), (Some("r"), None));
    }

    #[test]
    fn profiles_parse_and_bad_ones_are_typed_errors() {
        for profile in Profile::ALL {
            assert_eq!(Profile::try_from(profile.to_string().as_str()), Ok(profile));
            assert_eq!(profile.as_str().to_ascii_uppercase().parse::<Profile>(), Ok(profile));
        }
        assert_eq!("v3".parse::<Profile>(), Ok(Profile::HuaweiCloudV3));
        let err = "v2".parse::<Profile>().unwrap_err();
        assert_eq!(err.code(), "invalid_config");
        assert_eq!(err.message(), "unsupported profile \"v2\"; expected one of apig, huaweicloud-v3");
    }

    #[test]
    fn the_v3_content_type_rule_is_a_prefix_match_as_written() {
        let v3 = Profile::HuaweiCloudV3;
        for json in ["application/json", "application/json;charset=UTF-8", "application/bson", "application/jsonx"] {
            assert!(!v3.unsigned_payload_for(json), "{json}");
        }
        for other in ["application/octet-stream", "text/plain", "", " application/json", "Application/JSON"] {
            assert!(v3.unsigned_payload_for(other), "{other:?}");
            assert!(!Profile::Apig.unsigned_payload_for(other), "{other:?}");
        }
        assert!(v3.skips_header("x_under") && !v3.skips_header("x-under"));
        assert!(!Profile::Apig.skips_header("x_under"));
    }

    #[test]
    fn empty_or_control_character_ids_are_invalid_config() {
        for (project_id, domain_id) in
            [(Some(""), None), (None, Some("  ")), (Some("a\r\nb"), None), (None, Some("\0"))]
        {
            let err = SigningSettings::try_from(SigningOptions { project_id, domain_id, ..SigningOptions::default() })
                .and_then(|settings| settings.check())
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{project_id:?} {domain_id:?}");
            let what = if project_id.is_some() { "project id" } else { "domain id" };
            assert!(err.message().contains(what), "{err}");
            let settings = SigningSettings {
                project_id: project_id.map(str::to_owned),
                domain_id: domain_id.map(str::to_owned),
                ..SigningSettings::default()
            };
            assert_eq!(settings.check().map_err(|e| e.kind()), Err(ErrorKind::InvalidConfig));
        }
    }

    #[test]
    fn v11_needs_a_plain_region_and_service() {
        let v11 = |region: Option<&str>, service: Option<&str>| {
            SigningSettings::try_from(SigningOptions {
                algorithm: Some("V11-HMAC-SHA256"),
                region,
                service,
                ..SigningOptions::default()
            })
            .unwrap()
            .check()
            .map_err(|e| e.kind())
        };
        assert_eq!(v11(Some("cn-north-4"), None), Ok(()));
        assert_eq!(v11(None, None), Err(ErrorKind::InvalidConfig));
        assert_eq!(v11(Some("cn north"), None), Err(ErrorKind::InvalidConfig));
        assert_eq!(v11(Some("cn-north-4"), Some("a/b")), Err(ErrorKind::InvalidConfig));
        // the region is ignored by the other algorithms
        assert_eq!(SigningSettings { region: Some("a b".into()), ..SigningSettings::default() }.check(), Ok(()));
    }

    #[test]
    fn hop_by_hop_headers_are_excluded_in_any_case_and_nothing_else() {
        for name in HOP_BY_HOP_HEADERS {
            for spelled in [name.to_owned(), name.to_ascii_uppercase()] {
                assert!(ExcludedHeaders::HopByHop.excludes(&spelled), "{spelled}");
                assert!(!ExcludedHeaders::None.excludes(&spelled), "{spelled}");
            }
        }
        for name in ["host", "X-Sdk-Date", "content-type", "t", "tee", "connections", "keep_alive", ""] {
            assert!(!ExcludedHeaders::HopByHop.excludes(name), "{name}");
        }
    }
}
