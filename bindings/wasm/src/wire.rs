//! The wire format between the package's JavaScript (`js/engine.js`) and this module: the one
//! place it is defined. `js/engine.js` reads the flags, the control block's slots and the field
//! lists from [`wire_tables`] when it loads, so the two sides cannot drift apart.
//!
//! Requests and answers cross through scratch memory inside the module that JavaScript reads and
//! writes directly (no per-call string marshalling or allocation by wasm-bindgen). The control
//! block (`u32`s at a fixed address, [`scratch`] returns it) says where the areas are; its slots:
//!
//! | slot             | holds                                                                   |
//! |------------------|-------------------------------------------------------------------------|
//! | `INPUT`, `INPUT_SIZE` | the input area's address and size in bytes                         |
//! | `LENGTHS`, `LENGTHS_SIZE` | the lengths area's address and size in `u32`s                  |
//! | `ANSWER`, `ANSWER_LENGTH` | the answer text's address and byte length                      |
//! | `RANGES`         | the address of the answer's `(start, length)` byte pairs, one per field |
//!
//! A request (`signScratch` / `verifyScratch`): its strings `method url (name value)* [time]
//! [body text | payload hash]` UTF-8 encoded and joined in the input area, each one's length in
//! UTF-16 units (JavaScript's `length`) in the lengths area, the body bytes (if any) right after
//! the strings; the arguments are the number of header pairs, the flags (one body kind
//! `BODY_*`, at most one time kind `TIME_*`), the byte lengths of the strings and of the body, and
//! the time in milliseconds ([`Unpacked::new`]).
//!
//! An answer: text in the answer area and each field's byte range in it (a field that repeats an
//! earlier one, such as the `Authorization` header's value, is given as its range; a header name as
//! its index in [`ADDED_HEADER_NAMES`], marked by [`NAME`]). `signScratch` answers [`RESULT_FIELDS`]
//! then each added header's name and value, and returns the number of fields, or
//! [`crate::errors::FAILED`] (0) when it failed: `takeError()` then returns the error. `verifyScratch`
//! returns [`IDENTITY_FIELDS`] joined by NUL (the signed header names joined by `;`), or throws. An
//! error, thrown or taken, is [`crate::errors::ERROR_FIELDS`] joined by NUL.

use std::cell::RefCell;
use std::time::SystemTime;

use apig::{Error, ErrorKind, SdkDate, SignableBody};
use wasm_bindgen::prelude::*;

use crate::errors::js_error;

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

/// The fields `signScratch` answers first, in order (`credentialScope` empty when there is none).
/// (This list, [`IDENTITY_FIELDS`] and [`crate::errors::ERROR_FIELDS`] document the layout; the
/// tests check [`WIRE_LAYOUT`] against them.)
#[cfg_attr(not(test), allow(dead_code))]
const RESULT_FIELDS: [&str; 7] =
    ["authorization", "signature", "canonicalRequest", "stringToSign", "signedHeaders", "date", "credentialScope"];
/// The fields `verifyScratch` returns, in order.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const IDENTITY_FIELDS: [&str; 6] =
    ["accessKey", "algorithm", "signedHeaders", "signedAtMillis", "unsignedPayload", "securityToken"];

/// The layout above as JSON, with the core's error codes (`ErrorKind::ALL`, in order) and
/// hop-by-hop headers, for `js/engine.js` (read once when the package loads). Written out as one
/// constant (no formatting code in the module); the test `the_layout_is_the_constants` fails when
/// it differs from the constants it restates.
const WIRE_LAYOUT: &str = "BODY_TEXT=1 BODY_BYTES=2 BODY_HASH=3 BODY_UNSIGNED=4 TIME_TEXT=8 TIME_MILLIS=16 \
    INPUT=0 INPUT_SIZE=1 LENGTHS=2 LENGTHS_SIZE=3 ANSWER=4 ANSWER_LENGTH=5 RANGES=6 \
    RESULT_FIELDS=7 IDENTITY_FIELDS=6 ERROR_FIELDS=5 NAME=4294967295";

