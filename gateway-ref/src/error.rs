//! APIG's error model: `{"error_code","error_msg","request_id"}` with APIG's codes and statuses.
//!
//! Every failure the gateway answers goes through [`GatewayError`]; every core
//! [`apig::ErrorKind`] is mapped to an APIG code in exactly one place, [`from_verify_error`].

use std::fmt;

use apig::ErrorKind;
use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{CONTENT_TYPE, HeaderValue};

use crate::body::{Body, full};

/// The prefix of every `APIG.0303` message.
pub use apig::APP_AUTH_PREFIX;

/// A failure answered with an APIG error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    /// HTTP status.
    pub status: StatusCode,
    /// The number part of the code (`"0303"`); the prefix (`APIG` / `APIGW`) is added when rendered.
    pub code: &'static str,
    /// `error_msg`.
    pub message: String,
    /// The core error code behind an authentication failure (shown with `X-Apig-Mode: debug`).
    pub core_code: Option<&'static str>,
    /// Whether the connection must be closed after the answer (framing errors).
    pub close: bool,
}

impl GatewayError {
    /// An error with the given status, code number and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), core_code: None, close: false }
    }

    /// `APIG.0101` 404: no such API, or not published in the requested environment.
    pub fn api_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "0101", "The API does not exist or has not been published in the environment")
    }

    /// `APIG.0201` 400: the request is malformed.
    pub fn bad_request(detail: impl fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "0201", format!("Bad request: {detail}"))
    }

    /// `APIG.0201` 413: the body is larger than the limit (the core's
    /// [`apig::ApigErrorResponse::body_too_large`], the answer every middleware gives too).
    pub fn body_too_large(limit: u64) -> Self {
        Self { core_code: None, ..apig::ApigErrorResponse::body_too_large(limit).into() }
    }

    /// `APIG.0201` 408: the client did not send its body within `gateway.body_timeout_ms`; the
    /// connection is closed (the rest of the body is never read).
    pub fn body_timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "0201",
            format!("Request timeout, the body was not received within {} ms", timeout.as_millis()),
        )
        .closing()
    }

    /// `APIG.0308` 429: the gateway already serves `gateway.max_connections` connections; the new
    /// one is answered and closed without its request being read.
    pub fn too_many_connections(limit: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "0308",
            format!("The throttling threshold has been reached: too many connections, limit {limit}"),
        )
        .closing()
    }

    /// `APIG.0201` 414: the request URI is larger than the limit.
    pub fn uri_too_large(limit: usize) -> Self {
        Self::new(StatusCode::URI_TOO_LONG, "0201", format!("Request URI too large, limit {limit} bytes"))
    }

    /// `APIG.0201` 494: the request headers are larger than the limit.
    pub fn headers_too_large(detail: impl fmt::Display) -> Self {
        let status = StatusCode::from_u16(494).unwrap_or(StatusCode::BAD_REQUEST);
        Self::new(status, "0201", format!("Request headers too large: {detail}"))
    }

    /// `APIG.0202` 502: the backend cannot be reached.
    pub fn backend_unavailable(detail: impl fmt::Display) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "0202", format!("Backend unavailable: {detail}"))
    }

    /// `APIG.0203` 504: the backend did not answer in time.
    pub fn backend_timeout(timeout_ms: u128) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "0203", format!("Backend timeout, no response within {timeout_ms} ms"))
    }

    /// `APIG.0303` 401 with `Incorrect app authentication information: {reason}`.
    pub fn app_auth(reason: impl fmt::Display) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "0303", format!("{APP_AUTH_PREFIX}{reason}"))
    }

    /// `APIG.0304` 403: the app is not authorised for the API in this environment.
    pub fn app_not_authorized() -> Self {
        Self::new(StatusCode::FORBIDDEN, "0304", "The app is not authorized to access the API")
    }

    /// Marks the error as one after which the connection is closed.
    #[must_use]
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// `PREFIX.NNNN`.
    pub fn full_code(&self, prefix: &str) -> String {
        format!("{prefix}.{}", self.code)
    }

    /// The JSON body.
    pub fn body_json(&self, prefix: &str, request_id: &str) -> String {
        serde_json::json!({
            "error_code": self.full_code(prefix),
            "error_msg": self.message,
            "request_id": request_id,
        })
        .to_string()
    }

    /// The response: status, `Content-Type: application/json`, the JSON body.
    pub fn to_response(&self, prefix: &str, request_id: &str) -> hyper::Response<Body> {
        let mut response = hyper::Response::new(full(Bytes::from(self.body_json(prefix, request_id))));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
        if self.close {
            headers.insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for GatewayError {}

/// The APIG status and code number the gateway answers a core error kind with: the core's one
/// mapping ([`ErrorKind::apig_status_and_number`], shared with every binding's middleware),
/// exhaustive over [`ErrorKind`]; `docs/error-codes.md` lists it.
pub const fn apig_code(kind: ErrorKind) -> (u16, &'static str) {
    kind.apig_status_and_number()
}

/// The gateway's answer to a core verification error: the core's [`apig::ApigErrorResponse`]
/// (status, code and APIG's message texts: `verify signature fail, canonicalRequest:…` with `|`
/// for newlines, `signature expired, signature time:…, server time:…`, `app not found, appkey …`).
pub fn from_verify_error(err: &apig::Error) -> GatewayError {
    apig::ApigErrorResponse::from_error(err).into()
}

impl From<apig::ApigErrorResponse> for GatewayError {
    fn from(answer: apig::ApigErrorResponse) -> Self {
        let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        Self {
            status,
            code: answer.number(),
            message: answer.message().to_owned(),
            core_code: Some(answer.core_code()),
            close: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_mapped_to_an_apig_status_and_code() {
        for kind in ErrorKind::ALL {
            let err = from_verify_error(&apig::Error::new(kind, "x"));
            let (status, code) = apig_code(kind);
            assert_eq!(err.status.as_u16(), status, "{kind:?}");
            assert_eq!(err.code, code);
            assert_eq!(err.core_code, Some(kind.code()));
            if kind.is_authentication_failure() {
                assert_eq!((status, code), (401, "0303"), "{kind:?}");
                assert!(err.message.starts_with(APP_AUTH_PREFIX), "{kind:?}");
            } else {
                assert_ne!(code, "0303", "{kind:?}");
            }
        }
    }

    #[test]
    fn renders_apig_json() {
        let e = GatewayError::api_not_found();
        let v: serde_json::Value = serde_json::from_str(&e.body_json("APIGW", "rid")).unwrap();
        assert_eq!(v["error_code"], "APIGW.0101");
        assert_eq!(v["request_id"], "rid");
        assert_eq!(e.status, StatusCode::NOT_FOUND);
    }
}
