//! Import and export end to end: `apig-gateway import` (the binary) writes a YAML configuration
//! that the real gateway serves (signed requests to a mock backend and, with a differing backend
//! method, path and parameters, to an echo backend; an HTTP-VPC channel mapped to a URL), refusals
//! exit non-zero and write nothing, the admin API's `POST /v1/import` and `GET /v1/export` on a
//! YAML config file, and YAML config errors with `line:column`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use crate::common::*;
use apig_conformance::client;
use apig_gateway::config::{App, AppStatus, Authorization, ConfigFile, Format};
use apig_gateway::server::{AdminOptions, RunningGateway};

const BIN: &str = env!("CARGO_BIN_EXE_apig-gateway");
const TOKEN: &str = "admin-token-0123456789";

/// An APIG export (Swagger 2.0, YAML) whose HTTP backend is the echo server on `ECHO`.
const DOC: &str = r#"swagger: "2.0"
info: {title: shop, version: "2026-11-20-10:15:00"}
basePath: /v1
paths:
  /things/{id}:
    x-apigateway-any-method:
      operationId: things_any
      security: [{apig-auth-app: []}]
      parameters: [{name: id, in: path, type: string, required: true}]
      x-apigateway-match-mode: NORMAL
      x-apigateway-backend:
        type: MOCK
        mockEndpoints: {result-content: '{"id":"t-1"}'}
  /items/{itemId}:
    get:
      operationId: get_item
      security: [{apig-auth-app: []}]
      parameters:
        - {name: itemId, in: path, type: string, required: true}
        - {name: q, in: query, type: string}
      x-apigateway-backend:
        type: HTTP
        parameters:
          - {name: itemId, value: itemId, in: path, origin: REQUEST}
          - {name: X-Source, value: apig, in: header, origin: CONSTANT}
          - {name: X-Query, value: q, in: header, origin: REQUEST}
        httpEndpoints: {address: "127.0.0.1:ECHO", scheme: http, method: POST, path: "/internal/items/{itemId}/detail", timeout: 3000}
  /search:
    get:
      operationId: search
      parameters: [{name: q, in: query, type: string}]
      x-apigateway-backend:
        type: HTTP-VPC
        parameters: [{name: keyword, value: q, in: query, origin: REQUEST}]
        httpVpcEndpoints: {name: vpc_echo, scheme: http, method: GET, path: /find, timeout: 3000}
securityDefinitions:
  apig-auth-app: {type: apiKey, name: Authorization, in: header, x-apigateway-auth-type: AppSigv1}
  apig-auth-iam: {type: apiKey, name: unused, in: header, x-apigateway-auth-type: IAM}
"#;

/// `config` with app `a1` (AK1 / SK1-secret) authorised for `apis`.
fn with_app(mut config: ConfigFile, apis: &[&str]) -> ConfigFile {
    config.apps.push(App {
        id: "a1".into(),
        name: None,
        key: "AK1".into(),
        secret: "SK1-secret".into(),
        status: AppStatus::Active,
        app_codes: Vec::new(),
    });
    for api in apis {
        config.authorizations.push(Authorization {
            app: "a1".into(),
            api: (*api).into(),
            environment: "RELEASE".into(),
        });
    }
    config
}

fn body_json(r: &client::RawResponse) -> serde_json::Value {
    r.json().unwrap_or_else(|| panic!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)))
}

fn header<'a>(echo: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    echo["headers"].as_array().unwrap().iter().find(|h| h[0] == name).and_then(|h| h[1].as_str())
}