/// The core's hop-by-hop headers (`apig::HOP_BY_HOP_HEADERS`) joined by spaces, written out (no
/// joining code in the module); the test `the_layout_is_the_constants` fails when they differ.
const HOP_BY_HOP: &str = "connection keep-alive proxy-authenticate proxy-authorization proxy-connection te trailer transfer-encoding upgrade";

/// [`ADDED_HEADER_NAMES`] joined by spaces (the test `the_layout_is_the_constants` checks it).
const ADDED_NAMES: &str = "Host X-Sdk-Date X-Sdk-Content-Sha256 Authorization";

/// What `js/engine.js` reads once when the package loads, joined by NUL: [`WIRE_LAYOUT`], the
/// core's error codes (`ErrorKind::ALL`, in order) joined by spaces, [`HOP_BY_HOP`],
/// [`ADDED_NAMES`], then the APIG answers of [`crate::errors::push_answers`].
#[wasm_bindgen(js_name = wireTables, skip_typescript)]
pub fn wire_tables() -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(WIRE_LAYOUT);
    let mut separator = '\0';
    for kind in ErrorKind::ALL {
        out.push(separator);
        out.push_str(kind.code());
        separator = ' ';
    }
    out.push('\0');
    out.push_str(HOP_BY_HOP);
    out.push('\0');
    out.push_str(ADDED_NAMES);
    out.push('\0');
    crate::errors::push_answers(&mut out);
    out
}

/// Header pairs kept inline (no allocation) up to this many.
const INLINE_HEADERS: usize = 8;

/// A request unpacked: borrowed from the input area.
pub(crate) struct Unpacked<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    inline: [(&'a str, &'a str); INLINE_HEADERS],
    heap: Vec<(&'a str, &'a str)>,
    header_count: usize,
    pub(crate) body: SignableBody<'a>,
    /// The signing (or verifying) time given, if any (else the clock's).
    pub(crate) time: Option<SystemTime>,
}

/// The fields of the joined strings, cut by their lengths in UTF-16 units: byte lengths when the
/// text is ASCII, else counted out character by character. The last field is the rest.
struct Fields<'a, 'l> {
    rest: &'a str,
    lengths: std::slice::Iter<'l, u32>,
    ascii: bool,
}

impl<'a> Fields<'a, '_> {
    fn next(&mut self) -> Result<&'a str, Error> {
        let units = *self.lengths.next().ok_or_else(malformed)? as usize;
        if self.lengths.len() == 0 {
            return Ok(std::mem::take(&mut self.rest));
        }
        let end = if self.ascii { units } else { utf8_len(self.rest, units)? };
        let (field, rest) = self.rest.split_at_checked(end).ok_or_else(malformed)?;
        self.rest = rest;
        Ok(field)
    }
}

/// The byte length of the first `units` UTF-16 units of `text`.
fn utf8_len(text: &str, units: usize) -> Result<usize, Error> {
    let (mut left, mut bytes) = (units, 0);
    let mut chars = text.chars();
    while left > 0 {
        let c = chars.next().ok_or_else(malformed)?;
        // a field ending in the first half of a surrogate pair whose second half starts the next
        left = left.checked_sub(c.len_utf16()).ok_or_else(|| {
            Error::new(ErrorKind::InvalidRequest, "a string of the request ends in half a UTF-16 surrogate pair")
        })?;
        bytes += c.len_utf8();
    }
    Ok(bytes)
}

