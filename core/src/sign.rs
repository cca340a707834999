//! Signing: from a [`SignableRequest`] to the headers to add and the trace behind them.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::algorithm::{Algorithm, SigningKey, derive_v11_key};
use crate::authorization::format_authorization;
use crate::canonical::{CanonicalRequest, HeaderList, canonical_header, canonical_method, sort_and_dedupe};
use crate::encoding::HexText;
use crate::error::{Error, ErrorKind};
use crate::key::{SecretKey, SecurityToken};
use crate::request::{
    SignableBody, SignableRequest, UNSIGNED_PAYLOAD, X_DOMAIN_ID, X_PROJECT_ID, X_SDK_CONTENT_SHA256, X_SDK_DATE,
    X_SECURITY_TOKEN,
};
use crate::scan;
use crate::settings::{ExcludedHeaders, PayloadMode, Profile, SigningSettings, check_credential_value};
use crate::time::{Clock, SdkDate, SystemClock};
use crate::trace::Trace;

/// What signing produced: the headers to add to the request ([`SigningOutput::headers`]) and the
/// strings behind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningOutput {
    /// The `Authorization` header value.
    pub authorization: String,
    /// The lower-case hex signature.
    pub signature: String,
    /// The `SignedHeaders` list.
    pub signed_headers: String,
    /// The `X-Sdk-Date` value signed.
    pub date: String,
    /// V11 only: the credential scope `yyyymmdd/region/service`.
    pub credential_scope: Option<String>,
    /// The canonical request and string to sign.
    pub trace: Trace,
    /// The `Host` value added (the request had none and the URL is absolute).
    added_host: Option<String>,
    /// Whether `X-Sdk-Date` was added (the request had none).
    added_date: bool,
    /// Whether `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` was added ([`SignableBody::Unsigned`], or
    /// the [`Profile::HuaweiCloudV3`] rule for a non-JSON `Content-Type`).
    added_unsigned_payload: bool,
    /// The `X-Project-Id` value added (the signer has one and the request had none).
    added_project_id: Option<String>,
    /// The `X-Domain-Id` value added.
    added_domain_id: Option<String>,
    /// The `X-Security-Token` added (never printed).
    added_security_token: Option<SecurityToken>,
}

impl SigningOutput {
    /// The headers to add to the request, in this order where present: `X-Project-Id`,
    /// `X-Domain-Id`, `X-Security-Token` (the signer's credentials, when the request had none of
    /// that name), `Host` (only when the request had none and the URL is absolute), `X-Sdk-Date`
    /// (when the request had none), `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (for
    /// [`SignableBody::Unsigned`] or the [`Profile::HuaweiCloudV3`] rule), `Authorization`.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let project = self.added_project_id.as_deref().map(|id| ("X-Project-Id", id));
        let domain = self.added_domain_id.as_deref().map(|id| ("X-Domain-Id", id));
        let token = self.added_security_token.as_ref().map(|token| ("X-Security-Token", token.expose()));
        let host = self.added_host.as_deref().map(|host| ("Host", host));
        let date = self.added_date.then_some(("X-Sdk-Date", self.date.as_str()));
        let unsigned = self.added_unsigned_payload.then_some(("X-Sdk-Content-Sha256", UNSIGNED_PAYLOAD));
        project
            .into_iter()
            .chain(domain)
            .chain(token)
            .chain(host)
            .chain(date)
            .chain(unsigned)
            .chain([("Authorization", self.authorization.as_str())])
    }
}

/// Signs requests for one credential with one [`SigningSettings`]. Cheap to share across threads.
#[derive(Clone)]
pub struct Signer {
    access_key: String,
    secret: SecretKey,
    security_token: Option<SecurityToken>,
    settings: SigningSettings,
    clock: Arc<dyn Clock>,
}

/// Builds a [`Signer`]: `Signer::builder(ak, sk).algorithm(…).region(…).build()?`, or from settings
/// parsed by the core: `.settings(SigningSettings::try_from(options)?)`.
#[derive(Clone)]
pub struct SignerBuilder {
    access_key: String,
    secret: SecretKey,
    security_token: Option<SecurityToken>,
    settings: SigningSettings,
    clock: Arc<dyn Clock>,
}

