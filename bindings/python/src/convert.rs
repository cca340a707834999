//! Python values into the core's borrowed request parts: text, header pairs, bodies and times.
//! Conversion only: what these values mean is the core's business.

use std::ops::Deref;
use std::time::SystemTime;

use apig::{Algorithm, Error, ErrorKind, PayloadHasher, SdkDate, SignableBody};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::errors;

/// Bodies at least this long are hashed (and signed) with the GIL released.
pub(crate) const DETACH_THRESHOLD: usize = 64 * 1024;
/// Bytes asked of a file object per `read()`.
const CHUNK: usize = 256 * 1024;

/// Text borrowed from a Python `str` (no copy beyond its UTF-8 form), or decoded from UTF-8 `bytes`.
pub(crate) enum Text {
    /// From a `str`.
    Py(PyBackedStr),
    /// From `bytes` holding UTF-8.
    Owned(String),
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Self::Py(s) => s,
            Self::Owned(s) => s,
        }
    }
}

/// A `str`, or `bytes` holding UTF-8 (what ASGI servers and raw header APIs hand over).
pub(crate) fn text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Text> {
    // one type check per value: `cast` then the conversion, not `is_instance_of` then `extract`
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Text::Py(PyBackedStr::try_from(s.clone())?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return match std::str::from_utf8(b.as_bytes()) {
            Ok(s) => Ok(Text::Owned(s.to_owned())),
            Err(_) => Err(errors::to_py(
                obj.py(),
                &Error::new(ErrorKind::InvalidRequest, format!("the {what} is not valid UTF-8")),
            )),
        };
    }
    Err(PyTypeError::new_err(format!("the {what} must be str or bytes, not {}", type_name(obj))))
}

/// Header pairs from `None`, a mapping (`dict`, `requests`' `CaseInsensitiveDict`, `httpx.Headers`
/// with its repeated names) or an iterable of `(name, value)` pairs, in their order.
pub(crate) fn headers(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(Text, Text)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(8);
    if let Ok(dict) = obj.cast::<PyDict>() {
        for (name, value) in dict.iter() {
            out.push(header(&name, &value)?);
        }
        return Ok(out);
    }
    // lists and tuples of pairs first, walked by index: probing them for `multi_items` / `items`
    // costs more than the whole conversion, and an iterator object is one more allocation
    // (subclasses, which may define their own `__iter__`, are iterated below)
    if let Ok(list) = obj.cast_exact::<PyList>() {
        for pair in list.iter() {
            out.push(pair_of(&pair)?);
        }
        return Ok(out);
    }
    if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        for pair in tuple.iter_borrowed() {
            out.push(pair_of(&pair)?);
        }
        return Ok(out);
    }
    let pairs = if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        obj.clone()
    } else if obj.hasattr("multi_items")? {
        obj.call_method0("multi_items")?
    } else if obj.hasattr("items")? {
        obj.call_method0("items")?
    } else if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err("headers must be a mapping or (name, value) pairs, not a string"));
    } else {
        obj.clone()
    };
    for pair in pairs.try_iter()? {
        out.push(pair_of(&pair?)?);
    }
    Ok(out)
}

/// One `(name, value)` tuple or `[name, value]` list.
fn pair_of(pair: &Bound<'_, PyAny>) -> PyResult<(Text, Text)> {
    if let Ok(t) = pair.cast::<PyTuple>()
        && t.len() == 2
    {
        let (name, value) = (t.get_borrowed_item(0)?, t.get_borrowed_item(1)?);
        return header(&name, &value);
    }
    if let Ok(l) = pair.cast::<PyList>()
        && l.len() == 2
    {
        return header(&l.get_item(0)?, &l.get_item(1)?);
    }
    Err(PyTypeError::new_err("each header must be a (name, value) pair"))
}

fn header(name: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<(Text, Text)> {
    Ok((text(name, "header name")?, text(value, "header value")?))
}

/// Borrowed `(name, value)` views of owned pairs, as the core takes them.
pub(crate) fn pairs(headers: &[(Text, Text)]) -> Vec<(&str, &str)> {
    headers.iter().map(|(n, v)| (&**n, &**v)).collect()
}

/// Header pairs that fit on the stack; more go to the heap.
const STACK_PAIRS: usize = 16;

/// Calls `f` with borrowed `(name, value)` views of `headers`, as the core takes them: on the
/// stack for up to [`STACK_PAIRS`] headers (no allocation), in a `Vec` past that.
pub(crate) fn with_pairs<R>(headers: &[(Text, Text)], f: impl FnOnce(&[(&str, &str)]) -> R) -> R {
    if headers.len() <= STACK_PAIRS {
        let mut buf = [("", ""); STACK_PAIRS];
        for (slot, (name, value)) in buf.iter_mut().zip(headers) {
            *slot = (name, value);
        }
        f(&buf[..headers.len()])
    } else {
        f(&pairs(headers))
    }
}

/// A `body=` argument that tells "not given" from an explicit `None`.
pub(crate) enum BodyArg<'py> {
    /// The caller left the argument out.
    Omitted,
    /// The caller passed this object (possibly `None`).
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for BodyArg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Self::Given(obj.to_owned()))
    }
}

/// A body, owned or borrowed from a Python object, ready to become a [`SignableBody`].
pub(crate) enum Body {
    /// No body.
    Empty,
    /// `bytes` (zero-copy), `bytearray` or `memoryview` (copied).
    Bytes(PyBackedBytes),
    /// `str`, signed as its UTF-8 bytes.
    Text(PyBackedStr),
    /// A file object, hashed in chunks: the lower-case hex hash.
    Hashed(String),
    /// `UNSIGNED-PAYLOAD`, or (verify) a body that is not available.
    Unsigned,
}

