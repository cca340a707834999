//! Percent-encoding and header-value normalisation, exactly as the APIG signers do them.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Everything but the RFC 3986 unreserved set `A-Z a-z 0-9 - _ . ~` is encoded.
const UNRESERVED_ONLY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// As [`UNRESERVED_ONLY`], but `/` stays a separator (canonical URI).
const PATH_SEGMENTS: &AsciiSet = &UNRESERVED_ONLY.remove(b'/');

/// Appends `bytes` percent-encoded with upper-case hex: every byte outside the unreserved set
/// becomes `%XX` (space is `%20`, `+` is `%2B`, `*` is `%2A`, `~` stays literal).
pub fn encode_unreserved(bytes: &[u8], out: &mut String) {
    encode_with(bytes, UNRESERVED_ONLY, false, out);
}

/// As [`encode_unreserved`] but keeps `/` literal.
pub(crate) fn encode_path(bytes: &[u8], out: &mut String) {
    encode_with(bytes, PATH_SEGMENTS, true, out);
}

/// As [`encode_path`], for text: the common case, nothing to escape, is one copy without a
/// UTF-8 check.
pub(crate) fn encode_path_text(text: &str, out: &mut String) {
    if all_literal(text.as_bytes(), true) {
        out.push_str(text);
    } else {
        out.extend(percent_encoding::percent_encode(text.as_bytes(), PATH_SEGMENTS));
    }
}

/// Whether `b` stays literal when percent-encoding (the unreserved set, and `/` in paths).
pub(crate) fn is_literal(b: u8, keep_slash: bool) -> bool {
    // without branches, so that scans over whole paths and queries vectorise: `b | 0x20` maps
    // exactly `A-Z` and `a-z` onto `a-z`
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'-') | (b == b'_') | (b == b'.') | (b == b'~') | (keep_slash & (b == b'/'))
}

/// Whether every byte of `bytes` stays literal ([`is_literal`]); a branch-free scan (it
/// vectorises): every path and query goes through it.
pub(crate) fn all_literal(bytes: &[u8], keep_slash: bool) -> bool {
    !crate::scan::any_byte(bytes, |b| !is_literal(b, keep_slash))
}

/// Encodes with `set` (which must be [`UNRESERVED_ONLY`], or [`PATH_SEGMENTS`] when `keep_slash`).
fn encode_with(bytes: &[u8], set: &'static AsciiSet, keep_slash: bool, out: &mut String) {
    // the common case, nothing to escape, is one copy
    if all_literal(bytes, keep_slash) {
        // only ASCII bytes are left unescaped, so this is valid UTF-8
        out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
        return;
    }
    out.extend(percent_encoding::percent_encode(bytes, set));
}

