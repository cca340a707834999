//! The canonical request: a type whose `Display` writes the exact string that is hashed.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::encoding::{
    decode, encode_path, encode_path_text, encode_unreserved, is_field_value, is_literal, is_token,
    normalize_header_value,
};
use crate::error::{Error, ErrorKind, quoted};
use crate::request::UrlParts;
use crate::scan;

/// A header as it enters the canonical request: the name (written lower-case), the trimmed value.
pub(crate) type CanonicalHeader<'a> = (&'a str, &'a str);

/// The canonical headers of one request: on the stack up to [`HeaderList::INLINE`] of them (a
/// request signs a handful), in a vector beyond.
#[derive(Debug)]
pub(crate) struct HeaderList<'a> {
    inline: [CanonicalHeader<'a>; HeaderList::INLINE],
    /// How many of `inline` are used (0 once spilled).
    len: usize,
    /// Every header once more than [`HeaderList::INLINE`] were pushed.
    spilled: Vec<CanonicalHeader<'a>>,
}

impl<'a> HeaderList<'a> {
    /// Headers kept on the stack.
    const INLINE: usize = 12;

    pub(crate) fn new() -> Self {
        Self { inline: [("", ""); Self::INLINE], len: 0, spilled: Vec::new() }
    }

    pub(crate) fn push(&mut self, header: CanonicalHeader<'a>) {
        if self.spilled.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = header;
                self.len += 1;
                return;
            }
            self.spilled.reserve(2 * Self::INLINE);
            self.spilled.extend_from_slice(&self.inline);
            self.len = 0;
        }
        self.spilled.push(header);
    }

    pub(crate) fn as_slice(&self) -> &[CanonicalHeader<'a>] {
        if self.spilled.is_empty() { &self.inline[..self.len] } else { &self.spilled }
    }

    fn as_mut_slice(&mut self) -> &mut [CanonicalHeader<'a>] {
        if self.spilled.is_empty() { &mut self.inline[..self.len] } else { &mut self.spilled }
    }

    fn truncate(&mut self, len: usize) {
        if self.spilled.is_empty() {
            self.len = self.len.min(len);
        } else {
            // once empty, the (empty) inline part is the list again
            self.spilled.truncate(len);
        }
    }
}

/// The canonical request of SPEC §2.6:
///
/// ```text
/// Method \n CanonicalURI \n CanonicalQuery \n name:value\n… \n SignedHeaders \n PayloadHash
/// ```
///
/// Built once into one string (what is hashed); the accessors return its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    text: String,
    uri: Range<usize>,
    query: Range<usize>,
    headers: Range<usize>,
    signed_headers: Range<usize>,
    payload_hash: Range<usize>,
}

impl CanonicalRequest {
    /// Assembles a canonical request from the method line, the URL's raw path and query (encoded
    /// here) and the headers, which must already be trimmed, unique and sorted by lower-case name
    /// (see [`sort_and_dedupe`]).
    pub(crate) fn new(method: &str, url: &UrlParts<'_>, headers: &[CanonicalHeader<'_>], payload_hash: &str) -> Self {
        let mut text = String::with_capacity(256 + url.path.len() + url.query.map_or(0, str::len) + headers.len() * 48);
        text.push_str(method);
        text.push('\n');
        let start = text.len();
        write_canonical_uri(url.path, &mut text);
        let uri = start..text.len();
        text.push('\n');
        let start = text.len();
        write_canonical_query(url.query, &mut text);
        let query = start..text.len();
        text.push('\n');
        let start = text.len();
        for &(name, value) in headers {
            push_lowercase(name, &mut text);
            text.push(':');
            text.push_str(value);
            text.push('\n');
        }
        let header_block = start..text.len();
        text.push('\n');
        let start = text.len();
        // the names again, copied from the block where they were written lower-case
        let mut line = header_block.start;
        for (i, &(name, value)) in headers.iter().enumerate() {
            if i > 0 {
                text.push(';');
            }
            text.extend_from_within(line..line + name.len());
            line += name.len() + 1 + value.len() + 1;
        }
        let signed_headers = start..text.len();
        text.push('\n');
        let start = text.len();
        text.push_str(payload_hash);
        let payload_hash = start..text.len();
        Self { text, uri, query, headers: header_block, signed_headers, payload_hash }
    }

    /// The canonical request text, exactly as hashed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The canonical request text, exactly as hashed.
    pub fn into_string(self) -> String {
        self.text
    }

    fn part(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }

    /// The method line (upper case).
    pub fn method(&self) -> &str {
        scan::split(&self.text, b'\n').next().unwrap_or_default()
    }

    /// The canonical URI line (always ends with `/`).
    pub fn uri(&self) -> &str {
        self.part(&self.uri)
    }

    /// The canonical query line (may be empty).
    pub fn query(&self) -> &str {
        self.part(&self.query)
    }

    /// The signed headers, lower-case names with trimmed values, sorted by name.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.part(&self.headers).lines().map(|line| scan::split_once(line, b':').unwrap_or((line, "")))
    }

    /// The payload hash line.
    pub fn payload_hash(&self) -> &str {
        self.part(&self.payload_hash)
    }

    /// `SignedHeaders`: the sorted lower-case names joined with `;`.
    pub fn signed_headers(&self) -> &str {
        self.part(&self.signed_headers)
    }

    /// Appends the canonical request text to `out`.
    pub fn write_to(&self, out: &mut String) {
        out.push_str(&self.text);
    }
}

