//! Mock backends: an API whose backend is `mock:` is answered by the gateway itself with a fixed
//! status, headers and body (APIG's MOCK backend), after its authentication and policies, as a
//! backend's answer would be. Handy for local testing and for preflight APIs.
//!
//! ```json
//! "backend": {"url": "mock:", "mock": {"status": 200,
//!   "headers": [{"name": "Content-Type", "value": "application/json"}], "body": "{\"id\": \"t-1\"}"}}
//! ```
//! Defaults: status 200, no headers, an empty body.

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::body::{Body, full};

/// A header of a mock answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockHeader {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The fixed answer of a mock backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockResponse {
    /// The status (default 200).
    #[serde(default = "default_status")]
    pub status: u16,
    /// The headers, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<MockHeader>,
    /// The body (default empty).
    #[serde(default)]
    pub body: String,
}

impl Default for MockResponse {
    fn default() -> Self {
        Self { status: default_status(), headers: Vec::new(), body: String::new() }
    }
}

fn default_status() -> u16 {
    200
}

/// A checked mock answer, ready to be sent any number of times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockBackend {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Default for MockBackend {
    /// 200 with no headers and an empty body.
    fn default() -> Self {
        Self { status: StatusCode::OK, headers: Vec::new(), body: Bytes::new() }
    }
}

impl MockBackend {
    /// Checks `mock`.
    ///
    /// # Errors
    /// A status outside 100–599, or a header that is not a valid name and value.
    pub fn new(mock: &MockResponse) -> Result<Self, String> {
        let status = StatusCode::from_u16(mock.status)
            .ok()
            .filter(|s| (100..600).contains(&s.as_u16()))
            .ok_or_else(|| format!("mock status {} must be 100 to 599", mock.status))?;
        let mut headers = Vec::with_capacity(mock.headers.len());
        for h in &mock.headers {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| format!("mock header name {:?} is not a header name", h.name))?;
            let value = HeaderValue::from_str(&h.value)
                .map_err(|_| format!("mock header {:?} has a value that is not a header value", h.name))?;
            headers.push((name, value));
        }
        Ok(Self { status, headers, body: Bytes::from(mock.body.clone()) })
    }

    /// The answer.
    pub fn respond(&self) -> Response<Body> {
        let mut response = Response::new(full(self.body.clone()));
        *response.status_mut() = self.status;
        for (name, value) in &self.headers {
            response.headers_mut().append(name.clone(), value.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_answers() {
        let mock = MockResponse {
            status: 201,
            headers: vec![MockHeader { name: "X-A".into(), value: "1".into() }],
            body: "hi".into(),
        };
        let r = MockBackend::new(&mock).unwrap().respond();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-a"], "1");
        for bad in [
            MockResponse { status: 99, ..MockResponse::default() },
            MockResponse {
                headers: vec![MockHeader { name: "a b".into(), value: "1".into() }],
                ..MockResponse::default()
            },
        ] {
            assert!(MockBackend::new(&bad).is_err());
        }
    }
}
