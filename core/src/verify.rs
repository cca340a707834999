//! Verification: what a gateway or a backend runs on a received request.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::algorithm::Algorithm;
use crate::authorization::Authorization;
use crate::canonical::{
    CanonicalHeader, CanonicalRequest, HeaderList, canonical_method, canonical_value, dedupe_sorted,
};
use crate::error::{Error, ErrorKind};
use crate::key::{SecretKey, SecurityToken};
use crate::request::{SignableBody, SignableRequest, UNSIGNED_PAYLOAD, UrlParts, X_SECURITY_TOKEN};
use crate::scan;
use crate::sign::{check_signature, signing_key};
use crate::time::{Clock, SdkDate, SystemClock};

/// Looks up the secret of an access key.
pub trait KeyResolver: Send + Sync {
    /// The secret of `access_key`, or `None` when the key is unknown (or disabled).
    fn resolve(&self, access_key: &str) -> Option<SecretKey>;

    /// The secret of `access_key` for a request that signed `security_token` (the value of its
    /// signed `X-Security-Token` header, trimmed; `None` when it signed none): temporary
    /// credentials are found by the pair. The signature proves the request was signed with the
    /// secret returned; the token itself is IAM's to validate, so a resolver that returns a
    /// temporary key should check that the token is the one issued with it. The default ignores
    /// the token and calls [`KeyResolver::resolve`] (permanent keys); see [`TokenResolver`].
    fn resolve_with_token(&self, access_key: &str, security_token: Option<&str>) -> Option<SecretKey> {
        let _ = security_token;
        self.resolve(access_key)
    }
}

/// A [`KeyResolver`] from a function of the access key and the signed security token:
/// `Verifier::new(TokenResolver(|ak: &str, token: Option<&str>| …))`. [`KeyResolver::resolve`]
/// calls it with no token.
///
/// ```
/// use apig::{SecretKey, TokenResolver, Verifier};
/// let verifier = Verifier::new(TokenResolver(|ak: &str, token: Option<&str>| match (ak, token) {
///     ("TMPAK", Some("token-1")) => Some(SecretKey::new("TMPSK")),
///     ("AK", None) => Some(SecretKey::new("SK")),
///     _ => None,
/// }));
/// # let _ = verifier;
/// ```
#[derive(Clone, Copy)]
pub struct TokenResolver<F>(pub F);

impl<F> KeyResolver for TokenResolver<F>
where
    F: Fn(&str, Option<&str>) -> Option<SecretKey> + Send + Sync,
{
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        (self.0)(access_key, None)
    }

    fn resolve_with_token(&self, access_key: &str, security_token: Option<&str>) -> Option<SecretKey> {
        (self.0)(access_key, security_token)
    }
}

impl<F> fmt::Debug for TokenResolver<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenResolver(..)")
    }
}

impl<S: BuildHasher + Send + Sync> KeyResolver for HashMap<String, SecretKey, S> {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        self.get(access_key).cloned()
    }
}

impl<S: BuildHasher + Send + Sync> KeyResolver for HashMap<String, String, S> {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        self.get(access_key).map(|s| SecretKey::new(s.as_str()))
    }
}

impl KeyResolver for BTreeMap<String, SecretKey> {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        self.get(access_key).cloned()
    }
}

impl<F> KeyResolver for F
where
    F: Fn(&str) -> Option<SecretKey> + Send + Sync,
{
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        self(access_key)
    }
}

impl<R: KeyResolver + ?Sized> KeyResolver for Arc<R> {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        (**self).resolve(access_key)
    }

    fn resolve_with_token(&self, access_key: &str, security_token: Option<&str>) -> Option<SecretKey> {
        (**self).resolve_with_token(access_key, security_token)
    }
}

/// What a verifier accepts. `Default` is APIG's documented behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Largest accepted distance between `X-Sdk-Date` and the verifier's clock (default 15 minutes).
    pub max_skew: Duration,
    /// Require `host` to be signed (default `false`: APIG only requires `x-sdk-date`).
    pub require_host: bool,
    /// Accept `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, i.e. an unauthenticated body (default `true`).
    pub allow_unsigned_payload: bool,
    /// The algorithms accepted (default: all four).
    pub allowed_algorithms: Vec<Algorithm>,
    /// V11: the region the credential scope must name (default: any).
    pub region: Option<String>,
    /// V11: the service the credential scope must name (default: any).
    pub service: Option<String>,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            max_skew: Duration::from_secs(15 * 60),
            require_host: false,
            allow_unsigned_payload: true,
            allowed_algorithms: Algorithm::ALL.to_vec(),
            region: None,
            service: None,
        }
    }
}