/// Appends `name` lower-cased (header names are kept as given until written, which saves an
/// allocation per header).
fn push_lowercase(name: &str, out: &mut String) {
    let start = out.len();
    out.push_str(name);
    // names are often lower case already (HTTP/2, most servers' header maps, a verifier's
    // SignedHeaders names): a branch-free check is cheaper than lower-casing byte by byte
    if scan::any_byte(name.as_bytes(), |b| b.is_ascii_uppercase())
        && let Some(pushed) = out.get_mut(start..)
    {
        pushed.make_ascii_lowercase();
    }
}

/// Orders header names as their lower-case forms compare, byte by byte.
fn cmp_lowercase(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
}

impl fmt::Display for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The method line: the method upper-cased (as the Python and Java signers and every HTTP client
/// on the wire do).
///
/// # Errors
/// [`ErrorKind::InvalidRequest`] when the method is not an HTTP token.
pub fn canonical_method(method: &str) -> Result<Cow<'_, str>, Error> {
    if !is_token(method) {
        return Err(Error::new(ErrorKind::InvalidRequest, format!("invalid HTTP method {}", quoted(method))));
    }
    Ok(if method.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(method.to_ascii_uppercase())
    } else {
        Cow::Borrowed(method)
    })
}

/// The canonical URI of a raw path: percent-decoded, split on `/` (empty segments kept, no dot
/// segment resolution), each segment encoded with the unreserved set, and a `/` appended if the
/// result does not end with one. An empty path is `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    write_canonical_uri(path, &mut out);
    out
}

fn write_canonical_uri(path: &str, out: &mut String) {
    let decoded = decode(path, false);
    let start = out.len();
    if !decoded.starts_with(b"/") {
        out.push('/');
    }
    match &decoded {
        // nothing was decoded: the bytes are `path`'s, already known to be text
        Cow::Borrowed(_) => encode_path_text(path, out),
        Cow::Owned(bytes) => encode_path(bytes, out),
    }
    if out.len() == start || !out.ends_with('/') {
        out.push('/');
    }
}

/// A decoded query parameter: key and value bytes.
type QueryPair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// The canonical query string of a raw query (without `?`): pieces split on `&` (empty ones
/// ignored), each split at the first `=`, key and value percent-decoded with `+` as space, empty
/// keys dropped, sorted by decoded key then value in byte order, emitted as `enc(key)=enc(value)`.
pub fn canonical_query(query: Option<&str>) -> String {
    let mut out = String::with_capacity(query.map_or(0, |q| q.len() + 8));
    write_canonical_query(query, &mut out);
    out
}

fn write_canonical_query(query: Option<&str>, out: &mut String) {
    match query {
        Some(query) if is_canonical_query(query) => out.push_str(query),
        Some(query) => write_sorted_query(query, out),
        None => {}
    }
}

