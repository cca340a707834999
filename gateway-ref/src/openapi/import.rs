//! Import: an APIG export file (Swagger 2.0 or OpenAPI 3.0 with `x-apigateway-*`, JSON or YAML)
//! into this gateway's configuration.
//!
//! The group is `info.title` (or the id given); each operation becomes an API (`operationId`),
//! published to `RELEASE` unless told otherwise; `x-apigateway-ratelimits` and
//! `x-apigateway-access-controls` become `throttle` and `access_control` policies of the same names,
//! `x-apigateway-cors: true` binds the shared `apig-cors` policy. Three outcomes besides success:
//! an unreadable file ([`ImportError::Invalid`], with `line:column`), invalid items
//! ([`ImportError::InvalidItems`], always refused), and features the gateway cannot honour
//! ([`ImportError::Unsupported`]: refused, or with `lenient` those APIs skipped and listed as
//! warnings). Nothing is written unless the whole import is accepted.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::{CORS_POLICY, Issue, cors_config, parse_document, pointer_token};
use crate::backend_request::{BackendParameter, ParamLocation, RequestParameter};
use crate::config::{
    Api, AuthType, Backend, ConfigFile, DEFAULT_ENVIRONMENT, DEFAULT_TIMEOUT_MS, Environment, Group, MatchMode,
    PolicyDef,
};
use crate::mock_backend::MockResponse;

/// The longest backend timeout APIG accepts (a dedicated gateway's raised cap), in milliseconds.
const MAX_TIMEOUT_MS: u64 = 600_000;

/// How the imported group meets a group of the same id in the target configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Imported APIs replace the group's APIs of the same id; its other APIs stay (default).
    #[default]
    Merge,
    /// The group's APIs are replaced by the imported ones: those not in the file are removed,
    /// with their publications and authorisations.
    Replace,
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "merge" => Ok(Self::Merge),
            "replace" => Ok(Self::Replace),
            _ => Err(format!("mode {s:?} must be merge or replace")),
        }
    }
}

/// What to import and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The group id (default: `info.title`).
    pub group: Option<String>,
    /// Merge with or replace the target's group of that id.
    pub mode: Mode,
    /// Skip the APIs with unsupported features (listed as warnings) instead of refusing the file.
    pub lenient: bool,
    /// The environment to publish the imported APIs to (default `RELEASE`); `None`: none.
    pub environment: Option<String>,
    /// HTTP-VPC channel name → the `http://host:port[/base]` URL that stands for it.
    pub vpc_channels: BTreeMap<String, String>,
    /// Bind the group to the file's `host` (Swagger 2.0) or first server's host (OpenAPI 3.0);
    /// default: no domain, as APIG ignores them on import.
    pub bind_host: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            group: None,
            mode: Mode::Merge,
            lenient: false,
            environment: Some(DEFAULT_ENVIRONMENT.to_owned()),
            vpc_channels: BTreeMap::new(),
            bind_host: false,
        }
    }
}

/// Why an import was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// Not a usable document: empty, not JSON/YAML, not Swagger 2.0 / OpenAPI 3.0.
    Invalid {
        /// `line:column`, when the parser knows it, or a JSON pointer.
        position: Option<String>,
        /// Why.
        reason: String,
        /// APIG's code for the case (`APIG.3600`, `APIG.3601`, `APIG.3609`).
        code: &'static str,
    },
    /// Items that are wrong (refused in both modes), each with its JSON pointer.
    InvalidItems(Vec<Issue>),
    /// Features the gateway cannot honour (strict mode), each with its API and JSON pointer.
    Unsupported(Vec<Issue>),
    /// The import does not fit the target configuration (an API id another group uses, a
    /// configuration that does not compile).
    Conflict(String),
}