impl SignerBuilder {
    /// Replaces every setting (default [`SigningSettings::default`]).
    #[must_use]
    pub fn settings(mut self, settings: SigningSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The algorithm (default `SDK-HMAC-SHA256`).
    #[must_use]
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.settings.algorithm = algorithm;
        self
    }

    /// The region of the V11 credential scope (required for V11, ignored otherwise).
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.settings.region = Some(region.into());
        self
    }

    /// The service of the V11 credential scope (default `apic`).
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.settings.service = service.into();
        self
    }

    /// The headers left out of the signature (default [`ExcludedHeaders::HopByHop`]).
    #[must_use]
    pub fn excluded_headers(mut self, excluded: ExcludedHeaders) -> Self {
        self.settings.excluded_headers = excluded;
        self
    }

    /// How bodies are signed (default [`PayloadMode::Signed`]).
    #[must_use]
    pub fn payload(mut self, payload: PayloadMode) -> Self {
        self.settings.payload = payload;
        self
    }

    /// The security token of temporary credentials (AK, SK and token from IAM or the ECS metadata
    /// service): every request gets `X-Security-Token: <token>`, added before signing and signed,
    /// as Huawei Cloud's v3 SDKs do (default none: permanent credentials).
    #[must_use]
    pub fn security_token(mut self, token: impl Into<SecurityToken>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// The client conventions followed (default [`Profile::Apig`]).
    #[must_use]
    pub fn profile(mut self, profile: Profile) -> Self {
        self.settings.profile = profile;
        self
    }

    /// A project id: every request gets `X-Project-Id: <id>`, signed (a regional Huawei Cloud
    /// service's API, or a sub-project).
    #[must_use]
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.settings.project_id = Some(project_id.into());
        self
    }

    /// An account (domain) id: every request gets `X-Domain-Id: <id>`, signed (a global Huawei
    /// Cloud service's API: IAM, BSS, …).
    #[must_use]
    pub fn domain_id(mut self, domain_id: impl Into<String>) -> Self {
        self.settings.domain_id = Some(domain_id.into());
        self
    }

    /// The clock used when a request carries no `X-Sdk-Date` (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the settings and builds the signer.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for an empty or non-printable access key, an empty secret, an
    /// empty security token or one with a control character, a V11 algorithm without a region, a
    /// region/service that is not a plain name, an empty project or domain id
    /// ([`SigningSettings::check`]). The messages never show the secret or the token.
    pub fn build(self) -> Result<Signer, Error> {
        let invalid = |why: &str| Error::new(ErrorKind::InvalidConfig, why.to_owned());
        if self.access_key.is_empty()
            || !self.access_key.bytes().all(|b| b.is_ascii_graphic() && b != b',' && b != b'/')
        {
            return Err(invalid("the access key must be non-empty printable ASCII without ',' or '/'"));
        }
        if self.secret.is_empty() {
            return Err(invalid("the secret key must not be empty"));
        }
        check_credential_value("security token", self.security_token.as_ref().map(SecurityToken::expose))?;
        self.settings.check()?;
        if !self.settings.algorithm.is_v11() {
            // key the HMAC now rather than on the first request
            self.secret.hmac(self.settings.algorithm.hash_function());
        }
        Ok(Signer {
            access_key: self.access_key,
            secret: self.secret,
            security_token: self.security_token,
            settings: self.settings,
            clock: self.clock,
        })
    }
}

