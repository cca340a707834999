//! Backend signature keys: the gateway signs every request it forwards to the backend with a
//! signature key (AppKey/AppSecret pair of its own), through the core [`apig::Signer`], so the
//! backend can prove the request came through the gateway by verifying it like any APIG-signed
//! request (e.g. with the Python package's middleware or [`apig::Verifier`]).
//!
//! ```json
//! {"name": "sign-backend", "type": "backend_signing", "config": {
//!   "key": "gateway-signature-key", "secret": "a-long-random-secret",
//!   "algorithm": "SDK-HMAC-SHA256", "region": null, "signed_headers": ["content-type", "x-request-id"]}}
//! ```
//! * The client's `Authorization`, `X-Sdk-Date` and `X-Sdk-Content-Sha256` are replaced by the
//!   gateway's; `Host` (the backend's host and port), `X-Sdk-Date` and the listed headers that are
//!   present are signed, over the URL the backend receives (its base path, the client's path and
//!   query bytes).
//! * The body is covered when the gateway has it in full — requests to `app`-authenticated APIs,
//!   read for verification — with the algorithm's hash; a streamed body (`auth: none`) is sent as
//!   `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, which the backend's verifier accepts by default.
//! * Bind it after policies that add upstream headers you want signed (e.g. the authorizer).

use apig::{PayloadHasher, SignableBody, SignableRequest, Signer, SigningOptions, SigningSettings};
use hyper::header::{self, HeaderName, HeaderValue};
use serde::Deserialize;

use super::{Decision, Policy, RequestContext};
use crate::body::ForwardBody;
use crate::error::GatewayError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningConfig {
    key: String,
    secret: String,
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default = "default_signed")]
    signed_headers: Vec<String>,
}

/// `X-Sdk-Date`, the core's name.
const X_SDK_DATE: HeaderName = HeaderName::from_static(apig::X_SDK_DATE);

/// `X-Sdk-Content-Sha256`, the core's name.
const X_SDK_CONTENT_SHA256: HeaderName = HeaderName::from_static(apig::X_SDK_CONTENT_SHA256);

/// How many headers [`REPLACED`] names.
const REPLACED_COUNT: usize = 2 + apig::CONTENT_HASH_HEADERS.len();

/// The client's signature headers, replaced by the gateway's: `Authorization`, `X-Sdk-Date` and
/// every content-hash header of the core ([`apig::CONTENT_HASH_HEADERS`]).
const REPLACED: [HeaderName; REPLACED_COUNT] = [
    header::AUTHORIZATION,
    X_SDK_DATE,
    HeaderName::from_static(apig::CONTENT_HASH_HEADERS[0]),
    HeaderName::from_static(apig::CONTENT_HASH_HEADERS[1]),
];

fn default_signed() -> Vec<String> {
    vec!["content-type".to_owned(), "x-request-id".to_owned()]
}

/// The backend signing policy.
pub struct BackendSigning {
    signer: Signer,
    signed_headers: Vec<HeaderName>,
}

impl std::fmt::Debug for BackendSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendSigning")
            .field("key", &self.signer.access_key())
            .field("algorithm", &self.signer.algorithm())
            .finish_non_exhaustive()
    }
}

