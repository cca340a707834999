//! Authentication of a routed request: an AK/SK signature checked by the core verifier (the body
//! hashed while it is read), `X-Apig-AppCode` simple authentication, or none; then the app's
//! authorisation for the API in the environment.

use std::collections::VecDeque;
use std::time::SystemTime;

use apig::{Authorization, PayloadHasher, SignableBody, SignableRequest};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::HeaderMap;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH};
use hyper::http::request::Parts;

use crate::body::ForwardBody;
use crate::config::AuthType;
use crate::error::{GatewayError, from_verify_error};
use crate::policy::Caller;
use crate::routing::{ApiRoute, Runtime};

/// The header of `X-Apig-AppCode` simple authentication.
pub const APP_CODE_HEADER: &str = "x-apig-appcode";

/// Authenticates the request for `api`; returns the caller (none for `auth: none`) and the body to
/// forward (read and hashed for signatures, streamed otherwise).
///
/// # Errors
/// `APIG.0303` 401 for a failed authentication, `APIG.0304` 403 for an app not authorised,
/// `APIG.0201` 400/413 for a bad or too large body.
pub async fn authenticate(
    rt: &Runtime,
    api: &ApiRoute,
    environment: &str,
    parts: &Parts,
    request_headers: &HeaderMap,
    body: Incoming,
    now: SystemTime,
) -> Result<(Option<Caller>, ForwardBody), GatewayError> {
    let limit = rt.settings.max_body_bytes;
    check_declared_length(request_headers, limit)?;
    match api.auth {
        AuthType::None => Ok((None, streaming(body, limit))),
        AuthType::AppCode if request_headers.contains_key(APP_CODE_HEADER) => {
            let code = request_headers.get(APP_CODE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            let app = rt.app_by_code(code.trim()).ok_or_else(|| GatewayError::app_auth("app code not found"))?;
            let caller = Caller { app_id: app.id.clone(), app_key: app.key.clone(), method: "app_code" };
            authorize(rt, api, environment, &caller)?;
            Ok((Some(caller), streaming(body, limit)))
        }
        AuthType::App | AuthType::AppCode => {
            let (caller, chunks) = verify_signature(rt, parts, request_headers, body, now, limit).await?;
            authorize(rt, api, environment, &caller)?;
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

fn streaming(body: Incoming, limit: u64) -> ForwardBody {
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

/// Reads the body through the hash of the signature's algorithm, then runs the core verifier.
async fn verify_signature(
    rt: &Runtime,
    parts: &Parts,
    request_headers: &HeaderMap,
    body: Incoming,
    now: SystemTime,
    limit: u64,
) -> Result<(Caller, VecDeque<Bytes>), GatewayError> {
    let mut headers = Vec::with_capacity(request_headers.len());
    for (name, value) in request_headers {
        let value = std::str::from_utf8(value.as_bytes())
            .map_err(|_| GatewayError::bad_request(format_args!("the value of header {name} is not UTF-8")))?;
        headers.push((name.as_str(), value));
    }
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let method = parts.method.as_str();

    // The algorithm (hence the body hash) is named by the Authorization header; the verifier
    // parses the whole header once the body is hashed. Without a known algorithm it fails before
    // it needs the body.
    let algorithm = request_headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Authorization::algorithm_of(v).ok());
    let Some(algorithm) = algorithm else {
        let request = SignableRequest::new(method, target, &headers, SignableBody::Unsigned);
        return Err(match rt.verifier.verify_at(&request, now) {
            Err(e) => from_verify_error(&e),
            Ok(_) => GatewayError::app_auth("the Authorization header cannot be read"),
        });
    };
    let mut hasher = PayloadHasher::for_algorithm(algorithm);
    let mut chunks = VecDeque::new();
    let mut total: u64 = 0;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| GatewayError::bad_request(format_args!("reading the body failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > limit {
                return Err(GatewayError::body_too_large(limit).closing());
            }
            hasher.update(&data);
            chunks.push_back(data);
        }
    }
    let hash = hasher.finalize_hex();
    let request = SignableRequest::new(method, target, &headers, SignableBody::Precomputed(&hash));
    let verified = rt.verifier.verify_at(&request, now).map_err(|e| from_verify_error(&e))?;
    let app = rt
        .app_by_key(&verified.access_key)
        .ok_or_else(|| GatewayError::app_auth(format_args!("app not found, appkey {}", verified.access_key)))?;
    Ok((Caller { app_id: app.id.clone(), app_key: app.key.clone(), method: "signature" }, chunks))
}
