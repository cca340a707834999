//! Byte scans for ASCII delimiters in text.
//!
//! `str::split(';')`, `find('?')`, `split_once('=')` … go through the standard library's generic
//! UTF-8 character searcher, which costs several times a plain byte loop on the short strings of a
//! request (names, URLs, header values), and those run on every sign and verify. An ASCII byte
//! never occurs inside a multi-byte UTF-8 sequence (whose bytes are all `0x80` or above), so a byte
//! scan finds exactly the positions the character search finds, and every position it returns is
//! a character boundary. Every function here takes an ASCII delimiter and returns what the `str`
//! method of the same name returns (the tests compare them on many inputs).

/// Whether `test` holds for any byte of `bytes` (`bytes.iter().any(…)`), for tests without
/// branches: sixteen bytes a step, the last step overlapping the one before (eight bytes a step
/// for inputs of 8 to 15 bytes), so that inputs of a few dozen bytes (the paths, queries and
/// header values of a request) are scanned in vector registers too, where a plain loop vectorises
/// only blocks of 32 to 64 bytes.
#[inline(always)]
pub(crate) fn any_byte(bytes: &[u8], test: impl Fn(u8) -> bool) -> bool {
    let any = |bytes: &[u8]| bytes.iter().fold(false, |found, &b| found | test(b));
    let block8 = |block: &[u8; 8]| block.iter().fold(false, |found, &b| found | test(b));
    let block16 = |block: &[u8; 16]| block.iter().fold(false, |found, &b| found | test(b));
    if bytes.len() < 8 {
        return any(bytes);
    }
    if bytes.len() < 16 {
        // the first and the last eight bytes, which overlap
        return bytes.first_chunk::<8>().is_some_and(block8) | bytes.last_chunk::<8>().is_some_and(block8);
    }
    let (blocks, rest) = bytes.as_chunks::<16>();
    let found = blocks.iter().fold(false, |found, b| found | block16(b));
    // the last sixteen bytes again, which include the rest
    found | (!rest.is_empty() & bytes.last_chunk::<16>().is_some_and(block16))
}

/// Whether `name` is `lower` ignoring ASCII case, where `lower` has no upper-case letter (a
/// header name constant, or a validated `SignedHeaders` name): `name.eq_ignore_ascii_case(lower)`
/// with one side lower-cased and no early exit (names are a few bytes).
pub(crate) fn eq_lower(name: &str, lower: &str) -> bool {
    debug_assert!(!lower.bytes().any(|b| b.is_ascii_uppercase()));
    name.len() == lower.len()
        && !name.bytes().zip(lower.bytes()).fold(false, |differ, (a, b)| differ | (a.to_ascii_lowercase() != b))
}

/// The byte index of the first `needle` in `s`, for the rare paths that look for a word (error
/// messages): a plain window compare, where `str::find(&str)` would bring `core`'s two-way
/// searcher (~2 KB) into the browser's WebAssembly module.
pub(crate) fn find_text(s: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    s.as_bytes().windows(needle.len()).position(|window| window == needle.as_bytes())
}

/// The index of the first `delim` in `s` (`str::find`).
pub(crate) fn find(s: &str, delim: u8) -> Option<usize> {
    debug_assert!(delim.is_ascii());
    find_byte(s.as_bytes(), delim)
}

