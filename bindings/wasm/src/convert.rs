//! JS values to core types and back: option objects, header lists, bodies and dates.

use std::time::SystemTime;

use apig::{ErrorKind, SdkDate};
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::errors::js_error;
use crate::time::{system_time_from_millis, system_time_from_seconds};

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

/// Borrowed `(name, value)` pairs, the core's header form.
pub(crate) fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
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
    /// Reads `body`, `payloadHash` and `unsignedPayload` from a request object.
    pub(crate) fn from_request(obj: &JsValue) -> Result<Self, JsValue> {
        let cx = Context::Request;
        let unsigned = opt_bool(obj, "unsignedPayload", cx)?.unwrap_or(false);
        let hash = opt_string(obj, "payloadHash", cx)?;
        let body = field(obj, "body");
        match (unsigned, hash, body) {
            (true, None, _) => Ok(Self::Unsigned),
            (false, Some(hash), None) => Ok(Self::Precomputed(hash)),
            (true, Some(_), _) => Err(cx.error("give `payloadHash` or `unsignedPayload`, not both")),
            (false, Some(_), Some(_)) => Err(cx.error("give `body` or `payloadHash`, not both")),
            (false, None, None) => Ok(Self::Bytes(Vec::new())),
            (false, None, Some(body)) => bytes(&body).map(Self::Bytes).ok_or_else(|| {
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
        return system_time_from_seconds(date.unix_seconds())
            .ok_or_else(|| cx.error(format!("`{what}` must be a time after 1970")));
    }
    let millis = match value.dyn_ref::<js_sys::Date>() {
        Some(date) => date.get_time(),
        None => value.as_f64().ok_or_else(|| {
            cx.error(format!("`{what}` must be a Date, milliseconds since 1970, or an X-Sdk-Date string"))
        })?,
    };
    system_time_from_millis(millis).ok_or_else(|| cx.error(format!("`{what}` must be a valid time after 1970")))
}

/// A plain JS object built property by property.
pub(crate) struct ObjectBuilder(Object);

impl ObjectBuilder {
    pub(crate) fn new() -> Self {
        Self(Object::new())
    }

    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        // Defining a data property on a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    pub(crate) fn build<T: JsCast>(self) -> T {
        self.0.unchecked_into()
    }
}

/// A JS array of strings.
pub(crate) fn string_array<'a>(items: impl IntoIterator<Item = &'a str>) -> Array {
    items.into_iter().map(JsValue::from_str).collect()
}
