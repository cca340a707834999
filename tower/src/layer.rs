//! The layer and its service: collect the body (up to a limit), verify, then call the inner
//! service with the [`Verified`] identity in the request's extensions, or answer APIG's error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apig::{ApigErrorResponse, DEFAULT_BODY_LIMIT, DEFAULT_CODE_PREFIX, ErrorKind, KeyResolver, Verified, Verifier};
use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use crate::response::error_response;

/// Verifies every request with a [`Verifier`] before the inner service sees it.
///
/// The inner service receives `Request<Full<Bytes>>` (the body was read to be hashed) with the
/// [`Verified`] identity (access key, algorithm, signed token, …) in its extensions. A rejected
/// request is answered with APIG's error JSON and status ([`ApigErrorResponse`]): 401 `APIG.0303`
/// for a signature mismatch, `APIG.0304` for an expired date, …; a body over the limit with 413
/// `APIG.0201`.
pub struct VerifyLayer<R> {
    shared: Arc<Shared<R>>,
}

struct Shared<R> {
    verifier: Verifier<R>,
    body_limit: u64,
    code_prefix: String,
}

impl<R> VerifyLayer<R> {
    /// A layer verifying with `verifier`, a body limit of [`DEFAULT_BODY_LIMIT`] (APIG's 12 MiB)
    /// and the error code prefix `APIG`.
    pub fn new(verifier: Verifier<R>) -> Self {
        Self {
            shared: Arc::new(Shared {
                verifier,
                body_limit: DEFAULT_BODY_LIMIT,
                code_prefix: DEFAULT_CODE_PREFIX.to_owned(),
            }),
        }
    }

    /// With another body limit in bytes (larger bodies get 413 without being read further).
    ///
    /// # Panics
    /// Never; call it before the layer is cloned (after, the limit is not changed).
    #[must_use]
    pub fn body_limit(mut self, limit: u64) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.body_limit = limit;
        }
        self
    }

    /// With another error code prefix (`APIG` by default, as in `APIG.0303`).
    #[must_use]
    pub fn code_prefix(mut self, prefix: impl Into<String>) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.code_prefix = prefix.into();
        }
        self
    }
}

impl<R> Clone for VerifyLayer<R> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared) }
    }
}

impl<S, R> tower_layer::Layer<S> for VerifyLayer<R> {
    type Service = Verify<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify { inner, shared: Arc::clone(&self.shared) }
    }
}

/// The service [`VerifyLayer`] wraps around an inner service.
pub struct Verify<S, R> {
    inner: S,
    shared: Arc<Shared<R>>,
}

impl<S: Clone, R> Clone for Verify<S, R> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<S, R, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for Verify<S, R>
where
    S: tower_service::Service<http::Request<Full<Bytes>>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: KeyResolver + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // the ready clone answers this request; a fresh clone waits for the next poll_ready
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let reject =
                |answer: ApigErrorResponse| error_response(&answer, &shared.code_prefix, request_id.as_deref());
            let limit = usize::try_from(shared.body_limit).unwrap_or(usize::MAX);
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Ok(reject(ApigErrorResponse::body_too_large(shared.body_limit)));
                }
                Err(e) => {
                    let message = format!("cannot read the body: {e}");
                    return Ok(reject(ApigErrorResponse::from_kind(ErrorKind::BodyRead, &message)));
                }
            };
            let verified: Verified =
                match shared.verifier.verify_http_head(&parts.method, &parts.uri, &parts.headers, &bytes) {
                    Ok(verified) => verified,
                    Err(error) => return Ok(reject(ApigErrorResponse::from_error(&error))),
                };
            parts.extensions.insert(verified);
            inner.call(http::Request::from_parts(parts, Full::new(bytes))).await
        })
    }
}
