//! Import and export in APIG's format. Here, at library level: the fixtures in the shapes of
//! APIG's exports, strict refusals with their JSON pointers, lenient warnings, invalid files with
//! their positions, merge and replace, and the round trip import → export → import over generated
//! configurations; end to end with the binary and real sockets: [`served`] (one test binary for
//! both).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "openapi/served.rs"]
mod served;

use std::collections::BTreeMap;

use apig_gateway::backend_request::{BackendParameter, ParamLocation, RequestParameter};
use apig_gateway::config::{Api, AuthType, Backend, ConfigFile, Environment, Group, MatchMode, PolicyDef, UpstreamDef};
use apig_gateway::mock_backend::MockResponse;
use apig_gateway::openapi::export::{ExportOptions, Version, export};
use apig_gateway::openapi::import::{ImportError, ImportOptions, Mode, import};
use apig_gateway::openapi::{CORS_POLICY, Syntax, cors_config};
use proptest::prelude::*;
use serde_json::json;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi").join(name))
        .unwrap()
}

fn with_channel() -> ImportOptions {
    let mut o = ImportOptions::default();
    o.vpc_channels.insert("vpc_search".into(), "http://127.0.0.1:9/base".into());
    o
}

fn api<'a>(c: &'a ConfigFile, id: &str) -> &'a Api {
    c.groups.iter().flat_map(|g| &g.apis).find(|a| a.id == id).unwrap_or_else(|| panic!("no API {id}"))
}

fn policy<'a>(c: &'a ConfigFile, name: &str) -> &'a PolicyDef {
    c.policies.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no policy {name}"))
}

