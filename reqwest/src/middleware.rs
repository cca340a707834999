//! The middleware: sign each request with the provider's current credentials; on a 401 "signature
//! expired … server time …" learn the clock offset and retry once (`retry_on_expired`, the option
//! the JavaScript `signedFetch` calls `retryOnExpired`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use apig::{Error, ErrorKind, SignableBody, SignableRequest, Signer, SigningSettings, clock_skew_from_apig_message};
use apig_credentials::ProvideCredentials;
use reqwest_middleware::{Middleware, Next};

/// Signs every request of a `reqwest_middleware::ClientWithMiddleware` with App authentication.
///
/// The credentials come from an `apig-credentials` provider at each request (a metadata provider
/// refreshes them in the background). A buffered body is signed; a streamed one is sent with
/// `UNSIGNED-PAYLOAD`. Cheap to clone: clones share the learned clock offset.
#[derive(Clone)]
pub struct SigningMiddleware {
    provider: Arc<dyn ProvideCredentials>,
    settings: SigningSettings,
    retry_on_expired: bool,
    /// Seconds added to the system clock when signing (learned from an expired answer).
    clock_offset: Arc<AtomicI64>,
}

impl SigningMiddleware {
    /// Signs with `provider`'s credentials and the default settings (SDK-HMAC-SHA256), retrying
    /// once on an expired answer.
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        Self {
            provider: Arc::new(provider),
            settings: SigningSettings::default(),
            retry_on_expired: true,
            clock_offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// With these signing settings (algorithm, profile, project id, …).
    #[must_use]
    pub fn settings(mut self, settings: SigningSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Whether a 401 "signature expired" answer naming the server's time makes the middleware learn
    /// the clock offset and send the request once more (default `true`; JavaScript's
    /// `retryOnExpired`). Requests whose body cannot be cloned (streams) are never retried.
    #[must_use]
    pub fn retry_on_expired(mut self, retry: bool) -> Self {
        self.retry_on_expired = retry;
        self
    }

    /// Seconds to add to the system clock when signing (JavaScript's `clockOffset`, there in
    /// milliseconds); default 0.
    #[must_use]
    pub fn clock_offset(self, seconds: i64) -> Self {
        self.clock_offset.store(seconds, Ordering::Relaxed);
        self
    }

    /// The clock offset in use, in seconds (learned from the server after an expired answer).
    pub fn current_clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    fn sign(&self, request: &mut reqwest::Request) -> anyhow::Result<()> {
        let credentials = self.provider.credentials()?;
        let mut builder = Signer::builder(credentials.access_key, credentials.secret).settings(self.settings.clone());
        if let Some(token) = credentials.security_token {
            builder = builder.security_token(token);
        }
        if let Some(id) = credentials.project_id.filter(|_| self.settings.project_id.is_none()) {
            builder = builder.project_id(id);
        }
        if let Some(id) = credentials.domain_id.filter(|_| self.settings.domain_id.is_none()) {
            builder = builder.domain_id(id);
        }
        let signer = builder.build()?;
        let output = {
            let headers = request
                .headers()
                .iter()
                .map(|(name, value)| {
                    value.to_str().map(|value| (name.as_str(), value)).map_err(|_| {
                        Error::new(
                            ErrorKind::InvalidRequest,
                            format!("header {name} is not valid text and cannot be signed"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let body = match request.body() {
                None => SignableBody::Bytes(b""),
                Some(body) => body.as_bytes().map_or(SignableBody::Unsigned, SignableBody::Bytes),
            };
            let signable = SignableRequest::new(request.method().as_str(), request.url().as_str(), &headers, body);
            signer.sign_at(&signable, self.now())?
        };
        for (name, value) in output.headers() {
            request
                .headers_mut()
                .insert(http::HeaderName::from_bytes(name.as_bytes())?, http::HeaderValue::from_str(value)?);
        }
        Ok(())
    }

    fn now(&self) -> SystemTime {
        let offset = self.clock_offset.load(Ordering::Relaxed);
        let magnitude = Duration::from_secs(offset.unsigned_abs());
        let now = SystemTime::now();
        if offset >= 0 { now.checked_add(magnitude) } else { now.checked_sub(magnitude) }.unwrap_or(now)
    }
}

#[async_trait::async_trait]
impl Middleware for SigningMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let retry = if self.retry_on_expired { request.try_clone() } else { None };
        self.sign(&mut request).map_err(reqwest_middleware::Error::Middleware)?;
        let response = next.clone().run(request, extensions).await?;
        let Some(mut retry) = retry.filter(|_| response.status() == reqwest::StatusCode::UNAUTHORIZED) else {
            return Ok(response);
        };
        let (status, version, headers) = (response.status(), response.version(), response.headers().clone());
        let body = response.bytes().await?;
        let Some(skew) = clock_skew_from_apig_message(&String::from_utf8_lossy(&body)) else {
            // not an expired answer: hand it back as it came (status, headers, body)
            let mut rebuilt = http::Response::new(body);
            *rebuilt.status_mut() = status;
            *rebuilt.version_mut() = version;
            *rebuilt.headers_mut() = headers;
            return Ok(reqwest::Response::from(rebuilt));
        };
        // the server said how far our clock is off: learn it, sign again, retry once
        self.clock_offset.fetch_add(skew, Ordering::Relaxed);
        self.sign(&mut retry).map_err(reqwest_middleware::Error::Middleware)?;
        next.run(retry, extensions).await
    }
}
