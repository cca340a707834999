//! The backend request definition: a backend method and path that differ from the client's, with
//! `{param}` substitution, and backend parameters that are constants or request parameters renamed
//! or moved between path, query and header (APIG's "backend request" of an API).
//!
//! ```json
//! "backend": {"url": "http://items.internal:8080", "method": "GET", "path": "/v1/items/{itemId}",
//!   "parameters": [
//!     {"name": "keyword", "in": "query", "from": {"in": "query", "name": "q"}},
//!     {"name": "X-Source", "in": "header", "value": "apig"}]}
//! ```
//! * `method`: the backend's method; absent or `ANY`: the client's.
//! * `path`: replaces the client's path (after the backend URL's base path). `{name}` (a whole
//!   segment or part of one: `/img/{id}.png`) is a backend path parameter when `parameters` has
//!   one of that name, else the API path's `{name}` segment. With `match: prefix`, the rest of the
//!   client's path beyond the API path is appended. Absent: the client's path, as without a
//!   definition.
//! * `parameters`: each sets the backend parameter `name` in `in` (`path`, `query`, `header`) to a
//!   constant `value`, or to the request parameter `from` (`{"in", "name"}`), which is then removed
//!   from where it was (a query or header parameter moved or renamed). A request parameter that is
//!   absent sets nothing (a backend path parameter then answers `APIG.0201` 400). Values are
//!   percent-decoded from a path or query and percent-encoded into one.
//!
//! Every other query parameter and header goes to the backend as without a definition. The
//! client's signature is verified on the request as the client sent it, before any of this.

use hyper::Method;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::error::GatewayError;

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    /// A `{name}` of the path.
    Path,
    /// A query parameter.
    Query,
    /// A header (names compare case-insensitively).
    Header,
}

/// A request parameter a backend parameter takes its value from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestParameter {
    /// Where it is in the client's request.
    #[serde(rename = "in")]
    pub location: ParamLocation,
    /// Its name there (a path parameter: the API path's `{name}`).
    pub name: String,
}

/// One backend parameter: a constant, or a request parameter moved or renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendParameter {
    /// Its name in the backend request.
    pub name: String,
    /// Where it goes in the backend request.
    #[serde(rename = "in")]
    pub location: ParamLocation,
    /// A constant value (exactly one of `value` and `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The request parameter whose value it takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<RequestParameter>,
}

/// A piece of the backend path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    /// The value of this backend path parameter (index into `Compiled::path_values`).
    Param(usize),
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Constant(String),
    /// The API path's segment at this index.
    PathSegment(usize),
    Query(String),
    Header(HeaderName),
}

/// A backend parameter, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    source: Source,
    target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Fills the path parameter at this index of `BackendRequest::path_params`.
    Path(usize),
    Query(String),
    Header(HeaderName),
}

/// A compiled backend request definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendRequest {
    method: Option<Method>,
    /// `None`: the client's path.
    path: Option<Vec<Piece>>,
    /// The backend path's parameters, by index (their default source: the API path's segment).
    path_params: Vec<(String, Source)>,
    mappings: Vec<Mapping>,
    /// Segments of the API path (the rest of a prefix match starts after them).
    api_segments: usize,
    prefix: bool,
}

/// What the definition makes of one request.
#[derive(Debug)]
pub struct Rewrite {
    /// The backend method, when it differs from the client's.
    pub method: Option<Method>,
    /// The backend path and query (to append to the backend URL's base path).
    pub target: String,
    /// Headers to remove (moved elsewhere), then headers to set.
    pub remove_headers: Vec<HeaderName>,
    /// Headers to set.
    pub set_headers: Vec<(HeaderName, HeaderValue)>,
}

