//! JavaScript values → the core's borrowed request parts, and back. Type conversion only: header
//! names and values, bodies and times reach the core as given, which does all the rest.

use std::time::{Duration, SystemTime};

use apig::{Error, SignableBody};
use napi::bindgen_prelude::{ArrayBuffer, FromNapiValue, JsObjectValue, Object, Uint8ArraySlice, Unknown};
use napi::{Env, JsDate, JsValue, ValueType};

use crate::errors::invalid_request;

/// A `napi` failure while reading a value (a throwing getter, …), as an `invalid_request`.
pub(crate) fn napi_failure(what: &str, error: &napi::Error) -> Error {
    invalid_request(format!("cannot read {what}: {}", error.reason))
}

/// Property `name` of `object`, `None` when it is `undefined` or `null`.
pub(crate) fn property<'env>(object: &Object<'env>, name: &str) -> Result<Option<Unknown<'env>>, Error> {
    let value: Unknown<'env> = object.get_named_property(name).map_err(|e| napi_failure(name, &e))?;
    match value.get_type().map_err(|e| napi_failure(name, &e))? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        _ => Ok(Some(value)),
    }
}

/// `value`, or `None` when it is `undefined` or `null` (an omitted argument).
pub(crate) fn present(value: Unknown<'_>) -> Result<Option<Unknown<'_>>, Error> {
    match value.get_type().map_err(|e| napi_failure("an argument", &e))? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        _ => Ok(Some(value)),
    }
}

/// A string value; `what` names it in the error.
pub(crate) fn string(value: Unknown<'_>, what: &str) -> Result<String, Error> {
    if value.get_type().map_err(|e| napi_failure(what, &e))? != ValueType::String {
        return Err(invalid_request(format!("{what} must be a string")));
    }
    String::from_unknown(value).map_err(|e| napi_failure(what, &e))
}

/// Reused buffers for reading a request's strings (see [`StringBuffers::append`]): kept by each
/// signing function from call to call, so that a call allocates nothing to read its request.
#[derive(Default)]
pub(crate) struct StringBuffers {
    /// The string being read's UTF-16 code units, as Node-API copies them.
    units: Vec<u16>,
    /// The UTF-8 bytes of the strings read since [`StringBuffers::clear`], one after the other.
    bytes: Vec<u8>,
    /// Where each of them lies in `bytes`.
    ranges: Vec<(usize, usize)>,
    /// Whether one of them holds NUL.
    nul: bool,
}

/// The UTF-16 buffer's first size; it grows to the longest string read.
const FIRST_UNITS: usize = 512;

impl StringBuffers {
    /// Forgets the strings read.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.ranges.clear();
        self.nul = false;
    }

    /// Reads a string value as UTF-8 after the ones read before; `what` names it in the error.
    /// The same text `String::from_unknown` gives (unpaired surrogates become U+FFFD, as
    /// Node-API's UTF-8 read makes them), for a fraction of its cost: Node-API's UTF-8 read
    /// measures the string's UTF-8 length in one pass before it copies in a second, and napi-rs
    /// then allocates; a UTF-16 copy into a kept buffer is one plain widening copy, and the usual
    /// ASCII text is then narrowed in a loop the compiler vectorises.
    pub(crate) fn append(&mut self, env: &Env, value: Unknown<'_>, what: &str) -> Result<(), Error> {
        let Self { units, bytes, ranges, nul } = self;
        if units.is_empty() {
            units.resize(FIRST_UNITS, 0);
        }
        let mut copied = utf16_into(env, value, units, what)?;
        // a full buffer may hold a cut string: measure it, grow, read again
        if copied + 1 >= units.len() {
            let length = utf16_length(env, value, what)?;
            if length + 1 > units.len() {
                units.resize(length + 1, 0);
                copied = utf16_into(env, value, units, what)?;
            }
        }
        let units = units.get(..copied).unwrap_or_default();
        let start = bytes.len();
        let (high, low) = units.iter().fold((0, u16::MAX), |(high, low), &unit| (high | unit, low.min(unit)));
        if high < 0x80 {
            // ASCII: each unit is its byte
            #[allow(clippy::cast_possible_truncation)] // every unit is below 0x80
            bytes.extend(units.iter().map(|&unit| unit as u8));
        } else {
            let mut text = [0; 4];
            for c in char::decode_utf16(units.iter().copied()) {
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                bytes.extend_from_slice(c.encode_utf8(&mut text).as_bytes());
            }
        }
        *nul |= !units.is_empty() && low == 0;
        ranges.push((start, bytes.len()));
        Ok(())
    }

    /// The strings read since [`StringBuffers::clear`] (as many as `ranges` holds), or `None`
    /// when one of them holds NUL.
    pub(crate) fn strings<'b>(&'b self, what: &str) -> Result<Option<Strings<'b>>, Error> {
        if self.nul {
            return Ok(None);
        }
        let text =
            std::str::from_utf8(&self.bytes).map_err(|_| invalid_request(format!("{what} is not valid UTF-8")))?;
        Ok(Some(Strings { text, ranges: &self.ranges }))
    }
}

