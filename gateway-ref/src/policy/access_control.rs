//! Access control: allow / deny lists of client IPs and CIDR ranges, and of app keys, per API.
//!
//! ```json
//! {"name": "office-only", "type": "access_control", "config": {
//!   "ip_allow": ["10.0.0.0/8", "127.0.0.1"], "ip_deny": ["10.6.6.6"],
//!   "app_allow": [], "app_deny": ["0a1b2c3d4e5f60718293a4b5c6d7e8f9"],
//!   "client_ip_header": null}}
//! ```
//! * The client IP is the connection's peer address, or — behind a trusted load balancer that
//!   sets it — the first address of `client_ip_header` (e.g. `X-Forwarded-For`); a header that is
//!   present but not an IP address is refused with `APIG.0401` 403 (unknown client IP).
//! * IP lists are checked before authentication: a denied IP (in `ip_deny`, or not in a non-empty
//!   `ip_allow`) gets `APIG.0402` 403. Deny wins over allow.
//! * App lists are checked after authentication, on the caller's app key (APIs with `auth: none`
//!   have no app: a non-empty `app_allow` then refuses every request): `APIG.0405` 403.

use std::net::IpAddr;

use hyper::StatusCode;
use serde::Deserialize;

use super::{Decision, Policy, RequestContext, Stage};
use crate::error::GatewayError;

/// `APIG.0401` 403: the client IP cannot be determined.
pub fn unknown_client_ip() -> GatewayError {
    GatewayError::new(StatusCode::FORBIDDEN, "0401", "Unknown client IP address")
}

/// `APIG.0402` 403: the client IP is not allowed.
pub fn ip_denied() -> GatewayError {
    GatewayError::new(StatusCode::FORBIDDEN, "0402", "The IP address is not authorized")
}

/// `APIG.0405` 403: the app is not allowed by the API's access control.
pub fn app_denied() -> GatewayError {
    GatewayError::new(StatusCode::FORBIDDEN, "0405", "The app is not authorized by the access control policy")
}

