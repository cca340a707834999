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
//! request's phases over its [`context`]), [`auth`], [`body`], [`proxy`] and [`echo`] (backends),
//! [`policy`] (per-API policies and their type table), [`error`] (the one mapping to APIG codes),
//! [`access_log`], [`admin`], [`reload`], [`persist`] (the config file's atomic writes), [`redact`] (credentials kept out of messages).
//! See `docs/gateway.md`.

pub mod access_log;
pub mod admin;
pub mod auth;
pub mod body;
pub mod config;
pub mod context;
pub mod echo;
pub mod error;
pub mod persist;
pub mod policy;
pub mod proxy;
pub mod redact;
pub mod reload;
pub mod request_path;
pub mod routing;
pub mod server;
pub mod shared;

pub use crate::config::ConfigFile;
pub use crate::error::GatewayError;
pub use crate::server::{Gateway, GatewayOptions, RunningGateway};