impl ImportError {
    /// A stable code: `invalid_file`, `invalid_items`, `unsupported`, `conflict`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid_file",
            Self::InvalidItems(_) => "invalid_items",
            Self::Unsupported(_) => "unsupported",
            Self::Conflict(_) => "conflict",
        }
    }

    /// The listed items.
    pub fn issues(&self) -> &[Issue] {
        match self {
            Self::InvalidItems(i) | Self::Unsupported(i) => i,
            _ => &[],
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid { position: Some(p), reason, code } => write!(f, "{p}: {reason} [{code}]"),
            Self::Invalid { position: None, reason, code } => write!(f, "{reason} [{code}]"),
            Self::InvalidItems(items) => {
                write!(f, "the file has {} invalid item(s); nothing was imported:", items.len())?;
                items.iter().try_for_each(|i| write!(f, "\n  {i}"))
            }
            Self::Unsupported(items) => {
                write!(
                    f,
                    "the file uses {} feature(s) this gateway cannot honour; nothing was imported \
                     (--lenient imports the other APIs and lists these as warnings):",
                    items.len()
                )?;
                items.iter().try_for_each(|i| write!(f, "\n  {i}"))
            }
            Self::Conflict(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// What an accepted import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// The group id.
    pub group: String,
    /// The imported API ids, in file order.
    pub apis: Vec<String>,
    /// The environment they were published to.
    pub environment: Option<String>,
    /// APIs skipped (lenient), features carried differently, extensions ignored.
    pub warnings: Vec<Issue>,
}

/// Imports `text` into `target`: the new configuration and what was done.
///
/// # Errors
/// See [`ImportError`]; the configuration is checked as a whole ([`crate::routing::Runtime`]).
pub fn import(
    text: &str,
    target: &ConfigFile,
    options: &ImportOptions,
) -> Result<(ConfigFile, ImportReport), ImportError> {
    let doc =
        parse_document(text).map_err(|(position, reason, code)| ImportError::Invalid { position, reason, code })?;
    let imported = convert(&doc, target, options)?;
    let config = merge(target, &imported, options)?;
    crate::routing::Runtime::compile(config.clone(), Path::new("<import>"))
        .map_err(|e| ImportError::Conflict(format!("the imported configuration is refused: {e}")))?;
    let report = ImportReport {
        group: imported.group.id.clone(),
        apis: imported.group.apis.iter().map(|a| a.id.clone()).collect(),
        environment: options.environment.clone(),
        warnings: imported.warnings,
    };
    Ok((config, report))
}

/// The group and policies a document describes.
#[derive(Debug)]
struct Imported {
    group: Group,
    policies: Vec<PolicyDef>,
    warnings: Vec<Issue>,
}

/// The operation keys of a Path Item, and the method each stands for.
const OPERATIONS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("delete", "DELETE"),
    ("patch", "PATCH"),
    ("head", "HEAD"),
    ("options", "OPTIONS"),
    ("x-apigateway-any-method", "ANY"),
];

/// Operation extensions read by the import (any other `x-apigateway-*` is listed as ignored).
const KNOWN_OPERATION_EXTENSIONS: [&str; 12] = [
    "x-apigateway-backend",
    "x-apigateway-match-mode",
    "x-apigateway-cors",
    "x-apigateway-ratelimit",
    "x-apigateway-access-control",
    "x-apigateway-plugins",
    "x-apigateway-request-type",
    "x-apigateway-is-send-fg-body-base64",
    "x-apigateway-response",
    "x-apigateway-content-type",
    "x-apigateway-backend-policies",
    "x-apigateway-auth-type",
];

/// A policy definition from the file, converted once: the definition, or why it cannot be.
enum Converted {
    Ok(PolicyDef),
    Invalid(String),
    Unsupported(String),
}

/// The issues of one API.
#[derive(Default)]
struct Found {
    invalid: Vec<Issue>,
    unsupported: Vec<Issue>,
    warnings: Vec<Issue>,
}

struct Ctx<'a> {
    doc: &'a Value,
    oas3: bool,
    target: &'a ConfigFile,
    options: &'a ImportOptions,
    schemes: Map<String, Value>,
    /// (pointer to the definitions, converted definitions by name), for ratelimits and ACLs
    ratelimits: (String, BTreeMap<String, Converted>),
    acls: (String, BTreeMap<String, Converted>),
}

/// The string form of a scalar (`"5000"` and `5000` alike).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An id made of the characters ids allow (letters, digits, `-._~`), others as `_`.
fn id_of(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') { c } else { '_' })
        .collect();
    if id.is_empty() || id == "." || id == ".." { format!("_{id}") } else { id }
}

/// The object at `key` of `v` (with its pointer), when there is one.
fn object<'v>(v: &'v Value, key: &str) -> Option<&'v Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