impl Verified {
    /// The signed header names, lower case and sorted.
    pub fn signed_header_names(&self) -> impl Iterator<Item = &str> + '_ {
        scan::split(&self.signed_headers, b';')
    }
}

/// A request that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key that signed it.
    pub access_key: String,
    /// The algorithm used.
    pub algorithm: Algorithm,
    /// The `SignedHeaders` list: lower-case names, sorted, joined with `;`
    /// (see [`Verified::signed_header_names`]).
    pub signed_headers: String,
    /// The signing time.
    pub date: SdkDate,
    /// Whether the body was left out of the signature (`UNSIGNED-PAYLOAD` or another non-hash
    /// value): the body is then not authenticated.
    pub unsigned_payload: bool,
    /// The signed `X-Security-Token` (trimmed), when the request signed one: the signer used
    /// temporary credentials, and the token is IAM's to validate. Never printed by `Debug`.
    pub security_token: Option<SecurityToken>,
}

/// Verifies signed requests against the keys of a [`KeyResolver`].
pub struct Verifier<R> {
    resolver: R,
    policy: VerifyPolicy,
    clock: Arc<dyn Clock>,
}

impl<R: KeyResolver> Verifier<R> {
    /// A verifier with the default policy and the system clock.
    pub fn new(resolver: R) -> Self {
        Self { resolver, policy: VerifyPolicy::default(), clock: Arc::new(SystemClock) }
    }

    /// Replaces the policy.
    #[must_use]
    pub fn with_policy(mut self, policy: VerifyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &VerifyPolicy {
        &self.policy
    }

    /// The key resolver.
    pub fn resolver(&self) -> &R {
        &self.resolver
    }

    /// Verifies `request` against the clock's current time.
    ///
    /// # Errors
    /// One of the verification kinds ([`ErrorKind::MissingAuthorization`] …
    /// [`ErrorKind::SignatureMismatch`]), checked in this order: first the head
    /// ([`Verifier::check_head`]: the `Authorization` header, the algorithm, the date (present,
    /// signed, well-formed, within the skew), `host` if required, the V11 scope, the access key,
    /// the signed headers (present, valid values), `UNSIGNED-PAYLOAD` if not accepted, conflicting
    /// repeats of a signed header, the method and target), then the payload hash, the signature.
    /// [`ErrorKind::InvalidRequest`] when the request itself cannot be canonicalised.
    pub fn verify(&self, request: &SignableRequest<'_>) -> Result<Verified, Error> {
        self.verify_at(request, self.clock.now())
    }

    /// Verifies `request` as at `now`: [`Verifier::check_head_at`], then the payload hash and the
    /// signature.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_at(&self, request: &SignableRequest<'_>, now: SystemTime) -> Result<Verified, Error> {
        // the canonical headers stay in this frame (not moved into a `HeadChecked`)
        let mut headers = HeaderList::new();
        self.check_head_into(request, &mut headers, now)?.verify_body(headers.as_slice(), request.body())
    }