/// An IP address or a CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    base: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses `1.2.3.4`, `10.0.0.0/8`, `::1` or `fd00::/8`.
    ///
    /// # Errors
    /// Not an address, or a prefix longer than the address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let base: IpAddr = addr.parse().map_err(|_| format!("{text:?} is not an IP address or CIDR range"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("bad prefix in {text:?}"))?,
        };
        Ok(Self { base, prefix })
    }

    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address matches its IPv4 ranges).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.base, ip) {
            (IpAddr::V4(b), IpAddr::V4(a)) => {
                masked(u128::from(u32::from(b)), 32, self.prefix) == masked(u128::from(u32::from(a)), 32, self.prefix)
            }
            (IpAddr::V6(b), IpAddr::V6(a)) => {
                masked(u128::from(b), 128, self.prefix) == masked(u128::from(a), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(value: u128, bits: u32, prefix: u8) -> u128 {
    let drop = bits - u32::from(prefix);
    if drop >= 128 { 0 } else { value >> drop }
}

/// The client's IP: the peer address, or the first entry of `header` when it is set and present.
///
/// # Errors
/// `APIG.0401` when the header is present but its first entry is not an IP address.
pub fn client_ip(ctx: &RequestContext, header: Option<&str>) -> Result<IpAddr, GatewayError> {
    let Some(name) = header else { return Ok(ctx.remote.ip()) };
    let Some(value) = ctx.headers.get(name) else { return Ok(ctx.remote.ip()) };
    let first = value.to_str().ok().and_then(|v| v.split(',').next()).map(str::trim).unwrap_or("");
    first.parse().map_err(|_| unknown_client_ip())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AccessConfig {
    ip_allow: Vec<String>,
    ip_deny: Vec<String>,
    app_allow: Vec<String>,
    app_deny: Vec<String>,
    client_ip_header: Option<String>,
}

/// The access control policy.
#[derive(Debug)]
pub struct AccessControl {
    ip_allow: Vec<IpRange>,
    ip_deny: Vec<IpRange>,
    app_allow: Vec<String>,
    app_deny: Vec<String>,
    client_ip_header: Option<String>,
}

impl AccessControl {
    /// Reads the settings.
    ///
    /// # Errors
    /// Unknown fields, bad addresses or ranges, no list at all.
    pub fn from_config(config: &serde_json::Value) -> Result<Self, String> {
        let c: AccessConfig = serde_json::from_value(config.clone()).map_err(|e| format!("access_control: {e}"))?;
        let ranges = |list: &[String]| {
            list.iter()
                .map(|s| IpRange::parse(s).map_err(|e| format!("access_control: {e}")))
                .collect::<Result<Vec<_>, _>>()
        };
        if c.ip_allow.is_empty() && c.ip_deny.is_empty() && c.app_allow.is_empty() && c.app_deny.is_empty() {
            return Err("access_control: give at least one of ip_allow, ip_deny, app_allow, app_deny".to_owned());
        }
        Ok(Self {
            ip_allow: ranges(&c.ip_allow)?,
            ip_deny: ranges(&c.ip_deny)?,
            app_allow: c.app_allow,
            app_deny: c.app_deny,
            client_ip_header: c.client_ip_header.map(|h| h.to_ascii_lowercase()),
        })
    }

    fn check_ip(&self, ctx: &RequestContext) -> Result<(), GatewayError> {
        if self.ip_allow.is_empty() && self.ip_deny.is_empty() {
            return Ok(());
        }
        let ip = client_ip(ctx, self.client_ip_header.as_deref())?;
        if self.ip_deny.iter().any(|r| r.contains(ip)) {
            return Err(ip_denied());
        }
        if !self.ip_allow.is_empty() && !self.ip_allow.iter().any(|r| r.contains(ip)) {
            return Err(ip_denied());
        }
        Ok(())
    }

    fn check_app(&self, ctx: &RequestContext) -> Result<(), GatewayError> {
        if self.app_allow.is_empty() && self.app_deny.is_empty() {
            return Ok(());
        }
        let key = ctx.caller.as_ref().map(|c| c.app_key.as_str());
        if key.is_some_and(|k| self.app_deny.iter().any(|d| d == k)) {
            return Err(app_denied());
        }
        if !self.app_allow.is_empty() && !key.is_some_and(|k| self.app_allow.iter().any(|a| a == k)) {
            return Err(app_denied());
        }
        Ok(())
    }
}

fn decide(result: Result<(), GatewayError>) -> Stage<'static> {
    Stage::Done(match result {
        Ok(()) => Decision::Continue,
        Err(e) => Decision::Reject(e),
    })
}

impl Policy for AccessControl {
    fn kind(&self) -> &'static str {
        "access_control"
    }

    fn before_auth<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        if ctx.preflight {
            return decide(Ok(()));
        }
        decide(self.check_ip(ctx))
    }

    /// The app ACL refuses the app a request claims before its body is read; it holds again
    /// for the verified caller after authentication.
    fn before_body<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        decide(self.check_app(ctx))
    }

    fn after_auth<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        decide(self.check_app(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = IpRange::parse("10.1.0.0/16").unwrap();
        assert!(r.contains("10.1.200.3".parse().unwrap()));
        assert!(!r.contains("10.2.0.1".parse().unwrap()));
        assert!(r.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(IpRange::parse("127.0.0.1").unwrap().contains("127.0.0.1".parse().unwrap()));
        assert!(!IpRange::parse("127.0.0.1").unwrap().contains("127.0.0.2".parse().unwrap()));
        let v6 = IpRange::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "1.2.3.4/x", "::/129"] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_empty_and_bad_configs() {
        assert!(AccessControl::from_config(&serde_json::json!({})).is_err());
        assert!(AccessControl::from_config(&serde_json::json!({"ip_allow": ["x"]})).is_err());
        assert!(AccessControl::from_config(&serde_json::json!({"ip_alow": []})).is_err());
    }
}
