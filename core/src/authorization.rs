//! The `Authorization` header: formatting and strict parsing.
//!
//! ```text
//! SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>, Signature=<hex>
//! V11-HMAC-SHA256 Credential=<AK>/<yyyymmdd>/<region>/<service>, SignedHeaders=<a;b;c>, Signature=<hex>
//! ```

use crate::algorithm::Algorithm;
use crate::encoding::{is_lower_tchar, is_lower_token};
use crate::error::{Error, ErrorKind};
use crate::scan;

/// Longest `Authorization` value accepted (bytes).
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;
/// Longest access key accepted (bytes).
pub const MAX_ACCESS_KEY_LEN: usize = 256;
/// Most names accepted in `SignedHeaders`.
pub const MAX_SIGNED_HEADERS: usize = 64;

/// A parsed `Authorization` header, borrowing from the header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The algorithm token.
    pub algorithm: Algorithm,
    /// The access key (`Access=` or the first part of `Credential=`).
    pub access_key: &'a str,
    /// V11 only: the credential scope `yyyymmdd/region/service`.
    pub credential_scope: Option<&'a str>,
    /// The `SignedHeaders` value as sent (lower-case names, sorted, joined with `;`).
    pub signed_headers: &'a str,
    /// The lower-case hex signature.
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// The signed header names.
    pub fn signed_header_names(&self) -> impl Iterator<Item = &'a str> + 'a {
        scan::split(self.signed_headers, b';')
    }

    /// Whether `name` (lower case) is listed in `SignedHeaders`.
    pub fn is_signed(&self, name: &str) -> bool {
        self.signed_header_names().any(|n| n == name)
    }

    /// The algorithm an `Authorization` value names (its first word, after leading blanks),
    /// without reading the rest: what a verifier that hashes the body while reading it needs
    /// before the full [`Authorization::parse`]. A value [`Authorization::parse`] accepts names
    /// the same algorithm here.
    ///
    /// # Errors
    /// [`ErrorKind::UnsupportedAlgorithm`] for an unknown or missing algorithm token.
    pub fn algorithm_of(value: &str) -> Result<Algorithm, Error> {
        let value = scan::trim_blanks(value);
        scan::split_once(value, b' ').map_or(value, |(token, _)| token).parse()
    }

    /// Parses an `Authorization` value strictly: a known algorithm, one space, then exactly the
    /// fields `Access=` (or `Credential=` for V11), `SignedHeaders=`, `Signature=` in that order,
    /// separated by `,` and at most one optional space (as Huawei's own verifiers accept).
    /// `SignedHeaders` must be non-empty, lower-case, sorted and without repeats; the signature
    /// 64 lower-case hex digits.
    ///
    /// # Errors
    /// [`ErrorKind::UnsupportedAlgorithm`] for an unknown algorithm token,
    /// [`ErrorKind::MalformedAuthorization`] for anything else out of form.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let malformed =
            |why: &str| Error::new(ErrorKind::MalformedAuthorization, format!("malformed Authorization header: {why}"));
        if value.len() > MAX_AUTHORIZATION_LEN {
            return Err(malformed("too long"));
        }
        let value = scan::trim_blanks(value);
        let Some((token, fields)) = scan::split_once(value, b' ') else {
            return Err(if value.is_empty() || scan::contains(value, b'=') {
                malformed("expected `ALGORITHM Access=…, SignedHeaders=…, Signature=…`")
            } else {
                value.parse::<Algorithm>().err().unwrap_or_else(|| malformed("no fields after the algorithm"))
            });
        };
        let algorithm: Algorithm = token.parse()?;
        let mut parts = scan::split(fields, b',');
        let identity_field = if algorithm.is_v11() { "Credential=" } else { "Access=" };
        let field = |part: Option<&'a str>, name: &str| -> Result<&'a str, Error> {
            part.map(|part| part.strip_prefix(' ').unwrap_or(part))
                .and_then(|part| part.strip_prefix(name))
                .ok_or_else(|| malformed(&format!("expected the field {name}…")))
        };
        let identity = field(parts.next(), identity_field)?;
        let signed_headers = field(parts.next(), "SignedHeaders=")?;
        // the rest, rather than the piece up to the next `,` (which starts the same way), so that
        // the signature is scanned for a `,` once, without a search
        let signature = field(parts.remainder(), "Signature=")?;
        if scan::contains(signature, b',') {
            return Err(malformed("unexpected field after Signature"));
        }

        let (access_key, credential_scope) = if algorithm.is_v11() {
            let (ak, scope) = scan::split_once(identity, b'/').ok_or_else(|| malformed("Credential has no scope"))?;
            check_scope(scope).map_err(&malformed)?;
            (ak, Some(scope))
        } else {
            (identity, None)
        };
        if access_key.is_empty() || access_key.len() > MAX_ACCESS_KEY_LEN {
            return Err(malformed("empty or overlong access key"));
        }
        // branch-free scans (they vectorise): every request's Authorization goes through them
        if access_key.bytes().fold(false, |bad, b| bad | !b.is_ascii_graphic() | (b == b',') | (b == b'/')) {
            return Err(malformed("access key has characters outside printable ASCII"));
        }
        check_signed_headers(signed_headers).map_err(&malformed)?;
        if signature.len() != 64
            || signature.bytes().fold(false, |bad, b| bad | !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(malformed("Signature must be 64 lower-case hex digits"));
        }
        Ok(Self { algorithm, access_key, credential_scope, signed_headers, signature })
    }
}

