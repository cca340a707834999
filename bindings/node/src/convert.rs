//! JavaScript values → the core's borrowed request parts, and back. Type conversion only: header
//! names and values, bodies and times reach the core as given, which does all the rest.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{Error, SignableBody};
use napi::bindgen_prelude::{
    ArrayBuffer, FromNapiValue, JsObjectValue, KeyCollectionMode, KeyConversion, KeyFilter, Object, Uint8ArraySlice,
    Unknown,
};
use napi::{JsDate, JsValue, ValueType};

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

/// A string value; `what` names it in the error.
pub(crate) fn string(value: Unknown<'_>, what: &str) -> Result<String, Error> {
    if value.get_type().map_err(|e| napi_failure(what, &e))? != ValueType::String {
        return Err(invalid_request(format!("{what} must be a string")));
    }
    String::from_unknown(value).map_err(|e| napi_failure(what, &e))
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

/// Headers as the core wants them: an ordered list of `(name, value)` pairs.
///
/// Accepted: an array of `[name, value]` pairs, or a plain object whose own enumerable keys are
/// names and whose values are strings, numbers or arrays of them (Node's `IncomingHttpHeaders`
/// shape); `undefined`/`null` values are skipped, as Node's `http` module does.
pub(crate) fn headers(value: Option<Unknown<'_>>) -> Result<Vec<(String, String)>, Error> {
    let failure = |e: napi::Error| napi_failure("headers", &e);
    let Some(value) = value else { return Ok(Vec::new()) };
    if value.get_type().map_err(failure)? != ValueType::Object {
        return Err(invalid_request("headers must be an object of name → value or an array of [name, value] pairs"));
    }
    let object = Object::from_unknown(value).map_err(failure)?;
    let mut out = Vec::new();
    if value.is_array().map_err(failure)? {
        let length = object.get_array_length().map_err(failure)?;
        out.reserve(length as usize);
        for index in 0..length {
            let pair: Unknown<'_> = object.get_element(index).map_err(failure)?;
            let bad = || invalid_request(format!("headers[{index}] must be a [name, value] pair of strings"));
            if !pair.is_array().map_err(failure)? {
                return Err(bad());
            }
            let pair = Object::from_unknown(pair).map_err(failure)?;
            if pair.get_array_length().map_err(failure)? != 2 {
                return Err(bad());
            }
            let name = string(pair.get_element(0).map_err(failure)?, "a header name").map_err(|_| bad())?;
            let value: Unknown<'_> = pair.get_element(1).map_err(failure)?;
            match header_value(value, &name)? {
                Some(value) => out.push((name, value)),
                None => return Err(bad()),
            }
        }
        return Ok(out);
    }
    let names = object
        .get_all_property_names(KeyCollectionMode::OwnOnly, KeyFilter::Enumerable, KeyConversion::NumbersToStrings)
        .map_err(failure)?;
    let count = names.get_array_length().map_err(failure)?;
    out.reserve(count as usize);
    for index in 0..count {
        let name: Unknown<'_> = names.get_element(index).map_err(failure)?;
        if name.get_type().map_err(failure)? != ValueType::String {
            continue; // symbol keys are not headers
        }
        let name = String::from_unknown(name).map_err(failure)?;
        let value: Unknown<'_> = object.get_named_property(&name).map_err(failure)?;
        if value.is_array().map_err(failure)? {
            let values = Object::from_unknown(value).map_err(failure)?;
            for i in 0..values.get_array_length().map_err(failure)? {
                if let Some(v) = header_value(values.get_element(i).map_err(failure)?, &name)? {
                    out.push((name.clone(), v));
                }
            }
        } else if let Some(value) = header_value(value, &name)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// One header value: a string, or a number in its JavaScript text form; `None` for
/// `undefined`/`null`.
fn header_value(value: Unknown<'_>, name: &str) -> Result<Option<String>, Error> {
    let failure = |e: napi::Error| napi_failure("a header value", &e);
    match value.get_type().map_err(failure)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::String => String::from_unknown(value).map(Some).map_err(failure),
        ValueType::Number => {
            let text = value.coerce_to_string().map_err(failure)?;
            String::from_unknown(text.to_unknown()).map(Some).map_err(failure)
        }
        _ => Err(invalid_request(format!("the value of header {name:?} must be a string or a number"))),
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

/// A time: a `Date` or milliseconds since the Unix epoch (as `Date.now()` returns).
pub(crate) fn time(value: Option<Unknown<'_>>, what: &str) -> Result<Option<SystemTime>, Error> {
    let failure = |e: napi::Error| napi_failure(what, &e);
    let Some(value) = value else { return Ok(None) };
    let millis = if value.is_date().map_err(failure)? {
        JsDate::from_unknown(value).and_then(|date| date.value_of()).map_err(failure)?
    } else if value.get_type().map_err(failure)? == ValueType::Number {
        f64::from_unknown(value).map_err(failure)?
    } else {
        return Err(invalid_request(format!("{what} must be a Date or a number of milliseconds since 1970")));
    };
    if !millis.is_finite() {
        return Err(invalid_request(format!("{what} is not a valid time")));
    }
    let time = Duration::try_from_secs_f64(millis.abs() / 1000.0)
        .ok()
        .and_then(|offset| if millis >= 0.0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) });
    time.map(Some).ok_or_else(|| invalid_request(format!("{what} is out of range")))
}