fn convert(doc: &Value, target: &ConfigFile, options: &ImportOptions) -> Result<Imported, ImportError> {
    let invalid = |position: &str, reason: String, code| ImportError::Invalid {
        position: Some(position.to_owned()),
        reason,
        code,
    };
    let oas3 = match (doc.get("swagger"), doc.get("openapi")) {
        (Some(v), None) if text(v).as_deref() == Some("2.0") => false,
        (None, Some(v)) if text(v).is_some_and(|t| t.starts_with("3.0")) => true,
        (Some(v), _) => {
            return Err(invalid("/swagger", format!("swagger version {v} is not supported: give 2.0"), "APIG.3601"));
        }
        (None, Some(v)) => {
            return Err(invalid(
                "/openapi",
                format!("OpenAPI version {v} is not supported: give Swagger 2.0 or OpenAPI 3.0.x"),
                "APIG.3601",
            ));
        }
        (None, None) => {
            return Err(invalid("/", "neither `swagger: \"2.0\"` nor `openapi: 3.0.x`".into(), "APIG.3601"));
        }
    };
    let title = doc.pointer("/info/title").and_then(Value::as_str).filter(|t| !t.trim().is_empty());
    let group_id = match (&options.group, title) {
        (Some(id), _) => id.clone(),
        (None, Some(t)) => id_of(t.trim()),
        (None, None) => {
            return Err(invalid("/info/title", "missing: it names the group (or give a group id)".into(), "APIG.2001"));
        }
    };
    let group_name = title.map(str::trim).filter(|t| *t != group_id).map(str::to_owned);

    let components = if oas3 { doc.get("components") } else { None };
    let schemes =
        if oas3 { components.and_then(|c| object(c, "securitySchemes")) } else { object(doc, "securityDefinitions") }
            .cloned()
            .unwrap_or_default();
    // ratelimits and ACLs: at the root (both versions), or in `components` (OpenAPI 3.0)
    let definitions = |key: &str| -> (String, Map<String, Value>) {
        if let Some(m) = object(doc, key) {
            return (format!("/{key}"), m.clone());
        }
        match components.and_then(|c| object(c, key)) {
            Some(m) => (format!("/components/{key}"), m.clone()),
            None => (format!("/{key}"), Map::new()),
        }
    };
    let (rl_at, rl) = definitions("x-apigateway-ratelimits");
    let (acl_at, acl) = definitions("x-apigateway-access-controls");
    let mut ctx = Ctx {
        doc,
        oas3,
        target,
        options,
        schemes,
        ratelimits: (rl_at, rl.iter().map(|(name, v)| (name.clone(), throttle(name, v))).collect()),
        acls: (acl_at, acl.iter().map(|(name, v)| (name.clone(), access_control(name, v))).collect()),
    };

    let mut warnings = Vec::new();
    let key = "x-apigateway-responses";
    // exports write `{}` or `{"default": {}}`: only a set with responses is something to carry
    let has_responses = |v: &Value| {
        v.as_object().is_some_and(|sets| sets.values().any(|set| set.as_object().is_some_and(|r| !r.is_empty())))
    };
    let responses_at = if doc.get(key).is_some_and(has_responses) {
        Some(format!("/{key}"))
    } else {
        components.and_then(|c| c.get(key)).filter(|v| has_responses(v)).map(|_| format!("/components/{key}"))
    };
    if let Some(at) = responses_at {
        let why = "custom gateway responses are not supported: the gateway answers with APIG's default error bodies";
        warnings.push(issue(&at, None, None, why));
    }
    if let Some(description) = doc.pointer("/info/description").and_then(Value::as_str).filter(|d| !d.is_empty()) {
        let why = format!("the group description {description:?} is not kept (a group has none here)");
        warnings.push(issue("/info/description", None, None, &why));
    }
    let host = if oas3 {
        doc.pointer("/servers/0/url").and_then(Value::as_str).map(|url| {
            let rest = url.trim().split_once("://").map_or(url.trim(), |(_, r)| r);
            rest.split('/').next().unwrap_or(rest).to_owned()
        })
    } else {
        doc.get("host").and_then(Value::as_str).map(str::to_owned)
    };
    let host = host.filter(|h| !h.is_empty());
    let domains: Vec<String> = match (&host, options.bind_host) {
        (Some(h), true) => vec![h.clone()],
        _ => Vec::new(),
    };
    if !options.bind_host && (doc.get("host").is_some() || doc.get("servers").is_some()) {
        let at = if doc.get("host").is_some() { "/host" } else { "/servers" };
        let why = "ignored, as APIG does on import: the group answers on any Host (--bind-host binds it)";
        warnings.push(issue(at, None, None, why));
    }
    let base_path = if oas3 { "" } else { doc.get("basePath").and_then(Value::as_str).unwrap_or("") };
    let base_path = base_path.trim_end_matches('/');

    let mut invalid_items = Vec::new();
    let mut unsupported = Vec::new();
    let mut apis: Vec<Api> = Vec::new();
    let mut used_policies: Vec<String> = Vec::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut seen_routes: HashSet<(String, String, bool)> = HashSet::new();
    let empty = Map::new();
    let paths = object(doc, "paths").unwrap_or(&empty);
    if doc.get("paths").is_some_and(|p| !p.is_object()) {
        invalid_items.push(issue("/paths", None, None, "must be an object"));
    }
    for (key, item) in paths {
        let item_at = format!("/paths/{}", pointer_token(key));
        let Some(item) = item.as_object() else {
            invalid_items.push(issue(&item_at, None, None, "a Path Item must be an object"));
            continue;
        };
        for (op_key, method) in OPERATIONS {
            let Some(op) = item.get(op_key) else { continue };
            let at = format!("{item_at}/{op_key}");
            let mut found = Found::default();
            let api = operation(&mut ctx, &mut found, &at, base_path, key, method, item, op, &mut used_policies);
            if let Some(api) = &api {
                let duplicate_id = !seen_ids.insert(api.id.clone());
                let duplicate_route =
                    !seen_routes.insert((api.method.clone(), api.path.clone(), api.match_mode == MatchMode::Prefix));
                let (name, route) =
                    (api.name.clone().unwrap_or_else(|| api.id.clone()), Some(format!("{method} {}", api.path)));
                if duplicate_id {
                    found.invalid.push(Issue {
                        at: format!("{at}/operationId"),
                        api: Some(name.clone()),
                        route: route.clone(),
                        reason: format!("API {:?} is defined twice (the first one is kept, this one fails)", api.id),
                        code: Some("APIG.3301"),
                    });
                } else if duplicate_route {
                    found.invalid.push(Issue {
                        at: at.clone(),
                        api: Some(name),
                        route,
                        reason: "another API has the same method, path and match mode".into(),
                        code: Some("APIG.3301"),
                    });
                }
            }
            invalid_items.append(&mut found.invalid);
            if !found.unsupported.is_empty() {
                if options.lenient {
                    for mut i in found.unsupported {
                        i.reason = format!("API skipped: {}", i.reason);
                        warnings.push(i);
                    }
                    continue;
                }
                unsupported.append(&mut found.unsupported);
                continue;
            }
            warnings.append(&mut found.warnings);
            if let Some(api) = api {
                apis.push(api);
            }
        }
    }
    // every definition of the file becomes a policy; those that cannot, bound by no imported API,
    // are listed
    let mut policies = Vec::new();
    for (at, defs) in [&ctx.ratelimits, &ctx.acls] {
        for (name, converted) in defs {
            let here = format!("{at}/{}", pointer_token(name));
            match converted {
                Converted::Ok(def) => {
                    let c = &def.config;
                    if c.get("user_limit").is_some() || c.get("special_users").is_some() {
                        let why = "an APIG user is a tenant; here a user is the value of the X-User-Id header (the throttle's user_header)";
                        warnings.push(issue(&here, None, None, why));
                    }
                    policies.push(def.clone());
                }
                Converted::Invalid(why) => invalid_items.push(issue(&here, None, None, why)),
                Converted::Unsupported(why) => warnings.push(issue(&here, None, None, &format!("not imported: {why}"))),
            }
        }
    }
    if !invalid_items.is_empty() {
        return Err(ImportError::InvalidItems(invalid_items));
    }
    if !unsupported.is_empty() {
        return Err(ImportError::Unsupported(unsupported));
    }
    if apis.len() > 300 {
        return Err(ImportError::InvalidItems(vec![issue(
            "/paths",
            None,
            None,
            "more than 300 APIs in one import (APIG's limit)",
        )]));
    }

    if used_policies.iter().any(|p| p == CORS_POLICY) && !target.policies.iter().any(|p| p.name == CORS_POLICY) {
        policies.push(PolicyDef { name: CORS_POLICY.into(), kind: "cors".into(), config: cors_config() });
    }
    let group = Group { id: group_id, name: group_name, domains, apis };
    Ok(Imported { group, policies, warnings })
}

