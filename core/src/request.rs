//! The request to sign or verify: method, URL, ordered header pairs and body.

use crate::error::{Error, ErrorKind};
use crate::scan;

/// The literal payload hash of a request whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The signing-time header, lower case.
pub const X_SDK_DATE: &str = "x-sdk-date";

/// The header carrying the security token of temporary credentials, lower case (sent as
/// `X-Security-Token`, added and signed by a [`Signer`](crate::Signer) built with a token).
pub const X_SECURITY_TOKEN: &str = "x-security-token";

/// The project-id header of Huawei Cloud's regional service APIs, lower case (sent as `X-Project-Id`).
pub const X_PROJECT_ID: &str = "x-project-id";

/// The account-id header of Huawei Cloud's global service APIs, lower case (sent as `X-Domain-Id`).
pub const X_DOMAIN_ID: &str = "x-domain-id";

/// The header declaring the body's SHA-256 hash (or `UNSIGNED-PAYLOAD`), lower case; SM3 signers
/// also read it (Go APIG SDK).
pub const X_SDK_CONTENT_SHA256: &str = "x-sdk-content-sha256";

/// The header declaring the body's SM3 hash (Python v3 core), lower case.
pub const X_SDK_CONTENT_SM3: &str = "x-sdk-content-sm3";

/// Every header that declares a body hash, whatever the algorithm: a proxy that re-signs a request
/// replaces them along with `Authorization` and `X-Sdk-Date`.
pub const CONTENT_HASH_HEADERS: [&str; 2] = [X_SDK_CONTENT_SHA256, X_SDK_CONTENT_SM3];

/// Hop-by-hop headers (RFC 9110 §7.6.1 and the legacy `Keep-Alive` / `Proxy-Connection`): they
/// belong to one connection and are rewritten or dropped by proxies, so the signer leaves them out
/// of the signature by default ([`ExcludedHeaders::HopByHop`](crate::ExcludedHeaders::HopByHop),
/// the same in every language; [`ExcludedHeaders::None`](crate::ExcludedHeaders::None) signs every
/// header given, as Huawei's signers do) and proxies strip them.
pub const HOP_BY_HOP_HEADERS: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` (any case) is a hop-by-hop header ([`HOP_BY_HOP_HEADERS`]). On the signing path
/// for every header: the length (one bit test) and first letter pick the one name to compare.
#[inline(always)]
pub fn is_hop_by_hop(name: &str) -> bool {
    /// Bit `n` set: some hop-by-hop name is `n` bytes long (2, 7, 10, 16 to 19).
    const LENGTHS: u32 = (1 << 2) | (1 << 7) | (1 << 10) | (0b1111 << 16);
    if name.len() >= 32 || LENGTHS & (1u32 << name.len()) == 0 {
        return false;
    }
    let Some(&first) = name.as_bytes().first() else {
        return false;
    };
    let candidate = match (name.len(), first.to_ascii_lowercase()) {
        (2, b't') => "te",
        (7, b't') => "trailer",
        (7, b'u') => "upgrade",
        (10, b'c') => "connection",
        (10, b'k') => "keep-alive",
        (16, b'p') => "proxy-connection",
        (17, b't') => "transfer-encoding",
        (18, b'p') => "proxy-authenticate",
        (19, b'p') => "proxy-authorization",
        _ => return false,
    };
    name.eq_ignore_ascii_case(candidate)
}

/// How the body enters the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignableBody<'a> {
    /// The exact body bytes (empty for no body); hashed with the algorithm's hash.
    Bytes(&'a [u8]),
    /// The lower-case hex hash of the body, computed beforehand (e.g. streamed through a
    /// [`PayloadHasher`](crate::PayloadHasher) or [`hash_reader`](crate::hash_reader)).
    Precomputed(&'a str),
    /// Sign `UNSIGNED-PAYLOAD` instead of a body hash. The signer adds and signs the header
    /// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` so a verifier knows. For a verifier: the body is not
    /// available, so only requests that declare an unsigned or precomputed payload can be checked.
    Unsigned,
}

/// A borrowed, framework-free HTTP request to sign or verify.
///
/// `url` is either absolute (`https://host[:port]/path?query`) or an origin-form request target
/// (`/path?query`, what a server receives; the host then comes from the `Host` header). The path and
/// query are used byte for byte as given (no dot-segment resolution), a `#fragment` is ignored.
/// Headers are an ordered list of `(name, value)` pairs.
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    method: &'a str,
    url: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: SignableBody<'a>,
}

impl<'a> SignableRequest<'a> {
    /// A request with the given parts.
    pub fn new(method: &'a str, url: &'a str, headers: &'a [(&'a str, &'a str)], body: SignableBody<'a>) -> Self {
        Self { method, url, headers, body }
    }

    /// The HTTP method as given.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The URL or request target as given.
    pub fn url(&self) -> &'a str {
        self.url
    }

    /// The headers, in order.
    pub fn headers(&self) -> &'a [(&'a str, &'a str)] {
        self.headers
    }

    /// How the body is signed.
    pub fn body(&self) -> SignableBody<'a> {
        self.body
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, v)| v)
    }

    /// Splits the URL into its parts.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] for a URL that is neither absolute nor origin-form, has an
    /// empty host or contains control characters.
    pub fn url_parts(&self) -> Result<UrlParts<'a>, Error> {
        UrlParts::parse(self.url)
    }
}

