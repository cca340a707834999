//! A local ECS metadata service (SPEC-credentials §4.3) that rotates its temporary credentials:
//! a new key pair every `rotate_every`, each living `lifetime` (longer, so a new pair is out before
//! the old one expires, as ECS rotates). Each pair is registered with the gateway through its admin
//! API (an app with that AppKey/AppSecret, authorised for the API) before it is handed out, and
//! deleted from the gateway once it has expired. Answers are delayed by `delay`, so a request that
//! waited on a refresh shows it in its latency.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::report::{Fetches, Issued};

/// The API every client calls (and every pair is authorised for).
pub(crate) const API: &str = "rotation-echo";

/// How the service rotates.
#[derive(Clone)]
pub(crate) struct Schedule {
    pub(crate) lifetime: Duration,
    pub(crate) rotate_every: Duration,
    pub(crate) delay: Duration,
    /// No pair is issued after this (so every pair issued has time to be picked up by each client).
    pub(crate) last_rotation_before: Instant,
}

/// The gateway's admin API.
#[derive(Clone)]
pub(crate) struct Admin {
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) client: reqwest::Client,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> Result<()> {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.url)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.with_context(|| format!("admin API {method} {path}"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("admin API {method} {path}: {status} {text}");
        }
        Ok(())
    }
}

/// One temporary key pair.
struct Pair {
    access: String,
    secret: String,
    token: String,
    expires_at: SystemTime,
    issued: Issued,
}

#[derive(Default)]
struct State {
    pairs: Vec<Pair>,
    session_tokens: Vec<String>,
    /// Each client's security-key fetches: when each was received and answered (ms since 1970).
    fetches: Fetches,
    /// Failures of the rotation (registering or deleting with the gateway).
    errors: Vec<String>,
}

/// The service: its state, shared by the listener and the rotation task.
#[derive(Clone)]
pub(crate) struct Service {
    state: Arc<Mutex<State>>,
    schedule: Schedule,
    admin: Admin,
    started: Instant,
    seed: String,
}

impl Service {
    pub(crate) fn new(schedule: Schedule, admin: Admin, started: Instant) -> Self {
        let seed = format!("{:?}{}", SystemTime::now(), std::process::id());
        Self { state: Arc::default(), schedule, admin, started, seed }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every pair issued so far, each client's security-key fetches, and the rotation's errors.
    pub(crate) fn summary(&self) -> (Vec<Issued>, Fetches, Vec<String>) {
        let state = self.lock();
        (state.pairs.iter().map(|p| p.issued.clone()).collect(), state.fetches.clone(), state.errors.clone())
    }

    fn random(&self, what: &str, n: usize) -> String {
        let digest = Sha256::digest(format!("{}/{what}/{n}", self.seed));
        digest.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Issues pair `n`: registered with the gateway first, then handed out; deleted from the
    /// gateway a second after it expires.
    pub(crate) async fn issue(&self, n: usize) -> Result<()> {
        let access = format!("TMPAK{}", &self.random("ak", n)[..15]);
        let secret = self.random("sk", n)[..40].to_owned();
        let token = format!("rotation-token.{access}.{}", self.random("token", n));
        let app = format!("rotation-{n}");
        let body = serde_json::json!({"id": app, "name": "rotation proof", "key": access, "secret": secret});
        self.admin.call(reqwest::Method::POST, "/v1/apps", Some(body)).await?;
        let authorize = serde_json::json!({"api": API});
        self.admin.call(reqwest::Method::POST, &format!("/v1/apps/{app}/authorizations"), Some(authorize)).await?;
        let expires_at = SystemTime::now() + self.schedule.lifetime;
        let issued = Issued { access_key: access.clone(), issued_at: self.started.elapsed().as_secs_f64() };
        self.lock().pairs.push(Pair { access, secret, token, expires_at, issued });
        // the gateway forgets the pair once it has expired: a client still signing with it fails
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(this.schedule.lifetime + Duration::from_secs(1)).await;
            if let Err(e) = this.admin.call(reqwest::Method::DELETE, &format!("/v1/apps/{app}"), None).await {
                this.lock().errors.push(format!("{e:#}"));
            }
        });
        Ok(())
    }

    /// Issues a new pair every `rotate_every` (pair 0 is issued before the clients start).
    pub(crate) async fn rotate(self) {
        let mut n = 1;
        loop {
            let at = self.started + self.schedule.rotate_every * u32::try_from(n).unwrap_or(u32::MAX);
            if at >= self.schedule.last_rotation_before {
                return;
            }
            tokio::time::sleep_until(at.into()).await;
            if let Err(e) = self.issue(n).await {
                self.lock().errors.push(format!("issuing pair {n}: {e:#}"));
            }
            n += 1;
        }
    }

    /// Serves the metadata endpoints on `listener` until the task is dropped.
    pub(crate) async fn serve(self, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let this = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let this = this.clone();
                    async move { Ok::<_, Infallible>(this.answer(&request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// Answers a client's request: each client has its own endpoint, `/{client}` (the providers
    /// append the documented paths to it), so each one's fetches are told apart.
    async fn answer<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let trimmed = request.uri().path().trim_start_matches('/');
        let (client, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let path = format!("/{rest}");
        match (request.method(), path.as_str()) {
            // the optional session token (IMDSv2-like): issued on PUT with a TTL header
            (&Method::PUT, "/meta-data/latest/api/token") => {
                if !request.headers().contains_key("x-metadata-token-ttl-seconds") {
                    return reply(StatusCode::BAD_REQUEST, "missing X-Metadata-Token-Ttl-Seconds".to_owned());
                }
                let mut state = self.lock();
                let token = format!("session-{}", state.session_tokens.len());
                state.session_tokens.push(token.clone());
                reply(StatusCode::OK, token)
            }
            (&Method::GET, "/openstack/latest/securitykey") => {
                let token = request.headers().get("x-metadata-token").and_then(|v| v.to_str().ok());
                if !token.is_some_and(|t| self.lock().session_tokens.iter().any(|s| s == t)) {
                    return reply(StatusCode::UNAUTHORIZED, "{\"error\": \"session token required\"}".to_owned());
                }
                let received = epoch_ms();
                tokio::time::sleep(self.schedule.delay).await;
                let mut state = self.lock();
                state.fetches.entry(client.to_owned()).or_default().push([received, epoch_ms()]);
                let Some(pair) = state.pairs.last() else {
                    return reply(StatusCode::SERVICE_UNAVAILABLE, "no credentials yet".to_owned());
                };
                let body = serde_json::json!({"credential": {
                    "access": pair.access,
                    "secret": pair.secret,
                    "securitytoken": pair.token,
                    "expires_at": expires_at(pair.expires_at),
                }});
                reply(StatusCode::OK, body.to_string())
            }
            _ => reply(StatusCode::NOT_FOUND, "not found".to_owned()),
        }
    }
}

/// Now, in milliseconds since 1970 (the clients report their requests' start the same way).
pub(crate) fn epoch_ms() -> f64 {
    SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

/// `expires_at` as ECS writes it: `2020-01-08T03:50:07.574000Z`.
fn expires_at(at: SystemTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    OffsetDateTime::from(at).format(format).unwrap_or_default()
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn expiry_is_written_as_ecs_writes_it() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_578_455_407_574);
        assert_eq!(super::expires_at(at), "2020-01-08T03:50:07.574000Z");
    }
}