    /// Makes every check of [`Verifier::verify`] that needs neither the body nor the signature
    /// computation, against the clock's current time: a server can refuse a request before it
    /// reads the body, then verify it once the body is read.
    ///
    /// # Errors
    /// As [`Verifier::check_head_at`].
    pub fn check_head<'a>(&self, request: &SignableRequest<'a>) -> Result<HeadChecked<'a>, Error> {
        self.check_head_at(request, self.clock.now())
    }

    /// Makes every check of [`Verifier::verify_at`] that needs neither the body nor the signature
    /// computation (the body of `request` is not looked at): the `Authorization` header (present
    /// once, well-formed), the algorithm (accepted), the date (present, signed, well-formed,
    /// within the skew of `now`), `host` (signed if the policy requires it), the V11 scope, the
    /// access key (known), the signed headers (present, valid values, no conflicting repeat),
    /// `UNSIGNED-PAYLOAD` (accepted by the policy, when declared) and the method and target
    /// (can be canonicalised). `verify_at` runs exactly these checks first, so a request refused
    /// here is refused by `verify_at` with the same error, and one that passes can only fail
    /// `verify_at` with [`ErrorKind::PayloadHashMismatch`] or [`ErrorKind::SignatureMismatch`]
    /// (or [`ErrorKind::InvalidRequest`] when given [`SignableBody::Unsigned`] without a
    /// declared `UNSIGNED-PAYLOAD`).
    ///
    /// # Errors
    /// The kind and message `verify_at` gives for the first of these faults, in its order.
    pub fn check_head_at<'a>(&self, request: &SignableRequest<'a>, now: SystemTime) -> Result<HeadChecked<'a>, Error> {
        // the canonical headers are needed only with the body (`verify_at` keeps them)
        self.check_head_into(request, &mut HeaderList::new(), now)
    }

    /// [`Verifier::check_head_at`], the canonical headers (sorted, repeats folded) collected into
    /// `headers`.
    fn check_head_into<'a>(
        &self,
        request: &SignableRequest<'a>,
        headers: &mut HeaderList<'a>,
        now: SystemTime,
    ) -> Result<HeadChecked<'a>, Error> {
        let (authorization, date_value) = authorization_and_date(request);
        let authorization = authorization
            .map_err(|()| Error::new(ErrorKind::MalformedAuthorization, "more than one Authorization header"))?
            .ok_or_else(|| Error::new(ErrorKind::MissingAuthorization, "the request has no Authorization header"))?;
        let auth = Authorization::parse(authorization)?;
        let signed = SignedNames::of(&auth, request, headers);
        let algorithm = auth.algorithm;
        if !self.policy.allowed_algorithms.contains(&algorithm) {
            return Err(Error::new(
                ErrorKind::UnsupportedAlgorithm,
                format!("algorithm {algorithm} is not accepted here"),
            ));
        }

        let date_value = date_value
            .map_err(|()| {
                Error::new(ErrorKind::DuplicateHeader, "X-Sdk-Date is given more than once with different values")
            })?
            .ok_or_else(|| Error::new(ErrorKind::MissingDate, "the request has no X-Sdk-Date header"))?;
        if !signed.date {
            return Err(Error::new(ErrorKind::DateNotSigned, "x-sdk-date must be listed in SignedHeaders"));
        }
        let date_value = crate::encoding::normalize_header_value(date_value);
        let date = SdkDate::parse(date_value)?;
        if date.skew_from(now) > self.policy.max_skew {
            return Err(Error::new(
                ErrorKind::Expired,
                format!(
                    "signature expired, signature time:{date_value}, server time:{}",
                    SdkDate::from_system_time(now)
                ),
            ));
        }
        if self.policy.require_host && !signed.host {
            return Err(Error::new(ErrorKind::HostNotSigned, "host must be listed in SignedHeaders"));
        }
        if let Some(scope) = auth.credential_scope {
            self.check_scope(scope, date_value)?;
        }

        // the signed token (a token sent but not signed proves nothing and is not reported)
        let security_token = if signed.token { signed_value(request, X_SECURITY_TOKEN) } else { None };
        let secret =
            self.resolver.resolve_with_token(auth.access_key, security_token).filter(|s| !s.is_empty()).ok_or_else(
                || Error::new(ErrorKind::UnknownAccessKey, format!("app not found, appkey {}", auth.access_key)),
            )?;

        signed.headers?;
        // every signed name is in `headers` (checked when they were collected)
        let declared = signed
            .content_hash
            .and_then(|name| headers.as_slice().iter().find(|(n, _)| scan::eq_lower(n, name)).map(|&(_, v)| v));
        if declared.is_some_and(|value| !is_hex_hash(value)) {
            unsigned_payload_allowed(self.policy.allow_unsigned_payload)?;
        }
        dedupe_sorted(headers)?;
        let url = request.url_parts()?;
        let method = canonical_method(request.method())?;
        Ok(HeadChecked {
            auth,
            date,
            date_value,
            secret,
            declared,
            allow_unsigned_payload: self.policy.allow_unsigned_payload,
            url,
            method,
            security_token,
        })
    }

    fn check_scope(&self, scope: &str, date: &str) -> Result<(), Error> {
        let mut parts = scan::split(scope, b'/');
        let (day, region, service) =
            (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let mismatch =
            |what: &str| Error::new(ErrorKind::CredentialScopeMismatch, format!("credential scope {scope}: {what}"));
        if !date.starts_with(day) {
            return Err(mismatch("the date is not the day of X-Sdk-Date"));
        }
        if self.policy.region.as_deref().is_some_and(|r| r != region) {
            return Err(mismatch("wrong region"));
        }
        if self.policy.service.as_deref().is_some_and(|s| s != service) {
            return Err(mismatch("wrong service"));
        }
        Ok(())
    }
}

impl<R> fmt::Debug for Verifier<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// A request whose head passed [`Verifier::check_head_at`]: every check of verification but the
/// payload hash and the signature. Borrows from the request.
pub struct HeadChecked<'a> {
    auth: Authorization<'a>,
    date: SdkDate,
    /// The `X-Sdk-Date` value, trimmed: the string to sign's date.
    date_value: &'a str,
    secret: SecretKey,
    /// The value of the signed content-hash header (`X-Sdk-Content-Sha256`), if any.
    declared: Option<&'a str>,
    allow_unsigned_payload: bool,
    url: UrlParts<'a>,
    method: Cow<'a, str>,
    /// The signed `X-Security-Token`, trimmed.
    security_token: Option<&'a str>,
}

