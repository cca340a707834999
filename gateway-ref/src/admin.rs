//! The admin API, on its own listener, every request with `Authorization: Bearer TOKEN`. The
//! listener is on a loopback address unless an allow-list of client networks is given
//! ([`Access`]): a client outside it gets 403 whatever it sends; with a certificate it speaks
//! HTTPS only.
//!
//! ```text
//! GET    /v1/apps                                   list apps (secrets not shown, AppCodes as ***)
//! POST   /v1/apps                {"id","name"?,"key"?,"secret"?,"app_codes"?}   create (key/secret generated if absent)
//! DELETE /v1/apps/{id}                              delete (and its authorisations)
//! POST   /v1/apps/{id}/reset-secret {"secret"?}     new secret (generated if absent), returned once
//! POST   /v1/apps/{id}/authorizations {"api","environment"?}   authorise for an API
//! DELETE /v1/apps/{id}/authorizations/{api}[?environment=E]      withdraw
//! PUT    /v1/environments/{env}/apis/{api}          publish (creates the environment)
//! DELETE /v1/environments/{env}/apis/{api}          unpublish
//! GET    /v1/config                                 the running configuration, secrets redacted
//! POST   /v1/reload                                 reload the config file now
//! POST   /v1/import                                 import an APIG export file (Swagger / OpenAPI)
//! GET    /v1/export                                 a group of the running configuration in APIG's format
//! GET    /console                                   the web console (admin/console.rs), token entered in the page
//! POST   /v1/console/relay, /v1/console/explain     the console's debugging (admin/console.rs)
//! ```
//! and the policy definitions and bindings ([`policies`]: `/v1/policies…`, `/v1/apis/{api}/policies…`);
//! import and export (`admin/openapi.rs`): [`crate::openapi`].
//!
//! Each change starts from the file as it is on disk, is validated like a config file, written to
//! the file atomically (temporary file in the same folder, fsync, rename) and then swapped in; a
//! change that fails validation or cannot be written changes nothing. The file stays the source of
//! truth: a hand edit not yet reloaded is applied with the change (or, when it is not valid, the
//! change is refused with 409 and the file left as edited), never overwritten; a later reload
//! reads the changes back from it.

mod console;
mod openapi;
mod policies;

use std::convert::Infallible;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body::{Body, full};
use crate::config::{App, AppStatus, Authorization, ConfigFile, DEFAULT_ENVIRONMENT, Environment, Format};
use crate::persist::write_replacing;
pub use crate::persist::{STALE_TEMP_AGE, remove_stale_temp_files, write_atomically};
use crate::routing::Runtime;
use crate::shared::Shared;

/// The second (since the epoch) of the last "refused a connection" line on stderr.
static REFUSAL_REPORTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Who may reach the admin listener, and how.
#[derive(Debug, Default)]
pub struct Access {
    /// Client networks answered; empty: every client (the listener is then on loopback).
    pub allow: Vec<IpNet>,
    /// HTTPS with this configuration ([`crate::tls::single_certificate`]); `None`: plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Access {
    /// Whether a client at `ip` is answered.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allow.is_empty() || self.allow.iter().any(|net| net.contains(&ip))
    }
}

/// Serves the admin API on `listener` until `stop`; a client has `header_read_timeout` to send a
/// request head (and as long again to complete a TLS handshake). A client outside `access.allow`
/// gets `403` to every request (a line on stderr says so), its token not even looked at. `api` is
/// the API listener's address (the console's relay sends there).
pub async fn serve(
    listener: TcpListener,
    token: Arc<String>,
    access: Arc<Access>,
    shared: Arc<Shared>,
    api: SocketAddr,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let allowed = access.allows(remote.ip());
        if !allowed {
            // at most one line a second, so that refused clients cannot flood the log
            let second = std::time::SystemTime::now()
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            if REFUSAL_REPORTED.swap(second, std::sync::atomic::Ordering::Relaxed) != second {
                eprintln!("apig-gateway: admin API: refused a connection from {remote} (not in --admin-allow)");
            }
        }
        let (token, shared, access) = (Arc::clone(&token), Arc::clone(&shared), Arc::clone(&access));
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (token, shared) = (Arc::clone(&token), Arc::clone(&shared));
                async move {
                    if !allowed {
                        return Ok::<_, Infallible>(reply(error(
                            StatusCode::FORBIDDEN,
                            format!("the admin API does not answer clients at {}", remote.ip()),
                        )));
                    }
                    Ok(handle(&token, &shared, api, req).await)
                }
            });
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).keep_alive(allowed);
            match &access.tls {
                None => {
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                }
                Some(config) => {
                    let handshake = tokio_rustls::TlsAcceptor::from(Arc::clone(config)).accept(stream);
                    if let Ok(Ok(stream)) = tokio::time::timeout(header_read_timeout, handshake).await {
                        let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            }
        });
    }
}

