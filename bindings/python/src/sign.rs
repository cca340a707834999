//! `apig.Signer` and its result `apig.SignedRequest`: thin wrappers over [`apig::Signer`].

use apig::{SecretKey, SignableRequest, SigningOptions, SigningOutput, SigningSettings};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::convert::{self, Body};
use crate::errors::check;

/// Signs requests for one credential with one algorithm. Thread-safe; create it once.
#[pyclass(module = "apig", name = "Signer", frozen)]
pub(crate) struct Signer {
    pub(crate) inner: apig::Signer,
}

#[pymethods]
impl Signer {
    /// Options left at `None` keep the core's defaults ([`SigningSettings::default`]).
    #[new]
    #[pyo3(signature = (
        key, secret, *, algorithm = None, region = None, service = None, excluded_headers = None,
        security_token = None, project_id = None, domain_id = None, profile = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        key: &str,
        secret: &Bound<'_, PyAny>,
        algorithm: Option<&str>,
        region: Option<&str>,
        service: Option<&str>,
        excluded_headers: Option<&str>,
        security_token: Option<&str>,
        project_id: Option<&str>,
        domain_id: Option<&str>,
        profile: Option<&str>,
    ) -> PyResult<Self> {
        let secret = secret_key(secret)?;
        let options = SigningOptions {
            algorithm,
            region,
            service,
            excluded_headers,
            profile,
            project_id,
            domain_id,
            ..SigningOptions::default()
        };
        let settings = check(py, SigningSettings::try_from(options))?;
        let mut builder = apig::Signer::builder(key, secret).settings(settings);
        if let Some(token) = security_token {
            builder = builder.security_token(token);
        }
        Ok(Self { inner: check(py, builder.build())? })
    }

    /// The access key.
    #[getter]
    fn key(&self) -> &str {
        self.inner.access_key()
    }

    /// The algorithm token, e.g. `SDK-HMAC-SHA256`.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().as_str()
    }

    /// Which headers are left out of the signature: `hop-by-hop` (the default) or `none`.
    #[getter]
    fn excluded_headers(&self) -> &'static str {
        self.inner.settings().excluded_headers.as_str()
    }

    /// The client conventions followed: `apig` (the default) or `huaweicloud-v3`.
    #[getter]
    fn profile(&self) -> &'static str {
        self.inner.settings().profile.as_str()
    }

    /// The project id sent as `X-Project-Id`, if any.
    #[getter]
    fn project_id(&self) -> Option<&str> {
        self.inner.settings().project_id.as_deref()
    }

    /// The domain id sent as `X-Domain-Id`, if any.
    #[getter]
    fn domain_id(&self) -> Option<&str> {
        self.inner.settings().domain_id.as_deref()
    }

    /// Signs a request; returns the headers to add and the strings behind the signature.
    #[pyo3(signature = (method, url, headers = None, body = None, *, unsigned_payload = false, date = None))]
    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        unsigned_payload: bool,
        date: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<SignedRequest> {
        let method = convert::text(method, "method")?;
        let url = convert::text(url, "URL")?;
        let headers = convert::headers(headers)?;
        let body = match body {
            _ if unsigned_payload => Body::Unsigned,
            None => Body::Empty,
            Some(b) if b.is_none() => Body::Empty,
            Some(b) => convert::body(b, || self.inner.algorithm())?,
        };
        let time = date.filter(|d| !d.is_none()).map(convert::time).transpose()?;
        let signable = body.signable();
        let output = convert::with_pairs(&headers, |pairs| {
            let sign = || {
                let request = SignableRequest::new(&method, &url, pairs, signable);
                match time {
                    Some(time) => self.inner.sign_at(&request, time),
                    None => self.inner.sign(&request),
                }
            };
            // releasing the GIL costs more than a small body's hashing takes
            if body.is_large() { py.detach(sign) } else { sign() }
        });
        Ok(SignedRequest { inner: check(py, output)? })
    }

    fn __repr__(&self) -> String {
        format!("Signer(key={:?}, algorithm={:?})", self.inner.access_key(), self.inner.algorithm().as_str())
    }
}

/// The core's added-header names as interned Python strings (created once), any other name afresh.
fn header_name<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    match name {
        "Host" => intern!(py, "Host").clone(),
        "X-Sdk-Date" => intern!(py, "X-Sdk-Date").clone(),
        "X-Sdk-Content-Sha256" => intern!(py, "X-Sdk-Content-Sha256").clone(),
        "Authorization" => intern!(py, "Authorization").clone(),
        other => PyString::new(py, other),
    }
}

/// A secret from `str` (its UTF-8 bytes) or `bytes`.
pub(crate) fn secret_key(secret: &Bound<'_, PyAny>) -> PyResult<SecretKey> {
    if let Ok(s) = secret.cast::<PyString>() {
        return Ok(SecretKey::new(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = secret.cast::<PyBytes>() {
        return Ok(SecretKey::from_bytes(b.as_bytes()));
    }
    Err(PyTypeError::new_err("the secret must be str or bytes"))
}

/// What signing produced: the headers to add to the request and the strings behind them.
#[pyclass(module = "apig", name = "SignedRequest", frozen)]
pub(crate) struct SignedRequest {
    inner: SigningOutput,
}

impl From<SigningOutput> for SignedRequest {
    fn from(inner: SigningOutput) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl SignedRequest {
    /// The headers to add, in order: `X-Project-Id`, `X-Domain-Id`, `X-Security-Token` (the
    /// signer's, when the request had none), `Host` (when the request had none), `X-Sdk-Date` (when
    /// it had none), `X-Sdk-Content-Sha256` (unsigned payload), `Authorization`.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.inner.headers() {
            dict.set_item(header_name(py, name), value)?;
        }
        Ok(dict)
    }

    /// The `Authorization` header value.
    #[getter]
    fn authorization(&self) -> &str {
        &self.inner.authorization
    }

    /// The lower-case hex signature.
    #[getter]
    fn signature(&self) -> &str {
        &self.inner.signature
    }

    /// The `SignedHeaders` list, e.g. `content-type;host;x-sdk-date`.
    #[getter]
    fn signed_headers(&self) -> &str {
        &self.inner.signed_headers
    }

    /// The `X-Sdk-Date` value signed.
    #[getter]
    fn date(&self) -> &str {
        &self.inner.date
    }

    /// V11 only: the credential scope `yyyymmdd/region/service`.
    #[getter]
    fn credential_scope(&self) -> Option<&str> {
        self.inner.credential_scope.as_deref()
    }

    /// The canonical request, exactly as hashed.
    #[getter]
    fn canonical_request(&self) -> &str {
        &self.inner.trace.canonical_request
    }

    /// The string to sign, exactly as fed to the HMAC.
    #[getter]
    fn string_to_sign(&self) -> &str {
        &self.inner.trace.string_to_sign
    }

    fn __repr__(&self) -> String {
        format!("SignedRequest(authorization={:?}, date={:?})", self.inner.authorization, self.inner.date)
    }
}
