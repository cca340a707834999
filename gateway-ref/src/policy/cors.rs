//! CORS: answers preflights for the API and adds the CORS headers to its responses, so a browser
//! can call a signed API cross-origin.
//!
//! ```json
//! {"name": "browser", "type": "cors", "config": {
//!   "allow_origins": ["https://app.example.com"], "allow_methods": ["GET", "POST"],
//!   "allow_headers": ["Authorization", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Content-Type"],
//!   "expose_headers": ["X-Request-Id"], "max_age": 86400, "allow_credentials": false}}
//! ```
//! Defaults: any origin (`*`), the API's methods, the signing headers above, `X-Request-Id`
//! exposed, max age 86400 s, no credentials.

use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Deserialize;

use super::{BackendOutcome, Decision, Policy, RequestContext, Stage};
use crate::access_log::AccessRecord;
use crate::body::empty;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct CorsConfig {
    allow_origins: Vec<String>,
    allow_methods: Vec<String>,
    allow_headers: Vec<String>,
    expose_headers: Vec<String>,
    max_age: u64,
    allow_credentials: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allow_origins: vec!["*".to_owned()],
            allow_methods: ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"].map(String::from).to_vec(),
            allow_headers: ["Authorization", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Content-Type", "X-Stage"]
                .map(String::from)
                .to_vec(),
            expose_headers: vec!["X-Request-Id".to_owned()],
            max_age: 86400,
            allow_credentials: false,
        }
    }
}

/// The CORS policy.
#[derive(Debug)]
pub struct Cors {
    any_origin: bool,
    origins: Vec<(String, HeaderValue)>,
    methods: HeaderValue,
    headers: HeaderValue,
    expose: HeaderValue,
    max_age: HeaderValue,
    credentials: bool,
}

impl Cors {
    /// Reads the settings.
    ///
    /// # Errors
    /// Unknown fields or values that cannot be header values.
    pub fn from_config(config: &serde_json::Value) -> Result<Self, String> {
        let c: CorsConfig = if config.is_null() {
            CorsConfig::default()
        } else {
            serde_json::from_value(config.clone()).map_err(|e| format!("cors: {e}"))?
        };
        let value = |items: &[String]| {
            HeaderValue::from_str(&items.join(", ")).map_err(|_| "cors: a value is not a valid header value".to_owned())
        };
        if c.allow_credentials && c.allow_origins.iter().any(|o| o == "*") {
            return Err("cors: allow_credentials cannot be used with the origin \"*\"".to_owned());
        }
        Ok(Self {
            any_origin: c.allow_origins.iter().any(|o| o == "*"),
            origins: c
                .allow_origins
                .into_iter()
                .filter(|o| o != "*")
                .map(|o| {
                    let value = HeaderValue::from_str(&o).map_err(|_| format!("cors: bad origin {o:?}"))?;
                    Ok((o, value))
                })
                .collect::<Result<_, String>>()?,
            methods: value(&c.allow_methods)?,
            headers: value(&c.allow_headers)?,
            expose: value(&c.expose_headers)?,
            max_age: HeaderValue::from(c.max_age),
            credentials: c.allow_credentials,
        })
    }

    /// The `Access-Control-Allow-Origin` value for the request's `Origin`, if allowed.
    fn allowed_origin(&self, ctx: &RequestContext) -> Option<HeaderValue> {
        let origin = ctx.headers.get(header::ORIGIN)?;
        if self.any_origin {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?;
        let (configured, value) = self.origins.iter().find(|(o, _)| o.eq_ignore_ascii_case(text))?;
        // the configured value when it is the same text (a shared buffer: no copy), else the
        // request's spelling, which is what the browser compares with
        Some(if configured == text { value.clone() } else { origin.clone() })
    }

    fn add_common(&self, origin: HeaderValue, headers: &mut hyper::HeaderMap) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.credentials {
            headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        if !self.any_origin {
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}

impl Policy for Cors {
    fn kind(&self) -> &'static str {
        "cors"
    }

    fn before_auth<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        let decision = if ctx.preflight {
            let mut response = Response::new(empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            if let Some(origin) = self.allowed_origin(ctx) {
                let h = response.headers_mut();
                self.add_common(origin, h);
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, self.headers.clone());
                h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
            }
            Decision::Respond(response)
        } else {
            Decision::Continue
        };
        Stage::Done(decision)
    }

    fn on_response(
        &self,
        ctx: &RequestContext,
        _outcome: BackendOutcome,
        response: &mut hyper::http::response::Parts,
        _record: &mut AccessRecord<'_>,
    ) {
        if ctx.preflight {
            return;
        }
        if let Some(origin) = self.allowed_origin(ctx) {
            self.add_common(origin, &mut response.headers);
            response.headers.insert(HeaderName::from_static("access-control-expose-headers"), self.expose.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin_for(cors: &Cors, origin: Option<&'static str>) -> Option<HeaderValue> {
        let mut headers = hyper::HeaderMap::new();
        if let Some(o) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        let ctx = RequestContext::for_test("", "/", headers);
        cors.allowed_origin(&ctx)
    }

    #[test]
    fn allowed_origins_answer_in_the_request_spelling() {
        let listed = Cors::from_config(&serde_json::json!({"allow_origins": ["https://App.example.com"]})).unwrap();
        for (origin, answer) in [
            (Some("https://App.example.com"), Some("https://App.example.com")),
            (Some("https://app.example.com"), Some("https://app.example.com")),
            (Some("https://other.example.com"), None),
            (None, None),
        ] {
            assert_eq!(origin_for(&listed, origin), answer.map(HeaderValue::from_static), "{origin:?}");
        }
        let any = Cors::from_config(&serde_json::Value::Null).unwrap();
        assert_eq!(origin_for(&any, Some("https://x.example")), Some(HeaderValue::from_static("*")));
        assert_eq!(origin_for(&any, None), None);
        assert!(Cors::from_config(&serde_json::json!({"allow_origins": ["https://a\u{7f}"]})).is_err());
    }
}