#[test]
fn a_swagger2_yaml_export_imports_as_the_mapping_says() {
    let (c, report) = import(&fixture("swagger2-things.yaml"), &ConfigFile::default(), &with_channel()).unwrap();
    assert_eq!(c.groups.len(), 1);
    assert_eq!((c.groups[0].id.as_str(), c.groups[0].domains.len()), ("things_api", 0));
    assert_eq!(report.apis.len(), 4);
    assert_eq!(c.environments, vec![Environment { name: "RELEASE".into(), published: report.apis.clone() }]);

    let things = api(&c, "things_any");
    assert_eq!((things.method.as_str(), things.path.as_str()), ("ANY", "/v1/things/{id}"));
    assert_eq!((things.match_mode, things.auth), (MatchMode::Exact, AuthType::AppCode));
    assert_eq!(things.backend.url, "mock:");
    assert_eq!(things.backend.mock.as_ref().unwrap().body, r#"{"id":"t-1"}"#);
    assert_eq!(things.policies, ["office", "std", CORS_POLICY]);

    let item = api(&c, "get_item");
    assert_eq!(
        (item.auth, item.backend.url.as_str(), item.backend.timeout_ms),
        (AuthType::App, "http://items.internal:8080", 3000)
    );
    // the backend path is the API path: no definition but the constant header
    assert_eq!((item.backend.path.as_deref(), item.backend.method.as_deref()), (None, None));
    assert_eq!(
        item.backend.parameters,
        vec![BackendParameter {
            name: "X-Source".into(),
            location: ParamLocation::Header,
            value: Some("apig".into()),
            from: None
        }]
    );

    let search = api(&c, "search");
    assert_eq!(search.auth, AuthType::None);
    // the channel's URL, its base path before the backend path
    assert_eq!(search.backend.url, "http://127.0.0.1:9");
    assert_eq!((search.backend.method.as_deref(), search.backend.path.as_deref()), (Some("POST"), Some("/base/find")));
    assert_eq!(
        search.backend.parameters[0].from,
        Some(RequestParameter { location: ParamLocation::Query, name: "q".into() })
    );

    let files = api(&c, "files");
    assert_eq!((files.path.as_str(), files.match_mode), ("/v1/files", MatchMode::Prefix), "greedy {{path+}}");

    assert_eq!(
        policy(&c, "std").config,
        json!({"api_limit": 1000, "app_limit": 100, "interval": 1, "unit": "minute", "scope": "per_api",
               "special_apps": [{"app": "7d3f0c2a9b8e4f61a5c4d3e2f1a0b9c8", "limit": 500}]})
    );
    assert_eq!(policy(&c, "office").config, json!({"ip_allow": ["10.0.0.0/8", "192.168.10.1"]}));
    assert_eq!(policy(&c, CORS_POLICY).config, cors_config());
    // what is carried differently is said
    let said: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    assert!(said.iter().any(|w| w.starts_with("/host: ignored")), "{said:#?}");
    assert!(said.iter().any(|w| w.contains("(files: GET /v1/files/{path+}): greedy path")), "{said:#?}");
}

#[test]
fn an_oas3_json_export_imports_with_its_backend_request_definitions() {
    let (c, _) = import(&fixture("oas3-orders.json"), &ConfigFile::default(), &ImportOptions::default()).unwrap();
    let create = api(&c, "create_order");
    // the backend path is /api + the API path: /api is the backend URL's base path
    assert_eq!((create.backend.url.as_str(), create.backend.path.as_deref()), ("http://orders.internal/api", None));
    assert_eq!(
        create.backend.parameters,
        vec![BackendParameter {
            name: "channel".into(),
            location: ParamLocation::Query,
            value: None,
            from: Some(RequestParameter { location: ParamLocation::Header, name: "X-Channel".into() })
        }]
    );
    let order = api(&c, "order_any");
    assert_eq!(
        (order.backend.method.as_deref(), order.backend.path.as_deref()),
        (Some("GET"), Some("/v2/order/{id}/detail"))
    );
    assert_eq!(
        order.backend.parameters[0].from,
        Some(RequestParameter { location: ParamLocation::Path, name: "orderId".into() })
    );
    assert_eq!(order.backend.timeout_ms, 8000);
    assert_eq!(api(&c, "health").backend.mock, Some(MockResponse { body: "ok".into(), ..MockResponse::default() }));
    assert_eq!(
        policy(&c, "per-app").config,
        json!({"api_limit": 600, "user_limit": 300, "app_limit": 60, "ip_limit": 120, "interval": 1, "unit": "minute", "scope": "shared"})
    );
    assert_eq!(policy(&c, "deny-bad").config, json!({"ip_deny": ["10.6.6.6", "192.168.0.0/16"]}));
}

#[test]
fn console_shaped_exports_import_without_noise_and_refuse_iam() {
    // OpenAPI 3.0 YAML as the console writes it: zeros and empty strings for unused fields
    let mut o = ImportOptions::default();
    o.vpc_channels.insert("membersVpc".into(), "http://127.0.0.1:7".into());
    let (c, report) = import(&fixture("oas3-vpc.yaml"), &ConfigFile::default(), &o).unwrap();
    let members = api(&c, "membersAny");
    assert_eq!((members.method.as_str(), members.match_mode, members.auth), ("ANY", MatchMode::Prefix, AuthType::App));
    // /api/members is /api + the API path: the base path of the channel's URL
    assert_eq!((members.backend.url.as_str(), members.backend.path.as_deref()), ("http://127.0.0.1:7/api", None));
    assert_eq!((members.backend.method.as_deref(), members.backend.timeout_ms), (Some("GET"), 30000));
    let said: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    // the empty gateway-response set and the zero-filled schema are nothing to warn about
    assert!(!said.iter().any(|w| w.contains("gateway responses")), "{said:#?}");
    assert!(said.iter().any(|w| w.contains("header parameter \"Authorization\": the gateway reads it")), "{said:#?}");
    assert_eq!(said.len(), 5, "{said:#?}");

    // Swagger 2.0 JSON: an IAM API is refused, the app one imported with the path parameter moved
    // to the query
    let e = import(&fixture("swagger2-users.json"), &ConfigFile::default(), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.issues().len(), 1, "{e}");
    assert_eq!(e.issues()[0].at, "/paths/~1users~1{userId}/get/security");
    let lenient = ImportOptions { lenient: true, ..ImportOptions::default() };
    let (c, _) = import(&fixture("swagger2-users.json"), &ConfigFile::default(), &lenient).unwrap();
    let user = api(&c, "getUserApp");
    assert_eq!((user.backend.url.as_str(), user.backend.path.as_deref()), ("http://users.internal", Some("/users")));
    assert_eq!(
        user.backend.parameters[0],
        BackendParameter {
            name: "userId".into(),
            location: ParamLocation::Query,
            value: None,
            from: Some(RequestParameter { location: ParamLocation::Path, name: "userId".into() })
        }
    );
}

/// A Swagger 2.0 document with `PATHS` and `EXTRA` root entries filled in.
fn swagger(paths: &str) -> String {
    format!(
        r#"{{"swagger": "2.0", "info": {{"title": "t", "version": "1"}}, "paths": {{{paths}}},
        "securityDefinitions": {{
          "app": {{"type": "apiKey", "name": "Authorization", "in": "header", "x-apigateway-auth-type": "AppSigv1"}},
          "iam": {{"type": "apiKey", "name": "unused", "in": "header", "x-apigateway-auth-type": "IAM"}},
          "sso": {{"type": "apiKey", "name": "unused", "in": "header", "x-apigateway-auth-type": "AUTHORIZER",
                   "x-apigateway-authorizer": {{"type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": "urn:fss:eu-de:1:function:default:check"}}}}}},
        "x-apigateway-access-controls": {{"by-domain": {{"acl-type": "PERMIT", "entity-type": "DOMAIN", "value": "acme"}}}}}}"#
    )
}

