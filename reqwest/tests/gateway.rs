//! The middleware against the demo gateway (`apig-gateway` with no configuration: /demo/echo,
//! demo-access-key / demo-secret-key) on 127.0.0.1: signed requests pass, a wrong clock is learned
//! from the gateway's "signature expired" answer and the request retried once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apig_credentials::{Credentials, StaticProvider};
use apig_reqwest::SigningMiddleware;

/// The gateway process, killed on drop.
struct Gateway(Child, String);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `APIG_GATEWAY` (set by `cargo xtask test gateway`), else `apig-gateway` next to this test's
/// binary (target/<profile>/, after `cargo build -p apig-gateway`).
fn gateway_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("APIG_GATEWAY") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = dir.join(format!("apig-gateway{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} is missing: run `cargo build -p apig-gateway` first", binary.display());
    binary
}

fn gateway() -> Gateway {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(gateway_binary())
        .args(["--listen", &address])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let gateway = Gateway(child, format!("http://{address}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < deadline, "the gateway did not listen on {address} within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    gateway
}

fn client(middleware: SigningMiddleware) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(middleware).build()
}

fn demo() -> SigningMiddleware {
    SigningMiddleware::new(StaticProvider(Credentials::new("demo-access-key", "demo-secret-key")))
}

#[tokio::test]
async fn signed_requests_reach_the_backend() {
    let gateway = gateway();
    let client = client(demo());
    let response = client.post(format!("{}/demo/echo?a=1", gateway.1)).body("hello").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("Access=demo-access-key") && text.contains("hello"), "{text}");

    // wrong secret: the gateway's 401 comes back untouched (no retry: not an expired answer)
    let wrong = SigningMiddleware::new(StaticProvider(Credentials::new("demo-access-key", "wrong")));
    let response = client_get(&wrong, &gateway).await;
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("APIG.0303"));
}

async fn client_get(middleware: &SigningMiddleware, gateway: &Gateway) -> reqwest::Response {
    client(middleware.clone()).get(format!("{}/demo/echo", gateway.1)).send().await.unwrap()
}

#[tokio::test]
async fn a_wrong_clock_is_learned_and_the_request_retried_once() {
    let gateway = gateway();
    // an hour behind: beyond the gateway's 15-minute window
    let middleware = demo().clock_offset(-3600);
    let response = client_get(&middleware, &gateway).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let learned = middleware.current_clock_offset();
    assert!((-5..=5).contains(&learned), "the offset was corrected to about 0: {learned}");

    let without = demo().clock_offset(-3600).retry_on_expired(false);
    let response = client_get(&without, &gateway).await;
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("signature expired"));
    assert_eq!(without.current_clock_offset(), -3600);
}