impl Signer {
    /// A builder for a signer of `access_key` / `secret` with the default settings
    /// ([`SigningSettings::default`]: algorithm `SDK-HMAC-SHA256`, hop-by-hop headers not signed).
    pub fn builder(access_key: impl Into<String>, secret: impl Into<SecretKey>) -> SignerBuilder {
        SignerBuilder {
            access_key: access_key.into(),
            secret: secret.into(),
            security_token: None,
            settings: SigningSettings::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// An `SDK-HMAC-SHA256` signer using the system clock.
    ///
    /// # Errors
    /// As [`SignerBuilder::build`].
    pub fn new(access_key: impl Into<String>, secret: impl Into<SecretKey>) -> Result<Self, Error> {
        Self::builder(access_key, secret).build()
    }

    /// A signer with `settings` (typically parsed from a front end's options:
    /// `SigningSettings::try_from(SigningOptions { … })`) using the system clock.
    ///
    /// # Errors
    /// As [`SignerBuilder::build`].
    pub fn from_settings(
        access_key: impl Into<String>,
        secret: impl Into<SecretKey>,
        settings: SigningSettings,
    ) -> Result<Self, Error> {
        Self::builder(access_key, secret).settings(settings).build()
    }

    /// The settings.
    pub fn settings(&self) -> &SigningSettings {
        &self.settings
    }

    /// The access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.settings.algorithm
    }

    /// The security token (temporary credentials), if any.
    pub fn security_token(&self) -> Option<&SecurityToken> {
        self.security_token.as_ref()
    }

    /// Signs `request`, taking the time from its `X-Sdk-Date` header or else from the clock. The
    /// headers [`SigningSettings::excluded_headers`] names (by default the hop-by-hop ones) are left
    /// out, and with [`PayloadMode::Unsigned`] the body is signed as [`SignableBody::Unsigned`].
    /// The signer's project id, domain id and security token are added as `X-Project-Id`,
    /// `X-Domain-Id` and `X-Security-Token` before signing (so they are signed), unless the request
    /// carries that header with the same value; the [`Profile`] adds its own rules.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] for a bad URL, method, header name or value;
    /// [`ErrorKind::MalformedDate`] for an `X-Sdk-Date` header not of the form `yyyyMMddTHHmmssZ`,
    /// or a signing time (the clock's, or [`Signer::sign_at`]'s) outside the years 0001 to 9999,
    /// which no `X-Sdk-Date` can carry; [`ErrorKind::DuplicateHeader`] for a header given twice with different values,
    /// or an `X-Project-Id` / `X-Domain-Id` / `X-Security-Token` header whose value is not the signer's.
    pub fn sign(&self, request: &SignableRequest<'_>) -> Result<SigningOutput, Error> {
        self.sign_with(request, &|| self.clock.now())
    }

    /// Signs `request` as at `time` (used only when the request has no `X-Sdk-Date`).
    ///
    /// # Errors
    /// As [`Signer::sign`].
    pub fn sign_at(&self, request: &SignableRequest<'_>, time: SystemTime) -> Result<SigningOutput, Error> {
        self.sign_with(request, &|| time)
    }

    /// Signs `request`; `now` is asked only when the request carries no `X-Sdk-Date`. (A `dyn`
    /// callback rather than a generic one: one copy of the signing code for `sign` and `sign_at`,
    /// ~2.6 KB less in the browser's WebAssembly module; the call happens once, and only then.)
    fn sign_with(&self, request: &SignableRequest<'_>, now: &dyn Fn() -> SystemTime) -> Result<SigningOutput, Error> {
        let parts = request.url_parts()?;
        let method = canonical_method(request.method())?;
        // the date taken from the clock, when the request has none (declared before the headers,
        // which borrow it)
        let mut clock_date = String::new();
        let mut headers = HeaderList::new();
        let (mut has_host, mut date, mut content_hash) = (false, None, None);
        let algorithm = self.settings.algorithm;
        let excluded = self.settings.excluded_headers;
        let content_headers = algorithm.content_hash_headers();
        let profile = self.settings.profile;
        let v3 = profile == Profile::HuaweiCloudV3;
        // the Content-Type as given, for the v3 UNSIGNED-PAYLOAD rule
        let mut content_type = None;
        for &(name, value) in request.headers() {
            if scan::eq_lower(name, "authorization") || excluded.excludes(name) || profile.skips_header(name) {
                continue;
            }
            let header = canonical_header(name, value)?;
            match header.0 {
                n if scan::eq_lower(n, "host") => has_host = true,
                n if scan::eq_lower(n, X_SDK_DATE) => date = date.or(Some(header.1)),
                n if v3 && scan::eq_lower(n, "content-type") => content_type = content_type.or(Some(value)),
                n => {
                    if let Some(rank) = content_headers.iter().position(|h| scan::eq_lower(n, h))
                        && content_hash.is_none_or(|(r, _)| rank < r)
                    {
                        content_hash = Some((rank, header.1));
                    }
                }
            }
            headers.push(header);
        }
        // the credentials' headers, in the order the v3 SDKs add them
        let token = self.security_token.as_ref().map(SecurityToken::expose);
        let mut added = [false; 3];
        for (i, (name, value)) in [
            (X_PROJECT_ID, self.settings.project_id.as_deref()),
            (X_DOMAIN_ID, self.settings.domain_id.as_deref()),
            (X_SECURITY_TOKEN, token),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(value) = value {
                added[i] = add_credential_header(&mut headers, name, value)?;
            }
        }
        // (the v3 SDKs add the authority as written, an explicit default port kept)
        let added_host = match (has_host, v3) {
            (true, _) => None,
            (false, true) => parts.authority,
            (false, false) => parts.host_header(),
        };
        if let Some(host) = added_host {
            headers.push(("host", host));
        }
        let added_date = date.is_none();
        let date = match date {
            Some(date) => {
                SdkDate::parse(date)?;
                date
            }
            None => {
                clock_date.push_str(SdkDate::try_from_system_time(now())?.to_text().as_str());
                headers.push((X_SDK_DATE, &clock_date));
                &clock_date
            }
        };
        let hash = algorithm.hash_function();
        let body = match self.settings.payload {
            PayloadMode::Signed => request.body(),
            PayloadMode::Unsigned => SignableBody::Unsigned,
        };
        let auto_unsigned = content_hash.is_none() && content_type.is_some_and(|ct| profile.unsigned_payload_for(ct));
        let added_unsigned_payload =
            content_hash.is_none() && (auto_unsigned || matches!(body, SignableBody::Unsigned));
        if auto_unsigned && !matches!(body, SignableBody::Unsigned) {
            headers.push((X_SDK_CONTENT_SHA256, UNSIGNED_PAYLOAD));
        }
        let body_hash;
        let payload_hash: &str = match (content_hash, body) {
            // the v3 SDKs hash an empty body whatever X-Sdk-Content-Sha256 says
            (_, SignableBody::Bytes([])) if v3 => hash.empty_hash(),
            (Some((_, value)), _) => value,
            (None, _) if auto_unsigned && !matches!(body, SignableBody::Unsigned) => UNSIGNED_PAYLOAD,
            (None, SignableBody::Bytes([])) => hash.empty_hash(),
            (None, SignableBody::Bytes(bytes)) => {
                body_hash = hash.hash_hex_text(bytes);
                body_hash.as_str()
            }
            (None, SignableBody::Precomputed(hex)) => hex,
            (None, SignableBody::Unsigned) => {
                headers.push((X_SDK_CONTENT_SHA256, UNSIGNED_PAYLOAD));
                UNSIGNED_PAYLOAD
            }
        };
        sort_and_dedupe(&mut headers)?;
        let canonical = CanonicalRequest::new(&method, &parts, headers.as_slice(), payload_hash);
        let signed_headers = canonical.signed_headers().to_owned();

        let service = &self.settings.service;
        let scope = self.settings.region.as_ref().filter(|_| algorithm.is_v11()).map(|region| {
            let mut scope = String::with_capacity(8 + 2 + region.len() + service.len());
            scope.push_str(scan::sub(date, ..8));
            scope.push('/');
            scope.push_str(region);
            scope.push('/');
            scope.push_str(service);
            scope
        });
        let key = signing_key(algorithm, &self.access_key, &self.secret, scope.as_deref());
        let (trace, signature) = compute_signature(algorithm, &key, date, scope.as_deref(), canonical);
        let signature = signature.as_str();
        let authorization =
            format_authorization(algorithm, &self.access_key, scope.as_deref(), &signed_headers, signature);
        let date = if added_date { std::mem::take(&mut clock_date) } else { date.to_owned() };
        Ok(SigningOutput {
            authorization,
            signature: signature.to_owned(),
            signed_headers,
            date,
            credential_scope: scope,
            trace,
            added_host: added_host.map(str::to_owned),
            added_date,
            added_unsigned_payload,
            added_project_id: self.settings.project_id.clone().filter(|_| added[0]),
            added_domain_id: self.settings.domain_id.clone().filter(|_| added[1]),
            added_security_token: self.security_token.clone().filter(|_| added[2]),
        })
    }
}

/// Adds the credential header `name` (lower case) with `value` to `headers`, unless the request
/// has it with the same value: whether it was added.
///
/// # Errors
/// [`ErrorKind::DuplicateHeader`] when the request has it with another value (not shown: it may
/// be a token).
fn add_credential_header<'a>(headers: &mut HeaderList<'a>, name: &'static str, value: &'a str) -> Result<bool, Error> {
    let value = crate::encoding::normalize_header_value(value);
    match headers.as_slice().iter().find(|(n, _)| scan::eq_lower(n, name)) {
        Some(&(_, given)) if given == value => Ok(false),
        Some(_) => Err(Error::new(
            ErrorKind::DuplicateHeader,
            format!("the request has a {name} header whose value is not the signer's"),
        )),
        None => {
            headers.push((name, value));
            Ok(true)
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("access_key", &self.access_key)
            .field("secret", &self.secret)
            .field("security_token", &self.security_token)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The HMAC key for `algorithm`: the secret itself (keyed once per [`SecretKey`]), or for V11 the
/// HKDF-derived hex key of `scope`.
pub(crate) fn signing_key<'k>(
    algorithm: Algorithm,
    access_key: &str,
    secret: &'k SecretKey,
    scope: Option<&str>,
) -> Cow<'k, SigningKey> {
    let hash = algorithm.hash_function();
    match scope {
        Some(scope) if algorithm.is_v11() => {
            Cow::Owned(SigningKey::new(hash, derive_v11_key(hash, access_key, secret.expose(), scope).as_bytes()))
        }
        _ => Cow::Borrowed(secret.hmac(hash)),
    }
}

/// Hashes the canonical request into the string to sign and signs it: the trace and the
/// lower-case hex signature.
pub(crate) fn compute_signature(
    algorithm: Algorithm,
    key: &SigningKey,
    date: &str,
    scope: Option<&str>,
    canonical: CanonicalRequest,
) -> (Trace, HexText) {
    let canonical_request = canonical.into_string();
    let hash = algorithm.hash_function().hash_hex_text(canonical_request.as_bytes());
    // (pushed piece by piece rather than `concat()`: the same work, without `alloc`'s generic
    // join in the browser's WebAssembly module)
    let parts = string_to_sign_parts(algorithm, date, scope, hash.as_str());
    let mut string_to_sign = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        string_to_sign.push_str(part);
    }
    let signature = key.sign_hex(string_to_sign.as_bytes());
    (Trace { canonical_request, string_to_sign }, signature)
}

