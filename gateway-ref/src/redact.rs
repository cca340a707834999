//! Credentials kept out of error messages: the config's secret fields are read by deserializers
//! whose errors never show the value, and a policy's error has every credential of its config
//! replaced by `***` (as the admin listings show them).
//!
//! Serde's own messages quote the offending value (`invalid type: string "…", expected a
//! sequence`), and so may a policy type's (`bad redis URL "redis://u:pw@h"`); these messages reach
//! `apig-gateway check`, the watcher's refusal line and the admin API's answers.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Fewest characters of an AppSecret (APIG's rule).
pub const MIN_SECRET_CHARS: usize = 8;
/// Most characters of an AppSecret (APIG's rule).
pub const MAX_SECRET_CHARS: usize = 64;

/// The reason a `secret` value is refused, without the value.
fn secret_error(value: &Value) -> Option<&'static str> {
    match value {
        Value::String(s) if (MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&s.chars().count()) => None,
        Value::String(_) => Some("`secret` must be 8 to 64 characters, as APIG requires (the value is not shown)"),
        _ => Some("`secret` must be a string (the value is not shown)"),
    }
}

/// An AppSecret: a string of 8 to 64 characters. An error never shows the value.
///
/// # Errors
/// Another type, or another length.
pub fn app_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    // any value is read (its error would quote it), then checked here
    let value = Value::deserialize(deserializer)?;
    match (secret_error(&value), value) {
        (None, Value::String(s)) => Ok(s),
        (why, _) => Err(serde::de::Error::custom(why.unwrap_or("`secret` must be a string"))),
    }
}

/// An optional AppSecret (admin request bodies), as [`app_secret`].
///
/// # Errors
/// As [`app_secret`].
pub fn optional_app_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    app_secret(deserializer).map(Some)
}

/// AppCodes: a list of strings. An error never shows a value.
///
/// # Errors
/// Anything but a list of strings.
pub fn app_codes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let why = "`app_codes` must be a list of strings (the values are not shown)";
    match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(serde::de::Error::custom(why)),
            })
            .collect(),
        _ => Err(serde::de::Error::custom(why)),
    }
}

/// The credentials in a policy config: the values of `secret`, `password` and `token` fields
/// (whatever their type) and the passwords of `scheme://user:password@host` URLs.
fn credentials(config: &Value, out: &mut Vec<String>) {
    match config {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("secret" | "password" | "token", Value::String(s)) => out.push(s.clone()),
                    ("secret" | "password" | "token", Value::Number(_) | Value::Bool(_)) => out.push(v.to_string()),
                    _ => credentials(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| credentials(v, out)),
        Value::String(s) => out.extend(url_password(s).map(str::to_owned)),
        _ => {}
    }
}

/// The password of a `scheme://user:password@host…` URL.
pub fn url_password(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// `message` with every occurrence of `secret` replaced by `***`: quoted as a message shows it
/// (`"…"` with escapes, `` `…` ``), as a URL's `:…@`, and as it is.
pub fn hide(message: &str, secret: &str) -> String {
    if secret.is_empty() {
        return message.to_owned();
    }
    let escaped = format!("{secret:?}");
    let mut out = message.replace(&escaped, "\"***\"").replace(&format!("`{secret}`"), "`***`");
    out = out.replace(&format!(":{secret}@"), ":***@");
    // inside a quoted text (a URL shown with `{:?}`), the secret appears escaped
    let inner = &escaped[1..escaped.len() - 1];
    if inner != secret {
        out = out.replace(inner, "***");
    }
    // as it is, unless so short that hiding it would garble the message (`e` in every word)
    if secret.chars().count() >= 4 { out.replace(secret, "***") } else { out }
}

/// A policy type's error for `config`, every credential of the config replaced by `***`.
pub fn policy_error(message: &str, config: &Value) -> String {
    let mut secrets = Vec::new();
    credentials(config, &mut secrets);
    // longest first: a secret that contains another is hidden whole
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.iter().fold(message.to_owned(), |m, s| hide(&m, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct App {
        #[serde(deserialize_with = "app_secret")]
        secret: String,
        #[serde(default, deserialize_with = "app_codes")]
        app_codes: Vec<String>,
    }

    #[test]
    fn secret_fields_never_show_the_value() {
        let bad = [
            r#"{"secret": 98765432123}"#,
            r#"{"secret": "SECRET"}"#,
            r#"{"secret": ["SECRET-0123"]}"#,
            r#"{"secret": "SECRET-0123", "app_codes": "SECRET-CODE"}"#,
            r#"{"secret": "SECRET-0123", "app_codes": [7777777]}"#,
            r#"{"secret": "SECRET-0123", "app_codes": ["ok", {"SECRET-CODE": 1}]}"#,
        ];
        for json in bad {
            let e = serde_json::from_str::<App>(json).unwrap_err().to_string();
            for secret in ["98765432123", "SECRET", "7777777"] {
                assert!(!e.contains(secret), "{json}: {e}");
            }
        }
        for toml_text in
            ["secret = 98765432123", "secret = \"SECRET\"", "secret = \"SECRET-0123\"\napp_codes = \"SECRET\""]
        {
            let e = toml::from_str::<App>(toml_text).unwrap_err();
            assert!(!e.message().contains("SECRET") && !e.message().contains("98765432123"), "{toml_text}: {e}");
        }
        let ok: App = serde_json::from_str(r#"{"secret": "12345678", "app_codes": ["c"]}"#).unwrap();
        assert_eq!((ok.secret.as_str(), ok.app_codes), ("12345678", vec!["c".to_owned()]));
        let e = serde_json::from_str::<App>(&format!(r#"{{"secret": "{}"}}"#, "s".repeat(65))).unwrap_err();
        assert!(e.to_string().contains("8 to 64 characters"), "{e}");
    }

    #[test]
    fn policy_errors_hide_credentials() {
        let config =
            json!({"secret": 4242424242_u64, "store": {"url": "rediss+x://u:PASS@h/0"}, "password": "p\"w-long"});
        let message = "invalid type: integer `4242424242`; bad redis URL \"rediss+x://u:PASS@h/0\"; \"p\\\"w-long\"";
        let shown = policy_error(message, &config);
        assert_eq!(shown, "invalid type: integer `***`; bad redis URL \"rediss+x://u:***@h/0\"; \"***\"");
        assert_eq!(url_password("redis://:pw@h:6379"), Some("pw"));
        assert_eq!(url_password("http://h/a:b@c"), None);
        assert_eq!(url_password("http://user@h"), None);
        // a short secret is hidden where it is quoted, not in every word
        assert_eq!(policy_error("secret `ab`: bad", &json!({"secret": "ab"})), "secret `***`: bad");
    }
}
