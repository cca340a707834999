//! The clock: wasm32 has no system clock, so the time comes from JavaScript (`Date.now()`), plus
//! the parsing of a gateway's "signature expired" answer into the skew to correct.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::Clock;
use wasm_bindgen::prelude::*;

/// The page's (or Node's) clock: `Date.now()`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> SystemTime {
        system_time_from_millis(js_sys::Date::now()).unwrap_or(UNIX_EPOCH)
    }
}

/// Milliseconds since the Unix epoch (a JS time value) as a `SystemTime`; `None` for NaN, infinities
/// and times before 1970.
pub(crate) fn system_time_from_millis(millis: f64) -> Option<SystemTime> {
    if !millis.is_finite() || millis < 0.0 {
        return None;
    }
    // finite and non-negative: the cast saturates at u64::MAX, which checked_add then refuses
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let millis = millis as u64;
    UNIX_EPOCH.checked_add(Duration::from_millis(millis))
}

/// From the message of an APIG "signature expired" rejection, the seconds to add to the local
/// clock to match the server's (the core's `clock_skew_from_apig_message`). `undefined` when the
/// message is not such a rejection.
#[wasm_bindgen(js_name = clockSkewFromExpired)]
pub fn clock_skew_from_expired(message: &str) -> Option<f64> {
    // seconds between two years-1..9999 dates: exact in an f64
    #[allow(clippy::cast_precision_loss)]
    apig::clock_skew_from_apig_message(message).map(|seconds| seconds as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_from_apig_and_core_messages() {
        let apig = r#"{"error_msg":"Incorrect app authentication information: signature expired, signature time:20191115T033655Z, server time:20191115T035255Z","error_code":"APIG.0303"}"#;
        assert_eq!(clock_skew_from_expired(apig), Some(960.0));
        let core = "signature expired, signature time:20240403T103100Z, server time:20240403T101500Z";
        assert_eq!(clock_skew_from_expired(core), Some(-960.0));
        assert_eq!(clock_skew_from_expired("verify signature fail"), None);
        assert_eq!(clock_skew_from_expired("signature expired, signature time:garbage"), None);
        assert_eq!(clock_skew_from_expired("signature expired, signature time:2024"), None);
    }

    #[test]
    fn js_times() {
        assert_eq!(system_time_from_millis(1500.0), Some(UNIX_EPOCH + Duration::from_millis(1500)));
        assert_eq!(system_time_from_millis(f64::NAN), None);
        assert_eq!(system_time_from_millis(-1.0), None);
        assert_eq!(system_time_from_millis(f64::INFINITY), None);
    }
}