/// The index of the first `byte` in `bytes`, eight bytes per step (a URL is scanned whole for
/// `#` and `?` on every request; the standard library's `memchr` is not public).
fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);
    let pattern = ONES * u64::from(byte);
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        // little-endian on every target, so that the first byte is the lowest
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default()) ^ pattern;
        // exactly the zero bytes of `x` (the bytes equal to `byte`) get their high bit set:
        // no carry crosses a byte in `(x & LOW7) + LOW7`
        let zero = !(((x & LOW7) + LOW7) | x | LOW7);
        if zero != 0 {
            return Some(offset + (zero.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    if words.remainder().is_empty() {
        return None;
    }
    match bytes.last_chunk::<8>() {
        // the last eight bytes, overlapping bytes already seen, none of which matched
        Some(last) => {
            let x = u64::from_le_bytes(*last) ^ pattern;
            let zero = !(((x & LOW7) + LOW7) | x | LOW7);
            (zero != 0).then(|| bytes.len() - 8 + (zero.trailing_zeros() / 8) as usize)
        }
        None => bytes.iter().position(|&b| b == byte),
    }
}

/// The index of the last `delim` in `s` (`str::rfind`).
pub(crate) fn rfind(s: &str, delim: u8) -> Option<usize> {
    debug_assert!(delim.is_ascii());
    s.bytes().rposition(|b| b == delim)
}

/// Whether `s` contains `delim` (`str::contains`).
pub(crate) fn contains(s: &str, delim: u8) -> bool {
    debug_assert!(delim.is_ascii());
    // branch-free, so that it vectorises: no early exit on these short strings
    s.bytes().fold(false, |found, b| found | (b == delim))
}

/// `s` split at the first `delim`, which is left out (`str::split_once`).
pub(crate) fn split_once(s: &str, delim: u8) -> Option<(&str, &str)> {
    find(s, delim).map(|i| (sub(s, ..i), sub(s, i + 1..)))
}

/// `s` split at the last `delim`, which is left out (`str::rsplit_once`).
pub(crate) fn rsplit_once(s: &str, delim: u8) -> Option<(&str, &str)> {
    rfind(s, delim).map(|i| (sub(s, ..i), sub(s, i + 1..)))
}

/// The pieces of `s` between `delim`s (`str::split`: an empty `s` is one empty piece, and empty
/// pieces are kept).
pub(crate) fn split(s: &str, delim: u8) -> Split<'_> {
    debug_assert!(delim.is_ascii());
    Split { rest: Some(s), delim }
}

impl<'a> Split<'a> {
    /// What is left to split, without searching it: `None` once the last piece was returned.
    pub(crate) fn remainder(&self) -> Option<&'a str> {
        self.rest
    }
}

