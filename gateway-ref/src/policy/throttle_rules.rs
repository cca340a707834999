//! Throttling 2.0 rules: conditions on request parameters (header, query, path, client IP and
//! system values) that give matching requests their own limit, or exclude them from the policy.
//!
//! ```json
//! {"name": "gold-tier", "conditions": [{"param": "header:X-Tier", "op": "equals", "value": "gold"}],
//!  "limit": 1000, "interval": 1, "unit": "minute", "count_by": "header:X-Tenant"}
//! {"name": "internal", "exclude": true,
//!  "conditions": [{"param": "client_ip", "op": "cidr", "values": ["10.0.0.0/8"]}]}
//! ```
//! Parameters: `header:NAME`, `query:NAME` (the raw value as sent), `path` (the request path),
//! `client_ip`, and the system values `system:method`, `system:host`, `system:environment`,
//! `system:api` (API id), `system:app` (the caller's app key) and `system:app_id`.
//! Operators: `equals`, `not_equals`, `in` (one of `values`), `prefix`, `exists`, `cidr` (for
//! `client_ip`, any of `values`). All conditions of a rule must hold; the first matching rule of
//! the list applies.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;

use hyper::header::HeaderName;

use super::RequestContext;
use super::access_control::IpRange;

/// Where a parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// A request header (first value).
    Header(HeaderName),
    /// A query parameter (first occurrence, raw).
    Query(String),
    /// The request path (without the query).
    Path,
    /// The client IP (see the policy's `client_ip_header`).
    ClientIp,
    /// The request method.
    Method,
    /// The `Host` header.
    Host,
    /// The environment.
    Environment,
    /// The API id.
    Api,
    /// The caller's app key.
    App,
    /// The caller's app id.
    AppId,
}

impl Param {
    /// Parses `header:NAME`, `query:NAME`, `path`, `client_ip` or `system:NAME`.
    ///
    /// # Errors
    /// An unknown parameter.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text.split_once(':') {
            Some(("header", name)) if !name.is_empty() => {
                Self::Header(HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("bad header name {name:?}"))?)
            }
            Some(("query", name)) if !name.is_empty() => Self::Query(name.to_owned()),
            Some(("system", "method")) => Self::Method,
            Some(("system", "host")) => Self::Host,
            Some(("system", "environment")) => Self::Environment,
            Some(("system", "api")) => Self::Api,
            Some(("system", "app")) => Self::App,
            Some(("system", "app_id")) => Self::AppId,
            None if text == "path" => Self::Path,
            None if text == "client_ip" => Self::ClientIp,
            _ => {
                return Err(format!(
                    "unknown parameter {text:?} (header:NAME, query:NAME, path, client_ip, \
                     system:method|host|environment|api|app|app_id)"
                ));
            }
        })
    }

    /// The parameter's value for the request, if present.
    pub fn value<'a>(&self, ctx: &'a RequestContext, ip: IpAddr) -> Option<Cow<'a, str>> {
        let borrowed = match self {
            Self::Header(name) => ctx.headers.get(name).and_then(|v| v.to_str().ok()),
            Self::Query(name) => query_value(&ctx.target, name),
            Self::Path => Some(ctx.target.split('?').next().unwrap_or("")),
            Self::ClientIp => return Some(Cow::Owned(ip.to_string())),
            Self::Method => Some(ctx.method.as_str()),
            Self::Host => Some(ctx.host.as_str()),
            Self::Environment => Some(ctx.environment.as_str()),
            Self::Api => ctx.api.as_ref().map(|(a, _)| a.as_str()),
            Self::App => ctx.caller.as_ref().map(|c| c.app_key.as_str()),
            Self::AppId => ctx.caller.as_ref().map(|c| c.app_id.as_str()),
        };
        borrowed.map(Cow::Borrowed)
    }
}

fn query_value<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The value is `value`.
    Equals,
    /// The value is present and not `value`.
    NotEquals,
    /// The value is one of `values`.
    In,
    /// The value starts with `value`.
    Prefix,
    /// The parameter is present.
    Exists,
    /// The value is an IP address in one of the `values` ranges.
    Cidr,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionConfig {
    param: String,
    op: Op,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    param: Param,
    op: Op,
    values: Vec<String>,
    ranges: Vec<IpRange>,
}

impl Condition {
    fn holds(&self, ctx: &RequestContext, ip: IpAddr) -> bool {
        let value = self.param.value(ctx, ip);
        match (self.op, value) {
            (Op::Exists, v) => v.is_some(),
            (_, None) => false,
            (Op::Equals | Op::In, Some(v)) => self.values.iter().any(|x| *x == *v),
            (Op::NotEquals, Some(v)) => self.values.iter().all(|x| *x != *v),
            (Op::Prefix, Some(v)) => self.values.iter().any(|x| v.starts_with(x.as_str())),
            (Op::Cidr, Some(v)) => v.parse::<IpAddr>().is_ok_and(|ip| self.ranges.iter().any(|r| r.contains(ip))),
        }
    }
}