const HTTP: &str = r#""x-apigateway-backend": {"type": "HTTP", "httpEndpoints": {"address": "h:1", "scheme": "http", "method": "GET", "path": "/", "timeout": 5000}}"#;

fn unsupported_doc() -> String {
    swagger(&format!(
        r#""/ok": {{"get": {{"operationId": "ok", {HTTP}}}}},
        "/iam": {{"get": {{"operationId": "iam_api", "security": [{{"iam": []}}], {HTTP}}}}},
        "/sso": {{"get": {{"operationId": "sso_api", "security": [{{"sso": []}}], {HTTP}}}}},
        "/fn": {{"post": {{"operationId": "fn_api", "x-apigateway-backend": {{"type": "FUNCTION", "functionEndpoints": {{"function-urn": "urn:x", "version": "latest", "invocation-type": "sync", "timeout": 5000}}}}}}}},
        "/cond": {{"get": {{"operationId": "cond_api", {HTTP}, "x-apigateway-backend-policies": [{{"name": "beta", "type": "HTTP", "conditions": []}}]}}}},
        "/dom": {{"get": {{"operationId": "dom_api", "x-apigateway-access-control": "by-domain", {HTTP}}}}}"#
    ))
}

#[test]
fn strict_import_refuses_listing_every_unsupported_feature_with_its_api_and_pointer() {
    let e = import(&unsupported_doc(), &ConfigFile::default(), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.code(), "unsupported");
    let listed: Vec<(String, String)> =
        e.issues().iter().map(|i| (i.api.clone().unwrap_or_default(), i.at.clone())).collect();
    let expected = [
        ("cond_api", "/paths/~1cond/get/x-apigateway-backend-policies"),
        ("dom_api", "/paths/~1dom/get/x-apigateway-access-control"),
        ("fn_api", "/paths/~1fn/post/x-apigateway-backend/type"),
        ("iam_api", "/paths/~1iam/get/security"),
        ("sso_api", "/paths/~1sso/get/security"),
    ];
    assert_eq!(listed, expected.map(|(a, p)| (a.to_owned(), p.to_owned())), "{e}");
    let text = e.to_string();
    assert!(text.contains("IAM authentication (scheme \"iam\")"), "{text}");
    assert!(text.contains("FunctionGraph"), "{text}");
    assert!(text.contains("--lenient"), "{text}");

    // lenient: the rest is imported, the skipped APIs are warnings with the same pointers
    let lenient = ImportOptions { lenient: true, ..ImportOptions::default() };
    let (c, report) = import(&unsupported_doc(), &ConfigFile::default(), &lenient).unwrap();
    assert_eq!(report.apis, ["ok"]);
    assert_eq!(c.groups[0].apis.len(), 1);
    for (api, at) in expected {
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.api.as_deref() == Some(api) && w.at == at && w.reason.starts_with("API skipped: ")),
            "{api} {at}: {:#?}",
            report.warnings
        );
    }
    // the definition that cannot be carried, bound to no imported API, is listed too
    assert!(
        report.warnings.iter().any(|w| w.at == "/x-apigateway-access-controls/by-domain"),
        "{:#?}",
        report.warnings
    );
}

