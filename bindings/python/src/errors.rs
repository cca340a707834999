//! The one mapping from core errors to Python exceptions: `apig.ApigError` (with `.code`, the core's
//! stable code) and one subclass per [`ErrorKind`], listed once in the table below. What APIG answers
//! for each error (status, `APIG.xxxx` code, `error_msg`) is the core's
//! [`ApigErrorResponse`], carried by the exception.

use apig::{ApigErrorResponse, DEFAULT_BODY_LIMIT, DEFAULT_CODE_PREFIX, Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

create_exception!(
    apig,
    ApigError,
    PyException,
    "Base class of every apig error. `.code` is the core's stable code (the same string in every language)."
);

create_exception!(
    apig,
    CredentialsError,
    ApigError,
    "A credential provider failed. `.code` is the provider error's stable code (`missing`, `malformed`, `missing_field`, `unreachable`, `timeout`, `http_status`, `expired`, `no_provider`), `.provider` the provider's name, `.source` what it read (a variable, a file, a URL)."
);

/// The Python exception for a provider's error: `CredentialsError` with `code`, `provider`,
/// `source` and `message` (plain values: it pickles like the others).
pub(crate) fn credentials_error_to_py(py: Python<'_>, error: &apig_credentials::CredentialsError) -> PyErr {
    let err = PyErr::new::<CredentialsError, _>(error.to_string());
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("code", error.code())?;
        value.setattr("provider", error.provider())?;
        value.setattr("source", error.source_name())?;
        value.setattr("message", error.message())?;
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// Declares one exception class per error kind and the exhaustive `match` from kind to class.
macro_rules! error_classes {
    ($($kind:ident => $class:ident: $doc:literal,)*) => {
        $(create_exception!(apig, $class, ApigError, $doc);)*

        /// The exception class of `kind` (an exhaustive match: a new core kind fails to compile here).
        fn class_of(py: Python<'_>, kind: ErrorKind) -> Bound<'_, PyType> {
            match kind {
                $(ErrorKind::$kind => py.get_type::<$class>(),)*
            }
        }
    };
}

error_classes! {
    MissingAuthorization => MissingAuthorizationError: "The request carries no Authorization header.",
    MalformedAuthorization => MalformedAuthorizationError: "The Authorization header is not of the form `ALG Access=..., SignedHeaders=..., Signature=...`.",
    UnsupportedAlgorithm => UnsupportedAlgorithmError: "The algorithm is unknown, or not accepted by the verifier.",
    UnknownAccessKey => UnknownAccessKeyError: "The access key is not known to the verifier.",
    MissingDate => MissingDateError: "The request has no X-Sdk-Date header.",
    MalformedDate => MalformedDateError: "X-Sdk-Date is not of the form yyyyMMddTHHmmssZ.",
    DateNotSigned => DateNotSignedError: "x-sdk-date is not listed in SignedHeaders.",
    Expired => ExpiredError: "The signing time is further from the verifier's clock than the allowed skew.",
    SignedHeaderMissing => SignedHeaderMissingError: "A header listed in SignedHeaders is absent from the request.",
    HostNotSigned => HostNotSignedError: "The verifier requires host to be signed and it is not.",
    DuplicateHeader => DuplicateHeaderError: "A header is given more than once with different values.",
    CredentialScopeMismatch => CredentialScopeMismatchError: "The V11 credential scope does not match the date, region or service.",
    UnsignedPayloadNotAllowed => UnsignedPayloadNotAllowedError: "The request is signed with UNSIGNED-PAYLOAD and the verifier forbids it.",
    PayloadHashMismatch => PayloadHashMismatchError: "The signed X-Sdk-Content-Sha256 is not the hash of the body received.",
    SignatureMismatch => SignatureMismatchError: "The signature does not match; `.canonical_request` and `.string_to_sign` are the verifier's.",
    InvalidRequest => InvalidRequestError: "The request cannot be signed or verified as given (bad URL, method, header name or value).",
    InvalidConfig => InvalidConfigError: "The signer or verifier settings are inconsistent (empty key, V11 without a region, ...).",
    BodyRead => BodyReadError: "Reading a streamed body failed.",
}

/// The Python exception for a core error: the kind's class, `str()` = `code: message`, with the
/// attributes `code`, `message`, `apig_message` (the full `error_msg` of the core's
/// [`ApigErrorResponse`]) and, for signature mismatches, the verifier's `canonical_request` /
/// `string_to_sign`. Plain values only, so the exception pickles.
pub(crate) fn to_py(py: Python<'_>, error: &Error) -> PyErr {
    let err = PyErr::from_type(class_of(py, error.kind()), error.to_string());
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("message", error.message())?;
        value.setattr("apig_message", ApigErrorResponse::from_error(error).message())?;
        if let Some(trace) = error.trace() {
            value.setattr("canonical_request", &trace.canonical_request)?;
            value.setattr("string_to_sign", &trace.string_to_sign)?;
        }
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// `ApigError.apig_message` of an error made in Python, e.g. `InvalidRequestError("bad length")`:
/// the core's `error_msg` for its class with `str(error)` as the message (empty for a bare
/// `ApigError`, which has no kind). A non-data descriptor, so the value [`to_py`] sets on the errors
/// apig raises takes precedence.
#[pyclass(frozen, module = "apig._apig", name = "_ApigMessage")]
struct ApigMessage;

#[pymethods]
impl ApigMessage {
    fn __get__(&self, instance: Option<&Bound<'_, PyAny>>, _owner: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        let Some(error) = instance else {
            return Ok(String::new());
        };
        let code: String = error.getattr("code").and_then(|c| c.extract()).unwrap_or_default();
        let Some(kind) = ErrorKind::from_code(&code) else {
            return Ok(String::new());
        };
        let message = error.str()?.to_string();
        Ok(ApigErrorResponse::from_error(&Error::new(kind, message)).message().to_owned())
    }
}

/// `_apig._body_too_large(limit)`: the middlewares' `413` answer for a body over `limit` bytes, as
/// `(status, error_code, error_msg)` from the core's [`ApigErrorResponse::body_too_large`].
#[pyfunction(name = "_body_too_large")]
fn body_too_large(limit: u64) -> (u16, String, String) {
    let answer = ApigErrorResponse::body_too_large(limit);
    (answer.status(), answer.error_code(DEFAULT_CODE_PREFIX), answer.message().to_owned())
}

/// `map_err` helper: a core `Result` into a `PyResult`.
pub(crate) fn check<T>(py: Python<'_>, result: Result<T, Error>) -> PyResult<T> {
    result.map_err(|e| to_py(py, &e))
}

/// Adds `ApigError`, its subclasses (each with the class attributes `code`, `authentication_failure`
/// and, from the core's [`ApigErrorResponse`], `status` and `apig_code`), `ERROR_CODES` (every code,
/// in the core's order), and the middlewares' `DEFAULT_BODY_LIMIT` and `_body_too_large` to `m`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = py.get_type::<ApigError>();
    base.setattr("message", "")?;
    base.setattr("apig_message", Bound::new(py, ApigMessage)?)?;
    base.setattr("canonical_request", py.None())?;
    base.setattr("string_to_sign", py.None())?;
    base.setattr("authentication_failure", false)?;
    m.add("ApigError", &base)?;
    for kind in ErrorKind::ALL {
        let class = class_of(py, kind);
        class.setattr("code", kind.code())?;
        class.setattr("authentication_failure", kind.is_authentication_failure())?;
        // status and APIG code depend on the kind alone: the core's answer to an error of this kind
        let answer = ApigErrorResponse::from_error(&Error::new(kind, ""));
        class.setattr("status", answer.status())?;
        class.setattr("apig_code", answer.error_code(DEFAULT_CODE_PREFIX))?;
        m.add(class.name()?, &class)?;
    }
    // a provider's failure: its code, provider and source are the instance's
    let credentials = py.get_type::<CredentialsError>();
    credentials.setattr("code", "")?;
    credentials.setattr("provider", "")?;
    credentials.setattr("source", "")?;
    m.add("CredentialsError", &credentials)?;
    let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    m.add("ERROR_CODES", PyTuple::new(py, codes)?)?;
    m.add("DEFAULT_BODY_LIMIT", DEFAULT_BODY_LIMIT)?;
    m.add_function(wrap_pyfunction!(body_too_large, m)?)?;
    Ok(())
}