fn issue(at: &str, api: Option<&str>, route: Option<&str>, reason: &str) -> Issue {
    Issue {
        at: at.to_owned(),
        api: api.map(str::to_owned),
        route: route.map(str::to_owned),
        reason: reason.to_owned(),
        code: None,
    }
}

/// The frontend path of `base` + `key`: (path, greedy), or the issue and whether it is
/// unsupported (rather than invalid).
fn frontend_path(base: &str, key: &str) -> Result<(String, bool), (bool, String)> {
    if !key.starts_with('/') {
        return Err((false, format!("path {key:?} must start with '/'")));
    }
    let full = format!("{base}{key}");
    let segments: Vec<&str> = full.trim_start_matches('/').split('/').collect();
    if full == "/" {
        return Ok(("/".into(), false));
    }
    let mut kept = Vec::new();
    let mut greedy = false;
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            return Err((
                true,
                format!("path {full:?} has an empty segment (a trailing '/' or '//'), which this gateway cannot route"),
            ));
        }
        if *seg == "." || *seg == ".." {
            return Err((false, format!("path {full:?} has a dot segment")));
        }
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if name.is_empty() || name.contains(['{', '}']) {
                return Err((false, format!("bad parameter segment {seg:?}")));
            }
            if name.ends_with('+') {
                if i + 1 != segments.len() {
                    return Err((true, format!("greedy parameter {seg:?} is not the last segment")));
                }
                greedy = true;
                continue;
            }
        } else if seg.contains(['{', '}']) {
            return Err((false, format!("segment {seg:?}: a request path parameter must be a whole segment")));
        } else if seg.contains(['?', '#']) {
            return Err((false, format!("segment {seg:?} has '?' or '#'")));
        }
        kept.push(*seg);
    }
    Ok((format!("/{}", kept.join("/")), greedy))
}