type Reply = (StatusCode, Value);

fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    (status, json!({ "error": message.into() }))
}

async fn handle(token: &str, shared: &Shared, api: SocketAddr, req: Request<Incoming>) -> Response<Body> {
    // the console's static files hold no data: the page itself asks for the token
    if let Some(file) = console::static_file(req.method(), req.uri().path(), api) {
        return file;
    }
    // no CORS headers on any answer: a page of another origin cannot read them, and it cannot send
    // the token (kept in the console's session storage, never in a cookie)
    let (status, value) = if !authorized(token, &req) {
        error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
    } else if req.method() == Method::GET && req.uri().path().trim_end_matches('/') == "/v1/export" {
        // the document itself, JSON or YAML
        match openapi::export_endpoint(shared, req.uri().query().unwrap_or("")) {
            Ok(response) => return response,
            Err(reply) => reply,
        }
    } else if req.uri().path().starts_with("/v1/console/") {
        console_route(api, req).await.unwrap_or_else(|e| e)
    } else {
        route(shared, req).await.unwrap_or_else(|e| e)
    };
    reply((status, value))
}

fn reply((status, value): Reply) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // answers may hold a secret (a new app's, a reset one): never kept in a cache
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn authorized<B>(token: &str, req: &Request<B>) -> bool {
    let Some(given) = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some(given) = given.strip_prefix("Bearer ") else { return false };
    // constant time in the token's content (the core's comparison of secrets)
    apig::constant_time_eq(given.as_bytes(), token.as_bytes())
}

