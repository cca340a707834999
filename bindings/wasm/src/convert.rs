//! The request as it crosses from the package's JavaScript half (`js/api.js`): its strings packed
//! into one, NUL-separated, the body bytes (if any) beside them, and flags saying which fields are
//! there. JavaScript converts JS values (option objects, `Headers`, typed arrays, `Date`s) to
//! these; everything they mean is the core's.

use std::time::SystemTime;

use apig::{ErrorKind, SdkDate, SignableBody};
use wasm_bindgen::prelude::*;

use crate::errors::{js_error, to_js};
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

// The flags of a packed request (`js/api.js` has the same numbers). Body: one of the first five.
/// No body: the empty one.
const BODY_EMPTY: u32 = 0;
/// The body is text: the last field (it may contain NUL).
const BODY_TEXT: u32 = 1;
/// The body is the bytes argument.
const BODY_BYTES: u32 = 2;
/// A precomputed payload hash: the last field.
const BODY_HASH: u32 = 3;
/// `UNSIGNED-PAYLOAD`.
const BODY_UNSIGNED: u32 = 4;
const BODY_MASK: u32 = 7;
/// The time is an `X-Sdk-Date` string: the field after the headers.
const TIME_TEXT: u32 = 8;
/// The time is the milliseconds argument.
const TIME_MILLIS: u32 = 16;

/// A request unpacked: borrowed from the packed string and the bytes argument.
pub(crate) struct Unpacked<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) headers: Vec<(&'a str, &'a str)>,
    pub(crate) body: SignableBody<'a>,
    /// The signing (or verifying) time given, if any (else the clock's).
    pub(crate) time: Option<SystemTime>,
}

impl<'a> Unpacked<'a> {
    /// `method\0url\0name\0value…[\0date][\0body text | \0payload hash]` with `headers` pairs.
    pub(crate) fn new(
        packed: &'a str,
        headers: u32,
        flags: u32,
        bytes: &'a [u8],
        millis: f64,
    ) -> Result<Self, JsValue> {
        let body_kind = flags & BODY_MASK;
        let fields = 2
            + 2 * headers as usize
            + usize::from(flags & TIME_TEXT != 0)
            + usize::from(matches!(body_kind, BODY_TEXT | BODY_HASH));
        let mut parts = packed.splitn(fields, '\0');
        let mut next = || parts.next().ok_or_else(|| js_error(ErrorKind::InvalidRequest, "malformed packed request"));
        let (method, url) = (next()?, next()?);
        let mut pairs = Vec::with_capacity(headers as usize);
        for _ in 0..headers {
            pairs.push((next()?, next()?));
        }
        let time = if flags & TIME_TEXT != 0 {
            let date = SdkDate::parse(next()?).map_err(|e| to_js(&e))?;
            if date.unix_seconds() < 0 {
                return Err(js_error(ErrorKind::InvalidRequest, "the time must be after 1970"));
            }
            Some(date.to_system_time())
        } else if flags & TIME_MILLIS != 0 {
            Some(
                system_time_from_millis(millis)
                    .ok_or_else(|| js_error(ErrorKind::InvalidRequest, "the time must be a valid time after 1970"))?,
            )
        } else {
            None
        };
        let body = match body_kind {
            BODY_EMPTY => SignableBody::Bytes(&[]),
            BODY_TEXT => SignableBody::Bytes(next()?.as_bytes()),
            BODY_BYTES => SignableBody::Bytes(bytes),
            BODY_HASH => SignableBody::Precomputed(next()?),
            BODY_UNSIGNED => SignableBody::Unsigned,
            _ => return Err(js_error(ErrorKind::InvalidRequest, "malformed packed request")),
        };
        Ok(Self { method, url, headers: pairs, body, time })
    }

    /// The core's request.
    pub(crate) fn signable(&self) -> apig::SignableRequest<'_> {
        apig::SignableRequest::new(self.method, self.url, &self.headers, self.body)
    }
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

/// Splits `a\0b\0c` (`""`: nothing) into its fields.
#[cfg_attr(not(feature = "verifier"), allow(dead_code))]
pub(crate) fn fields(packed: &str) -> impl Iterator<Item = &str> {
    packed.split('\0').filter(move |_| !packed.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing() {
        let mut packed = Packed::with_capacity(8);
        packed.push("").push("a").push("");
        assert_eq!(packed.into_string(), "\0a\0");
        assert_eq!(fields("").count(), 0);
        assert_eq!(fields("a\0\0b").collect::<Vec<_>>(), ["a", "", "b"]);
    }

    #[test]
    fn unpacking() {
        let r = Unpacked::new("GET\0https://h/\0A\x001\0b\0", 2, BODY_EMPTY, &[], 0.0).ok().unwrap();
        assert_eq!((r.method, r.url), ("GET", "https://h/"));
        assert_eq!(r.headers, [("A", "1"), ("b", "")]);
        assert!(matches!(r.body, SignableBody::Bytes([])) && r.time.is_none());
        let r = Unpacked::new("PUT\0/\0x\0\0y", 0, BODY_TEXT | TIME_MILLIS, &[], 1500.0).ok().unwrap();
        assert!(matches!(r.body, SignableBody::Bytes(b"x\0\0y")));
        assert_eq!(r.time, system_time_from_millis(1500.0));
        let r = Unpacked::new("PUT\0/\x0020240403T101500Z\0abc", 0, BODY_HASH | TIME_TEXT, &[], 0.0).ok().unwrap();
        assert!(matches!(r.body, SignableBody::Precomputed("abc")));
        assert_eq!(r.time, Some(SdkDate::parse("20240403T101500Z").ok().unwrap().to_system_time()));
        let r = Unpacked::new("PUT\0/", 0, BODY_BYTES, b"raw", 0.0).ok().unwrap();
        assert!(matches!(r.body, SignableBody::Bytes(b"raw")));
        let r = Unpacked::new("PUT\0/", 0, BODY_UNSIGNED, &[], 0.0).ok().unwrap();
        assert!(matches!(r.body, SignableBody::Unsigned));
    }
}