impl<'a> Unpacked<'a> {
    /// `method url name value…[date][body text | payload hash]` with `headers` pairs, joined: the
    /// first `text` bytes of `input`, the field lengths (UTF-16 units) in `lengths`; the body
    /// bytes (for [`BODY_BYTES`]) the `bytes` bytes after them.
    pub(crate) fn new(
        input: &'a [u8],
        lengths: &[u32],
        headers: u32,
        flags: u32,
        text: u32,
        bytes: u32,
        millis: f64,
    ) -> Result<Self, Error> {
        let (text, bytes) = (text as usize, bytes as usize);
        let body_bytes = input.get(text..text.saturating_add(bytes)).ok_or_else(malformed)?;
        let text = input.get(..text).and_then(|t| std::str::from_utf8(t).ok()).ok_or_else(malformed)?;
        let body_kind = flags & BODY_MASK;
        let count = 2
            + 2 * headers as usize
            + usize::from(flags & TIME_TEXT != 0)
            + usize::from(matches!(body_kind, BODY_TEXT | BODY_HASH));
        let lengths = lengths.get(..count).ok_or_else(malformed)?;
        // as many bytes as UTF-16 units: all ASCII
        let ascii = lengths.iter().map(|&n| n as usize).sum::<usize>() == text.len();
        let mut fields = Fields { rest: text, lengths: lengths.iter(), ascii };
        let (method, url) = (fields.next()?, fields.next()?);
        let header_count = headers as usize;
        let mut inline = [("", ""); INLINE_HEADERS];
        let mut heap = Vec::new();
        if header_count <= INLINE_HEADERS {
            for pair in &mut inline[..header_count] {
                *pair = (fields.next()?, fields.next()?);
            }
        } else {
            for _ in 0..header_count {
                heap.push((fields.next()?, fields.next()?));
            }
        }
        let time = if flags & TIME_TEXT != 0 {
            let date = SdkDate::parse(fields.next()?)?;
            if date.unix_seconds() < 0 {
                return Err(Error::new(ErrorKind::InvalidRequest, "the time must be after 1970"));
            }
            Some(date.to_system_time())
        } else if flags & TIME_MILLIS != 0 {
            if millis < 0.0 {
                // wasm32's SystemTime starts at 1970
                return Err(Error::new(ErrorKind::InvalidRequest, "the time must be after 1970"));
            }
            // the core converts and range-checks (malformed_date for an invalid Date or a time
            // after the year 9999)
            Some(apig::system_time_from_unix_seconds(millis / 1000.0)?)
        } else {
            None
        };
        let body = match body_kind {
            BODY_EMPTY => SignableBody::Bytes(&[]),
            BODY_TEXT => SignableBody::Bytes(fields.next()?.as_bytes()),
            BODY_BYTES => SignableBody::Bytes(body_bytes),
            BODY_HASH => SignableBody::Precomputed(fields.next()?),
            BODY_UNSIGNED => SignableBody::Unsigned,
            _ => return Err(malformed()),
        };
        Ok(Self { method, url, inline, heap, header_count, body, time })
    }

    /// The header pairs.
    pub(crate) fn headers(&self) -> &[(&'a str, &'a str)] {
        if self.header_count <= INLINE_HEADERS { &self.inline[..self.header_count] } else { &self.heap }
    }

    /// The core's request.
    pub(crate) fn signable(&self) -> apig::SignableRequest<'_> {
        apig::SignableRequest::new(self.method, self.url, self.headers(), self.body)
    }
}

// The control block's slots: where the areas are.
/// The input area's address and size.
const INPUT: usize = 0;
const INPUT_SIZE: usize = 1;
/// The lengths area's address and size (in `u32`s).
const LENGTHS: usize = 2;
const LENGTHS_SIZE: usize = 3;
/// The answer's text: address and byte length.
const ANSWER: usize = 4;
const ANSWER_LEN: usize = 5;
/// The answer's field ranges: address of the `(start, length)` byte pairs.
const RANGES: usize = 6;
const CONTROL_SLOTS: usize = 7;

/// The error for input the JavaScript half cannot have written.
fn malformed() -> Error {
    Error::new(ErrorKind::InvalidRequest, "malformed packed request")
}

/// The length that marks a field as a header name's index in [`ADDED_HEADER_NAMES`] ([`Answer::name`]).
const NAME: u32 = u32::MAX;

/// The names of the headers the core adds: in an answer, an added header names itself by its index
/// here (JavaScript then sets it with a name string it already holds); another name is text.
const ADDED_HEADER_NAMES: [&str; 4] = ["Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization"];

/// The smallest input and lengths areas.
const MIN_INPUT: usize = 4096;
const MIN_LENGTHS: usize = 64;

/// The memory shared with the JavaScript half: the control block (at a fixed address) says where
/// the areas are, which move when they grow.
pub(crate) struct Scratch {
    control: [u32; CONTROL_SLOTS],
    pub(crate) input: Vec<u8>,
    pub(crate) lengths: Vec<u32>,
    text: Vec<u8>,
    ranges: Vec<u32>,
}

