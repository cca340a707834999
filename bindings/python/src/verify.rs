//! `apig.Verifier` and its result `apig.Verified`: thin wrappers over [`apig::Verifier`], with the
//! keys looked up live in a Python mapping or callable.

use std::sync::Mutex;

use apig::{Authorization, ErrorKind, KeyResolver, SecretKey, SignableRequest, VerifyOptions, VerifyPolicy};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::convert::{self, Body, BodyArg};
use crate::errors::{self, check};
use crate::sign::secret_key;

/// Verifies signed requests against a key store (a mapping or a callable `access_key -> secret`).
#[pyclass(module = "apig", name = "Verifier", frozen)]
pub(crate) struct Verifier {
    keys: Py<PyAny>,
    callable: bool,
    policy: VerifyPolicy,
}

#[pymethods]
impl Verifier {
    #[new]
    #[pyo3(signature = (
        keys, *, max_skew = None, require_host = None, allow_unsigned_payload = None, algorithms = None,
        region = None, service = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keys: Bound<'_, PyAny>,
        max_skew: Option<&Bound<'_, PyAny>>,
        require_host: Option<bool>,
        allow_unsigned_payload: Option<bool>,
        algorithms: Option<Vec<String>>,
        region: Option<&str>,
        service: Option<&str>,
    ) -> PyResult<Self> {
        let callable = keys.is_callable() && !keys.hasattr("get")?;
        if !callable && !keys.hasattr("get")? {
            return Err(PyTypeError::new_err(
                "keys must be a mapping {access_key: secret} or a callable access_key -> secret | None",
            ));
        }
        // Only what the caller gives overrides the core's documented defaults.
        let max_skew_seconds = max_skew.map(|skew| convert::seconds(skew)).transpose()?;
        let options = VerifyOptions {
            max_skew_seconds,
            require_host,
            allow_unsigned_payload,
            algorithms: algorithms.as_deref(),
            region,
            service,
        };
        let policy = VerifyPolicy::try_from(options).map_err(|e| match e.kind() {
            // a skew out of range: Python's ValueError, as for the other bad argument values
            ErrorKind::InvalidConfig => PyValueError::new_err(format!("max_skew: {}", e.message())),
            _ => errors::to_py(py, &e),
        })?;
        Ok(Self { keys: keys.unbind(), callable, policy })
    }

    /// The largest accepted clock skew, in seconds.
    #[getter]
    fn max_skew(&self) -> f64 {
        self.policy.max_skew.as_secs_f64()
    }

    /// Whether `host` must be signed.
    #[getter]
    fn require_host(&self) -> bool {
        self.policy.require_host
    }

    /// Whether `UNSIGNED-PAYLOAD` requests are accepted.
    #[getter]
    fn allow_unsigned_payload(&self) -> bool {
        self.policy.allow_unsigned_payload
    }

    /// The accepted algorithm tokens.
    #[getter]
    fn algorithms(&self) -> Vec<&'static str> {
        self.policy.allowed_algorithms.iter().map(|a| a.as_str()).collect()
    }

    /// Verifies a received request. `url` is the request target (`/path?query`) or an absolute URL;
    /// `body` is `bytes`, `str`, a file object, or `None` when the body is not available (only
    /// requests signed with an unsigned or declared payload hash can then pass). Raises an
    /// `ApigError` subclass on failure.
    #[pyo3(signature = (method, url, headers, body = BodyArg::Omitted, *, now = None))]
    fn verify(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        body: BodyArg<'_>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Verified> {
        let method = convert::text(method, "method")?;
        let url = convert::text(url, "URL")?;
        let headers = convert::headers(Some(headers))?;
        let pairs = convert::pairs(&headers);
        let body = match body {
            BodyArg::Omitted => Body::Empty,
            BodyArg::Given(b) if b.is_none() => Body::Unsigned,
            BodyArg::Given(b) => convert::body(&b, || {
                // a file body is hashed with the algorithm the request claims (parsed by the core)
                SignableRequest::new(&method, &url, &pairs, Body::Unsigned.signable())
                    .header("authorization")
                    .and_then(|v| Authorization::parse(v).ok())
                    .map(|a| a.algorithm)
                    .unwrap_or_default()
            })?,
        };
        let now = now.filter(|n| !n.is_none()).map(convert::time).transpose()?;
        let resolver = PyKeys { keys: &self.keys, callable: self.callable, error: Mutex::new(None) };
        let signable = body.signable();
        let verify = || {
            let verifier = apig::Verifier::new(&resolver).with_policy(self.policy.clone());
            let request = SignableRequest::new(&method, &url, &pairs, signable);
            match now {
                Some(now) => verifier.verify_at(&request, now),
                None => verifier.verify(&request),
            }
        };
        let result = if body.is_large() { py.detach(verify) } else { verify() };
        if let Some(err) = resolver.error.lock().ok().and_then(|mut e| e.take()) {
            return Err(err);
        }
        let verified = check(py, result)?;
        let signed_headers = verified.signed_header_names().map(str::to_owned).collect();
        Ok(Verified {
            access_key: verified.access_key,
            algorithm: verified.algorithm.as_str(),
            signed_headers,
            date: verified.date.to_string(),
            timestamp: verified.date.unix_seconds(),
            unsigned_payload: verified.unsigned_payload,
            security_token: verified.security_token.map(|token| token.expose().to_owned()),
        })
    }

    fn __repr__(&self) -> String {
        format!("Verifier(policy={:?})", self.policy)
    }
}