/// The API an operation describes; its problems go to `found`.
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn operation(
    ctx: &mut Ctx<'_>,
    found: &mut Found,
    at: &str,
    base_path: &str,
    key: &str,
    method: &str,
    item: &Map<String, Value>,
    op: &Value,
    used_policies: &mut Vec<String>,
) -> Option<Api> {
    let Some(op) = op.as_object() else {
        found.invalid.push(issue(at, None, None, "an Operation must be an object"));
        return None;
    };
    let route = format!("{method} {base_path}{key}");
    let name = match op.get("operationId").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(n) => n.to_owned(),
        None => {
            found.invalid.push(Issue {
                at: format!("{at}/operationId"),
                api: None,
                route: Some(route),
                reason: "missing: it names the API".into(),
                code: Some("APIG.2001"),
            });
            return None;
        }
    };
    let api_name = Some(name.as_str());
    let r = Some(route.as_str());
    let invalid = |found: &mut Found, here: String, why: String| found.invalid.push(issue(&here, api_name, r, &why));
    let unsupported =
        |found: &mut Found, here: String, why: String| found.unsupported.push(issue(&here, api_name, r, &why));
    let warn = |found: &mut Found, here: String, why: String| found.warnings.push(issue(&here, api_name, r, &why));

    let (path, greedy) = match frontend_path(base_path, key) {
        Ok(p) => p,
        Err((true, why)) => {
            unsupported(found, at.rsplit_once('/').map_or(at, |(p, _)| p).to_owned(), why);
            return None;
        }
        Err((false, why)) => {
            invalid(found, at.rsplit_once('/').map_or(at, |(p, _)| p).to_owned(), why);
            return None;
        }
    };
    let match_mode = match op.get("x-apigateway-match-mode").map(|m| text(m).unwrap_or_default().to_ascii_uppercase()) {
        None => MatchMode::Exact,
        Some(m) if m == "NORMAL" => MatchMode::Exact,
        Some(m) if m == "SWA" => MatchMode::Prefix,
        Some(m) => {
            invalid(found, format!("{at}/x-apigateway-match-mode"), format!("{m:?} must be NORMAL or SWA"));
            MatchMode::Exact
        }
    };
    let match_mode = if greedy { MatchMode::Prefix } else { match_mode };
    if greedy && path != "/" {
        warn(
            found,
            at.to_owned(),
            format!("greedy path: served as the prefix {path} (which {path} itself also matches)"),
        );
    }

    // authentication
    let security = op.get("security").or_else(|| ctx.doc.get("security"));
    let security_at = if op.get("security").is_some() { format!("{at}/security") } else { "/security".to_owned() };
    let auth = match security.and_then(Value::as_array).map(Vec::as_slice) {
        None | Some([]) => Some(AuthType::None),
        Some([requirement]) => match requirement.as_object().map(|o| o.keys().collect::<Vec<_>>()).as_deref() {
            Some([]) => Some(AuthType::None),
            Some([scheme]) => auth_of(ctx, found, &security_at, scheme, api_name, r),
            _ => {
                unsupported(found, security_at, "several security schemes together".into());
                None
            }
        },
        Some(_) => {
            unsupported(found, security_at, "several alternative security requirements".into());
            None
        }
    };

    // frontend parameters: path-level, then operation-level
    let mut params: Vec<(String, String, Value)> = Vec::new();
    for (list_at, list) in [
        (at.rsplit_once('/').map_or(at, |(p, _)| p).to_owned(), item.get("parameters")),
        (at.to_owned(), op.get("parameters")),
    ] {
        for (i, p) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
            let here = format!("{list_at}/parameters/{i}");
            let p = resolve(ctx.doc, p);
            let (Some(name), Some(location)) =
                (p.get("name").and_then(Value::as_str), p.get("in").and_then(Value::as_str))
            else {
                invalid(found, here, "a parameter needs `name` and `in`".into());
                continue;
            };
            let location = location.to_ascii_lowercase();
            if p.get("x-apigateway-pass-through")
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case("never"))
            {
                unsupported(
                    found,
                    format!("{here}/x-apigateway-pass-through"),
                    format!("parameter {name:?} is never to be passed through: the gateway forwards every parameter"),
                );
            }
            if p.get("x-apigateway-orchestrations").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
                unsupported(
                    found,
                    format!("{here}/x-apigateway-orchestrations"),
                    "parameter orchestration rules".into(),
                );
            }
            match location.as_str() {
                "path" | "query" | "header" => {}
                "formdata" | "body" | "cookie" => {
                    warn(found, here.clone(), format!("{location} parameter {name:?} is passed through, not validated"))
                }
                _ => invalid(found, format!("{here}/in"), format!("unknown parameter location {location:?}")),
            }
            if location == "header"
                && (name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("x-auth-token"))
            {
                warn(
                    found,
                    here.clone(),
                    format!("header parameter {name:?}: the gateway reads it for authentication"),
                );
            }
            // exports fill unused fields with zeros and empty strings: those check nothing
            let set = |v: &Value| !v.is_null() && *v != json!(0) && *v != json!("") && *v != json!([]);
            let checked = |o: &Value| {
                ["default", "enum", "maximum", "minimum", "pattern", "maxLength", "minLength"]
                    .iter()
                    .any(|k| o.get(*k).is_some_and(set))
            };
            let checks = p.get("required").and_then(Value::as_bool).unwrap_or(false) && location != "path"
                || checked(p)
                || p.get("schema").is_some_and(checked);
            if checks {
                warn(
                    found,
                    here,
                    format!("parameter {name:?}: required/default/enum/range checks are not enforced by this gateway"),
                );
            }
            params.push((name.to_owned(), location, p.clone()));
        }
    }

    // the other extensions
    for (k, v) in op {
        let here = format!("{at}/{}", pointer_token(k));
        match k.as_str() {
            "x-apigateway-request-type" if text(v).is_some_and(|t| !t.eq_ignore_ascii_case("public")) => {
                warn(found, here, "request type private: ignored (the gateway has no marketplace listing)".into());
            }
            "x-apigateway-is-send-fg-body-base64" if v.as_bool() == Some(true) => {
                warn(found, here, "ignored: there is no FunctionGraph backend".into());
            }
            "x-apigateway-response" if text(v).is_some_and(|t| t != "default") => {
                warn(
                    found,
                    here,
                    "custom gateway response sets are not supported: APIG's default error bodies are used".into(),
                );
            }
            "x-apigateway-backend-policies" if v.as_array().is_some_and(|a| !a.is_empty()) => {
                unsupported(found, here, "conditional backend policies (x-apigateway-backend-policies)".into());
            }
            _ if k.starts_with("x-apigateway-") && !KNOWN_OPERATION_EXTENSIONS.contains(&k.as_str()) => {
                warn(found, here, format!("unknown extension {k}: ignored"));
            }
            _ => {}
        }
    }

    // policies: access control, throttling, CORS, plug-ins
    let mut policies = Vec::new();
    for (ext, kind, defs, code) in [
        ("x-apigateway-access-control", "access_control", &ctx.acls.1, "APIG.3006"),
        ("x-apigateway-ratelimit", "throttle", &ctx.ratelimits.1, "APIG.3005"),
    ] {
        let Some(v) = op.get(ext) else { continue };
        let here = format!("{at}/{ext}");
        let Some(policy) = text(v).filter(|t| !t.is_empty()) else {
            invalid(found, here, "must name a policy".into());
            continue;
        };
        match defs.get(&policy) {
            Some(Converted::Ok(_)) => {}
            Some(Converted::Invalid(_)) => {} // refused with the definition's own pointer
            Some(Converted::Unsupported(why)) => unsupported(found, here, format!("policy {policy:?}: {why}")),
            None if ctx.target.policies.iter().any(|d| d.name == policy && d.kind == kind) => {}
            None => found.invalid.push(Issue {
                at: here,
                api: api_name.map(str::to_owned),
                route: r.map(str::to_owned),
                reason: format!(
                    "unknown {kind} policy {policy:?}: defined neither in the file nor in the target configuration"
                ),
                code: Some(code),
            }),
        }
        policies.push(policy);
    }
    match op.get("x-apigateway-cors") {
        None => {}
        Some(Value::Bool(true)) if method == "OPTIONS" => {
            let why = "an OPTIONS API for CORS preflights: this gateway answers a preflight with the CORS policy of the API it asks for, so bind apig-cors there (x-apigateway-cors: true)";
            warn(found, format!("{at}/x-apigateway-cors"), why.into());
            policies.push(CORS_POLICY.into());
        }
        Some(Value::Bool(true)) => {
            warn(
                found,
                format!("{at}/x-apigateway-cors"),
                format!(
                    "CORS through the {CORS_POLICY} policy: the gateway answers preflights itself and its CORS headers replace a backend's"
                ),
            );
            policies.push(CORS_POLICY.into());
        }
        Some(Value::Bool(false)) => {}
        Some(_) => invalid(found, format!("{at}/x-apigateway-cors"), "must be true or false".into()),
    }
    for (i, plugin) in op.get("x-apigateway-plugins").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let here = format!("{at}/x-apigateway-plugins/{i}");
        match plugin.as_str() {
            Some(p) if ctx.target.policies.iter().any(|d| d.name == p) => {
                warn(
                    found,
                    here,
                    format!(
                        "plug-in {p:?} bound to the target configuration's policy of that name (a file carries plug-in names only)"
                    ),
                );
                policies.push(p.to_owned());
            }
            Some(p) => invalid(
                found,
                here,
                format!(
                    "plug-in {p:?}: a file carries its name only, and the target configuration has no policy of that name"
                ),
            ),
            None => invalid(found, here, "must be a policy name".into()),
        }
    }
    for p in &policies {
        if !used_policies.contains(p) {
            used_policies.push(p.clone());
        }
    }

    let backend = backend(ctx, found, at, &path, method, match_mode, greedy, op, &params, api_name, r);
    let (auth, backend) = (auth?, backend?);
    let id = id_of(&name);
    Some(Api {
        name: (name != id).then_some(name),
        id,
        method: method.to_owned(),
        path,
        match_mode,
        auth,
        backend,
        policies,
    })
}