thread_local! {
    // constant-initialised: in a static on wasm32 (no threads), so the control block stays put
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            control: [0; CONTROL_SLOTS],
            input: Vec::new(),
            lengths: Vec::new(),
            text: Vec::new(),
            ranges: Vec::new(),
        })
    };
}

/// An address in the module's memory (32-bit on wasm32, where this is exact).
#[allow(clippy::cast_possible_truncation)]
fn address<T>(pointer: *const T) -> u32 {
    pointer as usize as u32
}

/// A length as a control block slot (exact on wasm32, where a `usize` is 32 bits).
#[allow(clippy::cast_possible_truncation)]
fn slot(n: usize) -> u32 {
    n as u32
}

impl Scratch {
    fn resize(&mut self, input: usize, lengths: usize) {
        // a new area: JavaScript writes it after this call, so nothing needs to be kept
        fn set<T: Copy + Default>(area: &mut Vec<T>, size: usize) {
            if area.len() != size {
                *area = vec![T::default(); size];
            }
        }
        set(&mut self.input, input.max(MIN_INPUT));
        set(&mut self.lengths, lengths.max(MIN_LENGTHS));
        self.control[INPUT] = address(self.input.as_ptr());
        self.control[INPUT_SIZE] = slot(self.input.len());
        self.control[LENGTHS] = address(self.lengths.as_ptr());
        self.control[LENGTHS_SIZE] = slot(self.lengths.len());
    }

    /// The answer, written from the start of its areas.
    pub(crate) fn answer(&mut self) -> Answer<'_> {
        self.text.clear();
        self.ranges.clear();
        Answer { text: &mut self.text, ranges: &mut self.ranges, control: &mut self.control }
    }
}

/// Runs `f` on the scratch memory.
pub(crate) fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> Result<T, JsValue>) -> Result<T, JsValue> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch
            .try_borrow_mut()
            .map_err(|_| js_error(ErrorKind::InvalidRequest, "apig-wasm was re-entered while busy"))?;
        f(&mut scratch)
    })
}

/// Sizes the input area to `input` bytes and the lengths area to `lengths` entries (at least a
/// few kilobytes and entries; their contents are not kept), and returns the
/// control block's address: `[input, inputSize, lengths, lengthsSize, answer, answerLength,
/// ranges]` (`u32`s).
///
/// # Errors
/// `invalid_request` if called while a request is using the scratch (it cannot be: nothing calls
/// back into JavaScript meanwhile).
#[wasm_bindgen(js_name = scratch, skip_typescript)]
pub fn scratch(input: u32, lengths: u32) -> Result<u32, JsValue> {
    with_scratch(|scratch| {
        scratch.resize(input as usize, lengths as usize);
        Ok(address(scratch.control.as_ptr()))
    })
}

/// The module's memory (a `WebAssembly.Memory`), for the JavaScript half's views of the scratch.
#[wasm_bindgen(js_name = wasmMemory, skip_typescript)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// An answer being written: its text, and each field as a `(start, length)` byte range of it.
pub(crate) struct Answer<'s> {
    text: &'s mut Vec<u8>,
    ranges: &'s mut Vec<u32>,
    control: &'s mut [u32; CONTROL_SLOTS],
}

/// A field's byte range in the answer's text.
#[derive(Clone, Copy)]
pub(crate) struct Range {
    start: usize,
    len: usize,
}

impl Answer<'_> {
    fn record(&mut self, range: Range) -> Range {
        self.ranges.extend([slot(range.start), slot(range.len)]);
        range
    }

    /// A field with the text `value`, appended.
    pub(crate) fn push(&mut self, value: &str) -> Range {
        let start = self.text.len();
        self.text.extend_from_slice(value.as_bytes());
        self.record(Range { start, len: value.len() })
    }

    /// A header name: one of [`ADDED_HEADER_NAMES`] as its index, marked by a length of [`NAME`];
    /// another as text.
    pub(crate) fn name(&mut self, name: &str) {
        match ADDED_HEADER_NAMES.iter().position(|known| *known == name) {
            Some(index) => self.ranges.extend([slot(index), NAME]),
            None => {
                self.push(name);
            }
        }
    }

    /// A field that repeats an earlier one.
    pub(crate) fn again(&mut self, range: Range) -> Range {
        self.record(range)
    }

    /// Finishes the answer: its areas in the control block; returns the number of fields.
    pub(crate) fn finish(self) -> u32 {
        self.control[ANSWER] = address(self.text.as_ptr());
        self.control[ANSWER_LEN] = slot(self.text.len());
        self.control[RANGES] = address(self.ranges.as_ptr());
        slot(self.ranges.len() / 2)
    }

    /// The text written so far (tests).
    #[cfg(test)]
    fn field(&self, n: usize) -> &str {
        let (start, len) = (self.ranges[2 * n] as usize, self.ranges[2 * n + 1] as usize);
        std::str::from_utf8(&self.text[start..start + len]).unwrap_or("<not UTF-8>")
    }
}