/// The full algorithm: split, decode, drop empty keys, sort, encode.
fn write_sorted_query(query: &str, out: &mut String) {
    /// Queries with up to this many parameters are sorted on the stack.
    const INLINE: usize = 8;
    let parsed = scan::split(query, b'&').filter(|piece| !piece.is_empty()).filter_map(|piece| {
        let (key, value) = scan::split_once(piece, b'=').unwrap_or((piece, ""));
        let key = decode(key, true);
        (!key.is_empty()).then(|| (key, decode(value, true)))
    });
    let mut inline: [QueryPair<'_>; INLINE] = Default::default();
    let mut count = 0;
    let mut spilled: Vec<QueryPair<'_>> = Vec::new();
    for pair in parsed {
        if count < INLINE {
            inline[count] = pair;
            count += 1;
        } else {
            if spilled.is_empty() {
                spilled.extend(inline.iter_mut().map(std::mem::take));
            }
            spilled.push(pair);
        }
    }
    let pairs: &mut [QueryPair<'_>] = if spilled.is_empty() { &mut inline[..count] } else { &mut spilled };
    sort(pairs, |a, b| a < b);
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_unreserved(key, out);
        out.push('=');
        encode_unreserved(value, out);
    }
}

/// Sorts `v` by `less` in place: a few elements (a request's usual headers and query) by insertion,
/// which compares least, more by [`heap_sort`].
fn sort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    /// Up to this many elements are sorted by insertion (at most 28 comparisons).
    const INSERTION: usize = 8;
    if v.len() > INSERTION {
        return heap_sort(v, less);
    }
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Sorts `v` by `less` in place: O(n log n) in every case (a request's query and headers are the
/// sender's to choose), and a few hundred bytes of code where the standard library's sorts are
/// kilobytes (which a browser downloads with the WebAssembly build). Not stable; every caller
/// sorts by a key under which equal elements are interchangeable.
fn heap_sort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    fn sift_down<T>(v: &mut [T], mut root: usize, end: usize, less: &impl Fn(&T, &T) -> bool) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && less(&v[child], &v[child + 1]) {
                child += 1;
            }
            if !less(&v[root], &v[child]) {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for start in (0..n / 2).rev() {
        sift_down(v, start, n, &less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, &less);
    }
}

/// Whether `query` is already its own canonical form: `k=v` pieces joined by `&`, each key
/// non-empty, key and value of unreserved characters only (so decoding and encoding leave them
/// as they are), in sorted order. Then the full algorithm would reproduce it byte for byte.
fn is_canonical_query(query: &str) -> bool {
    // one branch-free scan of the whole query (every request with a query goes through it): then
    // keys and values are unreserved once each piece has exactly one `=`
    if scan::any_byte(query.as_bytes(), |b| !(is_literal(b, false) | (b == b'=') | (b == b'&'))) {
        return false;
    }
    let mut previous: Option<(&str, &str)> = None;
    for piece in scan::split(query, b'&') {
        let Some((key, value)) = scan::split_once(piece, b'=') else { return false };
        if key.is_empty() || scan::contains(value, b'=') {
            return false;
        }
        if previous.is_some_and(|p| p > (key, value)) {
            return false;
        }
        previous = Some((key, value));
    }
    true
}

/// Checks a header pair and returns its canonical form: the name (compared and written lower-case),
/// the trimmed value.
pub(crate) fn canonical_header<'a>(name: &'a str, value: &'a str) -> Result<CanonicalHeader<'a>, Error> {
    if !is_token(name) {
        return Err(Error::new(ErrorKind::InvalidRequest, format!("invalid header name {}", quoted(name))));
    }
    Ok((name, canonical_value(name, value)?))
}

/// Checks the value of header `name` (already known to be a valid name) and returns it trimmed.
#[inline]
pub(crate) fn canonical_value<'a>(name: &str, value: &'a str) -> Result<&'a str, Error> {
    if !is_field_value(value) {
        return Err(control_character(name));
    }
    Ok(normalize_header_value(value))
}

#[cold]
fn control_character(name: &str) -> Error {
    Error::new(ErrorKind::InvalidRequest, format!("header {name} has a control character (CR, LF, NUL…) in its value"))
}

/// Sorts canonical headers by name and folds repeats: a name given twice with the same value is
/// signed once; with different values the signature would be ambiguous, so it is refused.
///
/// # Errors
/// [`ErrorKind::DuplicateHeader`] for a repeated name with different values.
pub(crate) fn sort_and_dedupe(headers: &mut HeaderList<'_>) -> Result<(), Error> {
    sort(headers.as_mut_slice(), |a, b| cmp_lowercase(a.0, b.0).is_lt());
    dedupe_sorted(headers)
}

