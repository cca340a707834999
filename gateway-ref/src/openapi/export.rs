//! Export: one group of a configuration as an APIG import file (Swagger 2.0 by default, or OpenAPI
//! 3.0; JSON or YAML), the inverse of [`super::import`] on what both can represent:
//! `import(export(c)) = c` for a group without `echo:` backends whose policies are one
//! `access_control` (one list), one `throttle` (without 2.0 rules, user header or store) and the
//! `apig-cors` policy. What an export cannot carry is listed as warnings: `echo:` backends (the API
//! is left out), other bound policies (exported by name as `x-apigateway-plugins`), a mock's status
//! and headers.

use serde_json::{Map, Value, json};

use super::{CORS_POLICY, Issue, Syntax, cors_config};
use crate::backend_request::ParamLocation;
use crate::config::{Api, AuthType, ConfigFile, Group, MatchMode, PolicyDef};

/// The document version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// Swagger 2.0 (default, as APIG).
    #[default]
    Swagger2,
    /// OpenAPI 3.0.
    Oas3,
}

impl std::str::FromStr for Version {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "swagger2" => Ok(Self::Swagger2),
            "oas3" => Ok(Self::Oas3),
            _ => Err(format!("format {s:?} must be swagger2 or oas3")),
        }
    }
}

/// What to export and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportOptions {
    /// The group (default: the only one).
    pub group: Option<String>,
    /// Swagger 2.0 or OpenAPI 3.0.
    pub version: Version,
    /// JSON or YAML.
    pub syntax: Syntax,
    /// `info.version` (default: the time, as APIG writes it: `2026-11-20-10:15:00`).
    pub info_version: Option<String>,
}

/// An export: the document's text and what it leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// The document as text.
    pub text: String,
    /// The document.
    pub document: Value,
    /// What the document cannot carry.
    pub warnings: Vec<Issue>,
}

/// Exports a group of `config`.
///
/// # Errors
/// No such group, several groups and none chosen, or a document that cannot be written.
pub fn export(config: &ConfigFile, options: &ExportOptions) -> Result<Exported, String> {
    let (document, warnings) = document(config, options)?;
    let text = match options.syntax {
        Syntax::Json => serde_json::to_string_pretty(&document).map(|t| t + "\n").map_err(|e| e.to_string())?,
        Syntax::Yaml => crate::config::to_yaml(&document)?,
    };
    Ok(Exported { text, document, warnings })
}

fn group<'a>(config: &'a ConfigFile, id: Option<&str>) -> Result<(usize, &'a Group), String> {
    let ids = || config.groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>().join(", ");
    match id {
        Some(id) => config
            .groups
            .iter()
            .enumerate()
            .find(|(_, g)| g.id == id)
            .ok_or_else(|| format!("no group {id:?} (groups: {})", ids())),
        None => match config.groups.as_slice() {
            [g] => Ok((0, g)),
            [] => Err("the configuration has no group".into()),
            _ => Err(format!("the configuration has several groups: choose one ({})", ids())),
        },
    }
}

fn now_version() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]-[hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}

