//! The [`http`] crate's types (feature `http`): sign an [`http::Request`] in place, verify one.
//! A thin adapter over [`Signer`] and [`Verifier`]: it borrows the method, URI, header pairs
//! and body, and writes the signer's headers back; every signing rule stays in the core.

use crate::error::{Error, ErrorKind};
use crate::request::{SignableBody, SignableRequest};
use crate::sign::{Signer, SigningOutput};
use crate::verify::{KeyResolver, Verified, Verifier};

/// The request's header pairs as strings (a value that is not visible ASCII or UTF-8 is an
/// `invalid_request`: it cannot be canonicalised).
fn header_pairs(headers: &http::HeaderMap) -> Result<Vec<(&str, &str)>, Error> {
    headers
        .iter()
        .map(|(name, value)| {
            value.to_str().map(|value| (name.as_str(), value)).map_err(|_| {
                Error::new(ErrorKind::InvalidRequest, format!("header {name} is not valid text and cannot be signed"))
            })
        })
        .collect()
}

impl Signer {
    /// Signs `request` with its body bytes and adds the signer's headers (`X-Sdk-Date`,
    /// `Authorization`, `Host` for an absolute URI, `X-Security-Token`, …) to it.
    ///
    /// # Errors
    /// The errors of [`Signer::sign`]; `invalid_request` for a header value that is not text.
    pub fn sign_http_request<B: AsRef<[u8]>>(&self, request: &mut http::Request<B>) -> Result<SigningOutput, Error> {
        let output = {
            let pairs = header_pairs(request.headers())?;
            let url = request.uri().to_string();
            let body = SignableBody::Bytes(request.body().as_ref());
            self.sign(&SignableRequest::new(request.method().as_str(), &url, &pairs, body))?
        };
        add_headers(request.headers_mut(), &output)?;
        Ok(output)
    }

    /// Signs the head of a request whose body is given as `body` (e.g. [`SignableBody::Unsigned`]
    /// for a streamed body, or a precomputed hash) and adds the signer's headers to `request`.
    ///
    /// # Errors
    /// As [`Signer::sign_http_request`].
    pub fn sign_http_request_with<B>(
        &self,
        request: &mut http::Request<B>,
        body: SignableBody<'_>,
    ) -> Result<SigningOutput, Error> {
        let output = {
            let pairs = header_pairs(request.headers())?;
            let url = request.uri().to_string();
            self.sign(&SignableRequest::new(request.method().as_str(), &url, &pairs, body))?
        };
        add_headers(request.headers_mut(), &output)?;
        Ok(output)
    }
}

/// Appends the signer's headers.
fn add_headers(headers: &mut http::HeaderMap, output: &SigningOutput) -> Result<(), Error> {
    for (name, value) in output.headers() {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::new(ErrorKind::InvalidRequest, format!("cannot add header {name}")))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| Error::new(ErrorKind::InvalidRequest, format!("header {name} cannot be sent as given")))?;
        headers.append(name, value);
    }
    Ok(())
}

impl<R: KeyResolver> Verifier<R> {
    /// Verifies `request` with its body bytes (the URI as received: origin form, the host taken
    /// from its `Host` header; or absolute).
    ///
    /// # Errors
    /// The errors of [`Verifier::verify`]; `invalid_request` for a header value that is not text.
    pub fn verify_http_request<B: AsRef<[u8]>>(&self, request: &http::Request<B>) -> Result<Verified, Error> {
        self.verify_http_head(request.method(), request.uri(), request.headers(), request.body().as_ref())
    }

    /// Verifies a request given as its head (method, URI, headers) and body bytes, e.g. from
    /// [`http::request::Parts`] once the body was collected.
    ///
    /// # Errors
    /// As [`Verifier::verify_http_request`].
    pub fn verify_http_head(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Verified, Error> {
        let pairs = header_pairs(headers)?;
        let url = uri.to_string();
        self.verify(&SignableRequest::new(method.as_str(), &url, &pairs, SignableBody::Bytes(body)))
    }
}
