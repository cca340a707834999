//! JS values to core types and back: option objects, header lists, bodies and dates.

use std::time::SystemTime;

use apig::{ErrorKind, SdkDate};
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::errors::js_error;
use crate::time::system_time_from_millis;

#[wasm_bindgen(typescript_custom_section)]
const TS_CONVERT: &str = r#"
/** Headers as ordered `[name, value]` pairs, a plain object, or any iterable of pairs (`Headers`, `Map`). */
export type HeaderInput = Array<[string, string]> | Record<string, string> | Iterable<[string, string]>;
/** A body given whole: text (signed as its UTF-8 bytes) or bytes. */
export type BodyInput = string | Uint8Array | ArrayBuffer | ArrayBufferView;
/** A time: a `Date`, milliseconds since the Unix epoch, or an `X-Sdk-Date` string (`20240403T101500Z`). */
export type DateInput = Date | number | string;
"#;

/// Which request kind a conversion failure is reported as.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Context {
    /// Signer / verifier settings: failures are `invalid_config`.
    Config,
    /// A request to sign or verify: failures are `invalid_request`.
    Request,
}

impl Context {
    fn kind(self) -> ErrorKind {
        match self {
            Self::Config => ErrorKind::InvalidConfig,
            Self::Request => ErrorKind::InvalidRequest,
        }
    }

    pub(crate) fn error(self, message: impl Into<String>) -> JsValue {
        js_error(self.kind(), message)
    }
}

/// An options object, checked to be one.
pub(crate) fn object(value: &JsValue, what: &str, cx: Context) -> Result<JsValue, JsValue> {
    if value.is_object() && !Array::is_array(value) {
        Ok(value.clone())
    } else {
        Err(cx.error(format!("{what} must be an object")))
    }
}

/// Property `key` of `obj`, or `None` when it is absent, `undefined` or `null`.
pub(crate) fn field(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// A string property, if present.
pub(crate) fn opt_string(obj: &JsValue, key: &str, cx: Context) -> Result<Option<String>, JsValue> {
    field(obj, key).map(|v| v.as_string().ok_or_else(|| cx.error(format!("`{key}` must be a string")))).transpose()
}

/// A required string property.
pub(crate) fn string(obj: &JsValue, key: &str, cx: Context) -> Result<String, JsValue> {
    opt_string(obj, key, cx)?.ok_or_else(|| cx.error(format!("`{key}` is required")))
}

/// A boolean property, if present.
pub(crate) fn opt_bool(obj: &JsValue, key: &str, cx: Context) -> Result<Option<bool>, JsValue> {
    field(obj, key).map(|v| v.as_bool().ok_or_else(|| cx.error(format!("`{key}` must be a boolean")))).transpose()
}

/// A number property, if present.
pub(crate) fn opt_number(obj: &JsValue, key: &str, cx: Context) -> Result<Option<f64>, JsValue> {
    field(obj, key).map(|v| v.as_f64().ok_or_else(|| cx.error(format!("`{key}` must be a number")))).transpose()
}

/// One `[name, value]` pair of strings.
fn pair(entry: &JsValue, what: &str, cx: Context) -> Result<(String, String), JsValue> {
    let bad = || cx.error(format!("each entry of `{what}` must be a [name, value] pair of strings"));
    if !Array::is_array(entry) {
        return Err(bad());
    }
    let entry: &Array = entry.unchecked_ref();
    if entry.length() != 2 {
        return Err(bad());
    }
    match (entry.get(0).as_string(), entry.get(1).as_string()) {
        (Some(name), Some(value)) => Ok((name, value)),
        _ => Err(bad()),
    }
}

/// String pairs from an array of pairs, any iterable of pairs (`Headers`, `Map`) or a plain object,
/// in their order. Used for headers and for key stores.
pub(crate) fn pairs(value: Option<JsValue>, what: &str, cx: Context) -> Result<Vec<(String, String)>, JsValue> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    if !value.is_object() {
        return Err(cx.error(format!("`{what}` must be an array of [name, value] pairs or an object")));
    }
    let entries: Array = match js_sys::try_iter(&value) {
        Ok(Some(iter)) => iter.collect::<Result<Array, JsValue>>().map_err(|e| {
            cx.error(format!("iterating `{what}` failed: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))
        })?,
        _ => Object::entries(value.unchecked_ref()),
    };
    entries.iter().map(|entry| pair(&entry, what, cx)).collect()
}

/// The bytes of a string (UTF-8) or of a `Uint8Array`, `ArrayBuffer` or other `ArrayBufferView`;
/// `None` for anything else.
pub(crate) fn bytes(value: &JsValue) -> Option<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Some(text.into_bytes());
    }
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        return Some(array.to_vec());
    }
    if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        return Some(Uint8Array::new(buffer).to_vec());
    }
    if ArrayBuffer::is_view(value) {
        let get = |key: &str| Reflect::get(value, &JsValue::from_str(key)).ok();
        let buffer = get("buffer")?;
        let offset = get("byteOffset")?.as_f64()?;
        let length = get("byteLength")?.as_f64()?;
        // both are exact u32 values for any view that exists
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let view = Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, length as u32);
        return Some(view.to_vec());
    }
    None
}

