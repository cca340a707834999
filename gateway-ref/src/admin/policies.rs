//! The admin API's policy endpoints: named policy definitions (`policies[]` of the config file)
//! and their bindings to APIs (`groups[].apis[].policies`, in order).
//!
//! ```text
//! GET    /v1/policies                      every definition, with the APIs bound to it
//! POST   /v1/policies   {"name","type","config"?}   create (409 if the name exists)
//! GET    /v1/policies/{name}               one definition
//! PUT    /v1/policies/{name} {"type","config"?}     create (201) or replace (200)
//! DELETE /v1/policies/{name}               delete (409 while an API is bound to it)
//! GET    /v1/apis/{api}/policies           the API's bound policies, in order
//! PUT    /v1/apis/{api}/policies {"policies":[…]}   replace the whole ordered list
//! PUT    /v1/apis/{api}/policies/{name}    bind at the end (201; 200 if already bound)
//! DELETE /v1/apis/{api}/policies/{name}    unbind
//! ```
//! A definition is checked by the policy type exactly as in a file (same messages, without the
//! file position) and refused with 400; names in paths are percent-decoded. Every change goes
//! through [`super::change`]: validated like a file, persisted atomically, then swapped in.

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reply, change, error, not_found, parse};
use crate::config::{Api, ConfigFile, PolicyDef};
use crate::policy;
use crate::shared::Shared;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPolicy {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    config: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bindings {
    policies: Vec<String>,
}

/// Serves the request if it is a policy endpoint (`None` otherwise).
pub(super) async fn route(
    shared: &Shared,
    method: &hyper::Method,
    segments: &[&str],
    body: &[u8],
) -> Option<Result<Reply, Reply>> {
    use hyper::Method as M;
    let decoded: Vec<String> = segments.iter().map(|s| percent_decode(s)).collect();
    let seg: Vec<&str> = decoded.iter().map(String::as_str).collect();
    Some(match (method, seg.as_slice()) {
        (&M::GET, ["v1", "policies"]) => Ok(list(shared)),
        (&M::POST, ["v1", "policies"]) => create(shared, body, None).await,
        (&M::GET, ["v1", "policies", name]) => show(shared, name),
        (&M::PUT, ["v1", "policies", name]) => create(shared, body, Some(name)).await,
        (&M::DELETE, ["v1", "policies", name]) => delete(shared, name).await,
        (&M::GET, ["v1", "apis", api, "policies"]) => bound(shared, api),
        (&M::PUT, ["v1", "apis", api, "policies"]) => replace_bindings(shared, api, body).await,
        (&M::PUT, ["v1", "apis", api, "policies", name]) => bind(shared, api, name).await,
        (&M::DELETE, ["v1", "apis", api, "policies", name]) => unbind(shared, api, name).await,
        _ => return None,
    })
}

fn list(shared: &Shared) -> Reply {
    let rt = shared.runtime.load();
    let all: Vec<Value> = rt.source.policies.iter().map(|d| shown(&rt.source, d)).collect();
    (StatusCode::OK, json!({ "policies": all }))
}

fn show(shared: &Shared, name: &str) -> Result<Reply, Reply> {
    let rt = shared.runtime.load();
    let def = rt.source.policies.iter().find(|d| d.name == name).ok_or_else(|| not_found("policy", name))?;
    Ok((StatusCode::OK, shown(&rt.source, def)))
}

/// `POST /v1/policies` (`path_name` `None`: the name is in the body, an existing one is a 409) or
/// `PUT /v1/policies/{name}` (create or replace).
async fn create(shared: &Shared, body: &[u8], path_name: Option<&str>) -> Result<Reply, Reply> {
    let new: NewPolicy = parse(body)?;
    let name = match (path_name, new.name) {
        (Some(p), Some(b)) if p != b => {
            return Err(error(StatusCode::BAD_REQUEST, format!("the body names policy {b:?}, the path {p:?}")));
        }
        (Some(p), _) => p.to_owned(),
        (None, Some(b)) => b,
        (None, None) => return Err(error(StatusCode::BAD_REQUEST, "bad JSON body: missing field `name`")),
    };
    if name.is_empty() {
        return Err(error(StatusCode::BAD_REQUEST, "the policy name must not be empty"));
    }
    let def = PolicyDef { name, kind: new.kind, config: new.config };
    // the type's own check, as for a file (the runtime compile below repeats it)
    policy::build(&def).map_err(|why| error(StatusCode::BAD_REQUEST, why))?;
    let replace = path_name.is_some();
    change(shared, |c| {
        let status = match c.policies.iter_mut().find(|d| d.name == def.name) {
            Some(_) if !replace => {
                return Err(error(StatusCode::CONFLICT, format!("policy {:?} exists", def.name)));
            }
            Some(old) => {
                *old = def.clone();
                StatusCode::OK
            }
            None => {
                c.policies.push(def.clone());
                StatusCode::CREATED
            }
        };
        Ok((status, shown(c, &def)))
    })
    .await
}

async fn delete(shared: &Shared, name: &str) -> Result<Reply, Reply> {
    change(shared, |c| {
        let users = bound_to(c, name);
        if !users.is_empty() {
            return Err(error(
                StatusCode::CONFLICT,
                format!("policy {name:?} is bound to APIs {users:?}: unbind it first"),
            ));
        }
        let before = c.policies.len();
        c.policies.retain(|d| d.name != name);
        if c.policies.len() == before {
            return Err(not_found("policy", name));
        }
        Ok(())
    })
    .await?;
    Ok((StatusCode::OK, json!({ "deleted": name })))
}

fn bound(shared: &Shared, api: &str) -> Result<Reply, Reply> {
    let rt = shared.runtime.load();
    let found = apis(&rt.source).find(|a| a.id == api).ok_or_else(|| not_found("API", api))?;
    Ok((StatusCode::OK, json!({ "api": api, "policies": found.policies })))
}

async fn replace_bindings(shared: &Shared, api: &str, body: &[u8]) -> Result<Reply, Reply> {
    let new: Bindings = parse(body)?;
    let policies = change(shared, |c| {
        if let Some(unknown) = new.policies.iter().find(|n| !c.policies.iter().any(|d| d.name == **n)) {
            return Err(not_found("policy", unknown));
        }
        let found = apis_mut(c).find(|a| a.id == api).ok_or_else(|| not_found("API", api))?;
        found.policies.clone_from(&new.policies);
        Ok(new.policies.clone())
    })
    .await?;
    Ok((StatusCode::OK, json!({ "api": api, "policies": policies })))
}

async fn bind(shared: &Shared, api: &str, name: &str) -> Result<Reply, Reply> {
    let (status, policies) = change(shared, |c| {
        if !c.policies.iter().any(|d| d.name == name) {
            return Err(not_found("policy", name));
        }
        let found = apis_mut(c).find(|a| a.id == api).ok_or_else(|| not_found("API", api))?;
        let status = if found.policies.iter().any(|p| p == name) {
            StatusCode::OK
        } else {
            found.policies.push(name.to_owned());
            StatusCode::CREATED
        };
        Ok((status, found.policies.clone()))
    })
    .await?;
    Ok((status, json!({ "api": api, "policies": policies })))
}

async fn unbind(shared: &Shared, api: &str, name: &str) -> Result<Reply, Reply> {
    let policies = change(shared, |c| {
        let found = apis_mut(c).find(|a| a.id == api).ok_or_else(|| not_found("API", api))?;
        let before = found.policies.len();
        found.policies.retain(|p| p != name);
        if found.policies.len() == before {
            return Err(error(StatusCode::NOT_FOUND, format!("policy {name:?} is not bound to API {api:?}")));
        }
        Ok(found.policies.clone())
    })
    .await?;
    Ok((StatusCode::OK, json!({ "api": api, "policies": policies })))
}

fn apis(c: &ConfigFile) -> impl Iterator<Item = &Api> {
    c.groups.iter().flat_map(|g| g.apis.iter())
}

fn apis_mut(c: &mut ConfigFile) -> impl Iterator<Item = &mut Api> {
    c.groups.iter_mut().flat_map(|g| g.apis.iter_mut())
}

/// The ids of the APIs bound to policy `name`.
fn bound_to(c: &ConfigFile, name: &str) -> Vec<String> {
    apis(c).filter(|a| a.policies.iter().any(|p| p == name)).map(|a| a.id.clone()).collect()
}

/// A definition as the admin API shows it: secrets redacted, with the APIs bound to it.
fn shown(c: &ConfigFile, def: &PolicyDef) -> Value {
    json!({
        "name": def.name,
        "type": def.kind,
        "config": redacted_config(&def.config),
        "apis": bound_to(c, &def.name),
    })
}

/// A policy config with secrets shown as `***`: `secret` and `password` fields, and the password
/// of a `user:password@` URL.
pub(super) fn redacted_config(config: &Value) -> Value {
    match config {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("secret" | "password", Value::String(_)) => json!("***"),
                        (_, Value::String(s)) => Value::String(redacted_url(s)),
                        _ => redacted_config(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted_config).collect()),
        other => other.clone(),
    }
}