fn check_scope(scope: &str) -> Result<(), &'static str> {
    let mut parts = scan::split(scope, b'/');
    let (Some(day), Some(region), Some(service), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("credential scope must be yyyymmdd/region/service");
    };
    if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return Err("credential scope date must be yyyymmdd");
    }
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if !ok(region) || !ok(service) {
        return Err("credential scope region and service must be non-empty names");
    }
    Ok(())
}

fn check_signed_headers(list: &str) -> Result<(), &'static str> {
    if list.is_empty() {
        return Err("SignedHeaders is empty");
    }
    // one branch-free scan of the whole list (it vectorises): when every byte may be in a name,
    // a name is valid unless it is empty
    let bytes_valid = !scan::any_byte(list.as_bytes(), |b| !(is_lower_tchar(b) | (b == b';')));
    let mut previous: Option<&str> = None;
    for (count, name) in scan::split(list, b';').enumerate() {
        if count >= MAX_SIGNED_HEADERS {
            return Err("too many SignedHeaders");
        }
        let valid = if bytes_valid { !name.is_empty() } else { is_lower_token(name) };
        if !valid {
            return Err("SignedHeaders names must be lower-case header names");
        }
        if previous.is_some_and(|p| p >= name) {
            return Err("SignedHeaders must be sorted and without repeats");
        }
        previous = Some(name);
    }
    Ok(())
}