impl BackendSigning {
    /// Reads the settings.
    ///
    /// # Errors
    /// Unknown fields, an empty key or secret, an unknown algorithm, a V11 algorithm without
    /// region, a bad header name.
    pub fn from_config(config: &serde_json::Value) -> Result<Self, String> {
        let c: SigningConfig = serde_json::from_value(config.clone()).map_err(|e| format!("backend_signing: {e}"))?;
        if c.key.is_empty() || c.secret.is_empty() {
            return Err("backend_signing: key and secret must not be empty".to_owned());
        }
        let options = SigningOptions {
            algorithm: c.algorithm.as_deref(),
            region: c.region.as_deref(),
            ..SigningOptions::default()
        };
        let signer = SigningSettings::try_from(options)
            .and_then(|settings| Signer::from_settings(c.key, c.secret, settings))
            .map_err(|e| format!("backend_signing: {e}"))?;
        let signed_headers = c
            .signed_headers
            .iter()
            .map(|h| HeaderName::from_bytes(h.as_bytes()).map_err(|_| format!("backend_signing: bad header {h:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { signer, signed_headers })
    }

    fn sign(
        &self,
        ctx: &RequestContext,
        up: &mut hyper::http::request::Parts,
        body: &ForwardBody,
    ) -> Result<(), GatewayError> {
        // one pass over the names finds which are there (most requests carry two of them),
        // instead of hashing all four names for lookups
        let mut present = [false; REPLACED_COUNT];
        for name in up.headers.keys() {
            if let Some(i) = REPLACED.iter().position(|r| r == name) {
                present[i] = true;
            }
        }
        for (name, present) in REPLACED.into_iter().zip(present) {
            if present {
                up.headers.remove(name);
            }
        }
        // the URL the backend receives: absolute for HTTP backends; the echo backend keeps the
        // client's Host
        let path_and_query = up.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let authority = up.uri.authority().map_or(ctx.host.as_str(), |a| a.as_str());
        let scheme = up.uri.scheme_str().unwrap_or("http");
        let mut url = String::with_capacity(scheme.len() + 3 + authority.len() + path_and_query.len());
        url.push_str(scheme);
        url.push_str("://");
        url.push_str(authority);
        url.push_str(path_and_query);
        let mut signed: Vec<(&str, &str)> = Vec::with_capacity(self.signed_headers.len() + 1);
        if let Some(host) = up.headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
            signed.push(("host", host));
        }
        for name in &self.signed_headers {
            if let Some(v) = up.headers.get(name).and_then(|v| v.to_str().ok()) {
                signed.push((name.as_str(), v));
            }
        }
        let hash;
        let payload = match body {
            ForwardBody::Empty => SignableBody::Bytes(&[]),
            // one chunk (or none: the core knows the empty hash) is hashed by the core directly
            ForwardBody::Buffered(chunks) if chunks.iter().filter(|c| !c.is_empty()).count() <= 1 => {
                SignableBody::Bytes(chunks.iter().find(|c| !c.is_empty()).map_or(&[][..], |c| &c[..]))
            }
            ForwardBody::Buffered(chunks) => {
                let mut hasher = PayloadHasher::for_algorithm(self.signer.algorithm());
                for chunk in chunks {
                    hasher.update(chunk);
                }
                hash = hasher.finalize_hex();
                SignableBody::Precomputed(&hash)
            }
            ForwardBody::Streaming(_) => SignableBody::Unsigned,
        };
        let out = self
            .signer
            .sign(&SignableRequest::new(up.method.as_str(), &url, &signed, payload))
            .map_err(|e| GatewayError::bad_request(format_args!("cannot sign the backend request: {e}")))?;
        for (name, value) in out.headers() {
            if name == "Authorization" {
                continue; // moved in below, without a copy
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| GatewayError::bad_request("cannot sign the backend request: bad header value"))?;
            let name = match name {
                "X-Sdk-Date" => X_SDK_DATE,
                "X-Sdk-Content-Sha256" => X_SDK_CONTENT_SHA256,
                "Host" => header::HOST,
                other => HeaderName::from_bytes(other.as_bytes())
                    .map_err(|_| GatewayError::bad_request("cannot sign the backend request: bad header name"))?,
            };
            up.headers.insert(name, value);
        }
        let authorization = HeaderValue::try_from(out.authorization)
            .map_err(|_| GatewayError::bad_request("cannot sign the backend request: bad header value"))?;
        up.headers.insert(header::AUTHORIZATION, authorization);
        Ok(())
    }
}

impl Policy for BackendSigning {
    fn kind(&self) -> &'static str {
        "backend_signing"
    }

    fn before_backend(
        &self,
        ctx: &RequestContext,
        upstream: &mut hyper::http::request::Parts,
        body: &ForwardBody,
    ) -> Decision {
        match self.sign(ctx, upstream, body) {
            Ok(()) => Decision::Continue,
            Err(e) => Decision::Reject(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_signature_headers_are_replaced() {
        let policy = BackendSigning::from_config(&serde_json::json!({"key": "k", "secret": "s"})).unwrap();
        let ctx = RequestContext::for_test("api.test", "/a?b=1", hyper::HeaderMap::new());
        let request = hyper::Request::builder()
            .uri("http://127.0.0.1:9/a?b=1")
            .header("host", "127.0.0.1:9")
            .header("authorization", "SDK-HMAC-SHA256 Access=client, SignedHeaders=host, Signature=00")
            .header("x-sdk-date", "20200101T000000Z")
            .header("x-sdk-content-sha256", "UNSIGNED-PAYLOAD")
            .header("x-sdk-content-sm3", "UNSIGNED-PAYLOAD")
            .header("x-other", "kept")
            .body(())
            .unwrap();
        let (mut up, ()) = request.into_parts();
        policy.sign(&ctx, &mut up, &ForwardBody::Empty).unwrap();
        let value = |name: &str| up.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert!(value("authorization").unwrap().starts_with("SDK-HMAC-SHA256 Access=k, "));
        assert_ne!(value("x-sdk-date").as_deref(), Some("20200101T000000Z"));
        assert_eq!((value("x-sdk-content-sha256"), value("x-sdk-content-sm3")), (None, None));
        assert_eq!(value("x-other").as_deref(), Some("kept"));
        assert_eq!(up.headers.len(), 4, "{:?}", up.headers);
    }

    #[test]
    fn refuses_bad_configs() {
        for bad in [
            serde_json::json!({"key": "", "secret": "s"}),
            serde_json::json!({"key": "k", "secret": "s", "algorithm": "MD5"}),
            serde_json::json!({"key": "k", "secret": "s", "signed_headers": ["bad name"]}),
            serde_json::json!({"key": "k"}),
        ] {
            assert!(BackendSigning::from_config(&bad).is_err(), "{bad}");
        }
        assert!(BackendSigning::from_config(&serde_json::json!({"key": "k", "secret": "s"})).is_ok());
    }
}
