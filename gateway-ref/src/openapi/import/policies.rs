//! The document's throttling and access-control definitions as policies.

use serde_json::{Map, Value, json};

use super::{Converted, number, text};
use crate::config::PolicyDef;

/// A `x-apigateway-ratelimits` entry as a `throttle` policy.
pub(super) fn throttle(name: &str, v: &Value) -> Converted {
    let limit = |k: &str| v.get(k).map(|l| number(l).ok_or_else(|| format!("{k} must be a whole number")));
    let get = |k: &str| limit(k).transpose();
    let build = || -> Result<PolicyDef, String> {
        let api = get("api-limit")?.ok_or("api-limit is required")?;
        let user = get("user-limit")?;
        let app = get("app-limit")?;
        let ip = get("ip-limit")?;
        let interval = get("interval")?.filter(|i| *i > 0).ok_or("interval is required (> 0)")?;
        let unit = v.get("unit").and_then(Value::as_str).map(str::to_ascii_lowercase).ok_or("unit is required")?;
        if !matches!(unit.as_str(), "second" | "minute" | "hour" | "day") {
            return Err(format!("unit {unit:?} must be SECOND, MINUTE, HOUR or DAY"));
        }
        if user.is_some_and(|u| u > api)
            || app.is_some_and(|a| a > api || user.is_some_and(|u| a > u))
            || ip.is_some_and(|i| i > api)
        {
            return Err("limits out of order: app-limit <= user-limit <= api-limit, ip-limit <= api-limit".into());
        }
        let shared = v.get("shared").and_then(Value::as_bool).unwrap_or(false);
        let mut config = Map::new();
        config.insert("api_limit".into(), json!(api));
        for (k, l) in [("user_limit", user), ("app_limit", app), ("ip_limit", ip)] {
            if let Some(l) = l {
                config.insert(k.into(), json!(l));
            }
        }
        config.insert("interval".into(), json!(interval));
        config.insert("unit".into(), json!(unit));
        config.insert("scope".into(), json!(if shared { "shared" } else { "per_api" }));
        let (mut apps, mut users) = (Vec::new(), Vec::new());
        for s in v.get("special").and_then(Value::as_array).into_iter().flatten() {
            let instance = s.get("instance").and_then(text).ok_or("a special entry needs its instance")?;
            let limit = s.get("limit").and_then(number).ok_or("a special entry needs its limit")?;
            match s.get("type").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
                Some("APP") => apps.push(json!({"app": instance, "limit": limit})),
                Some("USER") => users.push(json!({"user": instance, "limit": limit})),
                _ => return Err("a special entry's type must be APP or USER".into()),
            }
        }
        if !apps.is_empty() {
            config.insert("special_apps".into(), Value::Array(apps));
        }
        if !users.is_empty() {
            config.insert("special_users".into(), Value::Array(users));
        }
        Ok(PolicyDef { name: name.to_owned(), kind: "throttle".into(), config: Value::Object(config) })
    };
    match build() {
        Ok(def) => match crate::policy::build(&def) {
            Ok(_) => Converted::Ok(def),
            Err(why) => Converted::Invalid(why),
        },
        Err(why) => Converted::Invalid(why),
    }
}

/// A `x-apigateway-access-controls` entry as an `access_control` policy.
pub(super) fn access_control(name: &str, v: &Value) -> Converted {
    let entity = v.get("entity-type").and_then(Value::as_str).unwrap_or("IP").to_ascii_uppercase();
    if entity != "IP" {
        return Converted::Unsupported(format!(
            "entity-type {entity}: the gateway controls access by IP address or app"
        ));
    }
    let list = match v.get("acl-type").and_then(Value::as_str).map(str::to_ascii_uppercase).as_deref() {
        Some("PERMIT") => "ip_allow",
        Some("DENY") => "ip_deny",
        _ => return Converted::Invalid("acl-type must be PERMIT or DENY".into()),
    };
    let values: Vec<String> = v
        .get("value")
        .and_then(text)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if values.is_empty() {
        return Converted::Invalid("value must list IP addresses or CIDR ranges".into());
    }
    let def = PolicyDef { name: name.to_owned(), kind: "access_control".into(), config: json!({ list: values }) };
    match crate::policy::build(&def) {
        Ok(_) => Converted::Ok(def),
        Err(why) => Converted::Invalid(why),
    }
}