/// The strings of [`StringBuffers::strings`], by index.
pub(crate) struct Strings<'b> {
    text: &'b str,
    ranges: &'b [(usize, usize)],
}

impl<'b> Strings<'b> {
    /// The `index`th string read (empty past the last).
    pub(crate) fn get(&self, index: usize) -> &'b str {
        self.ranges.get(index).and_then(|&(start, end)| self.text.get(start..end)).unwrap_or_default()
    }

    /// How many strings were read.
    pub(crate) fn len(&self) -> usize {
        self.ranges.len()
    }
}

/// Copies the string `value` into `units` (at most `units.len() - 1` code units); returns how
/// many it copied.
fn utf16_into(env: &Env, value: Unknown<'_>, units: &mut [u16], what: &str) -> Result<usize, Error> {
    let mut copied = 0;
    // SAFETY: `units` is a live, writable buffer of `units.len()` code units; Node-API writes at
    // most that many (the string's units, cut to `len - 1`, then a terminating 0) and the count
    // into `copied`, and keeps no pointer to either after the call. `value` is a handle of this
    // call's scope (an argument).
    let status = unsafe {
        napi::sys::napi_get_value_string_utf16(env.raw(), value.raw(), units.as_mut_ptr(), units.len(), &raw mut copied)
    };
    string_status(status, what)?;
    Ok(copied)
}

/// The length of the string `value` in UTF-16 code units.
fn utf16_length(env: &Env, value: Unknown<'_>, what: &str) -> Result<usize, Error> {
    let mut length = 0;
    // SAFETY: with a null buffer Node-API only writes the string's length into `length`.
    let status = unsafe {
        napi::sys::napi_get_value_string_utf16(env.raw(), value.raw(), std::ptr::null_mut(), 0, &raw mut length)
    };
    string_status(status, what)?;
    Ok(length)
}

fn string_status(status: napi::sys::napi_status, what: &str) -> Result<(), Error> {
    match status {
        napi::sys::Status::napi_ok => Ok(()),
        napi::sys::Status::napi_string_expected => Err(invalid_request(format!("{what} must be a string"))),
        other => Err(invalid_request(format!("cannot read {what}: Node-API status {other}"))),
    }
}

/// A required string property.
pub(crate) fn required_string(object: &Object<'_>, name: &str, error: fn(String) -> Error) -> Result<String, Error> {
    match property(object, name)? {
        Some(value) => string(value, name).map_err(|e| error(e.message().to_owned())),
        None => Err(error(format!("{name} is required"))),
    }
}

/// An optional string property.
pub(crate) fn optional_string(
    object: &Object<'_>,
    name: &str,
    error: fn(String) -> Error,
) -> Result<Option<String>, Error> {
    property(object, name)?.map(|value| string(value, name).map_err(|e| error(e.message().to_owned()))).transpose()
}

/// An optional boolean property.
pub(crate) fn optional_bool(
    object: &Object<'_>,
    name: &str,
    error: fn(String) -> Error,
) -> Result<Option<bool>, Error> {
    match property(object, name)? {
        None => Ok(None),
        Some(value) if value.get_type().ok() == Some(ValueType::Boolean) => {
            bool::from_unknown(value).map(Some).map_err(|e| napi_failure(name, &e))
        }
        Some(_) => Err(error(format!("{name} must be a boolean"))),
    }
}