/// As [`sort_and_dedupe`] for headers sorted by name already (a verifier's, collected in the
/// order of the validated `SignedHeaders`).
///
/// # Errors
/// [`ErrorKind::DuplicateHeader`] for a repeated name with different values.
#[inline]
pub(crate) fn dedupe_sorted(headers: &mut HeaderList<'_>) -> Result<(), Error> {
    let slice = headers.as_mut_slice();
    debug_assert!(slice.windows(2).all(|pair| cmp_lowercase(pair[0].0, pair[1].0).is_le()));
    // fold each run of one name into its first header, which stays at `kept`
    let mut kept = 0;
    for read in 1..slice.len() {
        let (earlier, later) = (slice[kept], slice[read]);
        if later.0.eq_ignore_ascii_case(earlier.0) {
            if later.1 != earlier.1 {
                return Err(Error::new(
                    ErrorKind::DuplicateHeader,
                    format!(
                        "header {} is given more than once with different values, so a receiver cannot tell \
                         which was signed; send it once (a list as one value, joined with \", \")",
                        later.0.to_ascii_lowercase()
                    ),
                ));
            }
        } else {
            kept += 1;
            slice[kept] = later;
        }
    }
    let len = slice.len().min(kept + 1);
    headers.truncate(len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_rules() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/v1/items"), "/v1/items/");
        assert_eq!(canonical_uri("/v1/items/"), "/v1/items/");
        assert_eq!(canonical_uri("/v1/a%2Fb"), "/v1/a/b/");
        assert_eq!(canonical_uri("/v1/my%20file"), "/v1/my%20file/");
        assert_eq!(canonical_uri("/v1/%e4%b8%ad/x"), "/v1/%E4%B8%AD/x/");
        assert_eq!(canonical_uri("/a//b/./../c"), "/a//b/./../c/");
        assert_eq!(canonical_uri("/a+b*c:d@e~f%7e"), "/a%2Bb%2Ac%3Ad%40e~f~/");
    }

    #[test]
    fn query_rules() {
        assert_eq!(canonical_query(None), "");
        assert_eq!(canonical_query(Some("")), "");
        assert_eq!(canonical_query(Some("b=2&a=1&&a=0&")), "a=0&a=1&b=2");
        assert_eq!(canonical_query(Some("flag&x=")), "flag=&x=");
        assert_eq!(canonical_query(Some("a=b=c&=x")), "a=b%3Dc");
        assert_eq!(canonical_query(Some("q=a+b%2Bc")), "q=a%20b%2Bc");
        assert_eq!(canonical_query(Some("n=9&n=10&B=1&a=1")), "B=1&a=1&n=10&n=9");
        // more parameters than are sorted on the stack
        let many: Vec<String> = (0..20).rev().map(|i| format!("k{i:02}={i}")).collect();
        let sorted: Vec<String> = (0..20).map(|i| format!("k{i:02}={i}")).collect();
        assert_eq!(canonical_query(Some(&many.join("&"))), sorted.join("&"));
        // already canonical: taken as is (the fast path), which the full algorithm agrees with
        for q in ["a=1&b=2", "a=&a=1&b~=x.y", "A=1&a=1"] {
            assert!(is_canonical_query(q), "{q}");
            assert_eq!(canonical_query(Some(q)), q);
        }
        for q in ["b=1&a=1", "a=1&a=0", "a", "a=1&", "=1", "a=%41", "a=b+c", "a=b=c", "a=é"] {
            assert!(!is_canonical_query(q), "{q}");
        }
    }

    proptest::proptest! {
        #[test]
        fn heap_sort_sorts(mut v in proptest::collection::vec(0u8..20, 0..40)) {
            let mut expected = v.clone();
            expected.sort_unstable();
            let mut small = v.clone();
            heap_sort(&mut v, |a, b| a < b);
            sort(&mut small, |a, b| a < b);
            proptest::prop_assert_eq!(&small, &expected);
            proptest::prop_assert_eq!(v, expected);
        }

        /// The one-scan check accepts exactly what the former per-piece check accepted.
        #[test]
        fn the_already_canonical_check_is_unchanged(query in "[ab~.=&%+2A-]{0,16}") {
            fn former(query: &str) -> bool {
                let mut previous: Option<(&str, &str)> = None;
                for piece in query.split('&') {
                    let Some((key, value)) = piece.split_once('=') else { return false };
                    let unreserved = |s: &str| s.bytes().all(|b| is_literal(b, false));
                    if key.is_empty() || !unreserved(key) || !unreserved(value) {
                        return false;
                    }
                    if previous.is_some_and(|p| p > (key, value)) {
                        return false;
                    }
                    previous = Some((key, value));
                }
                true
            }
            proptest::prop_assert_eq!(is_canonical_query(&query), former(&query));
        }

        /// The fast path never changes a result: whatever it accepts, the full algorithm
        /// reproduces byte for byte.
        #[test]
        fn the_already_canonical_fast_path_agrees_with_the_full_algorithm(query in "[ab~.=&%+2A-]{0,16}") {
            if is_canonical_query(&query) {
                let mut full = String::new();
                write_sorted_query(&query, &mut full);
                proptest::prop_assert_eq!(full, query);
            }
        }
    }

    fn list<'a>(pairs: &[(&'a str, &'a str)]) -> HeaderList<'a> {
        let mut list = HeaderList::new();
        for &(name, value) in pairs {
            list.push(canonical_header(name, value).unwrap());
        }
        list
    }

    /// The former sort and dedupe, on a vector (reference for the tests).
    fn sort_and_dedupe_vec(headers: &mut Vec<CanonicalHeader<'_>>) -> Result<(), ()> {
        headers.sort_by(|a, b| cmp_lowercase(a.0, b.0));
        let mut conflict = false;
        headers.dedup_by(|later, earlier| {
            let same_name = later.0.eq_ignore_ascii_case(earlier.0);
            conflict |= same_name && later.1 != earlier.1;
            same_name
        });
        if conflict { Err(()) } else { Ok(()) }
    }

    proptest::proptest! {
        /// On the stack or spilled, the list sorts and folds as a vector does.
        #[test]
        fn header_list_agrees_with_a_vector(pairs in proptest::collection::vec(("[aAbB_-]{1,2}", "[12]"), 0..30)) {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let mut expected = pairs.clone();
            let mut got = list(&pairs);
            proptest::prop_assert_eq!(got.as_slice(), &pairs[..]);
            let result = sort_and_dedupe(&mut got);
            proptest::prop_assert_eq!(result.is_ok(), sort_and_dedupe_vec(&mut expected).is_ok());
            if result.is_ok() {
                let lower = |h: &[CanonicalHeader<'_>]| -> Vec<(String, String)> {
                    h.iter().map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned())).collect()
                };
                proptest::prop_assert_eq!(lower(got.as_slice()), lower(&expected));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn cmp_lowercase_orders_as_the_lower_case_forms(a in "[aAbB_-]{0,4}", b in "[aAbB_-]{0,4}") {
            proptest::prop_assert_eq!(cmp_lowercase(&a, &b), a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()));
        }
    }

    #[test]
    fn duplicate_headers() {
        let mut same = list(&[("X-A", "1"), ("x-b", "2"), ("x-a", " 1 "), ("X-B", "2"), ("x-a", "1")]);
        sort_and_dedupe(&mut same).unwrap();
        // which spelling of a name is kept does not matter: it is written lower-case
        let lower: Vec<_> = same.as_slice().iter().map(|(n, v)| (n.to_ascii_lowercase(), *v)).collect();
        assert_eq!(lower, [("x-a".to_owned(), "1"), ("x-b".to_owned(), "2")]);
        let mut different = list(&[("X-A", "1"), ("x-a", "2")]);
        assert_eq!(sort_and_dedupe(&mut different).unwrap_err().kind(), ErrorKind::DuplicateHeader);
        let mut empty = list(&[]);
        sort_and_dedupe(&mut empty).unwrap();
        assert!(empty.as_slice().is_empty());
    }

    #[test]
    fn header_sort_is_bytewise() {
        let mut h = list(&[("xa", "v"), ("x_under", "v"), ("x-under", "v")]);
        sort_and_dedupe(&mut h).unwrap();
        let names: Vec<_> = h.as_slice().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["x-under", "x_under", "xa"]);
        let mut mixed = list(&[("X_B", "v"), ("x-b", "v"), ("Xa", "v")]);
        sort_and_dedupe(&mut mixed).unwrap();
        let canonical = CanonicalRequest::new("GET", &UrlParts::parse("/p?b=1&a").unwrap(), mixed.as_slice(), "h");
        assert_eq!(canonical.to_string(), "GET\n/p/\na=&b=1\nx-b:v\nx_b:v\nxa:v\n\nx-b;x_b;xa\nh");
        assert_eq!((canonical.method(), canonical.uri(), canonical.query()), ("GET", "/p/", "a=&b=1"));
        assert_eq!(canonical.headers().collect::<Vec<_>>(), [("x-b", "v"), ("x_b", "v"), ("xa", "v")]);
        assert_eq!((canonical.signed_headers(), canonical.payload_hash()), ("x-b;x_b;xa", "h"));
    }

    #[test]
    fn bad_headers_and_methods() {
        assert_eq!(canonical_header("Bad Name", "v").unwrap_err().kind(), ErrorKind::InvalidRequest);
        assert_eq!(canonical_header("X", "a\nb").unwrap_err().kind(), ErrorKind::InvalidRequest);
        assert_eq!(canonical_method("get").unwrap(), "GET");
        assert_eq!(canonical_method("G T").unwrap_err().kind(), ErrorKind::InvalidRequest);
    }
}
