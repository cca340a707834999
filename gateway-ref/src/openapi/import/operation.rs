//! One operation of the document as an API: its path, match mode, authentication, parameters,
//! extensions and policies (its backend: [`super::backend`]).

use serde_json::{Map, Value, json};

use super::backend::backend;
use super::{Converted, Ctx, Found, KNOWN_OPERATION_EXTENSIONS, id_of, issue, text};
use crate::config::{Api, AuthType, MatchMode};
use crate::openapi::{CORS_POLICY, Issue, pointer_token};

/// The frontend path of `base` + `key`: (path, greedy), or the issue and whether it is
/// unsupported (rather than invalid).
pub(super) fn frontend_path(base: &str, key: &str) -> Result<(String, bool), (bool, String)> {
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
pub(super) fn operation(
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
