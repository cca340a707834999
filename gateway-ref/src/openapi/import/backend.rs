//! The backend of an operation (`x-apigateway-backend`): HTTP, HTTP-VPC through a channel's URL,
//! MOCK; its request definition (method, path, parameters) and timeout.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Ctx, Found, MAX_TIMEOUT_MS, issue, number, text};
use crate::backend_request::{BackendParameter, ParamLocation, RequestParameter};
use crate::config::{Backend, DEFAULT_TIMEOUT_MS, MatchMode, UpstreamDef};
use crate::mock_backend::MockResponse;
use crate::openapi::Issue;

/// The HTTP-VPC channel `name` as a backend URL: the URL the user gives for it
/// (`--vpc-channel NAME=URL`), else the target configuration's upstream of that name
/// (`upstream://NAME`: APIG's VPC channel is a load-balanced server group). The one place that
/// maps a channel.
pub fn vpc_channel_url(channels: &BTreeMap<String, String>, upstreams: &[UpstreamDef], name: &str) -> Option<String> {
    match channels.get(name) {
        Some(url) => Some(url.trim_end_matches('/').to_owned()),
        None => upstreams.iter().any(|u| u.name == name).then(|| format!("upstream://{name}")),
    }
}

/// The backend of an operation.
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
pub(super) fn backend(
    ctx: &Ctx<'_>,
    found: &mut Found,
    at: &str,
    api_path: &str,
    method: &str,
    match_mode: MatchMode,
    greedy: bool,
    op: &Map<String, Value>,
    params: &[(String, String, Value)],
    api: Option<&str>,
    route: Option<&str>,
) -> Option<Backend> {
    let at = format!("{at}/x-apigateway-backend");
    let invalid = |found: &mut Found, here: &str, why: &str| found.invalid.push(issue(here, api, route, why));
    let Some(b) = op.get("x-apigateway-backend").and_then(Value::as_object) else {
        found.invalid.push(Issue {
            at,
            api: api.map(str::to_owned),
            route: route.map(str::to_owned),
            reason: "missing (every API needs its backend)".into(),
            code: Some("APIG.2012"),
        });
        return None;
    };
    let kind = b.get("type").and_then(Value::as_str).unwrap_or("").to_ascii_uppercase();
    let unsupported = |found: &mut Found, here: &str, why: &str| found.unsupported.push(issue(here, api, route, why));
    let endpoints_key = match kind.as_str() {
        "HTTP" => "httpEndpoints",
        "HTTP-VPC" => "httpVpcEndpoints",
        "MOCK" => {
            let body = b.get("mockEndpoints").and_then(|m| m.get("result-content")).and_then(text).unwrap_or_default();
            let mut backend = plain_backend("mock:".into(), DEFAULT_TIMEOUT_MS);
            backend.mock = Some(MockResponse { body, ..MockResponse::default() });
            return Some(backend);
        }
        "FUNCTION" => {
            unsupported(found, &format!("{at}/type"), "FunctionGraph backend: only Huawei Cloud runs functions");
            return None;
        }
        "HTTP-VPC-MEMBER-GROUP" => {
            unsupported(
                found,
                &format!("{at}/type"),
                "HTTP-VPC member-group backend: several server groups behind one channel",
            );
            return None;
        }
        "" => {
            invalid(found, &format!("{at}/type"), "missing: HTTP, HTTP-VPC, FUNCTION or MOCK");
            return None;
        }
        other => {
            invalid(found, &format!("{at}/type"), &format!("unknown backend type {other:?}"));
            return None;
        }
    };
    let e_at = format!("{at}/{endpoints_key}");
    let Some(e) = b.get(endpoints_key).and_then(Value::as_object) else {
        invalid(found, &e_at, &format!("missing: a {kind} backend needs {endpoints_key}"));
        return None;
    };
    let field = |k: &str| {
        e.get(k).and_then(|v| match v {
            Value::Array(a) if a.len() == 1 => text(&a[0]),
            other => text(other),
        })
    };
    let origin = if kind == "HTTP" {
        if e.get("address").and_then(Value::as_array).is_some_and(|a| a.len() > 1) {
            unsupported(
                found,
                &format!("{e_at}/address"),
                "several backend addresses (load balancing needs an HTTP-VPC channel)",
            );
            return None;
        }
        let Some(address) = field("address").filter(|a| !a.is_empty()) else {
            invalid(found, &format!("{e_at}/address"), "missing");
            return None;
        };
        if address.contains(['/', '?', '#', '@']) || address.contains(char::is_whitespace) {
            invalid(found, &format!("{e_at}/address"), &format!("{address:?} must be host[:port]"));
            return None;
        }
        format!("http://{address}")
    } else {
        let Some(channel) = field("name").filter(|n| !n.is_empty()) else {
            invalid(found, &format!("{e_at}/name"), "missing: the VPC channel's name");
            return None;
        };
        match vpc_channel_url(&ctx.options.vpc_channels, &ctx.target.upstreams, &channel) {
            Some(url) => url,
            None => {
                unsupported(
                    found,
                    &format!("{e_at}/name"),
                    &format!(
                        "HTTP-VPC channel {channel:?} is neither an upstream of the configuration nor given a URL: \
                         define the upstream {channel:?} or give --vpc-channel {channel}=http://host:port"
                    ),
                );
                return None;
            }
        }
    };
    let origin = match field("scheme").map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("http") => origin,
        Some("https") => match origin.strip_prefix("http://") {
            // verified with the system's roots (a CA file or `insecure_skip_verify` is set in the
            // configuration afterwards: APIG's file has neither)
            Some(rest) => format!("https://{rest}"),
            // an upstream (or a URL given as https://) speaks its own scheme
            None => origin,
        },
        Some(other) => {
            invalid(found, &format!("{e_at}/scheme"), &format!("{other:?} must be http or https"));
            return None;
        }
        None => {
            invalid(found, &format!("{e_at}/scheme"), "missing: http or https");
            return None;
        }
    };
    if e.get("enableClientSsl").and_then(Value::as_bool) == Some(true) {
        unsupported(found, &format!("{e_at}/enableClientSsl"), "mutual TLS to the backend");
        return None;
    }
    let Some(backend_method) = field("method").map(|m| m.to_ascii_uppercase()) else {
        invalid(found, &format!("{e_at}/method"), "missing");
        return None;
    };
    let Some(backend_path) = field("path").filter(|p| p.starts_with('/')) else {
        invalid(found, &format!("{e_at}/path"), "missing, or not starting with '/'");
        return None;
    };
    if backend_path.contains('#') {
        unsupported(found, &format!("{e_at}/path"), "environment variables (#name#) in the backend path");
        return None;
    }
    if backend_path.contains('+') && backend_path.contains('{') {
        unsupported(found, &format!("{e_at}/path"), "a greedy parameter in the backend path");
        return None;
    }
    let timeout = match e.get("timeout") {
        None => DEFAULT_TIMEOUT_MS,
        Some(v) => match number(v).filter(|t| (1..=MAX_TIMEOUT_MS).contains(t)) {
            Some(t) => t,
            None => {
                found.invalid.push(Issue {
                    at: format!("{e_at}/timeout"),
                    api: api.map(str::to_owned),
                    route: route.map(str::to_owned),
                    reason: format!("{v} must be 1 to {MAX_TIMEOUT_MS} ms"),
                    code: Some("APIG.2004"),
                });
                return None;
            }
        },
    };
    if let Some(retry) = e.get("retryCount").and_then(text).filter(|r| r != "0" && r != "-1") {
        found.warnings.push(issue(&format!("{e_at}/retryCount"), api, route, &format!("retryCount {retry}: not honoured (the gateway resends only an idempotent request whose pooled connection closed)")));
    }

    // backend parameters
    let mut parameters = Vec::new();
    let mut path_mapped = false;
    for (i, p) in b.get("parameters").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let here = format!("{at}/parameters/{i}");
        let (Some(name), Some(location)) = (p.get("name").and_then(Value::as_str), p.get("in").and_then(Value::as_str))
        else {
            invalid(found, &here, "a backend parameter needs `name` and `in`");
            continue;
        };
        let Some(location) = location_of(location) else {
            invalid(found, &format!("{here}/in"), &format!("{location:?} must be path, query or header"));
            continue;
        };
        let value = p.get("value").and_then(text).unwrap_or_default();
        let origin = p.get("origin").and_then(Value::as_str).unwrap_or("REQUEST").to_ascii_uppercase();
        let param = match origin.as_str() {
            "CONSTANT" => BackendParameter { name: name.to_owned(), location, value: Some(value), from: None },
            "REQUEST" => {
                let source = params.iter().find(|(n, _, _)| *n == value).and_then(|(_, l, _)| location_of(l));
                let source =
                    source.unwrap_or(if location == ParamLocation::Path { ParamLocation::Path } else { location });
                if source == location
                    && value.eq_ignore_ascii_case(name)
                    && (location == ParamLocation::Header || value == name)
                {
                    continue; // the same parameter in the same place
                }
                BackendParameter {
                    name: name.to_owned(),
                    location,
                    value: None,
                    from: Some(RequestParameter { location: source, name: value }),
                }
            }
            "SYSTEM" => {
                unsupported(found, &format!("{here}/origin"), "SYSTEM backend parameters ($context values)");
                return None;
            }
            other => {
                invalid(found, &format!("{here}/origin"), &format!("{other:?} must be REQUEST, CONSTANT or SYSTEM"));
                continue;
            }
        };
        path_mapped |= location == ParamLocation::Path;
        parameters.push(param);
    }

    // the backend URL's base path: the backend path less the API path, when it ends with it and
    // nothing maps a path parameter; else an explicit backend path
    let same_method = backend_method == "ANY" || backend_method == method;
    let template_path = if greedy { None } else { Some(api_path) };
    let (url, path) = match template_path.and_then(|p| base_of(&backend_path, p)) {
        Some(base) if !path_mapped => (format!("{origin}{base}"), None),
        _ => {
            // an explicit backend path: the channel URL's own base path goes in front of it
            let (origin, base) = split_base(&origin);
            (origin.to_owned(), Some(format!("{base}{backend_path}")))
        }
    };
    let mut backend = plain_backend(url, timeout);
    backend.method = (!same_method).then_some(backend_method);
    backend.path = path;
    backend.parameters = parameters;
    // the definition must compile as the gateway will compile it
    if let Err((field, why)) = crate::backend_request::BackendRequest::compile(
        api_path,
        match_mode == MatchMode::Prefix,
        backend.method.as_deref(),
        backend.path.as_deref(),
        &backend.parameters,
    ) {
        unsupported(found, &at, &format!("backend {field}: {why}"));
        return None;
    }
    Some(backend)
}

/// `http://host:port` and the base path of a URL.
fn split_base(url: &str) -> (&str, &str) {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => url.split_at(after + i),
        None => (url, ""),
    }
}

/// The base path when `backend_path` is it followed by `api_path`.
fn base_of<'a>(backend_path: &'a str, api_path: &str) -> Option<&'a str> {
    let base = if api_path == "/" { backend_path.strip_suffix('/')? } else { backend_path.strip_suffix(api_path)? };
    (base.is_empty() || (base.starts_with('/') && !base.ends_with('/') && !base.contains('{'))).then_some(base)
}

fn location_of(text: &str) -> Option<ParamLocation> {
    match text.to_ascii_lowercase().as_str() {
        "path" => Some(ParamLocation::Path),
        "query" => Some(ParamLocation::Query),
        "header" => Some(ParamLocation::Header),
        _ => None,
    }
}

fn plain_backend(url: String, timeout_ms: u64) -> Backend {
    Backend { url, timeout_ms, tls: None, method: None, path: None, parameters: Vec::new(), mock: None }
}