#[test]
fn an_imported_configuration_is_served_by_the_gateway() {
    let dir = temp_dir("openapi-served");
    let echo = echo_backend();
    let doc = dir.join("shop.yaml");
    std::fs::write(&doc, DOC.replace("ECHO", &echo.to_string())).unwrap();
    let out = dir.join("gw.yaml");
    let channel = format!("vpc_echo=http://127.0.0.1:{echo}/base");
    let run = Command::new(BIN)
        .args(["import", doc.to_str().unwrap(), "--out", out.to_str().unwrap(), "--vpc-channel", &channel])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("imported 3 API(s) into group \"shop\""), "{stderr}");
    // a YAML configuration, with the app added as a user would
    let config = ConfigFile::load(&out).unwrap();
    let config = with_app(config, &["things_any", "get_item"]);
    std::fs::write(&out, config.to_text(Format::Yaml).unwrap()).unwrap();

    let gw = RunningGateway::start(options(out.clone())).unwrap();
    let addr = gw.addr();
    // the mock backend
    let r = signed(addr, "GET", "/v1/things/t-1", b"");
    assert_eq!((r.status, body_json(&r)), (200, serde_json::json!({"id": "t-1"})));
    assert_apig(&send(addr, "GET", "/v1/things/t-1", &[("Host".into(), "x".into())], b""), 401, "APIG.0303");
    // the backend request definition: another method and path, a constant and a moved parameter
    let r = signed(addr, "GET", "/v1/items/42?q=hello%20you&other=1", b"");
    let seen = body_json(&r);
    assert_eq!(r.status, 200, "{seen}");
    assert_eq!(
        (seen["method"].as_str(), seen["path"].as_str()),
        (Some("POST"), Some("/internal/items/42/detail")),
        "{seen}"
    );
    assert_eq!(seen["query"], "other=1", "{seen}");
    assert_eq!((header(&seen, "x-source"), header(&seen, "x-query")), (Some("apig"), Some("hello you")), "{seen}");
    assert!(header(&seen, "authorization").is_some_and(|a| a.starts_with("SDK-HMAC-SHA256")), "{seen}");
    // the HTTP-VPC channel's URL, a renamed query parameter, no authentication
    let r = send(addr, "GET", "/v1/search?q=a%20b", &[("Host".into(), "x".into())], b"");
    let seen = body_json(&r);
    assert_eq!((seen["path"].as_str(), seen["query"].as_str()), (Some("/base/find"), Some("keyword=a%20b")), "{seen}");
    drop(gw);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refused_imports_exit_non_zero_and_write_nothing() {
    let dir = temp_dir("openapi-refused");
    let out = dir.join("gw.json");
    let before = r#"{"groups": []}"#;
    std::fs::write(&out, before).unwrap();
    let import = |doc: &str, extra: &[&str]| {
        let path = dir.join("doc.yaml");
        std::fs::write(&path, doc).unwrap();
        let mut args = vec!["import", path.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = Command::new(BIN).args(&args).output().unwrap();
        (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned())
    };
    // strict: the channel without a URL and an IAM API are listed with their pointers
    let iam = DOC.replace(
        "security: [{apig-auth-app: []}]\n      parameters: [{name: id",
        "security: [{apig-auth-iam: []}]\n      parameters: [{name: id",
    );
    let (code, stderr) = import(&iam, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/paths/~1things~1{id}/x-apigateway-any-method/security (things_any: ANY /v1/things/{id}): IAM authentication"), "{stderr}");
    assert!(stderr.contains("/paths/~1search/get/x-apigateway-backend/httpVpcEndpoints/name (search: GET /v1/search): HTTP-VPC channel \"vpc_echo\" is neither an upstream of the configuration nor given a URL"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
    // an invalid file: its position
    let (code, stderr) = import("swagger: '2.0'\npaths:\n  /a: [\n", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("doc.yaml:3:") && stderr.contains("not valid YAML") && stderr.contains("APIG.3600"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
    // lenient: the rest is written, the skipped APIs are warnings
    let (code, stderr) = import(&iam, &["--lenient"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("warning: /paths/~1things~1{id}/x-apigateway-any-method/security (things_any: ANY /v1/things/{id}): API skipped: IAM"), "{stderr}");
    let written = ConfigFile::load(&out).unwrap();
    assert_eq!(written.groups[0].apis.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["get_item"]);
    let _ = std::fs::remove_dir_all(&dir);
}

fn admin(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> client::RawResponse {
    let auth = format!("Bearer {TOKEN}");
    let h = [("Host", "admin"), ("Authorization", auth.as_str())];
    client::request(addr, method, path, &h, body.as_bytes()).unwrap()
}

#[test]
fn the_admin_api_imports_into_a_yaml_config_file_and_exports_the_running_group() {
    let dir = temp_dir("openapi-admin");
    let echo = echo_backend();
    let path = dir.join("gw.yml");
    std::fs::write(&path, "# the gateway's config\napps:\n  - {id: a1, key: AK1, secret: SK1-secret}\n").unwrap();
    let mut o = options(path.clone());
    o.admin = Some(AdminOptions { listen: ([127, 0, 0, 1], 0).into(), token: TOKEN.to_owned() });
    let gw = RunningGateway::start(o).unwrap();
    let (addr, adm) = (gw.addr(), gw.admin_addr().unwrap());
    let doc = DOC.replace("ECHO", &echo.to_string());

    // refused: nothing changes
    let r = admin(adm, "POST", "/v1/import", &doc);
    let answer = body_json(&r);
    assert_eq!((r.status, answer["code"].as_str()), (422, Some("unsupported")), "{answer}");
    assert_eq!(answer["issues"][0]["at"], "/paths/~1search/get/x-apigateway-backend/httpVpcEndpoints/name", "{answer}");
    let r = admin(adm, "POST", "/v1/import", "swagger: '2.0'\npaths: [\n");
    let answer = body_json(&r);
    assert_eq!(
        (r.status, answer["code"].as_str(), answer["apig_code"].as_str()),
        (400, Some("invalid_file"), Some("APIG.3600")),
        "{answer}"
    );
    assert!(answer["position"].as_str().is_some_and(|p| p.starts_with("2:")), "{answer}");
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("# the gateway's config"));

    // accepted (options as query parameters), written in the file's own format, then served
    let channel = format!("vpc_channel=vpc_echo%3Dhttp%3A%2F%2F127.0.0.1%3A{echo}%2Fbase");
    let r = admin(adm, "POST", &format!("/v1/import?{channel}&group=shop-1"), &doc);
    let answer = body_json(&r);
    assert_eq!(r.status, 200, "{answer}");
    assert_eq!(answer["imported"]["group"], "shop-1");
    assert_eq!(answer["imported"]["apis"], serde_json::json!(["get_item", "search", "things_any"]));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "still YAML:\n{text}");
    let on_disk = ConfigFile::parse(&text, Format::Yaml, &path).unwrap();
    assert_eq!(on_disk.groups[0].id, "shop-1");
    let r = send(addr, "GET", "/v1/search?q=x", &[("Host".into(), "x".into())], b"");
    assert_eq!(body_json(&r)["path"], "/base/find");
    // the JSON form with its fields: authorise, then a signed call
    let r = admin(adm, "POST", "/v1/apps/a1/authorizations", r#"{"api": "things_any"}"#);
    assert_eq!(r.status, 201);
    assert_eq!(signed(addr, "PUT", "/v1/things/9", b"{}").status, 200);

    // the export of the running group, YAML and JSON
    let r = admin(adm, "GET", "/v1/export?syntax=yaml&format=oas3", "");
    let yaml = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/yaml")), "{yaml}");
    assert!(yaml.contains("openapi: \"3.0.1\"") && yaml.contains("x-apigateway-any-method:"), "{yaml}");
    let r = admin(adm, "GET", "/v1/export", "");
    let exported = body_json(&r);
    assert_eq!(exported["swagger"], "2.0");
    assert_eq!(exported["paths"]["/v1/search"]["get"]["x-apigateway-backend"]["httpEndpoints"]["path"], "/base/find");
    // the JSON form of an import: the exported document back, replacing the group, no publication
    let body = serde_json::json!({"document": exported, "group": "shop-1", "mode": "replace", "publish": false});
    let r = admin(adm, "POST", "/v1/import", &body.to_string());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(admin(adm, "GET", "/v1/export?group=nope", "").status, 404);
    drop(gw);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn yaml_config_errors_have_line_and_column() {
    let dir = temp_dir("openapi-yaml-check");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "groups:\n  - id: g\n    apis: 7\n").unwrap();
    let run = Command::new(BIN).args(["check", bad.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains(&format!("{}:3:11: ", bad.display())), "{stderr}");
    let good = dir.join("good.yml");
    std::fs::write(&good, "groups:\n  - id: g\n    apis: []\n").unwrap();
    assert!(Command::new(BIN).args(["check", good.to_str().unwrap()]).output().unwrap().status.success());
    assert!(Path::new(&good).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    let dir = temp_dir("openapi-pipe");
    let doc = dir.join("shop.yaml");
    std::fs::write(&doc, DOC.replace("ECHO", "1")).unwrap();
    let mut child = Command::new(BIN)
        .args(["import", doc.to_str().unwrap(), "--lenient"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to stdout") && !stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_mock_backend_answers_its_status_headers_and_body_after_the_policies() {
    let dir = temp_dir("openapi-mock");
    let config = r#"{"groups": [{"id": "g", "apis": [
        {"id": "teapot", "method": "GET", "path": "/teapot", "auth": "none", "policies": ["only-10"],
         "backend": {"url": "mock:", "mock": {"status": 418, "headers": [{"name": "X-Mock", "value": "1"},
           {"name": "Content-Type", "value": "text/plain"}], "body": "short and stout"}}}]}],
      "environments": [{"name": "RELEASE", "published": ["teapot"]}],
      "policies": [{"name": "only-10", "type": "access_control", "config": {"ip_allow": ["10.0.0.0/8"]}},
                   {"name": "open", "type": "access_control", "config": {"ip_allow": ["127.0.0.1"]}}]}"#;
    let (gw, path) = start_in(&dir, config);
    let host = [("Host".to_owned(), "x".to_owned())];
    // the policy runs first: 127.0.0.1 is not allowed
    assert_apig(&send(gw.addr(), "GET", "/teapot", &host, b""), 403, "APIG.0402");
    std::fs::write(&path, config.replace(r#""policies": ["only-10"]"#, r#""policies": ["open"]"#)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let r = loop {
        let r = send(gw.addr(), "GET", "/teapot", &host, b"");
        if r.status != 403 || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!((r.status, r.header("x-mock"), r.header("content-type")), (418, Some("1"), Some("text/plain")));
    assert_eq!(r.body, b"short and stout");
    assert!(r.header("x-request-id").is_some());
    drop(gw);
    let _ = std::fs::remove_dir_all(&dir);
}
