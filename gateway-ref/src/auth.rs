//! Authentication of a routed request: an AK/SK signature checked by the core verifier (the body
//! hashed while it is read), `X-Apig-AppCode` simple authentication, or none; then the app's
//! authorisation for the API in the environment. In two steps: [`identify`] makes every check
//! that needs no body, [`authenticate`] reads the body and completes the signature check, so a
//! request that will be refused is refused before its body is read.

use std::collections::VecDeque;
use std::time::SystemTime;

use apig::{Algorithm, PayloadHasher, SignableBody, SignableRequest};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::HeaderMap;
use hyper::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use hyper::http::request::Parts;

use crate::body::{ForwardBody, TimedBody, body_timeout_of};
use crate::config::AuthType;
use crate::context::Caller;
use crate::error::{GatewayError, from_verify_error};
use crate::routing::{ApiRoute, Runtime};

/// The header of `X-Apig-AppCode` simple authentication.
pub const APP_CODE_HEADER: &str = "x-apig-appcode";

/// What the request head says about the caller, checked before the body is read.
#[derive(Debug)]
pub enum Identified {
    /// `auth: none`: nobody to check.
    Anonymous,
    /// A known `X-Apig-AppCode` of an app authorised for the API.
    AppCode(Caller),
    /// A signature whose checks that need no body passed (the `Authorization` header, the
    /// algorithm, the date and its skew, the signed headers, a known and active key: the core's
    /// [`apig::Verifier::check_head_at`]) from an app authorised for the API: the caller it
    /// claims. A request that carries a body is verified once the body has been read.
    Signature {
        /// The claimed caller.
        caller: Caller,
        /// The signature's algorithm (hence the body hash).
        algorithm: Algorithm,
        /// Whether the signature already verified against an empty body (a request that declares
        /// none: a GET): then an empty body needs no second check.
        verified_if_empty: bool,
    },
}

impl Identified {
    /// The (claimed) caller.
    pub fn caller(&self) -> Option<&Caller> {
        match self {
            Self::Anonymous => None,
            Self::AppCode(caller) | Self::Signature { caller, .. } => Some(caller),
        }
    }
}

/// Every authentication check that needs no body, so that a request that will be refused is
/// refused before its body is read: the declared length, the AppCode or the signature's
/// body-independent checks (see [`Identified::Signature`]), then the app's authorisation for the
/// API in the environment.
///
/// # Errors
/// `APIG.0303` 401 for a failed authentication, `APIG.0304` 403 for an app not authorised,
/// `APIG.0201` 400/413 for a bad request or a declared body too large.
pub fn identify(
    rt: &Runtime,
    api: &ApiRoute,
    environment: &str,
    parts: &Parts,
    request_headers: &HeaderMap,
    now: SystemTime,
) -> Result<Identified, GatewayError> {
    check_declared_length(request_headers, rt.settings.max_body_bytes)?;
    match api.auth {
        AuthType::None => Ok(Identified::Anonymous),
        AuthType::AppCode if request_headers.contains_key(APP_CODE_HEADER) => {
            let code = request_headers.get(APP_CODE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            let app = rt.app_by_code(code.trim()).ok_or_else(|| GatewayError::app_auth("app code not found"))?;
            let caller = Caller { app_id: app.id.clone(), app_key: app.key.clone(), method: "app_code" };
            authorize(rt, api, environment, &caller)?;
            Ok(Identified::AppCode(caller))
        }
        AuthType::App | AuthType::AppCode => {
            let (caller, algorithm, verified_if_empty) = check_signature_head(rt, parts, request_headers, now)?;
            authorize(rt, api, environment, &caller)?;
            Ok(Identified::Signature { caller, algorithm, verified_if_empty })
        }
    }
}

/// Completes the authentication [`identify`] began: for a signature, reads the body (within its
/// deadline), hashes it and runs the core verifier; otherwise the body is streamed. Returns the
/// caller (none for `auth: none`) and the body to forward.
///
/// # Errors
/// `APIG.0303` 401 for a failed signature, `APIG.0201` 400/408/413 for a broken, late or too large
/// body.
pub async fn authenticate(
    rt: &Runtime,
    parts: &Parts,
    request_headers: &HeaderMap,
    identified: Identified,
    body: TimedBody,
    now: SystemTime,
) -> Result<(Option<Caller>, ForwardBody), GatewayError> {
    let limit = rt.settings.max_body_bytes;
    match identified {
        Identified::Anonymous => Ok((None, streaming(body, limit))),
        Identified::AppCode(caller) => Ok((Some(caller), streaming(body, limit))),
        Identified::Signature { caller, algorithm, verified_if_empty } => {
            let (hasher, chunks) = read_body(algorithm, body, limit).await?;
            if !(chunks.is_empty() && verified_if_empty) {
                // hashed only when it is compared: a request verified against the empty body and
                // that sent none skips the empty body's SHA-256 (~3 800 instructions a GET)
                let hash = hasher.finalize_hex();
                let headers = signable_headers(request_headers)?;
                let request = signable(parts, &headers, SignableBody::Precomputed(&hash));
                rt.verifier.verify_at(&request, now).map_err(|e| from_verify_error(&e))?;
            }
            Ok((Some(caller), ForwardBody::Buffered(chunks)))
        }
    }
}

fn authorize(rt: &Runtime, api: &ApiRoute, environment: &str, caller: &Caller) -> Result<(), GatewayError> {
    if rt.is_authorized(&caller.app_id, &api.id, environment) {
        Ok(())
    } else {
        Err(GatewayError::app_not_authorized())
    }
}

fn streaming(body: TimedBody, limit: u64) -> ForwardBody {
    ForwardBody::Streaming(Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)))
}

