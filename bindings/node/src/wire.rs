//! The wire format between the package's JavaScript (`lib/engine.js`) and this addon: the one
//! place it is defined. `lib/engine.js` reads the separator, the markers, the header names and the
//! piece lists from [`wire_format`] when it loads, so the two sides cannot drift apart.
//!
//! A sign request crosses as string arguments, one per piece: the number of header pieces, the
//! method, the URL, then each header's name and value (a piece holding NUL makes `sign` return
//! `null`: `lib/engine.js` then names the culprit). Everything else crosses as one JavaScript
//! string per direction (one boundary crossing, no object property reads), pieces ended by
//! [`SEPARATOR`] (NUL, which no header name or value can hold: the core refuses control
//! characters, and a count of separators catches one anyway):
//!
//! | what            | layout                                                                     |
//! |-----------------|----------------------------------------------------------------------------|
//! | headers, keys   | `name␀value␀name␀value␀…` (a key store: `accessKey␀secret␀…`) ([`unpack_pairs`]) |
//! | result          | the pieces [`RESULT_PIECES`], each then `␀`; then each header the core adds, in its order: the name as one character, [`FIRST_INDEX`] + its index in [`ADDED_HEADER_NAMES`], or [`NAMED`] then the name and `␀`; then the value as [`SAME_AS_AUTHORIZATION`] or [`SAME_AS_DATE`] (the very string of that piece) then `␀`, or [`VALUE`], the value and `␀` ([`pack_result`]) |
//! | identity        | the pieces [`IDENTITY_PIECES`] (the signing time in seconds since 1970, `1`/`0` for an unsigned payload, the signed security token or nothing), then the signed header names, each then `␀` ([`pack_identity`]) |
//!
//! The other arguments (body, payload hash, `unsignedPayload`, date) cross as JavaScript values.
//! Results are Latin-1 strings when ASCII (a plain copy), UTF-8 otherwise.

use apig::Error;
use napi_derive::napi;

use crate::errors::invalid_request;

/// Ends every piece.
pub(crate) const SEPARATOR: char = '\0';
/// The names of the headers the core adds: in a result, an added header names itself by its index
/// here, so that JavaScript sets it with a name string it already holds. A name missing from this
/// list crosses as text.
pub(crate) const ADDED_HEADER_NAMES: [&str; 4] = ["Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization"];
/// The character for index 0 of [`ADDED_HEADER_NAMES`] (then `1`, `2`, …).
pub(crate) const FIRST_INDEX: char = '0';
/// A header name that is not in [`ADDED_HEADER_NAMES`] follows as text.
pub(crate) const NAMED: char = '*';
/// The header's value is the `authorization` piece.
pub(crate) const SAME_AS_AUTHORIZATION: char = 'a';
/// The header's value is the `date` piece.
pub(crate) const SAME_AS_DATE: char = 'd';
/// The header's value follows as text.
pub(crate) const VALUE: char = '=';
/// The fixed pieces of a result, in order (`credentialScope` empty when there is none).
pub(crate) const RESULT_PIECES: [&str; 7] =
    ["authorization", "signature", "canonicalRequest", "stringToSign", "signedHeaders", "date", "credentialScope"];
/// The fixed pieces of an identity, in order; the signed header names follow.
pub(crate) const IDENTITY_PIECES: [&str; 5] =
    ["accessKey", "algorithm", "signedAtSeconds", "unsignedPayload", "securityToken"];

/// The layout above, for `lib/engine.js` (read once when the package loads).
#[napi(object, object_from_js = false)]
pub struct WireFormat {
    /// [`SEPARATOR`].
    pub separator: String,
    /// [`ADDED_HEADER_NAMES`].
    pub added_header_names: Vec<&'static str>,
    /// [`FIRST_INDEX`].
    pub first_index: String,
    /// [`NAMED`].
    pub named: String,
    /// [`SAME_AS_AUTHORIZATION`].
    pub same_as_authorization: String,
    /// [`SAME_AS_DATE`].
    pub same_as_date: String,
    /// [`VALUE`].
    pub value: String,
    /// [`RESULT_PIECES`].
    pub result_pieces: Vec<&'static str>,
    /// [`IDENTITY_PIECES`].
    pub identity_pieces: Vec<&'static str>,
}