impl<'a> HeadChecked<'a> {
    /// The access key that claims to have signed (a known one).
    pub fn access_key(&self) -> &'a str {
        self.auth.access_key
    }

    /// The signature's algorithm: it names the hash the body is to be read through.
    pub fn algorithm(&self) -> Algorithm {
        self.auth.algorithm
    }

    /// The signing time.
    pub fn date(&self) -> SdkDate {
        self.date
    }

    /// The signed `X-Security-Token` (trimmed), if the request signed one (temporary credentials).
    pub fn security_token(&self) -> Option<&'a str> {
        self.security_token
    }

    /// The `SignedHeaders` list: lower-case names, sorted, joined with `;`.
    pub fn signed_headers(&self) -> &'a str {
        self.auth.signed_headers
    }

    /// The body hash the request declares in a signed `X-Sdk-Content-Sha256` (hex, as sent), which
    /// the body must match: `None` when the request declares none (the signature then covers the
    /// hash of the body) or declares `UNSIGNED-PAYLOAD`.
    pub fn declared_body_hash(&self) -> Option<&'a str> {
        self.declared.filter(|value| is_hex_hash(value))
    }

    /// Whether the request declares a signed `X-Sdk-Content-Sha256` that is not a hash
    /// (`UNSIGNED-PAYLOAD`): the signature does not cover the body, which is then not authenticated.
    pub fn unsigned_payload(&self) -> bool {
        self.declared.is_some_and(|value| !is_hex_hash(value))
    }

    /// Completes the verification with the body: the payload hash, then the signature.
    fn verify_body(&self, headers: &[CanonicalHeader<'_>], body: SignableBody<'_>) -> Result<Verified, Error> {
        let algorithm = self.auth.algorithm;
        let hash = algorithm.hash_function();
        let body_hash;
        let received = match body {
            SignableBody::Bytes([]) => Some(hash.empty_hash()),
            SignableBody::Bytes(bytes) => {
                body_hash = hash.hash_hex_text(bytes);
                Some(body_hash.as_str())
            }
            SignableBody::Precomputed(hex) => Some(hex),
            SignableBody::Unsigned => None,
        };
        let (payload_hash, mut unsigned_payload) = self.payload_hash(received)?;
        let auth = &self.auth;
        let canonical = CanonicalRequest::new(&self.method, &self.url, headers, payload_hash);
        let key = signing_key(algorithm, auth.access_key, &self.secret, auth.credential_scope);
        let check = |canonical| {
            check_signature(algorithm, &key, self.date_value, auth.credential_scope, canonical, auth.signature)
        };
        if let Err(trace) = check(canonical) {
            // Huawei Cloud's v3 SDKs (Python) sign an empty body with the empty-body hash even when
            // they declare UNSIGNED-PAYLOAD (a non-JSON Content-Type): accepted, the empty body being
            // then authenticated; otherwise the mismatch of the declared value is reported
            let empty = hash.empty_hash();
            let v3_empty_body = unsigned_payload && received == Some(empty);
            if !v3_empty_body || check(CanonicalRequest::new(&self.method, &self.url, headers, empty)).is_err() {
                return Err(Error::new(ErrorKind::SignatureMismatch, "verify signature fail").with_trace(trace));
            }
            unsigned_payload = false;
        }
        Ok(Verified {
            access_key: auth.access_key.to_owned(),
            algorithm,
            signed_headers: auth.signed_headers.to_owned(),
            date: self.date,
            unsigned_payload,
            security_token: self.security_token.map(SecurityToken::new),
        })
    }

    /// The payload hash line, and whether the body is left unauthenticated: from the value of
    /// the signed content-hash header and the hash of the body received.
    fn payload_hash<'b>(&self, received: Option<&'b str>) -> Result<(&'b str, bool), Error>
    where
        'a: 'b,
    {
        match (self.declared, received) {
            (Some(value), Some(received)) if is_hex_hash(value) => {
                if value.eq_ignore_ascii_case(received) {
                    Ok((value, false))
                } else {
                    Err(Error::new(
                        ErrorKind::PayloadHashMismatch,
                        "the signed X-Sdk-Content-Sha256 is not the hash of the body received",
                    ))
                }
            }
            (Some(value), _) => {
                // a declared non-hash was checked with the head; a declared hash stands for a body
                // that is not given
                unsigned_payload_allowed(self.allow_unsigned_payload)?;
                Ok((value, true))
            }
            (None, Some(received)) => Ok((received, false)),
            (None, None) => Err(Error::new(
                ErrorKind::InvalidRequest,
                "the body (or its hash) is needed to verify a request that does not declare UNSIGNED-PAYLOAD",
            )),
        }
    }
}