/// Percent-decodes `input`; malformed escapes (`%zz`, a lone `%`) are kept literally, as
/// Python's `unquote` does. With `plus_is_space`, a raw `+` decodes to a space (query strings).
pub fn decode(input: &str, plus_is_space: bool) -> Cow<'_, [u8]> {
    let bytes = input.as_bytes();
    if !crate::scan::any_byte(bytes, |b| (b == b'%') | (plus_is_space & (b == b'+'))) {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (bytes.get(i + 1).and_then(hex_value), bytes.get(i + 2).and_then(hex_value)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_value(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of `bytes`, appended to `out`.
pub(crate) fn hex_into(bytes: &[u8], out: &mut String) {
    // digests are 32 bytes: format them on the stack, then append once
    for chunk in bytes.chunks(HexText::MAX_BYTES) {
        out.push_str(HexText::new(chunk).as_str());
    }
}

/// The lower-case hex of a digest (up to [`HexText::MAX_BYTES`] bytes), on the stack.
pub(crate) struct HexText {
    digits: [u8; 2 * HexText::MAX_BYTES],
    len: usize,
}

impl HexText {
    /// The longest digest formatted (the hashes here are 32 bytes).
    pub(crate) const MAX_BYTES: usize = 32;

    /// The hex of `bytes`; bytes beyond [`HexText::MAX_BYTES`] are left out.
    pub(crate) fn new(bytes: &[u8]) -> Self {
        // arithmetic rather than a table lookup, so that the loop vectorises
        let digit = |nibble: u8| nibble + b'0' + u8::from(nibble > 9) * (b'a' - b'0' - 10);
        let mut digits = [0u8; 2 * Self::MAX_BYTES];
        for (pair, &b) in digits.chunks_exact_mut(2).zip(bytes) {
            pair[0] = digit(b >> 4);
            pair[1] = digit(b & 0x0f);
        }
        Self { digits, len: 2 * bytes.len().min(Self::MAX_BYTES) }
    }

    pub(crate) fn as_str(&self) -> &str {
        // only ASCII hex digits were written
        std::str::from_utf8(&self.digits[..self.len]).unwrap_or_default()
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    hex_into(bytes, &mut out);
    out
}

/// A header value as signed: leading and trailing spaces and tabs removed, inner whitespace kept.
pub fn normalize_header_value(value: &str) -> &str {
    crate::scan::trim_blanks(value)
}

/// Whether `name` is a valid HTTP field name (an RFC 9110 token).
#[inline]
pub(crate) fn is_token(name: &str) -> bool {
    // a table lookup per byte, without branches: names are checked on every sign (names are
    // short: a table beats the comparisons of `is_tchar` here)
    !name.is_empty() && !name.bytes().fold(false, |bad, b| bad | !TOKEN[usize::from(b)])
}

/// Whether byte `b` is an RFC 9110 `tchar` (`TOKEN[b]`), by comparisons rather than a table
/// lookup, so that scans over longer lists vectorise: letters, digits and `!#$%&'*+-.^_`|~`.
#[inline(always)]
pub(crate) fn is_tchar(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    // `#$%&'`, `*+`, `-.`, `^_``
    let ranges = (b.wrapping_sub(b'#') < 5) | (b.wrapping_sub(b'*') < 2) | (b.wrapping_sub(b'-') < 2);
    letter | digit | ranges | (b.wrapping_sub(b'^') < 3) | (b == b'!') | (b == b'|') | (b == b'~')
}

/// Whether `name` is a valid HTTP field name without upper-case letters (a `SignedHeaders` name).
pub(crate) fn is_lower_token(name: &str) -> bool {
    !name.is_empty() && !name.bytes().fold(false, |bad, b| bad | !is_lower_tchar(b))
}

/// Whether byte `b` is an RFC 9110 `tchar` other than an upper-case letter.
#[inline(always)]
pub(crate) fn is_lower_tchar(b: u8) -> bool {
    is_tchar(b) & (b.wrapping_sub(b'A') >= 26)
}

/// `TOKEN[b]`: whether byte `b` is an RFC 9110 `tchar` (as [`is_tchar`], which is tested
/// against it).
const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        // b < 256 (the loop's bound), and `u8::try_from` is not `const`
        #[allow(clippy::cast_possible_truncation)]
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        b += 1;
    }
    table
};

/// Whether `value` is a valid HTTP field value: no control characters but horizontal tab
/// (so no CR/LF header injection). Non-ASCII text is allowed and hashed as UTF-8.
#[inline]
pub(crate) fn is_field_value(value: &str) -> bool {
    // branch-free, so that it vectorises: header values are checked on every sign and verify
    !crate::scan::any_byte(value.as_bytes(), |b| ((b < 0x20) & (b != b'\t')) | (b == 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> String {
        let mut out = String::new();
        encode_unreserved(s, &mut out);
        out
    }

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(enc(b"AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(enc(b" +*:@!$'(),;=/?#&%"), "%20%2B%2A%3A%40%21%24%27%28%29%2C%3B%3D%2F%3F%23%26%25");
        assert_eq!(enc("中".as_bytes()), "%E4%B8%AD");
        assert_eq!(enc(&[0xff, 0x00]), "%FF%00");
    }

    #[test]
    fn decodes_like_unquote() {
        assert_eq!(&*decode("a%20b%7e%2F", false), b"a b~/");
        assert_eq!(&*decode("a+b", false), b"a+b");
        assert_eq!(&*decode("a+b", true), b"a b");
        assert_eq!(&*decode("100%", false), b"100%");
        assert_eq!(&*decode("%zz%4", false), b"%zz%4");
        assert_eq!(&*decode("%e4%b8%ad", false), "中".as_bytes());
    }

    #[test]
    fn literal_bytes_are_the_unreserved_set() {
        for b in 0..=255u8 {
            let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
            assert_eq!(is_literal(b, false), unreserved, "{b}");
            assert_eq!(is_literal(b, true), unreserved || b == b'/', "{b}");
            assert_eq!(all_literal(&[b'a', b, b'~'], false), unreserved, "{b}");
        }
        assert!(all_literal(b"", false) && all_literal(b"/a/b", true) && !all_literal(b"/a/b", false));
    }

    #[test]
    fn trims_only_the_ends() {
        assert_eq!(normalize_header_value(" \t a   b    c \t"), "a   b    c");
    }

    #[test]
    fn tokens_and_values() {
        assert!(is_token("X-Sdk-Date"));
        assert!(!is_token("X Sdk"));
        assert!(!is_token(""));
        for b in 0..=255u8 {
            let name = [b'x', b];
            let name = std::str::from_utf8(&name).unwrap_or("é");
            assert_eq!(is_lower_token(name), is_token(name) && !name.bytes().any(|b| b.is_ascii_uppercase()), "{b}");
        }
        assert!(!is_lower_token("") && is_lower_token("x-sdk-date") && !is_lower_token("X-Sdk-Date"));
        for b in 0..=255u8 {
            assert_eq!(is_tchar(b), TOKEN[usize::from(b)], "{b}");
            assert_eq!(is_lower_tchar(b), TOKEN[usize::from(b)] && !b.is_ascii_uppercase(), "{b}");
        }
        assert!(is_field_value("a\tb é"));
        assert!(!is_field_value("a\r\nInjected: 1"));
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
        let long: Vec<u8> = (0..=255).collect();
        assert_eq!(hex(&long).len(), 512);
        assert!(hex(&long).ends_with("fdfeff"));
    }
}