/// The console's endpoints (`/v1/console/…`, [`console`]).
async fn console_route(api: SocketAddr, req: Request<Incoming>) -> Result<Reply, Reply> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let body = read_body(req).await?;
    match (&method, path.trim_end_matches('/')) {
        (&Method::GET, "/v1/console/gateway") => Ok(console::gateway_info(api)),
        (&Method::POST, "/v1/console/relay") => console::relay(api, &body).await,
        (&Method::POST, "/v1/console/explain") => console::explain(&body),
        _ => Err(error(StatusCode::NOT_FOUND, format!("no admin endpoint {method} {path}"))),
    }
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, Reply> {
    Ok(Limited::new(req.into_body(), 1 << 20)
        .collect()
        .await
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("cannot read the body: {e}")))?
        .to_bytes())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApp {
    id: String,
    name: Option<String>,
    key: Option<String>,
    #[serde(default, deserialize_with = "crate::redact::optional_app_secret")]
    secret: Option<String>,
    #[serde(default, deserialize_with = "crate::redact::app_codes")]
    app_codes: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewSecret {
    #[serde(default, deserialize_with = "crate::redact::optional_app_secret")]
    secret: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAuthorization {
    api: String,
    environment: Option<String>,
}

async fn route(shared: &Shared, req: Request<Incoming>) -> Result<Reply, Reply> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = Limited::new(req.into_body(), 1 << 20)
        .collect()
        .await
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("cannot read the body: {e}")))?
        .to_bytes();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let Some(reply) = policies::route(shared, &method, &segments, &body).await {
        return reply;
    }
    match (&method, segments.as_slice()) {
        (&Method::GET, ["v1", "apps"]) => {
            let rt = shared.runtime.load();
            let apps: Vec<Value> = rt.source.apps.iter().map(redacted_app).collect();
            Ok((StatusCode::OK, json!({ "apps": apps })))
        }
        (&Method::POST, ["v1", "apps"]) => {
            let new: NewApp = parse(&body)?;
            let key = match new.key {
                Some(k) => k,
                None => random_hex(16)?,
            };
            let secret = match new.secret {
                Some(s) => s,
                None => random_hex(32)?,
            };
            let app = App {
                id: new.id,
                name: new.name,
                key: key.clone(),
                secret: secret.clone(),
                status: AppStatus::Active,
                app_codes: new.app_codes,
            };
            let id = app.id.clone();
            change(shared, |c| {
                if c.apps.iter().any(|a| a.id == app.id) {
                    return Err(error(StatusCode::CONFLICT, format!("app {:?} exists", app.id)));
                }
                c.apps.push(app);
                Ok(())
            })
            .await?;
            Ok((StatusCode::CREATED, json!({ "id": id, "key": key, "secret": secret })))
        }
        (&Method::DELETE, ["v1", "apps", id]) => {
            change(shared, |c| {
                let before = c.apps.len();
                c.apps.retain(|a| a.id != *id);
                if c.apps.len() == before {
                    return Err(not_found("app", id));
                }
                c.authorizations.retain(|a| a.app != *id);
                Ok(())
            })
            .await?;
            Ok((StatusCode::OK, json!({ "deleted": id })))
        }
        (&Method::POST, ["v1", "apps", id, "reset-secret"]) => {
            let new: NewSecret = if body.is_empty() { NewSecret::default() } else { parse(&body)? };
            let secret = match new.secret {
                Some(s) => s,
                None => random_hex(32)?,
            };
            let key = change(shared, |c| {
                let app = c.apps.iter_mut().find(|a| a.id == *id).ok_or_else(|| not_found("app", id))?;
                app.secret = secret.clone();
                Ok(app.key.clone())
            })
            .await?;
            Ok((StatusCode::OK, json!({ "id": id, "key": key, "secret": secret })))
        }
        (&Method::POST, ["v1", "apps", id, "authorizations"]) => {
            let new: NewAuthorization = parse(&body)?;
            let auth = Authorization {
                app: (*id).to_owned(),
                api: new.api,
                environment: new.environment.unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned()),
            };
            let shown = json!({ "app": auth.app, "api": auth.api, "environment": auth.environment });
            change(shared, |c| {
                if !c.apps.iter().any(|a| a.id == auth.app) {
                    return Err(not_found("app", &auth.app));
                }
                if !has_api(c, &auth.api) {
                    return Err(not_found("API", &auth.api));
                }
                if !c.authorizations.contains(&auth) {
                    c.authorizations.push(auth);
                }
                Ok(())
            })
            .await?;
            Ok((StatusCode::CREATED, shown))
        }
        (&Method::DELETE, ["v1", "apps", id, "authorizations", api]) => {
            let env = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("environment="))
                .unwrap_or(DEFAULT_ENVIRONMENT)
                .to_owned();
            change(shared, |c| {
                let before = c.authorizations.len();
                c.authorizations.retain(|a| !(a.app == *id && a.api == *api && a.environment == env));
                if c.authorizations.len() == before {
                    return Err(not_found("authorization", &format!("{id}/{api}/{env}")));
                }
                Ok(())
            })
            .await?;
            Ok((StatusCode::OK, json!({ "deleted": { "app": id, "api": api, "environment": env } })))
        }
        (&Method::PUT, ["v1", "environments", env, "apis", api]) => {
            change(shared, |c| {
                if !has_api(c, api) {
                    return Err(not_found("API", api));
                }
                match c.environments.iter_mut().find(|e| e.name == *env) {
                    Some(e) if e.published.iter().any(|p| p == api) => {}
                    Some(e) => e.published.push((*api).to_owned()),
                    None => {
                        c.environments.push(Environment { name: (*env).to_owned(), published: vec![(*api).to_owned()] })
                    }
                }
                Ok(())
            })
            .await?;
            Ok((StatusCode::OK, json!({ "published": { "environment": env, "api": api } })))
        }
        (&Method::DELETE, ["v1", "environments", env, "apis", api]) => {
            change(shared, |c| {
                let e =
                    c.environments.iter_mut().find(|e| e.name == *env).ok_or_else(|| not_found("environment", env))?;
                let before = e.published.len();
                e.published.retain(|p| p != api);
                if e.published.len() == before {
                    return Err(not_found("published API", api));
                }
                Ok(())
            })
            .await?;
            Ok((StatusCode::OK, json!({ "unpublished": { "environment": env, "api": api } })))
        }
        (&Method::GET, ["v1", "config"]) => {
            let rt = shared.runtime.load();
            let mut value = serde_json::to_value(&rt.source)
                .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            if let Some(apps) = value.get_mut("apps").and_then(Value::as_array_mut) {
                for app in apps {
                    app["secret"] = json!("***");
                    if let Some(codes) = app.get_mut("app_codes").and_then(Value::as_array_mut) {
                        codes.iter_mut().for_each(|c| *c = json!("***"));
                    }
                }
            }
            if let Some(defs) = value.get_mut("policies").and_then(Value::as_array_mut) {
                for def in defs {
                    if let Some(config) = def.get_mut("config") {
                        *config = policies::redacted_config(config);
                    }
                }
            }
            Ok((StatusCode::OK, value))
        }
        (&Method::POST, ["v1", "import"]) => openapi::import_endpoint(shared, &query, &body).await,
        (&Method::POST, ["v1", "reload"]) => match crate::reload::reload(shared).await {
            Ok(changed) => Ok((StatusCode::OK, json!({ "reloaded": true, "changed": changed }))),
            Err(e) => Err(error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())),
        },
        _ => Err(error(StatusCode::NOT_FOUND, format!("no admin endpoint {method} {path}"))),
    }
}