/// An optional finite, non-negative number property.
pub(crate) fn optional_seconds(
    object: &Object<'_>,
    name: &str,
    error: fn(String) -> Error,
) -> Result<Option<Duration>, Error> {
    match property(object, name)? {
        None => Ok(None),
        Some(value) if value.get_type().ok() == Some(ValueType::Number) => {
            let seconds = f64::from_unknown(value).map_err(|e| napi_failure(name, &e))?;
            Duration::try_from_secs_f64(seconds)
                .map(Some)
                .map_err(|_| error(format!("{name} must be a finite number of seconds ≥ 0, not {seconds}")))
        }
        Some(_) => Err(error(format!("{name} must be a number of seconds"))),
    }
}

/// A request body held for the duration of one call: text, or a view of a JavaScript buffer.
pub(crate) enum Body<'env> {
    Empty,
    Text(String),
    View(Uint8ArraySlice<'env>),
    Buffer(ArrayBuffer<'env>),
}

impl Body<'_> {
    /// The exact bytes: UTF-8 for text, the buffer's bytes otherwise.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Self::Empty => b"",
            Self::Text(text) => text.as_bytes(),
            Self::View(view) => view,
            Self::Buffer(buffer) => buffer,
        }
    }

    pub(crate) fn signable(&self) -> SignableBody<'_> {
        SignableBody::Bytes(self.bytes())
    }
}

/// A body value: `string` (UTF-8), `Buffer`/`Uint8Array`, `ArrayBuffer`, or nothing.
pub(crate) fn body<'env>(value: Option<Unknown<'env>>, what: &str) -> Result<Body<'env>, Error> {
    let failure = |e: napi::Error| napi_failure(what, &e);
    let Some(value) = value else { return Ok(Body::Empty) };
    match value.get_type().map_err(failure)? {
        ValueType::String => String::from_unknown(value).map(Body::Text).map_err(failure),
        ValueType::Object if value.is_typedarray().map_err(failure)? => {
            Uint8ArraySlice::from_unknown(value).map(Body::View).map_err(|_| {
                invalid_request(format!("{what} must be a Uint8Array (or a Buffer), not another typed array"))
            })
        }
        ValueType::Object if value.is_arraybuffer().map_err(failure)? => {
            ArrayBuffer::from_unknown(value).map(Body::Buffer).map_err(failure)
        }
        _ => Err(invalid_request(format!(
            "{what} must be a string, a Buffer/Uint8Array or an ArrayBuffer (streams and async iterables are hashed by the package's sign())"
        ))),
    }
}

/// A time: a `Date`, milliseconds since the Unix epoch (as `Date.now()` returns) or an
/// `X-Sdk-Date` string, converted by the core.
pub(crate) fn time(value: Option<Unknown<'_>>, what: &str) -> Result<Option<SystemTime>, Error> {
    let failure = |e: napi::Error| napi_failure(what, &e);
    let Some(value) = value else { return Ok(None) };
    let millis = if value.is_date().map_err(failure)? {
        JsDate::from_unknown(value).and_then(|date| date.value_of()).map_err(failure)?
    } else {
        match value.get_type().map_err(failure)? {
            ValueType::Number => f64::from_unknown(value).map_err(failure)?,
            // an X-Sdk-Date string, parsed by the core (malformed_date when it is not one)
            ValueType::String => {
                let text = String::from_unknown(value).map_err(failure)?;
                return Ok(Some(apig::SdkDate::parse(&text)?.to_system_time()));
            }
            _ => {
                return Err(invalid_request(format!(
                    "{what} must be a Date, milliseconds since 1970, or an X-Sdk-Date string"
                )));
            }
        }
    };
    // the core converts and range-checks (malformed_date for an invalid Date or a time outside the
    // years 0001 to 9999)
    apig::system_time_from_unix_seconds(millis / 1000.0).map(Some)
}