/// Strings joined by NUL, the packed answer `js/engine.js` splits (no value can contain NUL:
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
#[allow(clippy::cast_possible_truncation)] // the tests' inputs are a few hundred bytes: every length fits a u32
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

    /// `fields` joined with `body` after them, as the JavaScript half writes them (the lengths in
    /// UTF-16 units), unpacked.
    fn unpack<'a>(
        input: &'a mut Vec<u8>,
        fields: &[&str],
        headers: u32,
        flags: u32,
        body: &[u8],
        millis: f64,
    ) -> Unpacked<'a> {
        let text = fields.concat();
        let lengths: Vec<u32> = fields.iter().map(|f| f.encode_utf16().count() as u32).collect();
        input.extend_from_slice(text.as_bytes());
        input.extend_from_slice(body);
        match Unpacked::new(input, &lengths, headers, flags, text.len() as u32, body.len() as u32, millis) {
            Ok(unpacked) => unpacked,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn unpacking() {
        let mut input = Vec::new();
        let r = unpack(&mut input, &["GET", "https://h/", "A", "1", "b", ""], 2, BODY_EMPTY, &[], 0.0);
        assert_eq!((r.method, r.url), ("GET", "https://h/"));
        assert_eq!(r.headers(), [("A", "1"), ("b", "")]);
        assert!(matches!(r.body, SignableBody::Bytes([])) && r.time.is_none());
        let mut input = Vec::new();
        let r = unpack(&mut input, &["PUT", "/", "x\0\0y"], 0, BODY_TEXT | TIME_MILLIS, &[], 1500.0);
        assert!(matches!(r.body, SignableBody::Bytes(b"x\0\0y")));
        assert_eq!(r.time, crate::time::system_time_from_millis(1500.0));
        let mut input = Vec::new();
        let r = unpack(&mut input, &["PUT", "/", "20240403T101500Z", "abc"], 0, BODY_HASH | TIME_TEXT, &[], 0.0);
        assert!(matches!(r.body, SignableBody::Precomputed("abc")));
        assert_eq!(r.time, Some(SdkDate::parse("20240403T101500Z").ok().unwrap().to_system_time()));
        let mut input = Vec::new();
        let r = unpack(&mut input, &["PUT", "/"], 0, BODY_BYTES, b"raw", 0.0);
        assert!(matches!(r.body, SignableBody::Bytes(b"raw")));
        let mut input = Vec::new();
        let r = unpack(&mut input, &["PUT", "/"], 0, BODY_UNSIGNED, &[], 0.0);
        assert!(matches!(r.body, SignableBody::Unsigned));
    }

    #[test]
    fn unpacking_non_ascii_and_many_headers() {
        // not ASCII: the UTF-16 lengths counted out in characters
        let mut input = Vec::new();
        let r = unpack(&mut input, &["GET", "https://h/é", "X-Name", "ü😀", "a\0é"], 1, BODY_TEXT, &[], 0.0);
        assert_eq!(r.url, "https://h/é");
        assert_eq!(r.headers(), [("X-Name", "ü😀")]);
        assert!(matches!(r.body, SignableBody::Bytes(b) if b == "a\0é".as_bytes()));
        // more pairs than kept inline
        let pairs: Vec<String> = (0..2 * (INLINE_HEADERS + 3)).map(|i| format!("h{i}")).collect();
        let mut fields = vec!["GET", "/"];
        fields.extend(pairs.iter().map(String::as_str));
        let mut input = Vec::new();
        let r = unpack(&mut input, &fields, INLINE_HEADERS as u32 + 3, BODY_EMPTY, &[], 0.0);
        assert_eq!(r.headers().len(), INLINE_HEADERS + 3);
        assert_eq!(r.headers()[INLINE_HEADERS + 2], ("h20", "h21"));
        // too few fields, bad lengths, a surrogate pair split between fields: errors, no panics
        assert!(Unpacked::new(b"GET", &[3], 0, BODY_EMPTY, 3, 0, 0.0).is_err());
        assert!(Unpacked::new(b"GET/", &[3, 1], 0, BODY_EMPTY, 9, 0, 0.0).is_err());
        assert!(Unpacked::new(b"GET/", &[3, 1], 0, BODY_BYTES, 4, 9, 0.0).is_err());
        assert!(Unpacked::new("G\u{e9}T/".as_bytes(), &[9, 1], 0, BODY_EMPTY, 5, 0, 0.0).is_err());
        let pair = "GET/\u{1F600}".as_bytes();
        assert!(Unpacked::new(pair, &[3, 2, 1, 1], 1, BODY_EMPTY, 8, 0, 0.0).is_err());
    }

    #[test]
    fn scratch_areas_and_answers() {
        let control = scratch(10, 2).ok().unwrap();
        assert_ne!(control, 0);
        with_scratch(|s| {
            assert_eq!((s.input.len(), s.lengths.len()), (MIN_INPUT, MIN_LENGTHS));
            assert_eq!(s.control[INPUT_SIZE] as usize, MIN_INPUT);
            s.resize(MIN_INPUT * 4, 1000);
            assert_eq!((s.input.len(), s.lengths.len()), (MIN_INPUT * 4, 1000));
            let mut answer = s.answer();
            let auth = answer.push("Alg Signature=abc");
            answer.push("xyz");
            answer.push("");
            answer.again(auth);
            answer.name("Host");
            answer.name("Authorization");
            answer.name("X-Other");
            assert_eq!(
                [answer.field(0), answer.field(1), answer.field(2), answer.field(3)],
                ["Alg Signature=abc", "xyz", "", "Alg Signature=abc"]
            );
            assert_eq!(answer.ranges[8..], [0, NAME, 3, NAME, 20, 7]);
            assert_eq!(answer.finish(), 7);
            assert_eq!(s.control[ANSWER_LEN], 27);
            Ok(())
        })
        .ok()
        .unwrap();
    }

    /// [`WIRE_LAYOUT`] from the constants it restates.
    fn layout_from_constants() -> String {
        format!(
            "BODY_TEXT={BODY_TEXT} BODY_BYTES={BODY_BYTES} BODY_HASH={BODY_HASH} BODY_UNSIGNED={BODY_UNSIGNED} \
             TIME_TEXT={TIME_TEXT} TIME_MILLIS={TIME_MILLIS} INPUT={INPUT} INPUT_SIZE={INPUT_SIZE} LENGTHS={LENGTHS} \
             LENGTHS_SIZE={LENGTHS_SIZE} ANSWER={ANSWER} ANSWER_LENGTH={ANSWER_LEN} RANGES={RANGES} \
             RESULT_FIELDS={} IDENTITY_FIELDS={} ERROR_FIELDS={} NAME={NAME}",
            RESULT_FIELDS.len(),
            IDENTITY_FIELDS.len(),
            crate::errors::ERROR_FIELDS.len(),
        )
    }

    #[test]
    fn the_layout_is_the_constants() {
        assert_eq!(WIRE_LAYOUT, layout_from_constants());
        assert_eq!(HOP_BY_HOP, apig::HOP_BY_HOP_HEADERS.join(" "));
        let codes: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.code()).collect();
        assert_eq!(ADDED_NAMES, ADDED_HEADER_NAMES.join(" "));
        let mut answers = String::new();
        crate::errors::push_answers(&mut answers);
        assert_eq!(
            wire_tables(),
            format!("{WIRE_LAYOUT}\0{}\0{HOP_BY_HOP}\0{ADDED_NAMES}\0{answers}", codes.join(" "))
        );
        assert_eq!(CONTROL_SLOTS, 7);
    }
}