/// The window unit of a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Seconds (default).
    #[default]
    Second,
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
}

impl Unit {
    /// Seconds in one unit.
    pub fn seconds(self) -> u64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }

    /// The name APIG shows in messages (`second`, `minute`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }
}

/// The rule as written in the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    name: String,
    #[serde(default)]
    conditions: Vec<ConditionConfig>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    exclude: bool,
    #[serde(default)]
    interval: Option<u64>,
    #[serde(default)]
    unit: Option<Unit>,
    #[serde(default)]
    count_by: Option<String>,
}

/// What a matching rule does.
#[derive(Debug, Clone)]
pub enum RuleAction {
    /// Matching requests are not throttled by this policy.
    Exclude,
    /// Matching requests are also counted against this limit.
    Limit {
        /// Requests allowed per window.
        limit: u64,
        /// Window length in `unit`s.
        interval: u64,
        /// Window unit.
        unit: Unit,
        /// Separate counters per value of this parameter (one counter when `None`).
        count_by: Option<Param>,
    },
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name (letters, digits, `-`, `_`), shown in messages and debug headers.
    pub name: String,
    conditions: Vec<Condition>,
    /// What it does.
    pub action: RuleAction,
}

impl Rule {
    /// Compiles a rule; `interval` and `unit` default to the policy's.
    ///
    /// # Errors
    /// A bad name, parameter, operator use, range, or a rule with neither `limit` nor `exclude`.
    pub fn compile(c: RuleConfig, interval: u64, unit: Unit) -> Result<Self, String> {
        if c.name.is_empty() || !c.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(format!("rule name {:?} must be letters, digits, '-' or '_'", c.name));
        }
        let mut conditions = Vec::new();
        for cond in c.conditions {
            let param = Param::parse(&cond.param)?;
            let mut values = cond.values;
            values.extend(cond.value);
            if values.is_empty() && cond.op != Op::Exists {
                return Err(format!("rule {:?}: condition on {:?} needs value or values", c.name, cond.param));
            }
            let ranges = if cond.op == Op::Cidr {
                values.iter().map(|v| IpRange::parse(v)).collect::<Result<Vec<_>, _>>()?
            } else {
                Vec::new()
            };
            conditions.push(Condition { param, op: cond.op, values, ranges });
        }
        let action = match (c.exclude, c.limit) {
            (true, None) => RuleAction::Exclude,
            (false, Some(limit)) => RuleAction::Limit {
                limit,
                interval: c.interval.unwrap_or(interval).max(1),
                unit: c.unit.unwrap_or(unit),
                count_by: c.count_by.as_deref().map(Param::parse).transpose()?,
            },
            _ => return Err(format!("rule {:?}: give either \"limit\" or \"exclude\": true", c.name)),
        };
        Ok(Self { name: c.name, conditions, action })
    }

    /// Whether every condition holds for the request.
    pub fn matches(&self, ctx: &RequestContext, ip: IpAddr) -> bool {
        self.conditions.iter().all(|c| c.holds(ctx, ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse() {
        assert_eq!(Param::parse("header:X-Tier").unwrap(), Param::Header(HeaderName::from_static("x-tier")));
        assert_eq!(Param::parse("system:app").unwrap(), Param::App);
        assert_eq!(Param::parse("path").unwrap(), Param::Path);
        for bad in ["header:", "system:nope", "cookie:x", "paths"] {
            assert!(Param::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_values() {
        assert_eq!(query_value("/a?x=1&tier=gold&tier=x", "tier"), Some("gold"));
        assert_eq!(query_value("/a?flag&x=1", "flag"), Some(""));
        assert_eq!(query_value("/a", "x"), None);
    }

    #[test]
    fn rules_need_an_action() {
        let rule = |json: serde_json::Value| {
            Rule::compile(serde_json::from_value(json).unwrap(), 1, Unit::Second).map(|r| r.action)
        };
        assert!(rule(serde_json::json!({"name": "a"})).is_err());
        assert!(rule(serde_json::json!({"name": "a", "limit": 1, "exclude": true})).is_err());
        assert!(rule(serde_json::json!({"name": "a b", "limit": 1})).is_err());
        assert!(matches!(rule(serde_json::json!({"name": "a", "exclude": true})), Ok(RuleAction::Exclude)));
        assert!(
            rule(serde_json::json!({"name": "a", "limit": 1, "conditions": [{"param": "path", "op": "prefix"}]}))
                .is_err()
        );
    }
}