/// A local `$ref` (`#/…`) resolved, else the value itself.
fn resolve<'v>(doc: &'v Value, v: &'v Value) -> &'v Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

/// The authentication of security scheme `scheme`.
fn auth_of(
    ctx: &Ctx<'_>,
    found: &mut Found,
    at: &str,
    scheme: &str,
    api: Option<&str>,
    route: Option<&str>,
) -> Option<AuthType> {
    let defs_at = if ctx.oas3 { "/components/securitySchemes" } else { "/securityDefinitions" };
    let Some(def) = ctx.schemes.get(scheme) else {
        found.invalid.push(issue(at, api, route, &format!("security scheme {scheme:?} is not defined in {defs_at}")));
        return None;
    };
    let def_at = format!("{defs_at}/{}", pointer_token(scheme));
    let kind = def.get("x-apigateway-auth-type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "AppSigv1" => {
            match def.pointer("/x-apigateway-auth-opt/appcode-auth-type").and_then(Value::as_str).unwrap_or("disable") {
                "header" => Some(AuthType::AppCode),
                "disable" => Some(AuthType::App),
                other => {
                    found.invalid.push(issue(
                        &format!("{def_at}/x-apigateway-auth-opt"),
                        api,
                        route,
                        &format!("appcode-auth-type {other:?} must be disable or header"),
                    ));
                    None
                }
            }
        }
        "IAM" | "IAM_NONE" => {
            found.unsupported.push(issue(at, api, route, &format!("IAM authentication (scheme {scheme:?}) needs Huawei Cloud IAM tokens, which this gateway cannot check")));
            None
        }
        "AUTHORIZER" => {
            found.unsupported.push(issue(
                at,
                api,
                route,
                &format!(
                    "custom authorizer (scheme {scheme:?}) is a FunctionGraph function, which only Huawei Cloud runs"
                ),
            ));
            None
        }
        "" => {
            found.invalid.push(issue(
                &def_at,
                api,
                route,
                &format!("security scheme {scheme:?} has no x-apigateway-auth-type"),
            ));
            None
        }
        other => {
            found.invalid.push(issue(
                &format!("{def_at}/x-apigateway-auth-type"),
                api,
                route,
                &format!("unknown x-apigateway-auth-type {other:?} (AppSigv1, IAM)"),
            ));
            None
        }
    }
}

