//! The answer to a rejected request: APIG's error JSON with the gateway's status and code.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use apig::ApigErrorResponse;
use bytes::Bytes;

/// The response to `error`: its status (401, 400, 413, 500), `Content-Type: application/json` and
/// the body `{"error_code":"<prefix>.0303","error_msg":"…","request_id":"…"}`, as the gateway
/// answers. The request id is the request's `X-Request-Id` when it has one, else a fresh one.
pub fn error_response<B: From<Bytes>>(
    error: &ApigErrorResponse,
    prefix: &str,
    request_id: Option<&str>,
) -> http::Response<B> {
    let id = request_id.map_or_else(new_request_id, str::to_owned);
    let body = error.to_json(prefix, &id);
    let mut response = http::Response::new(B::from(Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::UNAUTHORIZED);
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    if let Ok(value) = http::HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    response
}

/// 32 hex digits: the time in nanoseconds and a process counter (unique in the process, not secret).
fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:016x}{:016x}", nanos & u128::from(u64::MAX), COUNTER.fetch_add(1, Ordering::Relaxed))
}