/// A URL split the way the APIG signers split it, keeping the raw path and query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `http`, `https`, … (`None` for an origin-form target).
    pub scheme: Option<&'a str>,
    /// `host[:port]` without user info (`None` for an origin-form target).
    pub authority: Option<&'a str>,
    /// The raw path, possibly empty.
    pub path: &'a str,
    /// The raw query without `?` (`None` when there is no `?`).
    pub query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// Splits `url` (see [`SignableRequest`] for the accepted forms).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`], as for [`SignableRequest::url_parts`].
    pub fn parse(url: &'a str) -> Result<Self, Error> {
        let invalid = |why: &str| {
            Error::new(ErrorKind::InvalidRequest, format!("invalid URL {}: {why}", crate::error::quoted(url)))
        };
        // one branch-free scan (vectorised) for control characters or a fragment, which are rare
        let url = if scan::any_byte(url.as_bytes(), |b| (b < 0x20) | (b == 0x7f) | (b == b'#')) {
            if scan::any_byte(url.as_bytes(), |b| (b < 0x20) | (b == 0x7f)) {
                return Err(invalid("it contains control characters"));
            }
            scan::find(url, b'#').map_or(url, |end| scan::sub(url, ..end))
        } else {
            url
        };
        let bytes = url.as_bytes();
        let (scheme, authority, rest) = if bytes.first() == Some(&b'/') {
            (None, None, url)
        } else {
            let scheme_len =
                bytes.iter().position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')));
            let Some(scheme_len) = scheme_len.filter(|&n| bytes[n..].starts_with(b"://")) else {
                return Err(invalid("expected scheme://host/path or a path starting with '/'"));
            };
            if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
                return Err(invalid("bad scheme"));
            }
            let after = scan::sub(url, scheme_len + 3..);
            let authority_len = after.bytes().position(|b| b == b'/' || b == b'?').unwrap_or(after.len());
            let (authority, rest) = after.split_at_checked(authority_len).unwrap_or((after, ""));
            let authority = scan::rsplit_once(authority, b'@').map_or(authority, |(_, host)| host);
            if authority.is_empty() || authority.starts_with(':') {
                return Err(invalid("empty host"));
            }
            if scan::contains(authority, b' ') {
                return Err(invalid("space in host"));
            }
            (Some(scan::sub(url, ..scheme_len)), Some(authority), rest)
        };
        let (path, query) = match scan::find(rest, b'?') {
            Some(q) => (scan::sub(rest, ..q), Some(scan::sub(rest, q + 1..))),
            None => (rest, None),
        };
        Ok(Self { scheme, authority, path, query })
    }

    /// The `Host` header a client sends for this URL: the authority without the scheme's default
    /// port (`:80` for http, `:443` for https); any other port is kept.
    pub fn host_header(&self) -> Option<&'a str> {
        let authority = self.authority?;
        let scheme = self.scheme.unwrap_or_default();
        let is = |name: &str| scheme.eq_ignore_ascii_case(name);
        let default_port = if is("http") || is("ws") {
            ":80"
        } else if is("https") || is("wss") {
            ":443"
        } else {
            return Some(authority);
        };
        Some(authority.strip_suffix(default_port).unwrap_or(authority))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop() {
        assert!(is_hop_by_hop("Connection") && is_hop_by_hop("transfer-encoding"));
        assert!(!is_hop_by_hop("Host") && !is_hop_by_hop("X-Sdk-Date"));
        // the length shortcut agrees with the list
        for name in HOP_BY_HOP_HEADERS {
            assert!(is_hop_by_hop(name) && is_hop_by_hop(&name.to_ascii_uppercase()), "{name}");
        }
        for name in ["", "t", "tex", "trailers", "upgrade2", "x-connection", "proxy-authorizatio"] {
            assert!(!is_hop_by_hop(name), "{name}");
        }
    }

    #[test]
    fn splits_absolute_urls() {
        let p = UrlParts::parse("https://user:pw@api.example.com:8443/v1/a/../b?x=1&y#frag").unwrap();
        assert_eq!(p.scheme, Some("https"));
        assert_eq!(p.authority, Some("api.example.com:8443"));
        assert_eq!(p.path, "/v1/a/../b");
        assert_eq!(p.query, Some("x=1&y"));
        assert_eq!(p.host_header(), Some("api.example.com:8443"));
    }

    #[test]
    fn no_path_and_default_ports() {
        let p = UrlParts::parse("https://api.example.com:443?q").unwrap();
        assert_eq!((p.path, p.query), ("", Some("q")));
        assert_eq!(p.host_header(), Some("api.example.com"));
        assert_eq!(UrlParts::parse("http://h:80").unwrap().host_header(), Some("h"));
        assert_eq!(UrlParts::parse("http://h:443").unwrap().host_header(), Some("h:443"));
    }

    #[test]
    fn origin_form() {
        let p = UrlParts::parse("//a//b?").unwrap();
        assert_eq!((p.authority, p.path, p.query), (None, "//a//b", Some("")));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "api.example.com/x", "https:///x", "1http://h/", "https://h/\r\nX: y", "https://:80/"] {
            assert_eq!(UrlParts::parse(bad).unwrap_err().kind(), ErrorKind::InvalidRequest, "{bad:?}");
        }
    }
}