impl Body {
    pub(crate) fn signable(&self) -> SignableBody<'_> {
        match self {
            Self::Empty => SignableBody::Bytes(b""),
            Self::Bytes(b) => SignableBody::Bytes(b),
            Self::Text(s) => SignableBody::Bytes(s.as_bytes()),
            Self::Hashed(hex) => SignableBody::Precomputed(hex),
            Self::Unsigned => SignableBody::Unsigned,
        }
    }

    /// Whether hashing this body is worth releasing the GIL for.
    pub(crate) fn is_large(&self) -> bool {
        match self {
            Self::Bytes(b) => b.len() >= DETACH_THRESHOLD,
            Self::Text(s) => s.len() >= DETACH_THRESHOLD,
            Self::Empty | Self::Hashed(_) | Self::Unsigned => false,
        }
    }
}

/// A body from `bytes`, `bytearray`, `memoryview`, `str` or a file object (anything with `read()`;
/// hashed in chunks for `algorithm`, then rewound to where it was when it is seekable).
/// `None` is handled by the callers (empty when signing, not available when verifying).
pub(crate) fn body(obj: &Bound<'_, PyAny>, algorithm: impl FnOnce() -> Algorithm) -> PyResult<Body> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Body::Bytes(PyBackedBytes::from(b.clone())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Body::Text(PyBackedStr::try_from(s.clone())?));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Body::Bytes(PyBackedBytes::from(b.clone())));
    }
    if obj.hasattr("tobytes")? && !obj.hasattr("read")? {
        return Ok(Body::Bytes(obj.call_method0("tobytes")?.extract()?));
    }
    if obj.hasattr("read")? {
        return hash_file(obj, algorithm()).map(Body::Hashed);
    }
    Err(PyTypeError::new_err(format!(
        "the body must be bytes, str, a file object or None, not {} (for a stream that cannot be read \
         ahead, sign with unsigned_payload=True)",
        type_name(obj)
    )))
}

/// Reads `file` to its end in chunks, feeding each to the core's [`PayloadHasher`] with the GIL
/// released, and seeks back to the starting position when the file is seekable.
fn hash_file(file: &Bound<'_, PyAny>, algorithm: Algorithm) -> PyResult<String> {
    let py = file.py();
    let read_failed = |e: PyErr| {
        let err = errors::to_py(py, &Error::new(ErrorKind::BodyRead, format!("reading the body failed: {e}")));
        err.set_cause(py, Some(e));
        err
    };
    let seekable = file.hasattr("seekable")? && file.call_method0("seekable").and_then(|s| s.is_truthy())?;
    let start = if seekable { Some(file.call_method0("tell")?) } else { None };
    let mut hasher = PayloadHasher::for_algorithm(algorithm);
    loop {
        let chunk = file.call_method1("read", (CHUNK,)).map_err(read_failed)?;
        if chunk.is_none() {
            // a non-blocking raw stream with nothing available yet
            return Err(read_failed(PyValueError::new_err("read() returned None (non-blocking stream)")));
        }
        let bytes: PyBackedBytes = if let Ok(s) = chunk.cast::<PyString>() {
            PyBytes::new(py, s.to_cow()?.as_bytes()).extract()?
        } else {
            chunk.extract().map_err(|_| {
                PyTypeError::new_err(format!("read() must return bytes or str, not {}", type_name(&chunk)))
            })?
        };
        if bytes.is_empty() {
            break;
        }
        py.detach(|| hasher.update(&bytes));
    }
    if let Some(start) = start {
        file.call_method1("seek", (start,))?;
    }
    Ok(hasher.finalize_hex())
}

/// A point in time from an `X-Sdk-Date` string (parsed by the core), a timezone-aware `datetime`,
/// or Unix seconds (`int` / `float`, converted and range-checked by the core: `MalformedDateError`
/// outside the years 0001 to 9999, also for an `int` too large for a float).
pub(crate) fn time(obj: &Bound<'_, PyAny>) -> PyResult<SystemTime> {
    let seconds: f64 = if let Ok(s) = obj.cast::<PyString>() {
        let date = errors::check(obj.py(), SdkDate::parse(&s.to_cow()?))?;
        return Ok(date.to_system_time());
    } else if obj.hasattr("tzinfo")? && obj.hasattr("timestamp")? {
        if obj.getattr("tzinfo")?.is_none() {
            return Err(PyValueError::new_err(
                "a naive datetime is ambiguous: pass an aware one, e.g. datetime.now(timezone.utc)",
            ));
        }
        obj.call_method0("timestamp")?.extract()?
    } else if let Ok(seconds) = obj.extract::<f64>() {
        seconds
    } else if obj.is_instance_of::<PyInt>() {
        // an int too large for a float (`10**400`): as far out of range as an infinity
        if obj.lt(0)? { f64::NEG_INFINITY } else { f64::INFINITY }
    } else {
        return Err(PyTypeError::new_err(format!(
            "a time must be an X-Sdk-Date string, an aware datetime or Unix seconds, not {}",
            type_name(obj)
        )));
    };
    errors::check(obj.py(), apig::system_time_from_unix_seconds(seconds))
}

/// Seconds from an `int` / `float` or a `datetime.timedelta` (the core checks the range).
pub(crate) fn seconds(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    if obj.hasattr("total_seconds")? { obj.call_method0("total_seconds")?.extract() } else { obj.extract() }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string())
}
