//! A real hyper server on 127.0.0.1 behind `VerifyLayer`: signed requests reach the handler with
//! the verified identity; bad ones get APIG's status and error JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use apig::{SecretKey, Signer, Verified, Verifier};
use apig_tower::VerifyLayer;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower_layer::Layer;
use tower_service::Service;

const AK: &str = "AKTOWEREXAMPLE";
const SK: &str = "sk-tower-example";

/// The application: echoes the verified access key and the body.
#[derive(Clone)]
struct Echo;

impl Service<http::Request<Full<Bytes>>> for Echo {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
        Box::pin(async move {
            let who = request.extensions().get::<Verified>().map(|v| v.access_key.clone()).unwrap_or_default();
            let body = request.into_body().collect().await.unwrap().to_bytes();
            Ok(http::Response::new(Full::new(Bytes::from(format!("{who}:{}", String::from_utf8_lossy(&body))))))
        })
    }
}

/// Serves `Echo` behind the layer on 127.0.0.1; returns the base URL.
async fn serve(layer: VerifyLayer<HashMap<String, SecretKey>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = layer.layer(Echo);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service.clone();
            tokio::spawn(async move {
                let hyper_service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let mut service = service.clone();
                    async move { service.call(request).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}

fn layer() -> VerifyLayer<HashMap<String, SecretKey>> {
    VerifyLayer::new(Verifier::new(HashMap::from([(AK.to_owned(), SecretKey::new(SK))]))).body_limit(1024)
}

async fn send(request: http::Request<Full<Bytes>>) -> (u16, http::HeaderMap, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response =
        tokio::time::timeout(std::time::Duration::from_secs(5), client.request(request)).await.unwrap().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn signed(base: &str, body: &'static [u8], secret: &str) -> http::Request<Full<Bytes>> {
    let mut request = http::Request::post(format!("{base}/v1/items?b=2&a=1"))
        .header("Content-Type", "text/plain")
        .body(body.to_vec())
        .unwrap();
    Signer::new(AK, secret).unwrap().sign_http_request(&mut request).unwrap();
    request.map(|body| Full::new(Bytes::from(body)))
}

#[tokio::test]
async fn signed_requests_pass_with_their_identity() {
    let base = serve(layer()).await;
    let (status, _, body) = send(signed(&base, b"hello", SK)).await;
    assert_eq!((status, body.as_str()), (200, "AKTOWEREXAMPLE:hello"));
}

#[tokio::test]
async fn rejections_carry_apig_status_and_error_json() {
    let base = serve(layer()).await;
    // a wrong secret: 401 APIG.0303 with the canonical request in the message
    let (status, headers, body) = send(signed(&base, b"hello", "wrong-secret")).await;
    assert_eq!(status, 401);
    assert_eq!(headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error_code"], "APIG.0303", "{body}");
    assert!(json["error_msg"].as_str().unwrap().contains("verify signature fail"), "{body}");
    assert_eq!(json["request_id"].as_str().unwrap(), headers["x-request-id"].to_str().unwrap());

    // no Authorization at all: the gateway's answer to a missing signature
    let unsigned =
        http::Request::get(format!("{base}/v1/items")).header("X-Request-Id", "req-1").body(Full::default()).unwrap();
    let (status, _, body) = send(unsigned).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let expected = apig::ApigErrorResponse::from_kind(apig::ErrorKind::MissingAuthorization, "");
    assert_eq!(status, expected.status());
    assert_eq!(json["error_code"], expected.error_code("APIG"));
    assert_eq!(json["request_id"], "req-1");

    // a body over the limit: 413 APIG.0201
    let (status, _, body) = send(signed(&base, &[b'x'; 2048], SK)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"APIG.0201\""), "{body}");
}