/// The body of a request to sign or verify.
#[derive(Debug)]
pub(crate) enum Body {
    /// The exact bytes.
    Bytes(Vec<u8>),
    /// A hash computed beforehand (by a `PayloadHasher`).
    Precomputed(String),
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
}

impl Body {
    /// The body from a request's `body`, `payloadHash` and `unsignedPayload` values.
    pub(crate) fn new(body: &JsValue, payload_hash: &JsValue, unsigned: &JsValue) -> Result<Self, JsValue> {
        let cx = Context::Request;
        let present = |v: &JsValue| !v.is_undefined() && !v.is_null();
        let unsigned = match present(unsigned) {
            true => unsigned.as_bool().ok_or_else(|| cx.error("`unsignedPayload` must be a boolean"))?,
            false => false,
        };
        let hash = match present(payload_hash) {
            true => Some(payload_hash.as_string().ok_or_else(|| cx.error("`payloadHash` must be a string"))?),
            false => None,
        };
        let body = present(body).then_some(body);
        match (unsigned, hash, body) {
            (true, None, _) => Ok(Self::Unsigned),
            (false, Some(hash), None) => Ok(Self::Precomputed(hash)),
            (true, Some(_), _) => Err(cx.error("give `payloadHash` or `unsignedPayload`, not both")),
            (false, Some(_), Some(_)) => Err(cx.error("give `body` or `payloadHash`, not both")),
            (false, None, None) => Ok(Self::Bytes(Vec::new())),
            (false, None, Some(body)) => bytes(body).map(Self::Bytes).ok_or_else(|| {
                cx.error(
                    "`body` must be a string, Uint8Array, ArrayBuffer or ArrayBufferView; \
                     hash a Blob or ReadableStream with hashBody() or use signedFetch()",
                )
            }),
        }
    }

    /// The core's view of this body.
    pub(crate) fn signable(&self) -> apig::SignableBody<'_> {
        match self {
            Self::Bytes(bytes) => apig::SignableBody::Bytes(bytes),
            Self::Precomputed(hash) => apig::SignableBody::Precomputed(hash),
            Self::Unsigned => apig::SignableBody::Unsigned,
        }
    }
}

/// A time given as a `Date`, milliseconds since the epoch, or an `X-Sdk-Date` string.
pub(crate) fn time(value: &JsValue, what: &str) -> Result<SystemTime, JsValue> {
    let cx = Context::Request;
    if let Some(text) = value.as_string() {
        let date = SdkDate::parse(&text).map_err(|e| crate::errors::to_js(&e))?;
        if date.unix_seconds() < 0 {
            return Err(cx.error(format!("`{what}` must be a time after 1970")));
        }
        return Ok(date.to_system_time());
    }
    let millis = match value.dyn_ref::<js_sys::Date>() {
        Some(date) => date.get_time(),
        None => value.as_f64().ok_or_else(|| {
            cx.error(format!("`{what}` must be a Date, milliseconds since 1970, or an X-Sdk-Date string"))
        })?,
    };
    system_time_from_millis(millis).ok_or_else(|| cx.error(format!("`{what}` must be a valid time after 1970")))
}

/// A required string argument.
pub(crate) fn arg_string(value: &JsValue, name: &str) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| {
        Context::Request.error(if value.is_undefined() || value.is_null() {
            format!("`{name}` is required")
        } else {
            format!("`{name}` must be a string")
        })
    })
}

/// Header pairs packed by the package's JavaScript half as `name\0value\0name\0value…` (one
/// boundary crossing for all of them; `""` is no headers).
pub(crate) fn unpack_pairs(packed: &str) -> Result<Vec<(&str, &str)>, JsValue> {
    if packed.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = packed.split('\0').collect();
    if !parts.len().is_multiple_of(2) {
        return Err(Context::Request.error("headers: a name without a value"));
    }
    Ok(parts.chunks_exact(2).map(|pair| (pair[0], pair[1])).collect())
}

/// Strings joined by NUL, the packed answer the JavaScript half splits (no value can contain NUL:
/// the core refuses control characters in everything signed).
pub(crate) struct Packed {
    text: String,
    empty: bool,
}

impl Packed {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self { text: String::with_capacity(capacity), empty: true }
    }

    pub(crate) fn push(&mut self, value: &str) -> &mut Self {
        if !self.empty {
            self.text.push('\0');
        }
        self.empty = false;
        self.text.push_str(value);
        self
    }

    pub(crate) fn into_string(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing() {
        let mut packed = Packed::with_capacity(8);
        packed.push("").push("a").push("");
        assert_eq!(packed.into_string(), "\0a\0");
        assert_eq!(unpack_pairs("").ok(), Some(vec![]));
        assert_eq!(unpack_pairs("\0").ok(), Some(vec![("", "")]));
        assert_eq!(unpack_pairs("A\u{0}1\u{0}b\u{0}").ok(), Some(vec![("A", "1"), ("b", "")]));
    }
}