/// The iterator of [`split`].
#[derive(Debug, Clone)]
pub(crate) struct Split<'a> {
    /// What is left to split; `None` once the last piece was returned.
    rest: Option<&'a str>,
    delim: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match find(rest, self.delim) {
            Some(i) => {
                self.rest = Some(sub(rest, i + 1..));
                Some(sub(rest, ..i))
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

impl std::iter::FusedIterator for Split<'_> {}

/// `s` without leading and trailing spaces and tabs (`str::trim_matches([' ', '\t'])`).
pub(crate) fn trim_blanks(s: &str) -> &str {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = s.as_bytes();
    let Some(start) = bytes.iter().position(|b| !blank(b)) else { return "" };
    let end = bytes.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    sub(s, start..end)
}

/// `&s[range]` for byte offsets found at ASCII bytes (always character boundaries), without the
/// panic `&s[range]` has for an offset inside a character: its message formats the character and
/// the range with `Debug`, kilobytes of the browser's WebAssembly module (`""` for such an offset,
/// which the core never makes).
#[inline]
pub(crate) fn sub<R: std::slice::SliceIndex<str, Output = str>>(s: &str, range: R) -> &str {
    s.get(range).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_is_str_indexing_and_empty_inside_a_character() {
        let s = "aé中/b";
        for (start, end) in [(0, 0), (0, 1), (1, 3), (3, 6), (6, 7), (7, 8), (0, 8)] {
            assert_eq!(sub(s, start..end), &s[start..end]);
            assert_eq!(sub(s, ..end), &s[..end]);
            assert_eq!(sub(s, start..), &s[start..]);
        }
        // where `&s[..]` panics: inside a character, past the end
        for (start, end) in [(2, 3), (1, 4), (0, 9), (9, 9)] {
            assert_eq!(sub(s, start..end), "");
        }
    }

    #[test]
    fn find_text_is_str_find() {
        let texts = ["", "a", "signature expired, signature time:x", "ééé time: é", "abcabcabd", "time:"];
        for text in texts {
            for needle in ["", "time:", "abd", "é", "signature expired", "zz", "abcabcabdx"] {
                assert_eq!(find_text(text, needle), text.find(needle), "{text:?} {needle:?}");
            }
        }
    }

    /// Strings mixing the delimiters with multi-byte characters (2, 3 and 4 bytes), at every
    /// position, including empty pieces.
    fn samples() -> Vec<String> {
        let atoms = ["", "a", ";", "?", "#", "=", "@", " ", "\t", "é", "中", "😀", "/", "&", "\u{80}", ",", "\n", ":"];
        let mut out = vec![String::new()];
        for a in atoms {
            for b in atoms {
                for c in atoms {
                    out.push(format!("{a}{b}{c}"));
                    out.push(format!("{a}x{b}{c}{a}"));
                }
            }
        }
        out
    }

    #[test]
    fn eq_lower_is_eq_ignore_ascii_case() {
        let names =
            ["", "host", "Host", "HOST", "hosT", "hist", "x-sdk-date", "X-Sdk-Date", "x_sdk-date", "é", "É", "hosté"];
        for name in names {
            for lower in names.iter().filter(|l| !l.bytes().any(|b| b.is_ascii_uppercase())) {
                assert_eq!(eq_lower(name, lower), name.eq_ignore_ascii_case(lower), "{name} {lower}");
            }
        }
        // every byte pair
        for a in 0..=255u8 {
            for b in (0..=255u8).filter(|b| !b.is_ascii_uppercase()) {
                let (a, b) = (char::from(a).to_string(), char::from(b).to_string());
                assert_eq!(eq_lower(&a, &b), a.eq_ignore_ascii_case(&b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn any_byte_sees_every_position() {
        for len in 0..70 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                assert!(!any_byte(&bytes, |b| b == b'?'), "{len}");
                bytes[at] = b'?';
                assert!(any_byte(&bytes, |b| b == b'?'), "{len} {at}");
                assert!(!any_byte(&bytes, |b| b == b'!'), "{len} {at}");
            }
        }
        assert!(!any_byte(b"", |b| b == b'?'));
    }

    #[test]
    fn finds_the_first_byte_at_every_position_of_long_input() {
        for len in 0..40 {
            for at in 0..len {
                for background in [b'a', 0x80, 0xff, 0x00, b'?' ^ 1, b'?' - 1, b'?' + 1] {
                    let mut bytes = vec![background; len];
                    bytes[at] = b'?';
                    if at + 3 < len {
                        bytes[at + 3] = b'?';
                    }
                    assert_eq!(find_byte(&bytes, b'?'), Some(at), "{len} {at} {background}");
                    bytes[at] = background;
                    let expected = (at + 3 < len).then_some(at + 3);
                    assert_eq!(find_byte(&bytes, b'?'), expected, "{len} {at} {background}");
                }
            }
        }
    }

    const DELIMS: [u8; 12] = [b';', b'?', b'#', b'=', b'@', b' ', b'/', b'&', b',', b'\n', b':', b'x'];

    #[test]
    fn agrees_with_the_str_methods() {
        for s in samples() {
            for d in DELIMS {
                let c = char::from(d);
                assert_eq!(find(&s, d), s.find(c), "{s:?} {c:?}");
                assert_eq!(rfind(&s, d), s.rfind(c), "{s:?} {c:?}");
                assert_eq!(contains(&s, d), s.contains(c), "{s:?} {c:?}");
                assert_eq!(split_once(&s, d), s.split_once(c), "{s:?} {c:?}");
                assert_eq!(rsplit_once(&s, d), s.rsplit_once(c), "{s:?} {c:?}");
                assert_eq!(split(&s, d).collect::<Vec<_>>(), s.split(c).collect::<Vec<_>>(), "{s:?} {c:?}");
            }
            assert_eq!(trim_blanks(&s), s.trim_matches([' ', '\t']), "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_str_methods_on_random_text(s in "[a;=& \t/é中😀\u{80}-\u{10ffff}]{0,24}", d in 0u8..128) {
            let c = char::from(d);
            proptest::prop_assert_eq!(find(&s, d), s.find(c));
            proptest::prop_assert_eq!(rfind(&s, d), s.rfind(c));
            proptest::prop_assert_eq!(contains(&s, d), s.contains(c));
            proptest::prop_assert_eq!(split_once(&s, d), s.split_once(c));
            proptest::prop_assert_eq!(rsplit_once(&s, d), s.rsplit_once(c));
            proptest::prop_assert_eq!(split(&s, d).collect::<Vec<_>>(), s.split(c).collect::<Vec<_>>());
            proptest::prop_assert_eq!(trim_blanks(&s), s.trim_matches([' ', '\t']));
        }
    }
}
