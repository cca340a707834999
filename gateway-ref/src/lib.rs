//! `apig-gateway`: a reference API gateway for Huawei Cloud APIG "App authentication".
//!
//! It does for a published API what APIG does: matches the request to a group (by `Host`), an API
//! (method and path) and an environment (`X-Stage`), authenticates the caller (AK/SK signature through
//! the [`apig`] core verifier, `X-Apig-AppCode`, or none), checks the app is authorised, runs the API's
//! policies and proxies to the backend, answering every failure with APIG's error model
//! (`{"error_code","error_msg","request_id"}`).
//!
//! The tree: [`config`] (the file format), [`routing`] (the compiled, swappable runtime), [`shared`]
//! (the state server, admin and reload share), [`server`] (listeners), [`request_path`] (one
//! request's phases over its [`context`]), [`auth`], [`body`], [`proxy`], [`backend_request`] (the
//! backend's method, path and parameters), [`echo`] and [`mock_backend`] (backends),
//! [`backend_client`] (the one HTTP/TLS client stack), [`upstream`] and [`health_check`] (load-balanced
//! server groups),
//! [`policy`] (per-API policies and their type table), [`error`] (the one mapping to APIG codes),
//! [`access_log`], [`metrics`] and the [`status`] listener (`/metrics`, `/healthz`, `/readyz`),
//! [`tls`] (certificates by SNI, the TLS settings), [`admin`], [`reload`], [`persist`] (the config file's atomic writes), [`redact`] (credentials kept out of messages),
//! [`openapi`] (import and export in APIG's Swagger / OpenAPI format).
//! See `docs/gateway.md`.

pub mod access_log;
pub mod admin;
pub mod auth;
pub mod backend_client;
pub mod backend_limit;
pub mod backend_request;
pub mod body;
pub mod config;
pub mod context;
pub mod debug_domain;
pub mod echo;
pub mod error;
pub mod health_check;
pub mod metrics;
pub mod mock_backend;
pub mod openapi;
pub mod persist;
pub mod policy;
pub mod proxy;
pub mod redact;
pub mod reload;
pub mod request_path;
pub mod routing;
pub mod server;
pub mod shared;
pub mod status;
pub mod tls;
pub mod upstream;

pub use crate::config::ConfigFile;
pub use crate::error::GatewayError;
pub use crate::server::{Gateway, GatewayOptions, RunningGateway};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The top-level modules each module of `src` uses (`crate::NAME`, `use crate::{A, B::…}`),
    /// outside comments and its unit tests.
    fn module_uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
        let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut dirs = vec![src.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let rel = path.strip_prefix(src).unwrap().to_string_lossy().into_owned();
                if !rel.ends_with(".rs") || rel == "lib.rs" || rel == "main.rs" {
                    continue;
                }
                let module = rel.split(['/', '.']).next().unwrap().to_owned();
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
                let set = uses.entry(module.clone()).or_default();
                for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                    for (i, _) in line.match_indices("crate::") {
                        let rest = &line[i + "crate::".len()..];
                        let names: Vec<&str> = match rest.strip_prefix('{') {
                            // one level of grouping is what rustfmt leaves in this crate
                            Some(group) => group.split([',', '}']).map(str::trim).collect(),
                            None => vec![rest],
                        };
                        for name in names {
                            let ident: String =
                                name.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                            if !ident.is_empty() && ident != module {
                                set.insert(ident);
                            }
                        }
                    }
                }
            }
        }
        uses
    }

    /// A cycle in `uses`, as the modules on it, if there is one.
    fn cycle(uses: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            uses: &BTreeMap<String, BTreeSet<String>>,
            at: &str,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(start) = path.iter().position(|m| m == at) {
                let mut found = path[start..].to_vec();
                found.push(at.to_owned());
                return Some(found);
            }
            if !done.insert(at.to_owned()) {
                return None;
            }
            path.push(at.to_owned());
            for next in uses.get(at).into_iter().flatten() {
                if let Some(found) = visit(uses, next, path, done) {
                    return Some(found);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        uses.keys().find_map(|m| visit(uses, m, &mut Vec::new(), &mut done))
    }

    #[test]
    fn the_modules_use_each_other_without_cycles() {
        let uses = module_uses(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
        assert_eq!(cycle(&uses), None, "{uses:?}");
        // the reader is not blind: the server uses the shared state and the admin API
        assert!(uses["server"].contains("shared") && uses["server"].contains("admin"), "{uses:?}");
        // and the check finds one
        let mut with_cycle = uses.clone();
        with_cycle.entry("shared".into()).or_default().insert("server".into());
        assert!(cycle(&with_cycle).is_some());
    }
}