/// The document of a group, and what it leaves out.
///
/// # Errors
/// As [`export`].
#[allow(clippy::too_many_lines)]
pub fn document(config: &ConfigFile, options: &ExportOptions) -> Result<(Value, Vec<Issue>), String> {
    let (g, group) = group(config, options.group.as_deref())?;
    let oas3 = options.version == Version::Oas3;
    let mut warnings = Vec::new();
    let mut paths: Map<String, Value> = Map::new();
    let mut ratelimits = Map::new();
    let mut acls = Map::new();
    for (a, api) in group.apis.iter().enumerate() {
        let at = format!("groups[{g}].apis[{a}]");
        let warn = |warnings: &mut Vec<Issue>, at: String, reason: String| {
            warnings.push(Issue {
                at,
                api: Some(api.id.clone()),
                route: Some(format!("{} {}", api.method, api.path)),
                reason,
                code: None,
            });
        };
        let key = if api.method.eq_ignore_ascii_case("ANY") {
            "x-apigateway-any-method".to_owned()
        } else {
            api.method.to_ascii_lowercase()
        };
        if paths.get(&api.path).and_then(|item| item.get(&key)).is_some() {
            let why = "a file holds one operation per method and path: this API (another match mode) is left out";
            warn(&mut warnings, at, why.into());
            continue;
        }
        let Some(backend) = backend(api, oas3, &at, &mut warnings) else { continue };
        let mut op = Map::new();
        op.insert("operationId".into(), json!(api.name.as_deref().unwrap_or(&api.id)));
        match api.auth {
            AuthType::App => {
                op.insert("security".into(), json!([{"apig-auth-app": []}]));
            }
            AuthType::AppCode => {
                op.insert("security".into(), json!([{"apig-auth-app-header": []}]));
            }
            AuthType::None => {}
        }
        op.insert("parameters".into(), Value::Array(frontend_parameters(api, oas3)));
        op.insert("responses".into(), json!({"default": {"description": "default response"}}));
        op.insert("x-apigateway-request-type".into(), json!("public"));
        op.insert(
            "x-apigateway-match-mode".into(),
            json!(if api.match_mode == MatchMode::Prefix { "SWA" } else { "NORMAL" }),
        );
        let mut plugins = Vec::new();
        let mut cors = false;
        for (p, name) in api.policies.iter().enumerate() {
            let here = format!("{at}.policies[{p}]");
            let Some(def) = config.policies.iter().find(|d| d.name == *name) else { continue };
            match def.kind.as_str() {
                "access_control" if !op.contains_key("x-apigateway-access-control") && !cors && plugins.is_empty() => {
                    match acl_of(def) {
                        Some(v) => {
                            acls.insert(name.clone(), v);
                            op.insert("x-apigateway-access-control".into(), json!(name));
                            continue;
                        }
                        None => warn(
                            &mut warnings,
                            here,
                            format!(
                                "access_control {name:?} has more than one IP list, app lists or a client IP header: exported by name only (x-apigateway-plugins)"
                            ),
                        ),
                    }
                }
                "throttle" if !op.contains_key("x-apigateway-ratelimit") && !cors && plugins.is_empty() => {
                    match ratelimit_of(def) {
                        Some(v) => {
                            ratelimits.insert(name.clone(), v);
                            op.insert("x-apigateway-ratelimit".into(), json!(name));
                            continue;
                        }
                        None => warn(
                            &mut warnings,
                            here,
                            format!(
                                "throttle {name:?} has 2.0 rules, a user or client IP header, a store, or no api_limit: exported by name only (x-apigateway-plugins)"
                            ),
                        ),
                    }
                }
                "cors" if !cors && plugins.is_empty() => {
                    if def.name != CORS_POLICY || def.config != cors_config() {
                        warn(
                            &mut warnings,
                            here,
                            format!(
                                "cors {name:?} exported as x-apigateway-cors: true (APIG's fixed CORS headers; an import binds {CORS_POLICY})"
                            ),
                        );
                    }
                    cors = true;
                    continue;
                }
                _ => warn(
                    &mut warnings,
                    here,
                    format!(
                        "{} {name:?} exported by name only (x-apigateway-plugins): a file carries no plug-in settings",
                        def.kind
                    ),
                ),
            }
            plugins.push(json!(name));
        }
        op.insert("x-apigateway-cors".into(), json!(cors));
        if !plugins.is_empty() {
            op.insert("x-apigateway-plugins".into(), Value::Array(plugins));
        }
        op.insert("x-apigateway-backend".into(), backend);
        let item = paths.entry(api.path.clone()).or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(key, Value::Object(op));
        }
    }

    let app = json!({"type": "apiKey", "name": "Authorization", "in": "header", "x-apigateway-auth-type": "AppSigv1"});
    let mut app_header = app.clone();
    app_header["x-apigateway-auth-opt"] = json!({"appcode-auth-type": "header"});
    let iam = json!({"type": "apiKey", "name": "unused", "in": "header", "x-apigateway-auth-type": "IAM"});
    let schemes = json!({"apig-auth-app": app, "apig-auth-app-header": app_header, "apig-auth-iam": iam});
    let mut doc = Map::new();
    let info = json!({"title": group.name.as_deref().unwrap_or(&group.id), "version": options.info_version.clone().unwrap_or_else(now_version)});
    if oas3 {
        doc.insert("openapi".into(), json!("3.0.1"));
        doc.insert("info".into(), info);
        if let Some(domain) = group.domains.first() {
            doc.insert("servers".into(), json!([{"url": format!("http://{domain}")}]));
        }
        doc.insert("paths".into(), Value::Object(paths));
        doc.insert("components".into(), json!({"securitySchemes": schemes}));
    } else {
        doc.insert("swagger".into(), json!("2.0"));
        doc.insert("info".into(), info);
        if let Some(domain) = group.domains.first() {
            doc.insert("host".into(), json!(domain));
        }
        doc.insert("paths".into(), Value::Object(paths));
        doc.insert("securityDefinitions".into(), schemes);
    }
    if !ratelimits.is_empty() {
        doc.insert("x-apigateway-ratelimits".into(), Value::Object(ratelimits));
    }
    if !acls.is_empty() {
        doc.insert("x-apigateway-access-controls".into(), Value::Object(acls));
    }
    if group.domains.len() > 1 {
        warnings.push(Issue {
            at: format!("groups[{g}].domains"),
            api: None,
            route: None,
            reason: "only the first domain is exported (and an import ignores it, as APIG does)".into(),
            code: None,
        });
    }
    Ok((Value::Object(doc), warnings))
}

