//! Signing time: the `X-Sdk-Date` format and the injected clock.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::{OffsetDateTime, PrimitiveDateTime, format_description::FormatItem, macros::format_description};

use crate::error::{Error, ErrorKind};

const SDK_DATE_FORMAT: &[FormatItem<'static>] = format_description!("[year][month][day]T[hour][minute][second]Z");

/// A source of the current time. Signers and verifiers never read the system clock directly, so
/// tests and replays can pin it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// A signing time, as carried in the `X-Sdk-Date` header: `yyyyMMdd'T'HHmmss'Z'`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SdkDate {
    unix_seconds: i64,
}

impl SdkDate {
    /// The date of `time`, truncated to the second.
    pub fn from_system_time(time: SystemTime) -> Self {
        let unix_seconds = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                let d = before.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                // round towards the past: 0.5 s before the epoch is second -1
                if d.subsec_nanos() > 0 { -secs - 1 } else { -secs }
            }
        };
        Self { unix_seconds }
    }

    /// Parses an `X-Sdk-Date` value (exactly 16 characters, e.g. `20240403T101500Z`).
    ///
    /// # Errors
    /// [`ErrorKind::MalformedDate`] when the value is not of that form or not a real UTC time.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let malformed = || {
            Error::new(
                ErrorKind::MalformedDate,
                format!("X-Sdk-Date {value:?} is not of the form yyyyMMddTHHmmssZ (e.g. 20240403T101500Z)"),
            )
        };
        if value.len() != 16 || !value.is_ascii() {
            return Err(malformed());
        }
        let parsed = PrimitiveDateTime::parse(value, SDK_DATE_FORMAT).map_err(|_| malformed())?;
        Ok(Self { unix_seconds: parsed.assume_utc().unix_timestamp() })
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.unix_seconds
    }

    /// This date as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        match u64::try_from(self.unix_seconds) {
            Ok(after) => UNIX_EPOCH + Duration::from_secs(after),
            Err(_) => UNIX_EPOCH - Duration::from_secs(self.unix_seconds.unsigned_abs()),
        }
    }

    /// The absolute distance between this date and `now`.
    pub fn skew_from(self, now: SystemTime) -> Duration {
        let now = Self::from_system_time(now).unix_seconds;
        Duration::from_secs(now.abs_diff(self.unix_seconds))
    }

    /// The `yyyyMMdd` part (the V11 credential scope date).
    pub fn day_string(self) -> String {
        let mut s = self.to_string();
        s.truncate(8);
        s
    }
}

impl fmt::Display for SdkDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp(self.unix_seconds).ok().and_then(|t| t.format(SDK_DATE_FORMAT).ok()) {
            Some(text) => f.write_str(&text),
            // outside years 1..=9999: no 16-character form exists
            None => f.write_str("00000000T000000Z"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        let d = SdkDate::parse("20191115T033655Z").unwrap();
        assert_eq!(d.to_string(), "20191115T033655Z");
        assert_eq!(d.day_string(), "20191115");
        assert_eq!(d.unix_seconds(), 1_573_789_015);
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in [
            "",
            "20191115T033655",
            "20191115T033655z",
            "2019-11-15T03:36:55Z",
            "20191332T000000Z",
            "20191115T246060Z",
            "２0191115T03365Z",
            "20191115 033655Z",
        ] {
            assert_eq!(SdkDate::parse(bad).unwrap_err().kind(), ErrorKind::MalformedDate, "{bad}");
        }
    }

    #[test]
    fn system_time_round_trip() {
        let d = SdkDate::parse("19691231T235959Z").unwrap();
        assert_eq!(SdkDate::from_system_time(d.to_system_time()), d);
        let d = SdkDate::parse("20240403T101500Z").unwrap();
        assert_eq!(SdkDate::from_system_time(d.to_system_time()), d);
    }

    #[test]
    fn skew_is_symmetric() {
        let d = SdkDate::parse("20240403T101500Z").unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(d.unix_seconds() as u64);
        assert_eq!(d.skew_from(t + Duration::from_secs(90)), Duration::from_secs(90));
        assert_eq!(d.skew_from(t - Duration::from_secs(90)), Duration::from_secs(90));
    }
}