/// Internal: the wire format's constants, for `lib/engine.js`.
#[napi(skip_typescript)]
pub fn wire_format() -> WireFormat {
    WireFormat {
        separator: SEPARATOR.to_string(),
        added_header_names: ADDED_HEADER_NAMES.to_vec(),
        first_index: FIRST_INDEX.to_string(),
        named: NAMED.to_string(),
        same_as_authorization: SAME_AS_AUTHORIZATION.to_string(),
        same_as_date: SAME_AS_DATE.to_string(),
        value: VALUE.to_string(),
        result_pieces: RESULT_PIECES.to_vec(),
        identity_pieces: IDENTITY_PIECES.to_vec(),
    }
}

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
    pub(crate) fn new() -> Self {
        Self::Inline([("", ""); INLINE_PAIRS], 0)
    }

    pub(crate) fn push(&mut self, pair: (&'a str, &'a str)) {
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

/// Writes `output` into `out` as a packed result (the layout above). A piece holding NUL is
/// refused: it would shift every piece after it. Returns whether `out` is ASCII.
pub(crate) fn pack_result(output: &apig::SigningOutput, out: &mut String) -> Result<bool, Error> {
    out.clear();
    let mut pieces = 0;
    let mut piece = |out: &mut String, text: &str| {
        out.push_str(text);
        out.push(SEPARATOR);
        pieces += 1;
    };
    for text in [
        output.authorization.as_str(),
        output.signature.as_str(),
        output.trace.canonical_request.as_str(),
        output.trace.string_to_sign.as_str(),
        output.signed_headers.as_str(),
        output.date.as_str(),
        output.credential_scope.as_deref().unwrap_or(""),
    ] {
        piece(out, text);
    }
    for (name, value) in output.headers() {
        match ADDED_HEADER_NAMES.iter().zip(FIRST_INDEX..).find(|(known, _)| **known == name) {
            Some((_, code)) => out.push(code),
            None => {
                out.push(NAMED);
                piece(out, name);
            }
        }
        if std::ptr::eq(value, output.authorization.as_str()) {
            out.push(SAME_AS_AUTHORIZATION);
            piece(out, "");
        } else if std::ptr::eq(value, output.date.as_str()) {
            out.push(SAME_AS_DATE);
            piece(out, "");
        } else {
            out.push(VALUE);
            piece(out, value);
        }
    }
    // one pass over the result rather than one per piece: a NUL inside a piece would shift
    // every piece after it
    let (separators, ascii) = scan(out);
    if separators != pieces {
        return Err(invalid_request("a signed value contains NUL"));
    }
    Ok(ascii)
}

/// Writes `verified` into `out` as a packed identity (the layout above). Returns whether `out` is
/// ASCII.
pub(crate) fn pack_identity(verified: &apig::Verified, out: &mut String) -> Result<bool, Error> {
    let seconds = verified.date.unix_seconds().to_string();
    let unsigned = if verified.unsigned_payload { "1" } else { "0" };
    let token = verified.security_token.as_ref().map_or("", |token| token.expose());
    let fixed = [verified.access_key.as_str(), verified.algorithm.as_str(), seconds.as_str(), unsigned, token];
    let mut pieces = 0;
    for piece in fixed.into_iter().chain(verified.signed_header_names()) {
        out.push_str(piece);
        out.push(SEPARATOR);
        pieces += 1;
    }
    let (separators, ascii) = scan(out);
    if separators != pieces {
        return Err(invalid_request("a verified value contains NUL"));
    }
    Ok(ascii)
}