/// The `{name}` segments of a path.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

fn location_text(l: ParamLocation, oas3: bool) -> &'static str {
    match (l, oas3) {
        (ParamLocation::Path, false) => "path",
        (ParamLocation::Query, false) => "query",
        (ParamLocation::Header, false) => "header",
        (ParamLocation::Path, true) => "PATH",
        (ParamLocation::Query, true) => "QUERY",
        (ParamLocation::Header, true) => "HEADER",
    }
}

/// The request parameters an API declares: its path's, and those its backend takes values from.
fn frontend_parameters(api: &Api, oas3: bool) -> Vec<Value> {
    let mut declared: Vec<(String, &'static str)> =
        path_params(&api.path).into_iter().map(|p| (p.to_owned(), "path")).collect();
    for p in &api.backend.parameters {
        if let Some(from) = &p.from {
            let entry = (from.name.clone(), location_text(from.location, false));
            if !declared.contains(&entry) {
                declared.push(entry);
            }
        }
    }
    declared
        .into_iter()
        .map(|(name, location)| {
            let mut p = json!({"name": name, "in": location, "required": location == "path"});
            if oas3 {
                p["schema"] = json!({"type": "string"});
            } else {
                p["type"] = json!("string");
            }
            p
        })
        .collect()
}

/// `x-apigateway-backend` of an API, or `None` (with a warning) when it has no counterpart.
fn backend(api: &Api, oas3: bool, at: &str, warnings: &mut Vec<Issue>) -> Option<Value> {
    let b = &api.backend;
    let warn = |warnings: &mut Vec<Issue>, reason: String| {
        warnings.push(Issue {
            at: format!("{at}.backend"),
            api: Some(api.id.clone()),
            route: Some(format!("{} {}", api.method, api.path)),
            reason,
            code: None,
        });
    };
    if b.url == "echo:" {
        warn(warnings, "the echo: backend has no APIG counterpart: API left out".into());
        return None;
    }
    if b.url == "mock:" {
        let mock = b.mock.clone().unwrap_or_default();
        if mock.status != 200 || !mock.headers.is_empty() {
            warn(warnings, "a MOCK backend carries its body only: the mock's status and headers are left out".into());
        }
        return Some(json!({"type": "MOCK", "mockEndpoints": {"result-content": mock.body}}));
    }
    // http:// and https:// backends are HTTP ones; an upstream is APIG's VPC channel of that name
    let (kind, scheme, rest) = if let Some(rest) = b.url.strip_prefix("http://") {
        ("HTTP", "http", rest)
    } else if let Some(rest) = b.url.strip_prefix("https://") {
        ("HTTP", "https", rest)
    } else if let Some(rest) = b.url.strip_prefix("upstream://") {
        ("HTTP-VPC", "http", rest)
    } else {
        warn(warnings, format!("backend URL {:?} has no APIG counterpart: API left out", b.url));
        return None;
    };
    if b.tls.is_some() {
        warn(
            warnings,
            "the backend's tls settings (CA file, insecure_skip_verify) have no APIG counterpart: left out".into(),
        );
    }
    let (address, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let path = format!("{base}{}", b.path.as_deref().unwrap_or(&api.path));
    let path = if path.is_empty() { "/".to_owned() } else { path };
    let method = b.method.clone().unwrap_or_else(|| api.method.to_ascii_uppercase());
    let mut parameters: Vec<Value> = Vec::new();
    if b.path.is_none() {
        for p in path_params(&api.path) {
            parameters.push(
                json!({"name": p, "value": p, "in": location_text(ParamLocation::Path, oas3), "origin": "REQUEST"}),
            );
        }
    }
    for p in &b.parameters {
        let (value, origin) = match (&p.value, &p.from) {
            (Some(v), _) => (v.clone(), "CONSTANT"),
            (None, Some(from)) => (from.name.clone(), "REQUEST"),
            (None, None) => continue,
        };
        parameters
            .push(json!({"name": p.name, "value": value, "in": location_text(p.location, oas3), "origin": origin}));
    }
    Some(if kind == "HTTP" {
        json!({
            "type": "HTTP",
            "parameters": parameters,
            "httpEndpoints": {"address": address, "scheme": scheme, "method": method, "path": path, "timeout": b.timeout_ms}
        })
    } else {
        // the upstream's own scheme applies on import (the channel is the target's upstream)
        json!({
            "type": "HTTP-VPC",
            "parameters": parameters,
            "httpVpcEndpoints": {"name": address, "scheme": scheme, "method": method, "path": path, "timeout": b.timeout_ms}
        })
    })
}

/// A throttle definition as a ratelimit entry, when it has one.
fn ratelimit_of(def: &PolicyDef) -> Option<Value> {
    let c = def.config.as_object()?;
    const KEYS: [&str; 9] = [
        "api_limit",
        "user_limit",
        "app_limit",
        "ip_limit",
        "interval",
        "unit",
        "scope",
        "special_apps",
        "special_users",
    ];
    if c.keys().any(|k| !KEYS.contains(&k.as_str())) {
        return None;
    }
    let mut v = Map::new();
    v.insert("api-limit".into(), c.get("api_limit")?.clone());
    for (k, out) in [("user_limit", "user-limit"), ("app_limit", "app-limit"), ("ip_limit", "ip-limit")] {
        if let Some(l) = c.get(k).filter(|l| !l.is_null()) {
            v.insert(out.into(), l.clone());
        }
    }
    v.insert("interval".into(), c.get("interval").cloned().unwrap_or(json!(1)));
    v.insert("unit".into(), json!(c.get("unit").and_then(Value::as_str).unwrap_or("second").to_ascii_uppercase()));
    v.insert("shared".into(), json!(c.get("scope").and_then(Value::as_str) == Some("shared")));
    let mut special = Vec::new();
    for (key, kind, id) in [("special_apps", "APP", "app"), ("special_users", "USER", "user")] {
        for s in c.get(key).and_then(Value::as_array).into_iter().flatten() {
            special.push(json!({"type": kind, "limit": s.get("limit")?, "instance": s.get(id)?}));
        }
    }
    if !special.is_empty() {
        v.insert("special".into(), Value::Array(special));
    }
    Some(Value::Object(v))
}

/// An access-control definition as an access-control entry, when it has one.
fn acl_of(def: &PolicyDef) -> Option<Value> {
    let c = def.config.as_object()?;
    let mut lists = c.iter().filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
    let (key, list) = lists.next()?;
    if lists.next().is_some() {
        return None;
    }
    let acl = match key.as_str() {
        "ip_allow" => "PERMIT",
        "ip_deny" => "DENY",
        _ => return None,
    };
    let values: Vec<&str> = list.as_array()?.iter().map(Value::as_str).collect::<Option<_>>()?;
    Some(json!({"acl-type": acl, "entity-type": "IP", "value": values.join(",")}))
}