/// The HTTP-VPC channel `name` as a backend URL: today the URL the user gives for it. The one
/// place that maps a channel (to become a named upstream once the gateway has them).
pub fn vpc_channel_url(channels: &BTreeMap<String, String>, name: &str) -> Option<String> {
    channels.get(name).map(|url| url.trim_end_matches('/').to_owned())
}

/// The backend of an operation.
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn backend(
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
        match vpc_channel_url(&ctx.options.vpc_channels, &channel) {
            Some(url) => url,
            None => {
                unsupported(
                    found,
                    &format!("{e_at}/name"),
                    &format!(
                        "HTTP-VPC channel {channel:?} has no URL here: give --vpc-channel {channel}=http://host:port"
                    ),
                );
                return None;
            }
        }
    };
    match field("scheme").map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("http") => {}
        Some("https") => {
            unsupported(found, &format!("{e_at}/scheme"), "https backend: the gateway has no TLS client to backends");
            return None;
        }
        Some(other) => {
            invalid(found, &format!("{e_at}/scheme"), &format!("{other:?} must be http or https"));
            return None;
        }
        None => {
            invalid(found, &format!("{e_at}/scheme"), "missing: http or https");
            return None;
        }
    }
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
    Backend { url, timeout_ms, method: None, path: None, parameters: Vec::new(), mock: None }
}

/// A `x-apigateway-ratelimits` entry as a `throttle` policy.
fn throttle(name: &str, v: &Value) -> Converted {
    let limit = |k: &str| v.get(k).map(|l| number(l).ok_or_else(|| format!("{k} must be a whole number")));
    let get = |k: &str| limit(k).transpose();
    let build = || -> Result<Result<PolicyDef, String>, String> {
        let api = get("api-limit")?.ok_or("api-limit is required")?;
        let user = get("user-limit")?;
        let app = get("app-limit")?;
        let ip = get("ip-limit")?;
        let interval = get("interval")?.filter(|i| *i > 0).ok_or("interval is required (> 0)")?;
        let unit = v.get("unit").and_then(Value::as_str).map(str::to_ascii_lowercase).ok_or("unit is required")?;
        if !matches!(unit.as_str(), "second" | "minute" | "hour" | "day") {
            return Err(format!("unit {unit:?} must be SECOND, MINUTE, HOUR or DAY"));
        }
        if user.is_some_and(|u| u > api)
            || app.is_some_and(|a| a > api || user.is_some_and(|u| a > u))
            || ip.is_some_and(|i| i > api)
        {
            return Err("limits out of order: app-limit <= user-limit <= api-limit, ip-limit <= api-limit".into());
        }
        let shared = v.get("shared").and_then(Value::as_bool).unwrap_or(false);
        let mut config = Map::new();
        config.insert("api_limit".into(), json!(api));
        for (k, l) in [("user_limit", user), ("app_limit", app), ("ip_limit", ip)] {
            if let Some(l) = l {
                config.insert(k.into(), json!(l));
            }
        }
        config.insert("interval".into(), json!(interval));
        config.insert("unit".into(), json!(unit));
        config.insert("scope".into(), json!(if shared { "shared" } else { "per_api" }));
        let (mut apps, mut users) = (Vec::new(), Vec::new());
        for s in v.get("special").and_then(Value::as_array).into_iter().flatten() {
            let instance = s.get("instance").and_then(text).ok_or("a special entry needs its instance")?;
            let limit = s.get("limit").and_then(number).ok_or("a special entry needs its limit")?;
            match s.get("type").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
                Some("APP") => apps.push(json!({"app": instance, "limit": limit})),
                Some("USER") => users.push(json!({"user": instance, "limit": limit})),
                _ => return Err("a special entry's type must be APP or USER".into()),
            }
        }
        if !apps.is_empty() {
            config.insert("special_apps".into(), Value::Array(apps));
        }
        if !users.is_empty() {
            config.insert("special_users".into(), Value::Array(users));
        }
        Ok(Ok(PolicyDef { name: name.to_owned(), kind: "throttle".into(), config: Value::Object(config) }))
    };
    match build() {
        Ok(Ok(def)) => match crate::policy::build(&def) {
            Ok(_) => Converted::Ok(def),
            Err(why) => Converted::Invalid(why),
        },
        Ok(Err(why)) => Converted::Unsupported(why),
        Err(why) => Converted::Invalid(why),
    }
}

