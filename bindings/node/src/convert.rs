//! JavaScript values → the core's borrowed request parts, and back. Type conversion only: header
//! names and values, bodies and times reach the core as given, which does all the rest.

use std::time::{Duration, SystemTime};

use apig::{Error, SignableBody};
use napi::bindgen_prelude::{ArrayBuffer, FromNapiValue, JsObjectValue, Object, Uint8ArraySlice, Unknown};
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

/// The separator of packed lists: `index.js` hands headers (and key stores) over as one string
/// `name\0value\0name\0value\0`, one boundary crossing instead of several per header. NUL cannot
/// occur in a header name or value (the core refuses it; `index.js` checks before packing).
pub(crate) const SEPARATOR: char = '\0';

/// A packed list → ordered `(name, value)` pairs, borrowed from `packed`. Up to
/// [`INLINE_PAIRS`] pairs are kept on the stack.
pub(crate) fn unpack_pairs(packed: &str) -> Result<Pairs<'_>, Error> {
    let mut pairs = Pairs::new();
    let mut pieces = Pieces::new(packed);
    while let Some(name) = pieces.next() {
        match pieces.next() {
            Some(value) => pairs.push((name, value)),
            None => return Err(invalid_request("a packed header list must hold name/value pairs")),
        }
    }
    if !pieces.rest().is_empty() {
        return Err(invalid_request("a packed header list must hold name/value pairs"));
    }
    Ok(pairs)
}

/// A packed request `method\0url\0name\0value\0…` → method, URL and header pairs, or `None`
/// when it does not hold exactly `separators` NULs, all ending pieces (a piece holding NUL).
pub(crate) fn unpack_request(packed: &str, separators: usize) -> Option<(&str, &str, Pairs<'_>)> {
    let mut pieces = Pieces::new(packed);
    let method = pieces.next()?;
    let url = pieces.next()?;
    let mut pairs = Pairs::new();
    let mut count = 2;
    while let Some(name) = pieces.next() {
        let value = pieces.next()?;
        pairs.push((name, value));
        count += 2;
    }
    (count == separators && pieces.rest().is_empty()).then_some((method, url, pairs))
}

/// The NUL-terminated pieces of a packed string, its NULs found eight bytes at a time. NUL is
/// ASCII, so every piece between two is whole UTF-8.
struct Pieces<'a> {
    text: &'a str,
    /// Where the next piece starts.
    start: usize,
    /// The offset of the word `zeros` describes.
    base: usize,
    /// The offset of the next word to read.
    next: usize,
    /// The NULs of the current word not yet returned: the high bit of each such byte.
    zeros: u64,
}

impl<'a> Pieces<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, start: 0, base: 0, next: 0, zeros: 0 }
    }

    /// What follows the last NUL returned.
    fn rest(&self) -> &'a str {
        self.text.get(self.start..).unwrap_or_default()
    }

    /// The offset of the next NUL.
    fn next_nul(&mut self) -> Option<usize> {
        const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        loop {
            if self.zeros != 0 {
                let at = self.base + (self.zeros.trailing_zeros() / 8) as usize;
                self.zeros &= self.zeros - 1;
                return Some(at);
            }
            let rest = self.text.as_bytes().get(self.next..).filter(|rest| !rest.is_empty())?;
            let word = match rest.first_chunk::<8>() {
                Some(word) => *word,
                None => {
                    // the last few bytes, padded with bytes that are not NUL
                    let mut word = [0xff; 8];
                    word.iter_mut().zip(rest).for_each(|(slot, byte)| *slot = *byte);
                    word
                }
            };
            let word = u64::from_le_bytes(word);
            self.base = self.next;
            self.next += 8;
            // the high bit of exactly the bytes that are 0 (no carry crosses a byte)
            self.zeros = !(((word & LOW) + LOW) | word | LOW);
        }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let end = self.next_nul()?;
        let piece = self.text.get(self.start..end).unwrap_or_default();
        self.start = end + 1;
        Some(piece)
    }
}

/// How many NULs `text` holds, and whether it is ASCII: one pass, in blocks whose byte-wide
/// counters the compiler turns into vector instructions.
pub(crate) fn scan(text: &str) -> (usize, bool) {
    let mut separators = 0;
    let mut high = 0;
    for block in text.as_bytes().chunks(255) {
        let mut count = 0u8;
        for &byte in block {
            count += u8::from(byte == 0);
            high |= byte;
        }
        separators += usize::from(count);
    }
    (separators, high < 0x80)
}

/// How many header pairs [`Pairs`] holds without allocating.
pub(crate) const INLINE_PAIRS: usize = 16;

/// Header pairs: on the stack up to [`INLINE_PAIRS`], then on the heap.
#[allow(clippy::large_enum_variant)] // the point: the usual handful of headers without an allocation
pub(crate) enum Pairs<'a> {
    Inline([(&'a str, &'a str); INLINE_PAIRS], usize),
    Heap(Vec<(&'a str, &'a str)>),
}

impl<'a> Pairs<'a> {
    fn new() -> Self {
        Self::Inline([("", ""); INLINE_PAIRS], 0)
    }

    fn push(&mut self, pair: (&'a str, &'a str)) {
        match self {
            Self::Inline(slots, len) => match slots.get_mut(*len) {
                Some(slot) => {
                    *slot = pair;
                    *len += 1;
                }
                None => {
                    let mut heap = Vec::with_capacity(2 * INLINE_PAIRS);
                    heap.extend_from_slice(slots);
                    heap.push(pair);
                    *self = Self::Heap(heap);
                }
            },
            Self::Heap(heap) => heap.push(pair),
        }
    }

    /// The pairs, in order.
    pub(crate) fn as_slice(&self) -> &[(&'a str, &'a str)] {
        match self {
            Self::Inline(slots, len) => slots.get(..*len).unwrap_or_default(),
            Self::Heap(heap) => heap,
        }
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

/// A time: a `Date` or milliseconds since the Unix epoch (as `Date.now()` returns), converted by
/// the core.
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
    // the core converts and range-checks (malformed_date for an invalid Date or a time outside the
    // years 0001 to 9999)
    apig::system_time_from_unix_seconds(millis / 1000.0).map(Some)
}