/// `scheme://user:password@host…` → `scheme://user:***@host…`; anything else unchanged.
fn redacted_url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return text.to_owned() };
    let Some(colon) = rest[..at].find(':') else { return text.to_owned() };
    format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..])
}

/// `%XX` sequences decoded by the core's decoder (invalid ones kept as they are, `+` kept).
fn percent_decode(segment: &str) -> String {
    String::from_utf8_lossy(&apig::percent_decode(segment, false)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets_and_url_passwords() {
        let config = json!({"key": "k", "secret": "s3cr3t", "store": {"type": "redis",
            "url": "redis://user:pw@127.0.0.1:6379/0"}, "brokers": ["h:1"], "n": 3});
        let shown = redacted_config(&config);
        assert_eq!(shown["secret"], "***");
        assert_eq!(shown["key"], "k");
        assert_eq!(shown["store"]["url"], "redis://user:***@127.0.0.1:6379/0");
        assert_eq!(shown["brokers"][0], "h:1");
        assert_eq!(shown["n"], 3);
        assert_eq!(redacted_url("http://127.0.0.1:9100/authorize"), "http://127.0.0.1:9100/authorize");
        assert_eq!(redacted_url("redis://:pw@h"), "redis://:***@h");
    }

    #[test]
    fn decodes_path_segments() {
        assert_eq!(percent_decode("my%20policy"), "my policy");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%2"), "bad%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