#[test]
fn invalid_files_are_refused_with_their_position_and_apig_code() {
    let invalid = |text: &str| match import(text, &ConfigFile::default(), &ImportOptions::default()).unwrap_err() {
        ImportError::Invalid { position, reason, code } => (position, reason, code),
        other => panic!("{other}"),
    };
    assert_eq!(invalid("  \n").2, "APIG.3609");
    let (pos, reason, code) = invalid("{\n  \"swagger\": \"2.0\",\n  \"info\": {\"title\": }\n}");
    assert_eq!((pos.as_deref(), code), (Some("3:21"), "APIG.3600"), "{reason}");
    let (pos, reason, _) = invalid("swagger: '2.0'\ninfo:\n  title: [t\npaths: {}\n");
    assert!(pos.is_some() && reason.starts_with("not valid YAML"), "{pos:?} {reason}");
    assert_eq!(
        invalid("swagger: '1.2'\n"),
        (Some("/swagger".into()), "swagger version \"1.2\" is not supported: give 2.0".into(), "APIG.3601")
    );
    assert_eq!(invalid(r#"{"openapi": "3.1.0"}"#).2, "APIG.3601");
    assert_eq!(invalid("[1, 2]").2, "APIG.3600");

    let items =
        |paths: &str| match import(&swagger(paths), &ConfigFile::default(), &ImportOptions::default()).unwrap_err() {
            ImportError::InvalidItems(items) => items,
            other => panic!("{other}"),
        };
    let one = |paths: &str| {
        let items = items(paths);
        assert_eq!(items.len(), 1, "{items:#?}");
        items[0].clone()
    };
    let i = one(&format!(r#""/a": {{"get": {{{HTTP}}}}}"#));
    assert_eq!((i.at.as_str(), i.code), ("/paths/~1a/get/operationId", Some("APIG.2001")));
    let i = one(&format!(r#""/u/pre-{{id}}": {{"get": {{"operationId": "p", {HTTP}}}}}"#));
    assert_eq!(i.at, "/paths/~1u~1pre-{id}");
    assert!(i.reason.contains("whole segment"), "{i}");
    let i = one(&format!(r#""/a": {{"get": {{"operationId": "a", "x-apigateway-ratelimit": "nope", {HTTP}}}}}"#));
    assert_eq!((i.at.as_str(), i.code), ("/paths/~1a/get/x-apigateway-ratelimit", Some("APIG.3005")));
    let i = one(&format!(
        r#""/a": {{"get": {{"operationId": "a", {HTTP}}}}}, "/b": {{"get": {{"operationId": "a", {HTTP}}}}}"#
    ));
    assert_eq!((i.at.as_str(), i.code), ("/paths/~1b/get/operationId", Some("APIG.3301")));
    let i = one(
        r#""/a": {"get": {"operationId": "a", "x-apigateway-backend": {"type": "HTTP", "httpEndpoints": {"address": "h", "scheme": "http", "method": "GET", "path": "/", "timeout": 0}}}}"#,
    );
    assert_eq!(
        (i.at.as_str(), i.code),
        ("/paths/~1a/get/x-apigateway-backend/httpEndpoints/timeout", Some("APIG.2004"))
    );
    let i = one(r#""/a": {"get": {"operationId": "a"}}"#);
    assert_eq!((i.at.as_str(), i.code), ("/paths/~1a/get/x-apigateway-backend", Some("APIG.2012")));
    let i = one(&format!(r#""/a": {{"get": {{"operationId": "a", "security": [{{"ghost": []}}], {HTTP}}}}}"#));
    assert_eq!(i.at, "/paths/~1a/get/security");
    // every invalid item is listed, the unsupported ones too are not enough to pass
    assert_eq!(
        items(&format!(
            r#""/a": {{"get": {{{HTTP}}}}}, "/b": {{"get": {{"operationId": "b", "security": [{{"iam": []}}]}}}}"#
        ))
        .len(),
        2
    );
}

/// A target with group `t` (APIs `old` and `ok`), published, authorised, and group `other`.
fn target() -> ConfigFile {
    let text = r#"{
      "groups": [{"id": "t", "apis": [
          {"id": "old", "method": "GET", "path": "/old", "auth": "app", "backend": {"url": "echo:"}},
          {"id": "ok", "method": "POST", "path": "/ok", "auth": "app", "backend": {"url": "echo:"}}]},
        {"id": "other", "apis": [{"id": "x", "method": "GET", "path": "/x", "auth": "none", "backend": {"url": "echo:"}}]}],
      "environments": [{"name": "RELEASE", "published": ["old", "ok", "x"]}],
      "apps": [{"id": "a", "key": "k", "secret": "12345678"}],
      "authorizations": [{"app": "a", "api": "old"}, {"app": "a", "api": "ok"}]}"#;
    ConfigFile::parse(text, apig_gateway::config::Format::Json, std::path::Path::new("t.json")).unwrap()
}

#[test]
fn merge_keeps_the_groups_other_apis_and_replace_removes_them_with_their_publications() {
    let doc = swagger(&format!(r#""/ok": {{"get": {{"operationId": "ok", {HTTP}}}}}"#));
    let (merged, _) = import(&doc, &target(), &ImportOptions::default()).unwrap();
    let t = &merged.groups[0];
    assert_eq!(t.apis.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["old", "ok"]);
    assert_eq!(api(&merged, "ok").method, "GET", "replaced by the file's");
    assert_eq!(merged.authorizations.len(), 2);

    let replace = ImportOptions { mode: Mode::Replace, ..ImportOptions::default() };
    let (replaced, _) = import(&doc, &target(), &replace).unwrap();
    assert_eq!(replaced.groups[0].apis.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["ok"]);
    assert_eq!(replaced.environments[0].published, ["ok", "x"]);
    assert_eq!(replaced.authorizations.len(), 1);
    assert_eq!(replaced.groups[1], target().groups[1], "other groups are left alone");

    // a definition of the file replaces the target's of the same name: said
    let mut with_policy = target();
    with_policy.policies.push(PolicyDef { name: "std".into(), kind: "cors".into(), config: json!({}) });
    with_policy.groups[1].apis[0].policies.push("std".into());
    let limited = doc.replace(
        r#""paths""#,
        r#""x-apigateway-ratelimits": {"std": {"api-limit": 5, "interval": 1, "unit": "SECOND"}}, "paths""#,
    );
    let (c, report) = import(&limited, &with_policy, &ImportOptions::default()).unwrap();
    assert_eq!(policy(&c, "std").kind, "throttle");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.reason == r#"replaces the target's cors policy "std" of that name (bound to ["x"])"#),
        "{:#?}",
        report.warnings
    );

    // an API id another group uses is a conflict; no publication when told
    let clash = swagger(&format!(r#""/x": {{"get": {{"operationId": "x", {HTTP}}}}}"#));
    assert_eq!(import(&clash, &target(), &ImportOptions::default()).unwrap_err().code(), "conflict");
    let quiet = ImportOptions { environment: None, group: Some("new".into()), ..ImportOptions::default() };
    let (c, _) = import(&doc.replace("\"ok\"", "\"fresh\""), &target(), &quiet).unwrap();
    assert_eq!(c.environments, target().environments);
    assert_eq!(c.groups[2].id, "new");
}

#[test]
fn exports_carry_the_fixtures_back_and_say_what_they_leave_out() {
    for (name, options) in [("swagger2-things.yaml", with_channel()), ("oas3-orders.json", ImportOptions::default())] {
        let (c, _) = import(&fixture(name), &ConfigFile::default(), &options).unwrap();
        for version in [Version::Swagger2, Version::Oas3] {
            for syntax in [Syntax::Json, Syntax::Yaml] {
                let out = export(&c, &ExportOptions { version, syntax, ..ExportOptions::default() }).unwrap();
                assert!(out.warnings.iter().all(|w| w.reason.contains("cors")), "{name}: {:#?}", out.warnings);
                let (back, _) = import(&out.text, &ConfigFile::default(), &ImportOptions::default()).unwrap();
                assert_eq!(normalized(back), normalized(c.clone()), "{name} {version:?} {syntax:?}\n{}", out.text);
            }
        }
    }
    // an echo: backend and a plug-in policy cannot be carried: said
    let mut c = target();
    c.groups.truncate(1);
    c.policies.push(PolicyDef { name: "hdrs".into(), kind: "response_headers".into(), config: json!({}) });
    c.groups[0].apis[1].backend.url = "http://h:1".into();
    c.groups[0].apis[1].policies.push("hdrs".into());
    let out = export(&c, &ExportOptions::default()).unwrap();
    let said: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
    assert!(said[0].starts_with("groups[0].apis[0].backend (old: GET /old): the echo: backend"), "{said:#?}");
    assert!(said[1].contains("exported by name only"), "{said:#?}");
    assert_eq!(out.document["paths"]["/ok"]["post"]["x-apigateway-plugins"], json!(["hdrs"]));
    assert!(out.document["paths"].get("/old").is_none());
}

/// `c` with the lists whose order carries no meaning sorted.
fn normalized(mut c: ConfigFile) -> ConfigFile {
    c.policies.sort_by(|a, b| a.name.cmp(&b.name));
    for g in &mut c.groups {
        g.apis.sort_by(|a, b| a.id.cmp(&b.id));
    }
    for e in &mut c.environments {
        e.published.sort();
    }
    c
}

// ---------------------------------------------------------------------------------------------
// the round trip over generated configurations

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,7}"
}

fn location() -> impl Strategy<Value = ParamLocation> {
    prop_oneof![Just(ParamLocation::Query), Just(ParamLocation::Header)]
}

/// One API (id set later): path, method, match, auth, backend, whether it binds the throttle,
/// the ACL, CORS.
fn api_strategy() -> impl Strategy<Value = (Api, bool, bool, bool)> {
    let method = prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE"), Just("PATCH"), Just("ANY")];
    let path = prop::collection::vec(
        prop_oneof![ident().prop_map(|s| format!("api{s}")), ident().prop_map(|s| format!("{{p{s}}}"))],
        0..4,
    );
    let backend = prop_oneof![
        // http, base path or not, timeout
        (prop::option::of(ident()), 1..600_000u64).prop_map(|(base, timeout)| (
            format!("http://127.0.0.1:8{}{}", timeout % 1000, base.map(|b| format!("/b{b}")).unwrap_or_default()),
            timeout,
            None
        )),
        // a mock
        "[ -~é中]{0,20}".prop_map(|body| ("mock:".to_owned(), 5000, Some(body))),
    ];
    let parameters = prop::collection::vec(
        (ident(), location(), prop_oneof![ident().prop_map(Ok), (location(), ident()).prop_map(Err)]),
        0..3,
    );
    (method, path, any::<bool>(), 0..3u8, backend, prop::option::of(ident()), parameters, any::<(bool, bool, bool)>())
        .prop_map(
            |(
                method,
                segments,
                prefix,
                auth,
                (url, timeout_ms, mock),
                backend_path,
                parameters,
                (throttle, acl, cors),
            )| {
                // parameter names unique within the path
                let segments: Vec<String> =
                    segments.into_iter().enumerate().map(|(j, s)| s.replacen("{p", &format!("{{p{j}"), 1)).collect();
                let path = format!("/{}", segments.join("/"));
                let mock_backend = mock.is_some();
                let mut b = Backend {
                    url,
                    timeout_ms,
                    tls: None,
                    method: None,
                    path: None,
                    parameters: Vec::new(),
                    mock: mock.map(|body| MockResponse { body, ..MockResponse::default() }),
                };
                if !mock_backend {
                    // an explicit backend path only without a base path, a backend method only when it differs
                    if let Some(p) = backend_path.filter(|_| !b.url.contains("/b")) {
                        b.path = Some(format!("/be{p}/{{pb}}"));
                        b.parameters.push(BackendParameter {
                            name: "pb".into(),
                            location: ParamLocation::Path,
                            value: Some("v".into()),
                            from: None,
                        });
                    }
                    if method != "GET" {
                        b.method = Some("GET".into());
                    }
                    for (i, (name, to, source)) in parameters.into_iter().enumerate() {
                        let name = format!("b{i}{name}");
                        b.parameters.push(match source {
                            Ok(constant) => BackendParameter { name, location: to, value: Some(constant), from: None },
                            Err((from, n)) => BackendParameter {
                                name,
                                location: to,
                                value: None,
                                from: Some(RequestParameter { location: from, name: format!("f{i}{n}") }),
                            },
                        });
                    }
                }
                let auth = [AuthType::App, AuthType::AppCode, AuthType::None][usize::from(auth)];
                let match_mode = if prefix { MatchMode::Prefix } else { MatchMode::Exact };
                (
                    Api {
                        id: String::new(),
                        name: None,
                        method: method.into(),
                        path,
                        match_mode,
                        auth,
                        backend: b,
                        policies: Vec::new(),
                    },
                    throttle,
                    acl,
                    cors,
                )
            },
        )
}

fn config_strategy() -> impl Strategy<Value = ConfigFile> {
    let domain = prop::option::of("[a-z]{1,8}\\.example\\.com(:8[0-9]{3})?");
    (ident(), prop::collection::vec(api_strategy(), 1..6), 1..1000u64, any::<bool>(), domain).prop_map(|(group, apis, limit, shared, domain)| {
        let mut c = ConfigFile::default();
        let mut kept: Vec<Api> = Vec::new();
        let mut used = (false, false, false);
        for (i, (mut api, throttle, acl, cors)) in apis.into_iter().enumerate() {
            // one operation per method and path in a file: an exact and a prefix API on the same
            // method and path cannot both be exported (export leaves the second out, with a warning)
            if kept.iter().any(|k| k.method == api.method && k.path == api.path) {
                continue;
            }
            api.id = format!("api_{i}");
            // the order an import binds them in: access control, throttle, CORS
            for (on, name) in [(acl, "acl"), (throttle, "limit"), (cors, CORS_POLICY)] {
                if on {
                    api.policies.push(name.into());
                }
            }
            used = (used.0 || throttle, used.1 || acl, used.2 || cors);
            kept.push(api);
        }
        if used.0 {
            c.policies.push(PolicyDef { name: "limit".into(), kind: "throttle".into(), config: json!({"api_limit": limit * 2, "app_limit": limit, "interval": 1, "unit": "minute", "scope": if shared { "shared" } else { "per_api" }}) });
        }
        if used.1 {
            c.policies.push(PolicyDef { name: "acl".into(), kind: "access_control".into(), config: json!({"ip_deny": ["10.0.0.0/8", "192.168.1.1"]}) });
        }
        if used.2 {
            c.policies.push(PolicyDef { name: CORS_POLICY.into(), kind: "cors".into(), config: cors_config() });
        }
        c.environments.push(Environment { name: "RELEASE".into(), published: kept.iter().map(|a| a.id.clone()).collect() });
        c.groups.push(Group { id: group, name: None, domains: domain.into_iter().collect(), apis: kept, ..Group::default() });
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn import_of_an_export_is_the_configuration(c in config_strategy(), oas3 in any::<bool>(), yaml in any::<bool>()) {
        apig_gateway::routing::Runtime::compile(c.clone(), std::path::Path::new("generated")).unwrap();
        let options = ExportOptions {
            version: if oas3 { Version::Oas3 } else { Version::Swagger2 },
            syntax: if yaml { Syntax::Yaml } else { Syntax::Json },
            info_version: Some("1".into()),
            ..ExportOptions::default()
        };
        let out = export(&c, &options).unwrap();
        prop_assert!(out.warnings.is_empty(), "{:#?}", out.warnings);
        // the group's domain comes back when the import binds the file's host
        let bind = ImportOptions { bind_host: true, ..ImportOptions::default() };
        let (back, _) = import(&out.text, &ConfigFile::default(), &bind).map_err(|e| TestCaseError::fail(format!("{e}\n{}", out.text)))?;
        prop_assert_eq!(normalized(back.clone()), normalized(c.clone()), "{}", out.text);
        // and once more: stable
        let again = export(&back, &options).unwrap();
        let (third, _) = import(&again.text, &ConfigFile::default(), &bind).unwrap();
        prop_assert_eq!(normalized(third), normalized(c));
    }
}

#[test]
fn the_vpc_channel_mapping_is_one_function() {
    use apig_gateway::openapi::import::vpc_channel_url;
    let mut channels = BTreeMap::new();
    channels.insert("ch".to_owned(), "http://10.0.0.1:80/".to_owned());
    let upstreams: Vec<UpstreamDef> =
        serde_json::from_str(r#"[{"name": "members", "servers": [{"address": "10.0.0.2:80"}]}]"#).unwrap();
    assert_eq!(vpc_channel_url(&channels, &upstreams, "ch").as_deref(), Some("http://10.0.0.1:80"));
    assert_eq!(vpc_channel_url(&channels, &upstreams, "members").as_deref(), Some("upstream://members"));
    assert_eq!(vpc_channel_url(&channels, &upstreams, "other"), None);
}

#[test]
fn https_backends_import_and_vpc_channels_become_the_configurations_upstreams() {
    let doc = swagger(
        r#""/tls": {"get": {"operationId": "tls_api", "x-apigateway-backend": {"type": "HTTP", "httpEndpoints": {"address": "h:443", "scheme": "https", "method": "GET", "path": "/", "timeout": 5000}}}},
        "/vpc": {"get": {"operationId": "vpc_api", "x-apigateway-backend": {"type": "HTTP-VPC", "httpVpcEndpoints": {"name": "members", "scheme": "http", "method": "GET", "path": "/m", "timeout": 5000}}}}"#,
    );
    // without an upstream named like the channel (and no --vpc-channel), strict refuses the API
    let e = import(&doc, &ConfigFile::default(), &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("define the upstream \"members\""), "{e}");
    let target: ConfigFile = serde_json::from_str(
        r#"{"upstreams": [{"name": "members", "servers": [{"address": "127.0.0.1:1"}, {"address": "127.0.0.1:2"}]}]}"#,
    )
    .unwrap();
    let (c, _) = import(&doc, &target, &ImportOptions::default()).unwrap();
    let url = |id: &str| c.groups[0].apis.iter().find(|a| a.id == id).unwrap().backend.url.clone();
    assert_eq!(url("tls_api"), "https://h:443");
    assert_eq!(url("vpc_api"), "upstream://members");
    // and they export back as they came
    let out = export(&c, &ExportOptions::default()).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let (back, _) = import(&out.text, &target, &ImportOptions::default()).unwrap();
    assert_eq!(back.groups[0].apis, c.groups[0].apis);
}

// ---------------------------------------------------------------------------------------------
// bad input: documents made of the format's own words in any shape give a typed answer, never a
// panic; what is accepted compiles (the import checks it) and exports

const WORDS: &[&str] = &[
    "info",
    "title",
    "paths",
    "basePath",
    "/a",
    "/b/{x}",
    "/c/{p+}",
    "/d/pre-{x}",
    "get",
    "post",
    "x-apigateway-any-method",
    "operationId",
    "security",
    "parameters",
    "name",
    "in",
    "value",
    "origin",
    "required",
    "x-apigateway-backend",
    "type",
    "httpEndpoints",
    "httpVpcEndpoints",
    "mockEndpoints",
    "result-content",
    "address",
    "scheme",
    "method",
    "path",
    "timeout",
    "x-apigateway-ratelimit",
    "x-apigateway-ratelimits",
    "api-limit",
    "app-limit",
    "interval",
    "unit",
    "special",
    "instance",
    "limit",
    "x-apigateway-access-control",
    "x-apigateway-access-controls",
    "acl-type",
    "entity-type",
    "x-apigateway-cors",
    "x-apigateway-match-mode",
    "securityDefinitions",
    "components",
    "securitySchemes",
    "app",
    "x-apigateway-auth-type",
    "x-apigateway-auth-opt",
    "appcode-auth-type",
    "x-apigateway-plugins",
    "$ref",
];

const LEAVES: &[&str] = &[
    "2.0",
    "3.0.1",
    "AppSigv1",
    "IAM",
    "header",
    "HTTP",
    "HTTP-VPC",
    "MOCK",
    "FUNCTION",
    "http",
    "https",
    "GET",
    "ANY",
    "/x/{a}",
    "/",
    "h:1",
    "SWA",
    "NORMAL",
    "REQUEST",
    "CONSTANT",
    "query",
    "path",
    "x",
    "a",
    "MINUTE",
    "PERMIT",
    "DENY",
    "IP",
    "10.0.0.0/8",
    "#/paths",
    "",
];

fn value_strategy() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        prop::sample::select(LEAVES).prop_map(|s| json!(s)),
        (0..100_000u64).prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(serde_json::Value::Null),
    ];
    leaf.prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(prop::sample::select(WORDS).prop_map(str::to_owned), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_document_gets_a_typed_answer(mut doc in value_strategy(), oas3 in any::<bool>(), yaml in any::<bool>(), lenient in any::<bool>()) {
        if let Some(map) = doc.as_object_mut() {
            if oas3 { map.insert("openapi".into(), json!("3.0.0")); } else { map.insert("swagger".into(), json!("2.0")); }
        }
        let text = if yaml { apig_gateway::config::to_yaml(&doc).unwrap() } else { doc.to_string() };
        let options = ImportOptions { lenient, group: Some("g".into()), ..with_channel() };
        match import(&text, &ConfigFile::default(), &options) {
            Ok((c, _)) => {
                let out = export(&c, &ExportOptions::default()).unwrap();
                import(&out.text, &ConfigFile::default(), &ImportOptions::default()).unwrap();
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