fn not_found(what: &str, id: &str) -> Reply {
    error(StatusCode::NOT_FOUND, format!("no {what} {id:?}"))
}

fn has_api(c: &ConfigFile, api: &str) -> bool {
    c.groups.iter().flat_map(|g| &g.apis).any(|a| a.id == api)
}

/// An app as listed: the secret left out, AppCodes (credentials too) shown as `***`.
fn redacted_app(app: &App) -> Value {
    let codes: Vec<&str> = app.app_codes.iter().map(|_| "***").collect();
    json!({ "id": app.id, "name": app.name, "key": app.key, "status": app.status, "app_codes": codes })
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

fn random_hex(bytes: usize) -> Result<String, Reply> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("no randomness: {e}")))?;
    Ok(apig::hex(&buf))
}

/// Applies `edit` to the config in the file, validates it, writes the file atomically and swaps
/// it in.
///
/// The edit starts from the file on disk, the source of truth. When the file differs from the
/// running config (a hand edit the watcher has not loaded yet), the edit is applied on top of it
/// and both are swapped in together; a file that cannot be read or loaded, or that changes again
/// while this change is written, is refused with 409 and left as it is. Never is a hand edit
/// overwritten by a change made from an older config.
async fn change<T>(shared: &Shared, edit: impl FnOnce(&mut ConfigFile) -> Result<T, Reply>) -> Result<T, Reply> {
    let Some(path) = &shared.config_path else {
        return Err(error(StatusCode::CONFLICT, "no config file to persist to"));
    };
    let _guard = shared.write_lock.lock().await;
    remove_stale_temp_files(path);
    let edited = |why: String| {
        conflict(
            path,
            format!(
                "the config file {} was edited and cannot be loaded: {why}; nothing was written (fix or revert the edit)",
                path.display()
            ),
        )
    };
    let format = Format::of(path).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let on_disk = std::fs::read(path).map_err(|e| edited(e.to_string()))?;
    let text = std::str::from_utf8(&on_disk).map_err(|e| edited(e.to_string()))?;
    let mut config = ConfigFile::parse(text, format, path).map_err(|e| edited(e.to_string()))?;
    if config != shared.runtime.load().source {
        // a hand edit not loaded yet: it must be valid on its own for the change to build on it
        Runtime::compile_after(config.clone(), path, Some(&shared.runtime.load()))
            .map_err(|e| edited(e.to_string()))?;
    }
    let out = edit(&mut config)?;
    // the policies whose definition the change leaves as it was keep their state
    let runtime = Runtime::compile_after(config.clone(), path, Some(&shared.runtime.load()))
        .map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let text = config.to_text(format).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    match write_replacing(path, text.as_bytes(), Some(&on_disk)) {
        Ok(true) => {}
        Ok(false) => {
            return Err(conflict(
                path,
                format!(
                    "the config file {} was edited while this change was written; nothing was written (retry)",
                    path.display()
                ),
            ));
        }
        Err(e) => {
            return Err(error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot write {}: {e}", path.display())));
        }
    }
    shared.install(runtime);
    Ok(out)
}

/// 409 for a config file edited by hand under the admin API:
/// `{"error", "code": "config_file_edited", "file"}`.
fn conflict(path: &Path, message: String) -> Reply {
    let file = path.display().to_string();
    (StatusCode::CONFLICT, json!({ "error": message, "code": "config_file_edited", "file": file }))
}
