//! HTTP response header management: rules applied, in order, to every response of the API
//! (backend answers and the gateway's own errors alike).
//!
//! ```json
//! {"name": "headers", "type": "response_headers", "config": {"rules": [
//!   {"action": "override", "name": "Server", "value": "apig"},
//!   {"action": "append", "name": "Cache-Control", "value": "no-transform"},
//!   {"action": "delete", "name": "X-Powered-By"},
//!   {"action": "skip", "name": "Content-Language", "value": "en"},
//!   {"action": "add", "name": "X-Frame-Options", "value": "DENY"}]}}
//! ```
//! Actions, as APIG's response header management:
//! * `override`: set the header to `value`, replacing every existing value;
//! * `append`: when the header exists, append `,value` to its (first) value, else add it;
//! * `delete`: remove every value of the header;
//! * `skip`: when the header exists leave it as is, else add it with `value`;
//! * `add`: add the value even if the header already has one (a second field line).
//!
//! The gateway's own headers (`X-Request-Id`, `X-Apig-*` debug headers) are set after the rules
//! and cannot be changed; rules on `Content-Length`, `Transfer-Encoding`, `Connection` and the
//! other hop-by-hop headers are refused.

use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::{BackendOutcome, Policy, RequestContext};
use crate::access_log::AccessRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    Add,
    Override,
    Append,
    Delete,
    Skip,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleConfig {
    action: Action,
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadersConfig {
    rules: Vec<RuleConfig>,
}

#[derive(Debug, Clone)]
struct Rule {
    action: Action,
    name: HeaderName,
    value: Option<HeaderValue>,
}

const PROTECTED: [&str; 12] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "trailer",
    "te",
    "proxy-connection",
    "proxy-authenticate",
    "x-request-id",
    "x-apig-latency",
    "x-apig-upstream-latency",
];

/// The response header policy.
#[derive(Debug)]
pub struct ResponseHeaders {
    rules: Vec<Rule>,
}

impl ResponseHeaders {
    /// Reads the settings.
    ///
    /// # Errors
    /// Unknown fields or actions, bad header names or values, a value missing (or given to
    /// `delete`), a protected header.
    pub fn from_config(config: &serde_json::Value) -> Result<Self, String> {
        let c: HeadersConfig = serde_json::from_value(config.clone()).map_err(|e| format!("response_headers: {e}"))?;
        let mut rules = Vec::with_capacity(c.rules.len());
        for (i, r) in c.rules.into_iter().enumerate() {
            let at = format!("response_headers: rules[{i}]");
            let name = HeaderName::from_bytes(r.name.as_bytes()).map_err(|_| format!("{at}: bad header name"))?;
            if PROTECTED.contains(&name.as_str()) {
                return Err(format!("{at}: {} cannot be changed by a rule", r.name));
            }
            let value = match (r.action, r.value) {
                (Action::Delete, None) => None,
                (Action::Delete, Some(_)) => return Err(format!("{at}: delete takes no value")),
                (_, None) => return Err(format!("{at}: value is required")),
                (_, Some(v)) => Some(HeaderValue::from_str(&v).map_err(|_| format!("{at}: bad header value"))?),
            };
            rules.push(Rule { action: r.action, name, value });
        }
        Ok(Self { rules })
    }

    /// Applies the rules to `headers`.
    pub fn apply(&self, headers: &mut hyper::HeaderMap) {
        use hyper::header::Entry;
        for rule in &self.rules {
            let value = match (rule.action, &rule.value) {
                (Action::Delete, _) => {
                    headers.remove(&rule.name);
                    continue;
                }
                (_, None) => continue,
                (_, Some(v)) => v,
            };
            match rule.action {
                Action::Delete => {}
                Action::Override => {
                    headers.insert(rule.name.clone(), value.clone());
                }
                Action::Add => {
                    headers.append(rule.name.clone(), value.clone());
                }
                Action::Skip => {
                    headers.entry(rule.name.clone()).or_insert_with(|| value.clone());
                }
                Action::Append => match headers.entry(rule.name.clone()) {
                    Entry::Occupied(mut old) => {
                        let mut bytes = Vec::with_capacity(old.get().len() + 1 + value.len());
                        bytes.extend_from_slice(old.get().as_bytes());
                        bytes.push(b',');
                        bytes.extend_from_slice(value.as_bytes());
                        // both parts are valid values, so is the joined one; else keep the rule's
                        old.insert(HeaderValue::from_bytes(&bytes).unwrap_or_else(|_| value.clone()));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(value.clone());
                    }
                },
            }
        }
    }
}

impl Policy for ResponseHeaders {
    fn kind(&self) -> &'static str {
        "response_headers"
    }

    fn on_response(
        &self,
        _ctx: &RequestContext,
        _outcome: BackendOutcome,
        response: &mut hyper::http::response::Parts,
        _record: &mut AccessRecord<'_>,
    ) {
        self.apply(&mut response.headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action() {
        let p = ResponseHeaders::from_config(&serde_json::json!({"rules": [
            {"action": "override", "name": "Server", "value": "apig"},
            {"action": "append", "name": "Cache-Control", "value": "no-transform"},
            {"action": "append", "name": "X-New", "value": "n"},
            {"action": "delete", "name": "X-Powered-By"},
            {"action": "skip", "name": "Content-Language", "value": "en"},
            {"action": "skip", "name": "X-Absent", "value": "added"},
            {"action": "add", "name": "Vary", "value": "Origin"}
        ]}))
        .unwrap();
        let mut h = hyper::HeaderMap::new();
        h.insert("server", HeaderValue::from_static("backend"));
        h.append("server", HeaderValue::from_static("backend2"));
        h.insert("cache-control", HeaderValue::from_static("max-age=60"));
        h.insert("x-powered-by", HeaderValue::from_static("php"));
        h.insert("content-language", HeaderValue::from_static("de"));
        h.insert("vary", HeaderValue::from_static("Accept"));
        p.apply(&mut h);
        let all = |n: &str| h.get_all(n).iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(all("server"), ["apig"]);
        assert_eq!(all("cache-control"), ["max-age=60,no-transform"]);
        assert_eq!(all("x-new"), ["n"]);
        assert!(all("x-powered-by").is_empty());
        assert_eq!(all("content-language"), ["de"]);
        assert_eq!(all("x-absent"), ["added"]);
        assert_eq!(all("vary"), ["Accept", "Origin"]);
    }

    #[test]
    fn refuses_bad_rules() {
        for bad in [
            serde_json::json!({"rules": [{"action": "override", "name": "Content-Length", "value": "1"}]}),
            serde_json::json!({"rules": [{"action": "delete", "name": "X", "value": "1"}]}),
            serde_json::json!({"rules": [{"action": "add", "name": "X"}]}),
            serde_json::json!({"rules": [{"action": "rename", "name": "X", "value": "Y"}]}),
            serde_json::json!({"rules": [{"action": "add", "name": "bad name", "value": "Y"}]}),
        ] {
            assert!(ResponseHeaders::from_config(&bad).is_err(), "{bad}");
        }
    }
}
