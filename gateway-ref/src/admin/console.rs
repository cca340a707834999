//! The web console (`/console`) of the admin listener: its static files, embedded in the binary,
//! and the three admin endpoints only the console needs.
//!
//! ```text
//! GET  /console, /console/{file}        the page, its style sheet, its script and apig-wasm's browser
//!                                       build (no token: they hold no data; the page asks for it)
//! GET  /v1/console/gateway              {"api_url"}: where the API listener answers (direct calls)
//! POST /v1/console/relay  {"method","target","headers":[[n,v]…],"body"}   sends exactly that request
//!                         to this gateway's API listener; {"status","headers","body","latency_ms"}
//! POST /v1/console/explain {"canonical_request","error"}   an APIG.0303 answer explained: the
//!                         core's diff of the page's canonical request and the gateway's
//! ```
//! The page signs in the browser (apig-wasm): the secret never reaches the admin listener, and the
//! relay forwards the signed request unchanged (method, target, headers in order, body), so the
//! signature covers what the gateway verifies. The files are served with a strict
//! Content-Security-Policy (`'self'` only, no inline script or style), `nosniff`, no framing, and
//! `Cache-Control: no-store`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::{Reply, error, parse};
use crate::body::{Body, full};

/// One embedded file: its path under `/console/`, content type and bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset { path: $path, content_type: $type, bytes: include_bytes!(concat!("../../console/", $path)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// The console's files; `apig-wasm/` is the browser build of the `apig-wasm` package
/// (`cargo xtask build console` copies it from `bindings/wasm/pkg`, `cargo xtask test wasm` checks
/// that it is current).
static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("console.js", JS),
    asset!("apig-wasm/web/index.js", JS),
    asset!("apig-wasm/web/apig_wasm.js", JS),
    asset!("apig-wasm/web/apig_wasm_bg.wasm", "application/wasm"),
    asset!("apig-wasm/lib/api.js", JS),
    asset!("apig-wasm/lib/engine.js", JS),
];

/// Where the API listener answers, seen from this machine: an unspecified address (`0.0.0.0`,
/// `::`) is reached on loopback.
pub(super) fn api_url(api: SocketAddr) -> SocketAddr {
    let mut addr = api;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
    }
    addr
}

/// The page's Content-Security-Policy: its own files only, WebAssembly compiled from them, calls
/// to the admin listener and (direct debugging through the API's CORS policy) the API listener.
fn content_security_policy(api: SocketAddr) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; \
         connect-src 'self' http://{}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        api_url(api)
    )
}

/// The console file for a `GET` of `path`, if it is one (`/console` is the page).
pub(super) fn static_file(method: &Method, path: &str, api: SocketAddr) -> Option<Response<Body>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let name = match path {
        "/console" | "/console/" => "index.html",
        other => other.strip_prefix("/console/")?,
    };
    let asset = ASSETS.iter().find(|a| a.path == name)?;
    let mut response = Response::new(full(Bytes::from_static(asset.bytes)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(api)) {
        headers.insert("content-security-policy", csp);
    }
    Some(response)
}

/// `GET /v1/console/gateway`.
pub(super) fn gateway_info(api: SocketAddr) -> Reply {
    (StatusCode::OK, json!({ "api_url": format!("http://{}", api_url(api)) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RelayRequest {
    method: String,
    target: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: String,
}

/// The longest a relayed request may take, and the most of its answer shown.
const RELAY_TIMEOUT: Duration = Duration::from_secs(30);
const RELAY_MAX_ANSWER: usize = 1 << 20;

/// `POST /v1/console/relay`: the request exactly as given, to the API listener.
pub(super) async fn relay(api: SocketAddr, body: &[u8]) -> Result<Reply, Reply> {
    let new: RelayRequest = parse(body)?;
    let bad = |what: String| error(StatusCode::BAD_REQUEST, what);
    let method = Method::from_bytes(new.method.as_bytes()).map_err(|_| bad(format!("bad method {:?}", new.method)))?;
    if !new.target.starts_with('/') {
        return Err(bad(format!("the target {:?} must start with /", new.target)));
    }
    let mut request = Request::builder()
        .method(method)
        .uri(new.target.as_str())
        .body(Full::new(Bytes::from(new.body.into_bytes())))
        .map_err(|e| bad(format!("bad target {:?}: {e}", new.target)))?;
    for (name, value) in &new.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(format!("bad header name {name:?}")))?;
        let value = HeaderValue::from_str(value).map_err(|_| bad(format!("bad value of header {name}")))?;
        request.headers_mut().append(name, value);
    }
    let unavailable = |why: String| error(StatusCode::BAD_GATEWAY, format!("cannot reach the API listener: {why}"));
    let started = Instant::now();
    let exchange = async {
        let stream = TcpStream::connect(api_url(api)).await.map_err(|e| unavailable(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = sender.send_request(request).await.map_err(|e| unavailable(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, RELAY_MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| unavailable(format!("cannot read the answer: {e}")))?
            .to_bytes();
        Ok::<_, Reply>((parts, body))
    };
    let (parts, answer) = tokio::time::timeout(RELAY_TIMEOUT, exchange)
        .await
        .map_err(|_| unavailable(format!("no answer within {} s", RELAY_TIMEOUT.as_secs())))??;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let headers: Vec<(&str, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    Ok((
        StatusCode::OK,
        json!({
            "status": parts.status.as_u16(),
            "headers": headers,
            "body": String::from_utf8_lossy(&answer),
            "latency_ms": latency_ms,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainRequest {
    canonical_request: String,
    error: String,
}

/// One differing line, as `apig explain --output json` shows it.
#[derive(Serialize)]
struct DifferenceJson<'a> {
    line: &'static str,
    header: Option<&'a str>,
    local: Option<&'a str>,
    remote: Option<&'a str>,
    hint: &'static str,
}

/// `POST /v1/console/explain`: the core's comparison ([`apig::explain`]) of the page's canonical
/// request with the one the gateway echoed in its APIG.0303 answer.
pub(super) fn explain(body: &[u8]) -> Result<Reply, Reply> {
    let new: ExplainRequest = parse(body)?;
    let remote = apig::canonical_request_from_apig_message(&new.error).ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the answer contains no `canonicalRequest:`: it is not an APIG signature mismatch",
        )
    })?;
    let differences = apig::explain(&new.canonical_request, &remote);
    let shown: Vec<DifferenceJson<'_>> = differences
        .iter()
        .map(|d| DifferenceJson {
            line: d.kind.as_str(),
            header: d.kind.header_name(),
            local: d.local.as_deref(),
            remote: d.remote.as_deref(),
            hint: d.hint,
        })
        .collect();
    let value: Value = json!({
        "identical": differences.is_empty(),
        "differences": shown,
        "local_canonical_request": new.canonical_request,
        "remote_canonical_request": remote,
    });
    Ok((StatusCode::OK, value))
}
