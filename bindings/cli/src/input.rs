//! From command-line arguments to the core's input: header syntax, body sources, the date.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{ErrorKind, SdkDate, SigningOptions, SigningSettings};

use crate::args::RequestSpec;
use crate::errors::CliError;

/// Where the body comes from (`-d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodySource {
    /// No `-d`: an empty body.
    Empty,
    /// `-d DATA`: the argument's bytes.
    Literal(Vec<u8>),
    /// `-d @FILE`: the file's bytes, streamed.
    File(PathBuf),
    /// `-d @-`: standard input.
    Stdin,
}

impl BodySource {
    pub(crate) fn from_arg(data: Option<&str>) -> Self {
        match data {
            None => Self::Empty,
            Some("@-") => Self::Stdin,
            Some(data) => match data.strip_prefix('@') {
                Some(path) => Self::File(PathBuf::from(path)),
                None => Self::Literal(data.as_bytes().to_vec()),
            },
        }
    }

    /// Opens a file body.
    pub(crate) fn open(path: &PathBuf) -> Result<File, CliError> {
        File::open(path)
            .map_err(|e| CliError::usage(ErrorKind::BodyRead, format!("cannot read body file {}: {e}", path.display())))
    }
}

/// Reads all of standard input.
pub(crate) fn read_stdin(what: &str) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(|e| CliError::usage(ErrorKind::BodyRead, format!("cannot read {what} from stdin: {e}")))?;
    Ok(buf)
}

/// Parses one `-H 'Name: value'` argument (the value without surrounding blanks).
pub(crate) fn parse_header(arg: &str) -> Result<(String, String), CliError> {
    let bad = |why: &str| CliError::usage(ErrorKind::InvalidRequest, format!("bad header {arg:?}: {why}"));
    let Some((name, value)) = arg.split_once(':') else {
        return Err(bad("expected 'Name: value'"));
    };
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    if name.trim() != name {
        return Err(bad("no blank is allowed around the name"));
    }
    Ok((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()))
}

/// The parsed, owned form of a [`RequestSpec`] (except the body, read by each command its own way).
pub(crate) struct Parsed {
    /// `--algorithm`, `--region`, `--service`, `--unsigned-payload`, `--signing-profile`, `--project-id`,
    /// `--domain-id`, parsed by the core.
    pub(crate) settings: SigningSettings,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: BodySource,
    /// `--date`, as a time.
    pub(crate) date: Option<SystemTime>,
}

impl Parsed {
    pub(crate) fn new(spec: &RequestSpec) -> Result<Self, CliError> {
        let options = SigningOptions {
            algorithm: Some(&spec.algorithm),
            region: spec.region.as_deref(),
            service: spec.service.as_deref(),
            excluded_headers: None,
            unsigned_payload: Some(spec.unsigned_payload),
            profile: spec.signing_profile.as_deref(),
            project_id: spec.project_id.as_deref(),
            domain_id: spec.domain_id.as_deref(),
        };
        let settings = SigningSettings::try_from(options).map_err(|e| CliError::input(&e))?;
        let headers = spec.headers.iter().map(|h| parse_header(h)).collect::<Result<Vec<_>, _>>()?;
        let date = spec.date.as_deref().map(parse_date).transpose()?;
        Ok(Self { settings, headers, body: BodySource::from_arg(spec.data.as_deref()), date })
    }

    /// The headers as the core borrows them.
    pub(crate) fn header_refs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }
}

/// A `yyyyMMddTHHmmssZ` argument as a time.
pub(crate) fn parse_date(value: &str) -> Result<SystemTime, CliError> {
    let date = SdkDate::parse(value).map_err(|e| CliError::input(&e))?;
    let seconds = date.unix_seconds();
    let time = if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    };
    time.ok_or_else(|| CliError::usage(ErrorKind::MalformedDate, format!("date {value} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_syntax() {
        assert_eq!(parse_header("Content-Type:  a/b \t").unwrap(), ("Content-Type".into(), "a/b".into()));
        assert_eq!(parse_header("X-Empty:").unwrap(), ("X-Empty".into(), String::new()));
        assert_eq!(parse_header("X-Url: http://h:1/").unwrap().1, "http://h:1/");
        for bad in ["NoColon", ": v", "Name : v", " Name: v"] {
            let err = parse_header(bad).unwrap_err();
            assert_eq!((err.code, err.exit), ("invalid_request", 2), "{bad}");
        }
    }

    #[test]
    fn body_sources() {
        assert_eq!(BodySource::from_arg(None), BodySource::Empty);
        assert_eq!(BodySource::from_arg(Some("@-")), BodySource::Stdin);
        assert_eq!(BodySource::from_arg(Some("@a.json")), BodySource::File("a.json".into()));
        assert_eq!(BodySource::from_arg(Some("x=1")), BodySource::Literal(b"x=1".to_vec()));
    }

    #[test]
    fn dates() {
        let t = parse_date("20240403T101500Z").unwrap();
        assert_eq!(SdkDate::from_system_time(t).to_string(), "20240403T101500Z");
        assert_eq!(parse_date("2024-04-03").unwrap_err().code, "malformed_date");
    }
}
