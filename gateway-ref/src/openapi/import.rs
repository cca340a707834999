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

use serde_json::{Map, Value};

use super::{CORS_POLICY, Issue, cors_config, parse_document, pointer_token};
use crate::config::{Api, ConfigFile, DEFAULT_ENVIRONMENT, Environment, Group, MatchMode, PolicyDef};

mod backend;
mod operation;
mod policies;

pub use backend::vpc_channel_url;
use operation::operation;
use policies::{access_control, throttle};

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
    let mut imported = convert(&doc, target, options)?;
    // the file's definitions replace the target's of the same name (APIG's "extended definition
    // overwrite"): said when that changes one
    for def in &imported.policies {
        if let Some((i, old)) = target.policies.iter().enumerate().find(|(_, p)| p.name == def.name && *p != def) {
            let users: Vec<&str> = target
                .groups
                .iter()
                .flat_map(|g| &g.apis)
                .filter(|a| a.policies.contains(&def.name))
                .map(|a| a.id.as_str())
                .collect();
            let why =
                format!("replaces the target's {} policy {:?} of that name (bound to {users:?})", old.kind, def.name);
            imported.warnings.push(Issue {
                at: format!("policies[{i}]"),
                api: None,
                route: None,
                reason: why,
                code: None,
            });
        }
    }
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
    let group = Group { id: group_id, name: group_name, domains, apis, debug_domain: None, debug_quota: None };
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