/// The `{name}` segments of an API path: (segment index, name).
fn api_params(api_path: &str) -> Vec<(usize, String)> {
    api_path
        .trim_start_matches('/')
        .split('/')
        .enumerate()
        .filter_map(|(i, seg)| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')).map(|n| (i, n.to_owned())))
        .collect()
}

/// The pieces of a backend path template: literals and `{name}`s.
fn template(path: &str) -> Result<Vec<(bool, String)>, String> {
    if !path.starts_with('/') {
        return Err(format!("backend path {path:?} must start with '/'"));
    }
    let mut pieces = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| format!("unclosed '{{' in {path:?}"))?;
        let name = &rest[open + 1..close];
        if name.is_empty() || name.contains(['{', '/']) {
            return Err(format!("bad parameter {{{name}}} in backend path {path:?}"));
        }
        if open > 0 {
            pieces.push((false, rest[..open].to_owned()));
        }
        pieces.push((true, name.to_owned()));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') || rest.contains(['?', '#']) {
        return Err(format!("backend path {path:?} has a stray '}}', '?' or '#'"));
    }
    if !rest.is_empty() {
        pieces.push((false, rest.to_owned()));
    }
    Ok(pieces)
}

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("{name:?} is not a header name"))
}

impl BackendRequest {
    /// Compiles the definition of an API with path `api_path` (prefix match: `prefix`); `None`
    /// when the backend has none (no method, path or parameters).
    ///
    /// # Errors
    /// A method, path or parameter that cannot be used, with the field it is in.
    pub fn compile(
        api_path: &str,
        prefix: bool,
        method: Option<&str>,
        path: Option<&str>,
        parameters: &[BackendParameter],
    ) -> Result<Option<Self>, (String, String)> {
        let method = match method.map(str::to_ascii_uppercase).as_deref() {
            None | Some("ANY") => None,
            Some(m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS")) => {
                Some(Method::from_bytes(m.as_bytes()).map_err(|e| ("method".to_owned(), e.to_string()))?)
            }
            Some(m) => return Err(("method".into(), format!("unknown backend method {m:?}"))),
        };
        if method.is_none() && path.is_none() && parameters.is_empty() {
            return Ok(None);
        }
        let frontend = api_params(api_path);
        let segment_of = |name: &str| frontend.iter().find(|(_, n)| n == name).map(|(i, _)| *i);
        let mut path_params: Vec<(String, Source)> = Vec::new();
        let pieces = match path {
            None => None,
            Some(p) => {
                let mut pieces = Vec::new();
                for (is_param, text) in template(p).map_err(|why| ("path".to_owned(), why))? {
                    if !is_param {
                        pieces.push(Piece::Literal(text));
                        continue;
                    }
                    let index = match path_params.iter().position(|(n, _)| *n == text) {
                        Some(i) => i,
                        None => {
                            let declared =
                                parameters.iter().any(|b| b.location == ParamLocation::Path && b.name == text);
                            let source = match segment_of(&text) {
                                Some(seg) => Source::PathSegment(seg),
                                None if declared => Source::Constant(String::new()),
                                None => {
                                    return Err((
                                        "path".into(),
                                        format!(
                                            "{{{text}}} is neither a backend path parameter nor a parameter of the API path {api_path:?}"
                                        ),
                                    ));
                                }
                            };
                            path_params.push((text, source));
                            path_params.len() - 1
                        }
                    };
                    pieces.push(Piece::Param(index));
                }
                Some(pieces)
            }
        };
        let mut mappings = Vec::new();
        for (i, p) in parameters.iter().enumerate() {
            let at = |why: String| (format!("parameters[{i}]"), why);
            if p.name.is_empty() {
                return Err(at("a backend parameter needs a name".into()));
            }
            let source =
                match (&p.value, &p.from) {
                    (Some(v), None) => Source::Constant(v.clone()),
                    (None, Some(from)) => match from.location {
                        ParamLocation::Path => Source::PathSegment(segment_of(&from.name).ok_or_else(|| {
                            at(format!("the API path {api_path:?} has no parameter {{{}}}", from.name))
                        })?),
                        ParamLocation::Query => Source::Query(from.name.clone()),
                        ParamLocation::Header => Source::Header(header_name(&from.name).map_err(at)?),
                    },
                    _ => return Err(at("give exactly one of `value` and `from`".into())),
                };
            let target = match p.location {
                ParamLocation::Path => {
                    let index = path_params
                        .iter()
                        .position(|(n, _)| *n == p.name)
                        .ok_or_else(|| at(format!("the backend path has no {{{}}} (set `path` with it)", p.name)))?;
                    Target::Path(index)
                }
                ParamLocation::Query => Target::Query(p.name.clone()),
                ParamLocation::Header => Target::Header(header_name(&p.name).map_err(at)?),
            };
            if let (Source::Constant(v), Target::Header(_)) = (&source, &target)
                && HeaderValue::from_str(v).is_err()
            {
                return Err(at(format!("{v:?} is not a header value")));
            }
            // the same parameter in the same place: nothing to do
            let identity = match (&source, &target) {
                (Source::Query(a), Target::Query(b)) => a == b,
                (Source::Header(a), Target::Header(b)) => a == b,
                _ => false,
            };
            if !identity {
                mappings.push(Mapping { source, target });
            }
        }
        let api_segments = api_path.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).count();
        Ok(Some(Self { method, path: pieces, path_params, mappings, api_segments, prefix }))
    }

    /// The backend request for a client request with raw `path`, raw `query` and `headers`.
    ///
    /// # Errors
    /// `APIG.0201` 400 when a backend path parameter has no value.
    pub fn apply(&self, path: &str, query: Option<&str>, headers: &HeaderMap) -> Result<Rewrite, GatewayError> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut pairs: Vec<(String, String)> = query
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let decoded = |raw: &str| String::from_utf8_lossy(&apig::percent_decode(raw, false)).into_owned();
        let mut path_values: Vec<Option<String>> = self
            .path_params
            .iter()
            .map(|(_, source)| match source {
                Source::PathSegment(i) => segments.get(*i).map(|s| decoded(s)),
                _ => None,
            })
            .collect();
        let mut removed_queries: Vec<&str> = Vec::new();
        let mut remove_headers = Vec::new();
        let mut set_headers = Vec::new();
        // (name, value, whether the value is raw: a query value moved within the query is kept as
        // the client encoded it, `+` and all)
        let mut added_queries: Vec<(String, String, bool)> = Vec::new();
        for m in &self.mappings {
            let value = match &m.source {
                Source::Constant(v) => Some(v.clone()),
                Source::PathSegment(i) => segments.get(*i).map(|s| decoded(s)),
                Source::Query(name) => {
                    removed_queries.push(name);
                    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| decoded(v))
                }
                Source::Header(name) => {
                    remove_headers.push(name.clone());
                    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                }
            };
            let Some(value) = value else { continue };
            match &m.target {
                Target::Path(i) => path_values[*i] = Some(value),
                Target::Query(name) => {
                    let raw = match &m.source {
                        Source::Query(from) => pairs.iter().find(|(k, _)| k == from).map(|(_, v)| v.clone()),
                        _ => None,
                    };
                    match raw {
                        Some(raw) => added_queries.push((name.clone(), raw, true)),
                        None => added_queries.push((name.clone(), value, false)),
                    }
                }
                Target::Header(name) => {
                    let v = HeaderValue::from_str(&value).map_err(|_| {
                        GatewayError::bad_request(format_args!(
                            "the value for the backend header {name} is not a header value"
                        ))
                    })?;
                    set_headers.push((name.clone(), v));
                }
            }
        }
        let mut target = String::with_capacity(path.len() + 16);
        match &self.path {
            None => target.push_str(path),
            Some(pieces) => {
                for piece in pieces {
                    match piece {
                        Piece::Literal(l) => target.push_str(l),
                        Piece::Param(i) => match &path_values[*i] {
                            Some(v) if !v.is_empty() => apig::encode_unreserved(v.as_bytes(), &mut target),
                            _ => {
                                return Err(GatewayError::bad_request(format_args!(
                                    "no value for the backend path parameter {{{}}}",
                                    self.path_params[*i].0
                                )));
                            }
                        },
                    }
                }
                if self.prefix && segments.len() > self.api_segments {
                    for seg in &segments[self.api_segments..] {
                        target.push('/');
                        target.push_str(seg);
                    }
                }
            }
        }
        pairs.retain(|(k, _)| !removed_queries.contains(&k.as_str()));
        let mut query = String::new();
        for (k, v) in &pairs {
            query.push_str(if query.is_empty() { "" } else { "&" });
            query.push_str(k);
            if !v.is_empty() {
                query.push('=');
                query.push_str(v);
            }
        }
        for (k, v, raw) in &added_queries {
            query.push_str(if query.is_empty() { "" } else { "&" });
            apig::encode_unreserved(k.as_bytes(), &mut query);
            query.push('=');
            if *raw {
                query.push_str(v);
            } else {
                apig::encode_unreserved(v.as_bytes(), &mut query);
            }
        }
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query);
        }
        Ok(Rewrite { method: self.method.clone(), target, remove_headers, set_headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(
        name: &str,
        location: ParamLocation,
        value: Option<&str>,
        from: Option<(ParamLocation, &str)>,
    ) -> BackendParameter {
        BackendParameter {
            name: name.into(),
            location,
            value: value.map(Into::into),
            from: from.map(|(location, name)| RequestParameter { location, name: name.into() }),
        }
    }

    #[test]
    fn rewrites_path_method_and_parameters() {
        use ParamLocation::{Header, Path, Query};
        let params = [
            param("keyword", Query, None, Some((Query, "q"))),
            param("X-Source", Header, Some("apig"), None),
            param("X-Item", Header, None, Some((Path, "id"))),
            param("v", Path, None, Some((Header, "X-Version"))),
            param("page", Query, None, Some((Query, "page"))),
        ];
        let def = BackendRequest::compile("/items/{id}", false, Some("POST"), Some("/v{v}/things/{id}.json"), &params)
            .unwrap()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-version", HeaderValue::from_static("2"));
        let r = def.apply("/items/a%20b", Some("q=hello+world%21&page=3&other"), &headers).unwrap();
        assert_eq!(r.method, Some(Method::POST));
        // a query value moved within the query keeps the client's encoding
        assert_eq!(r.target, "/v2/things/a%20b.json?page=3&other&keyword=hello+world%21");
        assert_eq!(r.remove_headers, vec![HeaderName::from_static("x-version")]);
        let set: Vec<_> = r.set_headers.iter().map(|(n, v)| (n.as_str(), v.to_str().unwrap())).collect();
        assert_eq!(set, [("x-source", "apig"), ("x-item", "a b")]);
        // the header the backend path needs is missing
        let e = def.apply("/items/x", None, &HeaderMap::new()).unwrap_err();
        assert!(e.message.contains("{v}"), "{e:?}");
    }

    #[test]
    fn prefix_rest_and_no_definition() {
        let def = BackendRequest::compile("/api/{tenant}", true, Some("ANY"), Some("/t/{tenant}/root"), &[])
            .unwrap()
            .unwrap();
        let r = def.apply("/api/acme/x/y", Some("a=1"), &HeaderMap::new()).unwrap();
        assert_eq!((r.method, r.target.as_str()), (None, "/t/acme/root/x/y?a=1"));
        assert_eq!(BackendRequest::compile("/a", false, None, None, &[]).unwrap(), None);
        let e = BackendRequest::compile("/a", false, None, Some("/b/{nope}"), &[]).unwrap_err();
        assert_eq!(e.0, "path");
        let e = BackendRequest::compile("/a", false, Some("BREW"), None, &[]).unwrap_err();
        assert_eq!(e.0, "method");
        let bad_header = [param("X-A", ParamLocation::Header, Some("a\nb"), None)];
        assert_eq!(BackendRequest::compile("/a", false, None, None, &bad_header).unwrap_err().0, "parameters[0]");
        let both = [param("x", ParamLocation::Query, Some("1"), Some((ParamLocation::Query, "y")))];
        assert_eq!(BackendRequest::compile("/a", false, None, None, &both).unwrap_err().0, "parameters[0]");
    }
}
