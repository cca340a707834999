//! The admin API's import and export in APIG's format ([`crate::openapi`]).
//!
//! ```text
//! POST /v1/import[?group=ID&mode=merge|replace&lenient=true&bind_host=true&environment=ENV&publish=false&vpc_channel=NAME=URL…]
//!      body: the file (JSON or YAML), or {"document": <the file as text or JSON>, "group"?, "mode"?,
//!      "lenient"?, "bind_host"?, "environment"?, "publish"?, "vpc_channels"?: {NAME: URL}}
//! GET  /v1/export[?group=ID&format=swagger2|oas3&syntax=json|yaml]    the running configuration's group
//! ```
//! An import is a change like any other ([`super::change`]): validated, written to the config file
//! in its format, then swapped in; refused, it changes nothing: 400 `invalid_file` (with the
//! position), 422 `invalid_items` / `unsupported` (with every item) or `conflict`. An export
//! answers the document itself; what it leaves out is listed in `X-Apig-Export-Warning` headers.

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reply, change, error};
use crate::body::{Body, full};
use crate::openapi::Syntax;
use crate::openapi::export::{ExportOptions, Version, export};
use crate::openapi::import::{ImportError, ImportOptions, Mode, import};
use crate::shared::Shared;

/// The JSON form of an import request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRequest {
    document: Value,
    group: Option<String>,
    mode: Option<String>,
    lenient: Option<bool>,
    bind_host: Option<bool>,
    environment: Option<String>,
    publish: Option<bool>,
    #[serde(default)]
    vpc_channels: BTreeMap<String, String>,
}

/// The query's `name=value` pairs, percent-decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| String::from_utf8_lossy(&apig::percent_decode(s, true)).into_owned();
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn bad(message: impl Into<String>) -> Reply {
    error(StatusCode::BAD_REQUEST, message)
}

/// The options of an import request from its query, then the file's text.
fn import_request(query: &str, body: &[u8]) -> Result<(String, ImportOptions), Reply> {
    let mut options = ImportOptions::default();
    let mut publish = true;
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "group" => options.group = Some(v),
            "mode" => options.mode = v.parse::<Mode>().map_err(bad)?,
            "lenient" => options.lenient = matches!(v.as_str(), "" | "true" | "1"),
            "bind_host" => options.bind_host = matches!(v.as_str(), "" | "true" | "1"),
            "environment" => options.environment = Some(v),
            "publish" => publish = !matches!(v.as_str(), "false" | "0"),
            "vpc_channel" => {
                let (name, url) = v.split_once('=').ok_or_else(|| bad(format!("vpc_channel {v:?}: give NAME=URL")))?;
                options.vpc_channels.insert(name.to_owned(), url.to_owned());
            }
            _ => return Err(bad(format!("unknown import option {k:?}"))),
        }
    }
    let text = std::str::from_utf8(body).map_err(|e| bad(format!("the body is not UTF-8: {e}")))?;
    // the JSON form: an object with `document` (and no `swagger` / `openapi` of its own)
    let wrapped = serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.get("document").is_some() && v.get("swagger").is_none() && v.get("openapi").is_none());
    let text = match wrapped {
        None => text.to_owned(),
        Some(v) => {
            let r: ImportRequest = serde_json::from_value(v).map_err(|e| bad(format!("bad JSON body: {e}")))?;
            if let Some(g) = r.group {
                options.group = Some(g);
            }
            if let Some(m) = r.mode {
                options.mode = m.parse::<Mode>().map_err(bad)?;
            }
            options.lenient |= r.lenient.unwrap_or(false);
            options.bind_host |= r.bind_host.unwrap_or(false);
            if let Some(e) = r.environment {
                options.environment = Some(e);
            }
            publish &= r.publish.unwrap_or(true);
            options.vpc_channels.extend(r.vpc_channels);
            match r.document {
                Value::String(s) => s,
                other => other.to_string(),
            }
        }
    };
    if !publish {
        options.environment = None;
    }
    Ok((text, options))
}

/// `POST /v1/import`.
pub(super) async fn import_endpoint(shared: &Shared, query: &str, body: &[u8]) -> Result<Reply, Reply> {
    let (text, options) = import_request(query, body)?;
    let report = change(shared, |c| {
        let (config, report) = import(&text, c, &options).map_err(|e| refused(&e))?;
        *c = config;
        Ok(report)
    })
    .await?;
    Ok((StatusCode::OK, json!({ "imported": report })))
}

/// An import refusal as an admin answer.
fn refused(e: &ImportError) -> Reply {
    let status = match e {
        ImportError::Invalid { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut body = json!({ "error": e.to_string(), "code": e.code() });
    if let ImportError::Invalid { position, code, .. } = e {
        body["position"] = json!(position);
        body["apig_code"] = json!(code);
    }
    if !e.issues().is_empty() {
        body["issues"] = json!(e.issues());
    }
    (status, body)
}

/// `GET /v1/export`: the document, or the error reply.
pub(super) fn export_endpoint(shared: &Shared, query: &str) -> Result<Response<Body>, Reply> {
    let mut options = ExportOptions::default();
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "group" => options.group = Some(v),
            "format" => options.version = v.parse::<Version>().map_err(bad)?,
            "syntax" => {
                options.syntax = match v.as_str() {
                    "json" => Syntax::Json,
                    "yaml" => Syntax::Yaml,
                    _ => return Err(bad(format!("syntax {v:?} must be json or yaml"))),
                };
            }
            _ => return Err(bad(format!("unknown export option {k:?}"))),
        }
    }
    let rt = shared.runtime.load();
    let exported = export(&rt.source, &options).map_err(|e| error(StatusCode::NOT_FOUND, e))?;
    let mut response = Response::new(full(Bytes::from(exported.text)));
    let content_type = match options.syntax {
        Syntax::Json => "application/json",
        Syntax::Yaml => "application/yaml",
    };
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for w in &exported.warnings {
        let text: String =
            w.to_string().chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
        if let Ok(v) = HeaderValue::from_str(&text) {
            response.headers_mut().append("x-apig-export-warning", v);
        }
    }
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}