/// A `x-apigateway-access-controls` entry as an `access_control` policy.
fn access_control(name: &str, v: &Value) -> Converted {
    let entity = v.get("entity-type").and_then(Value::as_str).unwrap_or("IP").to_ascii_uppercase();
    if entity != "IP" {
        return Converted::Unsupported(format!(
            "entity-type {entity}: the gateway controls access by IP address or app"
        ));
    }
    let list = match v.get("acl-type").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
        Some("PERMIT") => "ip_allow",
        Some("DENY") => "ip_deny",
        _ => return Converted::Invalid("acl-type must be PERMIT or DENY".into()),
    };
    let values: Vec<String> = v
        .get("value")
        .and_then(text)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if values.is_empty() {
        return Converted::Invalid("value must list IP addresses or CIDR ranges".into());
    }
    let def = PolicyDef { name: name.to_owned(), kind: "access_control".into(), config: json!({ list: values }) };
    match crate::policy::build(&def) {
        Ok(_) => Converted::Ok(def),
        Err(why) => Converted::Invalid(why),
    }
}

/// `target` with the imported group and policies.
fn merge(target: &ConfigFile, imported: &Imported, options: &ImportOptions) -> Result<ConfigFile, ImportError> {
    let mut config = target.clone();
    let group = &imported.group;
    let new_ids: HashSet<&str> = group.apis.iter().map(|a| a.id.as_str()).collect();
    for g in config.groups.iter().filter(|g| g.id != group.id) {
        if let Some(a) = g.apis.iter().find(|a| new_ids.contains(a.id.as_str())) {
            return Err(ImportError::Conflict(format!(
                "API id {:?} is used by group {:?} of the target configuration (API ids are unique across groups)",
                a.id, g.id
            )));
        }
    }
    let removed: Vec<String> = match config.groups.iter_mut().find(|g| g.id == group.id) {
        Some(existing) => {
            if group.name.is_some() {
                existing.name.clone_from(&group.name);
            }
            for domain in &group.domains {
                if !existing.domains.contains(domain) {
                    existing.domains.push(domain.clone());
                }
            }
            let removed = match options.mode {
                Mode::Replace => {
                    existing.apis.iter().map(|a| a.id.clone()).filter(|id| !new_ids.contains(id.as_str())).collect()
                }
                Mode::Merge => Vec::new(),
            };
            existing.apis.retain(|a| !removed.contains(&a.id));
            for api in &group.apis {
                match existing.apis.iter_mut().find(|a| a.id == api.id) {
                    Some(old) => *old = api.clone(),
                    None => existing.apis.push(api.clone()),
                }
            }
            removed
        }
        None => {
            config.groups.push(group.clone());
            Vec::new()
        }
    };
    for env in &mut config.environments {
        env.published.retain(|p| !removed.contains(p));
    }
    config.authorizations.retain(|a| !removed.contains(&a.api));
    for def in &imported.policies {
        match config.policies.iter_mut().find(|p| p.name == def.name) {
            Some(old) => *old = def.clone(),
            None => config.policies.push(def.clone()),
        }
    }
    if let Some(env_name) = &options.environment {
        let env = match config.environments.iter().position(|e| e.name == *env_name) {
            Some(i) => &mut config.environments[i],
            None => {
                config.environments.push(Environment { name: env_name.clone(), published: Vec::new() });
                config.environments.last_mut().ok_or_else(|| ImportError::Conflict("no environment".into()))?
            }
        };
        for api in &group.apis {
            if !env.published.contains(&api.id) {
                env.published.push(api.id.clone());
            }
        }
    }
    Ok(config)
}