/// Writes `ALG Access=AK, SignedHeaders=…, Signature=…` (or the V11 `Credential=AK/scope` form).
pub(crate) fn format_authorization(
    algorithm: Algorithm,
    access_key: &str,
    scope: Option<&str>,
    signed_headers: &str,
    signature: &str,
) -> String {
    let mut out = String::with_capacity(64 + access_key.len() + signed_headers.len() + signature.len());
    out.push_str(algorithm.as_str());
    match scope {
        Some(scope) => {
            out.push_str(" Credential=");
            out.push_str(access_key);
            out.push('/');
            out.push_str(scope);
        }
        None => {
            out.push_str(" Access=");
            out.push_str(access_key);
        }
    }
    out.push_str(", SignedHeaders=");
    out.push_str(signed_headers);
    out.push_str(", Signature=");
    out.push_str(signature);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe";

    #[test]
    fn parses_the_sdk_form_with_or_without_spaces() {
        for v in [
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature={SIG}"),
            format!("SDK-HMAC-SHA256 Access=AK1,SignedHeaders=host;x-sdk-date,Signature={SIG}"),
        ] {
            let a = Authorization::parse(&v).unwrap();
            assert_eq!((a.access_key, a.signed_headers, a.signature), ("AK1", "host;x-sdk-date", SIG));
            assert!(a.is_signed("x-sdk-date") && !a.is_signed("x-sdk"));
        }
    }

    #[test]
    fn algorithm_of_names_what_parse_finds() {
        for algorithm in Algorithm::ALL {
            let identity = if algorithm.is_v11() { "Credential=AK1/20191115/cn-north-4/apic" } else { "Access=AK1" };
            for lead in ["", " ", "\t "] {
                let v = format!("{lead}{} {identity}, SignedHeaders=host, Signature={SIG}", algorithm.as_str());
                assert_eq!(Authorization::parse(&v).unwrap().algorithm, algorithm, "{v}");
                assert_eq!(Authorization::algorithm_of(&v).unwrap(), algorithm, "{v}");
            }
            // only the first word is read
            assert_eq!(Authorization::algorithm_of(&format!("{} garbage", algorithm.as_str())).unwrap(), algorithm);
        }
        for bad in ["", " ", "sdk-hmac-sha256 Access=AK1", "HMAC-SHA256 Access=AK1", "Access=AK1, Signature=x"] {
            assert_eq!(
                Authorization::algorithm_of(bad).unwrap_err().kind(),
                ErrorKind::UnsupportedAlgorithm,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parses_v11() {
        let v = format!(
            "V11-HMAC-SHA256 Credential=AK1/20240403/cn-north-4/apic, SignedHeaders=host;x-sdk-date, Signature={SIG}"
        );
        let a = Authorization::parse(&v).unwrap();
        assert_eq!((a.access_key, a.credential_scope), ("AK1", Some("20240403/cn-north-4/apic")));
    }

    #[test]
    fn rejects_everything_else() {
        let cases = [
            ("", ErrorKind::MalformedAuthorization),
            ("SDK-HMAC-SHA256", ErrorKind::MalformedAuthorization),
            ("HMAC-SHA1 Access=a, SignedHeaders=host, Signature=00", ErrorKind::UnsupportedAlgorithm),
            ("Bearer xyz", ErrorKind::UnsupportedAlgorithm),
            ("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host", ErrorKind::MalformedAuthorization),
            ("SDK-HMAC-SHA256 access=AK, SignedHeaders=host, Signature=", ErrorKind::MalformedAuthorization),
            ("SDK-HMAC-SHA256 Access=AK,  SignedHeaders=host, Signature=", ErrorKind::MalformedAuthorization),
        ];
        for (v, kind) in cases {
            assert_eq!(Authorization::parse(v).unwrap_err().kind(), kind, "{v:?}");
        }
        let bad_sigs = ["", "ABCD", &SIG.to_uppercase(), &SIG[1..], &format!("{SIG}00")];
        for s in bad_sigs {
            let v = format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature={s}");
            assert_eq!(Authorization::parse(&v).unwrap_err().kind(), ErrorKind::MalformedAuthorization);
        }
        for sh in ["", "Host", "x-sdk-date;host", "host;host", "host;;x"] {
            let v = format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders={sh}, Signature={SIG}");
            assert_eq!(Authorization::parse(&v).unwrap_err().kind(), ErrorKind::MalformedAuthorization, "{sh}");
        }
        let v = format!("V11-HMAC-SHA256 Credential=AK/2024/cn/apic, SignedHeaders=host, Signature={SIG}");
        assert_eq!(Authorization::parse(&v).unwrap_err().kind(), ErrorKind::MalformedAuthorization);
    }

    /// The former check, name by name (reference for the test below).
    fn check_signed_headers_by_name(list: &str) -> Result<(), &'static str> {
        if list.is_empty() {
            return Err("SignedHeaders is empty");
        }
        let mut previous: Option<&str> = None;
        for (count, name) in list.split(';').enumerate() {
            if count >= MAX_SIGNED_HEADERS {
                return Err("too many SignedHeaders");
            }
            if !is_lower_token(name) {
                return Err("SignedHeaders names must be lower-case header names");
            }
            if previous.is_some_and(|p| p >= name) {
                return Err("SignedHeaders must be sorted and without repeats");
            }
            previous = Some(name);
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn signed_headers_check_is_unchanged(list in "[abA;_ é-]{0,12}") {
            proptest::prop_assert_eq!(check_signed_headers(&list), check_signed_headers_by_name(&list));
        }

    }

    /// Whole headers assembled from plausible and broken fields (every sequence of up to four)
    /// parse, or fail with the same message, as with the former parser.
    #[test]
    fn authorization_parse_is_unchanged() {
        let mut sequences: Vec<Vec<&str>> = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<&str>> = sequences
                .iter()
                .filter(|s| s.len() == sequences.last().map_or(0, Vec::len))
                .flat_map(|s| PIECES.iter().map(move |p| [s.as_slice(), &[*p]].concat()))
                .collect();
            sequences.extend(longer);
        }
        let mut parsed = 0;
        for algorithm in ["SDK-HMAC-SHA256", "V11-HMAC-SHA256"] {
            for pieces in &sequences {
                let value = format!("{algorithm} {}", pieces.join(",")).replace("{SIG}", SIG);
                let now = Authorization::parse(&value).map_err(|e| e.to_string());
                parsed += usize::from(now.is_ok());
                assert_eq!(now, parse_former(&value).map_err(|e| e.to_string()), "{value}");
            }
        }
        assert!(parsed > 0);
    }

    const PIECES: [&str; 16] = [
        "Access=AK",
        " Access=AK",
        "Access=",
        "Credential=AK/20240403/cn-north-4/apic",
        " SignedHeaders=host;x-sdk-date",
        "SignedHeaders=host",
        "SignedHeaders=b;a",
        "SignedHeaders=",
        "Signature={SIG}",
        " Signature={SIG}",
        "Signature={SIG}x",
        "Signature=",
        "x",
        "",
        " ",
        "  Signature={SIG}",
    ];

    /// The former parser, which split every field at the next comma (reference for the test
    /// above).
    fn parse_former(value: &str) -> Result<Authorization<'_>, Error> {
        let malformed =
            |why: &str| Error::new(ErrorKind::MalformedAuthorization, format!("malformed Authorization header: {why}"));
        let value = value.trim_matches([' ', '\t']);
        let Some((token, fields)) = value.split_once(' ') else {
            // unchanged: the code before the fields
            return Authorization::parse(value);
        };
        let algorithm: Algorithm = token.parse()?;
        let mut parts = fields.split(',').map(|part| part.strip_prefix(' ').unwrap_or(part));
        let identity_field = if algorithm.is_v11() { "Credential=" } else { "Access=" };
        let mut field = |name: &str| -> Result<&str, Error> {
            parts
                .next()
                .and_then(|part| part.strip_prefix(name))
                .ok_or_else(|| malformed(&format!("expected the field {name}…")))
        };
        let identity = field(identity_field)?;
        let signed_headers = field("SignedHeaders=")?;
        let signature = field("Signature=")?;
        if parts.next().is_some() {
            return Err(malformed("unexpected field after Signature"));
        }
        let (access_key, credential_scope) = if algorithm.is_v11() {
            let (ak, scope) = identity.split_once('/').ok_or_else(|| malformed("Credential has no scope"))?;
            check_scope(scope).map_err(&malformed)?;
            (ak, Some(scope))
        } else {
            (identity, None)
        };
        if access_key.is_empty() || access_key.len() > MAX_ACCESS_KEY_LEN {
            return Err(malformed("empty or overlong access key"));
        }
        if access_key.bytes().any(|b| !b.is_ascii_graphic() || b == b',' || b == b'/') {
            return Err(malformed("access key has characters outside printable ASCII"));
        }
        check_signed_headers_by_name(signed_headers).map_err(&malformed)?;
        if signature.len() != 64 || !signature.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(malformed("Signature must be 64 lower-case hex digits"));
        }
        Ok(Authorization { algorithm, access_key, credential_scope, signed_headers, signature })
    }

    #[test]
    fn many_signed_headers() {
        let names: Vec<String> = (0..70).map(|i| format!("x-h{i:03}")).collect();
        for n in [63, 64, 65, 70] {
            let list = names[..n].join(";");
            assert_eq!(check_signed_headers(&list), check_signed_headers_by_name(&list), "{n}");
        }
        let unsorted = format!("{};x-a;Bad", names[..64].join(";"));
        assert_eq!(check_signed_headers(&unsorted), check_signed_headers_by_name(&unsorted));
        assert_eq!(check_signed_headers("b;a;C"), Err("SignedHeaders must be sorted and without repeats"));
        assert_eq!(check_signed_headers("a;C;a"), Err("SignedHeaders names must be lower-case header names"));
    }

    #[test]
    fn formats_exactly() {
        assert_eq!(
            format_authorization(Algorithm::SdkHmacSha256, "AK", None, "host", "ab"),
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=ab"
        );
        assert_eq!(
            format_authorization(Algorithm::V11HmacSm3, "AK", Some("20240403/r/apic"), "host", "ab"),
            "V11-HMAC-SM3 Credential=AK/20240403/r/apic, SignedHeaders=host, Signature=ab"
        );
    }
}