/// Looks keys up in the Python key store at verification time (so a mutated dict is seen). An
/// exception raised by the store is kept and re-raised instead of "unknown access key".
struct PyKeys<'a> {
    keys: &'a Py<PyAny>,
    callable: bool,
    error: Mutex<Option<PyErr>>,
}

impl KeyResolver for &PyKeys<'_> {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        Python::attach(|py| {
            let keys = self.keys.bind(py);
            let found = if self.callable {
                keys.call1((access_key,))
            } else if let Ok(dict) = keys.cast::<PyDict>() {
                dict.get_item(access_key).map(|v| v.unwrap_or_else(|| py.None().into_bound(py)))
            } else {
                keys.call_method1("get", (access_key,))
            };
            let secret = found.and_then(|value| {
                if value.is_none() {
                    Ok(None)
                } else if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
                    secret_key(&value).map(Some)
                } else {
                    Err(PyTypeError::new_err("the key store must return a str or bytes secret, or None"))
                }
            });
            match secret {
                Ok(secret) => secret,
                Err(err) => {
                    if let Ok(mut slot) = self.error.lock() {
                        slot.get_or_insert(err);
                    }
                    None
                }
            }
        })
    }
}

/// A request that passed verification.
#[pyclass(module = "apig", name = "Verified", frozen, get_all)]
pub(crate) struct Verified {
    /// The access key that signed it.
    access_key: String,
    /// The algorithm token.
    algorithm: &'static str,
    /// The signed header names, lower case and sorted.
    signed_headers: Vec<String>,
    /// The signing time as an `X-Sdk-Date` string.
    date: String,
    /// The signing time in Unix seconds.
    timestamp: i64,
    /// Whether the body was left out of the signature (and so is not authenticated).
    unsigned_payload: bool,
    /// The signed `X-Security-Token` (temporary credentials), or `None`. Not shown by `repr`.
    security_token: Option<String>,
}

#[pymethods]
impl Verified {
    fn __repr__(&self) -> String {
        format!(
            "Verified(access_key={:?}, algorithm={:?}, date={:?}, unsigned_payload={})",
            self.access_key,
            self.algorithm,
            self.date,
            if self.unsigned_payload { "True" } else { "False" }
        )
    }
}