/// Checks `signature` (lower-case hex) against the one computed as [`compute_signature`] does,
/// without building the string to sign unless they differ: `Err` carries the trace then.
pub(crate) fn check_signature(
    algorithm: Algorithm,
    key: &SigningKey,
    date: &str,
    scope: Option<&str>,
    canonical: CanonicalRequest,
    signature: &str,
) -> Result<(), Trace> {
    let canonical_request = canonical.into_string();
    let hash = algorithm.hash_function().hash_hex_text(canonical_request.as_bytes());
    let parts = string_to_sign_parts(algorithm, date, scope, hash.as_str());
    let expected = key.sign_hex_parts(&parts);
    if crate::constant_time::eq(expected.as_str().as_bytes(), signature.as_bytes()) {
        Ok(())
    } else {
        Err(Trace { canonical_request, string_to_sign: parts.concat() })
    }
}

/// The string to sign in pieces: `ALGORITHM \n date \n [scope \n] hex(hash(canonical request))`.
fn string_to_sign_parts<'a>(
    algorithm: Algorithm,
    date: &'a str,
    scope: Option<&'a str>,
    hash: &'a str,
) -> [&'a str; 7] {
    let (scope, scope_end) = scope.map_or(("", ""), |scope| (scope, "\n"));
    [algorithm.as_str(), "\n", date, "\n", scope, scope_end, hash]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::UrlParts;

    /// A verifier checks a signature over the same string to sign, in pieces, as a signer signs:
    /// for every algorithm, with and without a scope, a right and a wrong signature.
    #[test]
    fn check_signature_agrees_with_compute_signature() {
        let canonical = || {
            let url = UrlParts::parse("/v1/x?a=1").unwrap();
            CanonicalRequest::new("GET", &url, &[("host", "h"), ("x-sdk-date", "20240403T101500Z")], "e3b0")
        };
        for algorithm in Algorithm::ALL {
            let key = SigningKey::new(algorithm.hash_function(), b"secret");
            for scope in [None, Some("20240403/cn-north-4/apic")] {
                let (trace, signature) = compute_signature(algorithm, &key, "20240403T101500Z", scope, canonical());
                let check = |signature: &str| {
                    check_signature(algorithm, &key, "20240403T101500Z", scope, canonical(), signature)
                };
                assert_eq!(check(signature.as_str()), Ok(()));
                let wrong = "0".repeat(64);
                assert_eq!(check(&wrong), Err(trace));
            }
        }
    }
}