impl fmt::Debug for HeadChecked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeadChecked")
            .field("access_key", &self.auth.access_key)
            .field("algorithm", &self.auth.algorithm)
            .field("signed_headers", &self.auth.signed_headers)
            .field("date", &self.date)
            .field("declared", &self.declared)
            .finish_non_exhaustive()
    }
}

/// [`ErrorKind::UnsignedPayloadNotAllowed`] unless the policy accepts an unauthenticated body.
fn unsigned_payload_allowed(allowed: bool) -> Result<(), Error> {
    if allowed {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::UnsignedPayloadNotAllowed,
            format!("{UNSIGNED_PAYLOAD} is not accepted here; sign the body"),
        ))
    }
}

/// What the verifier looks for in `SignedHeaders`, found in one pass over the list.
struct SignedNames {
    date: bool,
    host: bool,
    /// `x-security-token` is signed.
    token: bool,
    /// The signed header whose value stands for the body hash, the most preferred one of the
    /// algorithm's [`Algorithm::content_hash_headers`].
    content_hash: Option<&'static str>,
    /// Whether the canonical headers named were all collected, or the first error met collecting
    /// them (reported after the checks that come before it).
    headers: Result<(), Error>,
}

impl SignedNames {
    /// Reads `SignedHeaders` and adds the request's headers it names to `headers`.
    fn of<'a>(auth: &Authorization<'a>, request: &SignableRequest<'a>, headers: &mut HeaderList<'a>) -> Self {
        let preferred = auth.algorithm.content_hash_headers();
        let mut out = Self { date: false, host: false, token: false, content_hash: None, headers: Ok(()) };
        let mut best = usize::MAX;
        for name in auth.signed_header_names() {
            match name {
                "x-sdk-date" => out.date = true,
                "host" => out.host = true,
                X_SECURITY_TOKEN => out.token = true,
                _ => {
                    if let Some(rank) = preferred.iter().position(|h| *h == name)
                        && rank < best
                    {
                        best = rank;
                        out.content_hash = Some(preferred[rank]);
                    }
                }
            }
            if out.headers.is_ok() {
                out.headers = collect_signed_header(request, name, headers);
            }
        }
        out
    }
}

/// The values of `Authorization` and `X-Sdk-Date`, found in one pass over the headers; each
/// `Err` when that header is given more than once with different values.
#[allow(clippy::type_complexity)]
fn authorization_and_date<'a>(
    request: &SignableRequest<'a>,
) -> (Result<Option<&'a str>, ()>, Result<Option<&'a str>, ()>) {
    let (mut authorization, mut date) = (Ok(None), Ok(None));
    for &(n, v) in request.headers() {
        let found = if scan::eq_lower(n, "authorization") {
            &mut authorization
        } else if scan::eq_lower(n, "x-sdk-date") {
            &mut date
        } else {
            continue;
        };
        match *found {
            Ok(Some(previous)) if scan::trim_blanks(previous) != scan::trim_blanks(v) => *found = Err(()),
            Err(()) => {}
            _ => *found = Ok(Some(v)),
        }
    }
    (authorization, date)
}

/// Adds the canonical headers of the request named `name` (a signed name: a valid name in lower
/// case, which stands for the request's spelling of it: they differ only in case).
///
/// # Errors
/// [`ErrorKind::SignedHeaderMissing`] when there is none, [`ErrorKind::InvalidRequest`] for a
/// header value that cannot be signed.
fn collect_signed_header<'a>(
    request: &SignableRequest<'a>,
    name: &'a str,
    out: &mut HeaderList<'a>,
) -> Result<(), Error> {
    let mut found = false;
    for &(n, v) in request.headers() {
        if scan::eq_lower(n, name) {
            out.push((name, canonical_value(n, v)?));
            found = true;
        }
    }
    if found {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::SignedHeaderMissing, format!("signed header {name} is not in the request")))
    }
}

/// The first value of header `name` (lower case) in the request, trimmed.
fn signed_value<'a>(request: &SignableRequest<'a>, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|(n, _)| scan::eq_lower(n, name))
        .map(|&(_, v)| crate::encoding::normalize_header_value(v))
}

fn is_hex_hash(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}
