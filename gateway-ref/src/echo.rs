//! The built-in echo backend: answers with the request it received (method, path, query, headers
//! and body) as JSON. Used by the demo (`echo:` backends, in-process) and, as a standalone server
//! (`apig-gateway echo-server`), by the benchmarks.

use base64::Engine;
use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::Serialize;

use crate::body::{Body, full};

#[derive(Serialize)]
struct Echo<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: Vec<(&'a str, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

/// The echo of a request head and its body bytes (`body` when UTF-8, else `body_base64`).
pub fn respond<B>(request: &Request<B>, body: &Bytes) -> Response<Body> {
    let uri = request.uri();
    let text = std::str::from_utf8(body).ok();
    let echo = Echo {
        method: request.method().as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: text,
        body_base64: text.is_none().then(|| base64::engine::general_purpose::STANDARD.encode(body)),
    };
    let json = serde_json::to_vec(&echo).unwrap_or_default();
    let mut response = Response::new(full(json));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Serves the echo backend alone on `listener` (`apig-gateway echo-server`), forever.
pub async fn serve(listener: tokio::net::TcpListener) {
    use http_body_util::{BodyExt, Limited};
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                let (parts, body) = req.into_parts();
                let head = Request::from_parts(parts, ());
                let response = match Limited::new(
                    body,
                    usize::try_from(crate::config::DEFAULT_MAX_BODY_BYTES).unwrap_or(usize::MAX),
                )
                .collect()
                .await
                {
                    Ok(collected) => respond(&head, &collected.to_bytes()),
                    Err(_) => {
                        let mut r = Response::new(crate::body::empty());
                        *r.status_mut() = StatusCode::BAD_REQUEST;
                        r
                    }
                };
                Ok::<_, std::convert::Infallible>(response)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