/// Refuses a declared `Content-Length` over the limit before reading anything.
fn check_declared_length(request_headers: &HeaderMap, limit: u64) -> Result<(), GatewayError> {
    let declared =
        request_headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(GatewayError::body_too_large(limit).closing());
    }
    Ok(())
}

/// The request headers as the verifier takes them.
fn signable_headers(request_headers: &HeaderMap) -> Result<Vec<(&str, &str)>, GatewayError> {
    let mut headers = Vec::with_capacity(request_headers.len());
    for (name, value) in request_headers {
        let value = std::str::from_utf8(value.as_bytes())
            .map_err(|_| GatewayError::bad_request(format_args!("the value of header {name} is not UTF-8")))?;
        headers.push((name.as_str(), value));
    }
    Ok(headers)
}

fn signable<'a>(parts: &'a Parts, headers: &'a [(&'a str, &'a str)], body: SignableBody<'a>) -> SignableRequest<'a> {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    SignableRequest::new(parts.method.as_str(), target, headers, body)
}

/// The signature's checks that need no body. A request that declares no body (no
/// `Transfer-Encoding`, no or a zero `Content-Length`) is verified at once against the empty body;
/// one that declares a body gets the core's head check (every check but the payload hash and the
/// signature), and is verified once, after its body is read. Returns the app whose key signed, the
/// algorithm, and whether the request verified against the empty body.
fn check_signature_head(
    rt: &Runtime,
    parts: &Parts,
    request_headers: &HeaderMap,
    now: SystemTime,
) -> Result<(Caller, Algorithm, bool), GatewayError> {
    let headers = signable_headers(request_headers)?;
    if declares_no_body(request_headers) {
        // verified at once (the empty body's hash is a constant): nothing is left for later
        let request = signable(parts, &headers, SignableBody::Bytes(b""));
        let verified = rt.verifier.verify_at(&request, now).map_err(|e| from_verify_error(&e))?;
        Ok((caller_of(rt, &verified.access_key)?, verified.algorithm, true))
    } else {
        let request = signable(parts, &headers, SignableBody::Unsigned);
        let head = rt.verifier.check_head_at(&request, now).map_err(|e| from_verify_error(&e))?;
        Ok((caller_of(rt, head.access_key())?, head.algorithm(), false))
    }
}

/// The app of a key the verifier found (so it exists: the verifier's keys are the active apps').
fn caller_of(rt: &Runtime, access_key: &str) -> Result<Caller, GatewayError> {
    let app = rt
        .app_by_key(access_key)
        .ok_or_else(|| GatewayError::app_auth(format_args!("app not found, appkey {access_key}")))?;
    Ok(Caller { app_id: app.id.clone(), app_key: app.key.clone(), method: "signature" })
}

/// Whether the request head says there is no body: no `Transfer-Encoding` and no or a zero
/// `Content-Length`.
fn declares_no_body(request_headers: &HeaderMap) -> bool {
    if request_headers.contains_key(TRANSFER_ENCODING) {
        return false;
    }
    match request_headers.get(CONTENT_LENGTH) {
        None => true,
        Some(length) => length.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) == Some(0),
    }
}

/// Reads the whole body (within its deadline and the size limit) through the hash of the
/// signature's algorithm; returns the hasher (to finalise when the hash is needed) and the chunks
/// as they arrived.
async fn read_body(
    algorithm: Algorithm,
    body: TimedBody,
    limit: u64,
) -> Result<(PayloadHasher, VecDeque<Bytes>), GatewayError> {
    let mut hasher = PayloadHasher::for_algorithm(algorithm);
    let mut chunks = VecDeque::new();
    let mut total: u64 = 0;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| match body_timeout_of(&*e) {
            Some(t) => GatewayError::body_timeout(t.0),
            // the rest of the body cannot be read: the connection is closed
            None => GatewayError::bad_request(format_args!("reading the body failed: {e}")).closing(),
        })?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > limit {
                return Err(GatewayError::body_too_large(limit).closing());
            }
            hasher.update(&data);
            chunks.push_back(data);
        }
    }
    Ok((hasher, chunks))
}
