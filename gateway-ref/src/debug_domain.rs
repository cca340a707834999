//! Debug domains: APIG gives each API group a debug domain whose calls count against a daily
//! quota (1000). A group names its own (`debug_domain`, with `debug_quota` calls a day, default
//! [`DEFAULT_DEBUG_QUOTA`]); the group answers on it as on its domains, and each call on it is
//! counted per UTC day; past the quota a call gets APIG's throttling error, `APIG.0308` 429.
//!
//! ```json
//! {"id": "shop", "domains": ["api.shop.example"], "debug_domain": "shop.debug.example", "debug_quota": 500, "apis": []}
//! ```
//! The counts live in [`crate::shared::Shared`]: a reload or an admin change keeps them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::StatusCode;

use crate::config::{DEFAULT_DEBUG_QUOTA, Group};
use crate::error::GatewayError;

const DAY_SECS: u64 = 24 * 60 * 60;

/// Checks a group's `debug_domain` and `debug_quota`: the domain (lower-cased) and its quota, or
/// the field at fault and why. `domains` are the group's own (lower case), `taken` the debug
/// domains of the groups before it.
///
/// # Errors
/// A quota without a domain or of 0, a domain that is not a host name (`[host][:port]`: letters,
/// digits, `-`, `.`), that is also one of the group's domains, or another group's debug domain.
pub fn compile(group: &Group, domains: &[String], taken: &[String]) -> Result<Option<(String, u64)>, (String, String)> {
    let fail = |field: &str, why: String| Err((field.to_owned(), why));
    let Some(domain) = &group.debug_domain else {
        return match group.debug_quota {
            Some(_) => fail("debug_quota", "a debug_quota needs a debug_domain".into()),
            None => Ok(None),
        };
    };
    let quota = group.debug_quota.unwrap_or(DEFAULT_DEBUG_QUOTA);
    if quota == 0 {
        return fail("debug_quota", "must be > 0 (leave debug_domain out for no debug domain)".into());
    }
    let lower = domain.to_ascii_lowercase();
    let (host, port) = lower.rsplit_once(':').map_or((lower.as_str(), None), |(h, p)| (h, Some(p)));
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !host_ok || !port_ok {
        return fail(
            "debug_domain",
            format!("{domain:?} is not a host name ([host][:port]: letters, digits, '-', '.')"),
        );
    }
    if domains.contains(&lower) {
        return fail("debug_domain", format!("{domain:?} is also one of the group's domains"));
    }
    if taken.contains(&lower) {
        return fail("debug_domain", format!("{domain:?} is already another group's debug domain"));
    }
    Ok(Some((lower, quota)))
}

/// The calls counted today on each group's debug domain.
#[derive(Debug, Default)]
pub struct DebugCalls {
    /// group id → (UTC day since the epoch, calls that day)
    counts: Mutex<HashMap<String, (u64, u64)>>,
}

impl DebugCalls {
    /// Counts a call on group `group`'s debug domain at `now`.
    ///
    /// # Errors
    /// `APIG.0308` 429 when the group already had `quota` calls this UTC day (the refused call is
    /// not counted).
    pub fn admit(&self, group: &str, now: SystemTime, quota: u64) -> Result<(), GatewayError> {
        let day = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / DAY_SECS);
        // a poisoned lock only means another request panicked while counting: the counts stay usable
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = counts.entry(group.to_owned()).or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if entry.1 >= quota {
            return Err(over_quota(quota));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// `APIG.0308` 429 with APIG's throttling text, as the throttle policy words it.
pub fn over_quota(quota: u64) -> GatewayError {
    GatewayError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "0308",
        format!(
            "The throttling threshold has been reached: policy debug domain over ratelimit, limit:{quota}, time:1 day"
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    fn group(json: &str) -> Group {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_day_allows_the_quota_then_refuses_and_the_next_day_starts_again() {
        let calls = DebugCalls::default();
        let day = UNIX_EPOCH + Duration::from_secs(20_000 * DAY_SECS + 3600);
        for _ in 0..3 {
            calls.admit("g", day, 3).unwrap();
        }
        let refused = calls.admit("g", day, 3).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.full_code("APIG"), "APIG.0308");
        // another group has its own count; the next UTC day starts from 0
        calls.admit("other", day, 3).unwrap();
        let next = day + Duration::from_secs(DAY_SECS);
        calls.admit("g", next, 3).unwrap();
    }

    #[test]
    fn bad_debug_domains_and_quotas_are_refused_with_their_field() {
        let ok = compile(&group(r#"{"id":"g","debug_domain":"Debug.Example:8080"}"#), &[], &[]).unwrap();
        assert_eq!(ok, Some(("debug.example:8080".to_owned(), DEFAULT_DEBUG_QUOTA)));
        assert_eq!(compile(&group(r#"{"id":"g"}"#), &[], &[]).unwrap(), None);
        let err = |json: &str, domains: &[&str], taken: &[&str]| {
            let domains: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
            let taken: Vec<String> = taken.iter().map(|d| (*d).to_owned()).collect();
            compile(&group(json), &domains, &taken).unwrap_err()
        };
        assert_eq!(err(r#"{"id":"g","debug_quota":5}"#, &[], &[]).0, "debug_quota");
        assert_eq!(err(r#"{"id":"g","debug_domain":"d.example","debug_quota":0}"#, &[], &[]).0, "debug_quota");
        for bad in ["", "http://d.example", "d.example/x", "d example", ".d", "d.example:0", "d.example:99999"] {
            let (field, why) = err(&format!(r#"{{"id":"g","debug_domain":{bad:?}}}"#), &[], &[]);
            assert_eq!(field, "debug_domain", "{bad}: {why}");
        }
        assert!(err(r#"{"id":"g","debug_domain":"a.example"}"#, &["a.example"], &[]).1.contains("group's domains"));
        assert!(err(r#"{"id":"g","debug_domain":"a.example"}"#, &[], &["a.example"]).1.contains("another group"));
    }
}
