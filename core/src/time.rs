//! Signing time: the `X-Sdk-Date` format and the injected clock.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind};

/// A source of the current time. Signers and verifiers never read the system clock directly, so
/// tests and replays can pin it.
///
/// On `wasm32-unknown-unknown` the standard library has no clock ([`SystemClock`] panics there):
/// browser and edge front ends inject one that reads `Date.now()`.
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
    /// The earliest time an `X-Sdk-Date` can carry: `00010101T000000Z`.
    pub const MIN: Self = Self { unix_seconds: -62_135_596_800 };
    /// The latest time an `X-Sdk-Date` can carry: `99991231T235959Z`.
    pub const MAX: Self = Self { unix_seconds: 253_402_300_799 };

    /// The date of `time`, truncated to the second, with no range check: outside
    /// [`SdkDate::MIN`]..=[`SdkDate::MAX`] it has no text form (see [`SdkDate::to_bytes`]); signing
    /// uses [`SdkDate::try_from_system_time`].
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

    /// The date of `time`, truncated to the second, when an `X-Sdk-Date` can carry it: from
    /// `00010101T000000Z` to `99991231T235959Z` ([`SdkDate::MIN`]..=[`SdkDate::MAX`]).
    ///
    /// # Errors
    /// [`ErrorKind::MalformedDate`] outside that range.
    pub fn try_from_system_time(time: SystemTime) -> Result<Self, Error> {
        let date = Self::from_system_time(time);
        if (Self::MIN..=Self::MAX).contains(&date) {
            Ok(date)
        } else {
            Err(out_of_range(&format!("{} s since 1970", date.unix_seconds)))
        }
    }

    /// Parses an `X-Sdk-Date` value (exactly 16 characters, e.g. `20240403T101500Z`).
    ///
    /// # Errors
    /// [`ErrorKind::MalformedDate`] when the value is not of that form or not a real UTC time.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let malformed = || {
            Error::new(
                ErrorKind::MalformedDate,
                format!(
                    "X-Sdk-Date {} is not of the form yyyyMMddTHHmmssZ (e.g. 20240403T101500Z)",
                    crate::error::quoted(value)
                ),
            )
        };
        let Some(b) = value.as_bytes().first_chunk::<16>().filter(|_| value.len() == 16) else {
            return Err(malformed());
        };
        // the shape in two words: `yyyyMMdd` all digits, `THHmmssZ` digits between `T` and `Z`
        let date = u64::from_le_bytes(*b.first_chunk::<8>().unwrap_or(&[0; 8]));
        let time = u64::from_le_bytes(*b.last_chunk::<8>().unwrap_or(&[0; 8]));
        let time_digits = (time & !0xff & !(0xff << 56)) | u64::from(b'0') | (u64::from(b'0') << 56);
        let shape_ok = b[8] == b'T' && b[15] == b'Z' && all_digits(date) && all_digits(time_digits);
        if !shape_ok {
            return Err(malformed());
        }
        let digit = |i: usize| i64::from(b[i] - b'0');
        let two = |i: usize| digit(i) * 10 + digit(i + 1);
        let (year, month, day) = (two(0) * 100 + two(2), two(4), two(6));
        let (hour, minute, second) = (two(9), two(11), two(13));
        let valid = year >= 1
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        if !valid {
            return Err(malformed());
        }
        let unix_seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
        Ok(Self { unix_seconds })
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
        self.to_text().as_str()[..8].to_owned()
    }

    /// The 16 ASCII bytes of the `X-Sdk-Date` form, as [`Display`](fmt::Display) writes them
    /// (`20240403T101500Z`), without a formatter or an allocation. Outside the years 1 to 9999,
    /// where no 16-character form exists, `00000000T000000Z`.
    pub fn to_bytes(self) -> [u8; 16] {
        let days = self.unix_seconds.div_euclid(86_400);
        // 0..86_400 (`rem_euclid` of a positive divisor): fits in u32
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let seconds = self.unix_seconds.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let mut text = *b"00000000T000000Z";
        if !(1..=9999).contains(&year) {
            return text;
        }
        // in range (year 1..=9999, month 1..=12, day 1..=31): the casts are exact
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (year, month, day) = (year as u32, month as u32, day as u32);
        // two digits at a time, by constant divisions (multiplications): this runs on every
        // signature whose time comes from the clock
        let mut put = |at: usize, value: u32| {
            // every call below passes 0..=99, so both digits are below 10
            #[allow(clippy::cast_possible_truncation)]
            let tens = (value / 10) as u8;
            text[at] = b'0' + tens;
            text[at + 1] = b'0' + (value % 10) as u8;
        };
        put(0, year / 100);
        put(2, year % 100);
        put(4, month);
        put(6, day);
        put(9, seconds / 3_600);
        put(11, seconds / 60 % 60);
        put(13, seconds % 60);
        text
    }

    /// [`SdkDate::to_bytes`] as text.
    pub(crate) fn to_text(self) -> DateText {
        DateText(self.to_bytes())
    }
}

impl fmt::Display for SdkDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_text().as_str())
    }
}

/// A time given as seconds since the Unix epoch, as languages hold it (Python's `time.time()`,
/// JavaScript's `Date.now() / 1000`), as a [`SystemTime`]: the one conversion every binding uses
/// for a time passed as a number, so that each refuses the same times with the same error.
///
/// # Errors
/// [`ErrorKind::MalformedDate`] when `seconds` is not a number (NaN, an infinity) or lies outside
/// the times an `X-Sdk-Date` can carry, `00010101T000000Z` to `99991231T235959Z`
/// ([`SdkDate::MIN`]..=[`SdkDate::MAX`], fractions of the last second included), or when this
/// platform's `SystemTime` cannot hold it (before 1970 on `wasm32-unknown-unknown`).
pub fn system_time_from_unix_seconds(seconds: f64) -> Result<SystemTime, Error> {
    // both bounds are exact in an f64 (|n| < 2^53)
    #[allow(clippy::cast_precision_loss)]
    let (min, end) = (SdkDate::MIN.unix_seconds as f64, (SdkDate::MAX.unix_seconds + 1) as f64);
    // written so that NaN fails too; the number is not printed (formatting an f64 is kilobytes of
    // WebAssembly)
    if !(seconds >= min && seconds < end) {
        return Err(out_of_range("given (not a number, or out of range)"));
    }
    // in range: whole seconds fit an i64 and the fraction is in [0, 1) (floor, not a cast: the
    // second before the epoch is -1)
    let whole = seconds.floor();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (whole_seconds, nanos) = (whole as i64, ((seconds - whole) * 1e9) as u32);
    let fraction = Duration::from_nanos(u64::from(nanos));
    let time = match u64::try_from(whole_seconds) {
        Ok(after) => UNIX_EPOCH.checked_add(Duration::from_secs(after)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(whole_seconds.unsigned_abs())),
    };
    time.and_then(|t| t.checked_add(fraction))
        .ok_or_else(|| Error::new(ErrorKind::MalformedDate, "the time given cannot be held on this platform"))
}

/// The error for a time outside the `X-Sdk-Date` range.
fn out_of_range(time: &str) -> Error {
    Error::new(
        ErrorKind::MalformedDate,
        format!("the time {time} has no X-Sdk-Date form: an X-Sdk-Date carries 00010101T000000Z to 99991231T235959Z"),
    )
}

/// The 16 ASCII characters of an [`SdkDate`], on the stack.
pub(crate) struct DateText([u8; 16]);

impl DateText {
    /// The characters as text.
    pub(crate) fn as_str(&self) -> &str {
        // only ASCII digits, `T` and `Z` are ever written
        std::str::from_utf8(&self.0).unwrap_or("00000000T000000Z")
    }
}

/// Whether each of the eight bytes of `word` is an ASCII digit: its high nibble is 3, and adding
/// 6 to it does not carry out of the low nibble (no carry crosses a byte: 0x39 + 6 < 0x100).
fn all_digits(word: u64) -> bool {
    const HIGH: u64 = u64::from_le_bytes([0xf0; 8]);
    const THREES: u64 = u64::from_le_bytes([0x30; 8]);
    const SIXES: u64 = u64::from_le_bytes([0x06; 8]);
    (word & HIGH) == THREES && (word.wrapping_add(SIXES) & HIGH) == THREES
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn calendar_edges() {
        for (text, unix) in [
            ("19700101T000000Z", 0),
            ("20000229T235959Z", 951_868_799),
            ("20240229T120000Z", 1_709_208_000),
            ("21000301T000000Z", 4_107_542_400),
            ("00010101T000000Z", -62_135_596_800),
            ("99991231T235959Z", 253_402_300_799),
        ] {
            let d = SdkDate::parse(text).unwrap();
            assert_eq!(d.unix_seconds(), unix, "{text}");
            assert_eq!(d.to_string(), text);
        }
        for bad in ["20230229T000000Z", "21000229T000000Z", "20240431T000000Z", "00000101T000000Z", "20241301T000000Z"]
        {
            assert!(SdkDate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_day_round_trips() {
        // 1900..2200 day by day: formatting then parsing gives the same instant
        for day in -25_567..84_000i64 {
            let d = SdkDate { unix_seconds: day * 86_400 + 3_723 };
            assert_eq!(SdkDate::parse(&d.to_string()).unwrap(), d);
        }
    }

    /// The formatting before `to_bytes` (reference for the tests).
    struct OldDisplay(SdkDate);

    impl fmt::Display for OldDisplay {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let days = self.0.unix_seconds.div_euclid(86_400);
            let seconds = self.0.unix_seconds.rem_euclid(86_400);
            let (year, month, day) = civil_from_days(days);
            if !(1..=9999).contains(&year) {
                // outside years 1..=9999 no 16-character form exists
                return f.write_str("00000000T000000Z");
            }
            // the digits are written directly: this runs on every sign, and `{:02}` padding is both
            // slower and kilobytes of WebAssembly
            let mut text = *b"00000000T000000Z";
            for (at, width, value) in [
                (0, 4, year),
                (4, 2, month),
                (6, 2, day),
                (9, 2, seconds / 3_600),
                (11, 2, seconds % 3_600 / 60),
                (13, 2, seconds % 60),
            ] {
                let mut value = value;
                for slot in text[at..at + width].iter_mut().rev() {
                    *slot = b'0' + u8::try_from(value % 10).unwrap();
                    value /= 10;
                }
            }
            f.write_str(std::str::from_utf8(&text).unwrap_or("00000000T000000Z"))
        }
    }

    #[test]
    fn to_bytes_writes_what_the_formatter_wrote() {
        let check = |unix_seconds: i64| {
            let d = SdkDate { unix_seconds };
            let old = OldDisplay(d).to_string();
            assert_eq!(std::str::from_utf8(&d.to_bytes()).unwrap(), old, "{unix_seconds}");
            assert_eq!(d.to_string(), old, "{unix_seconds}");
        };
        // every seventh hour of 1900..2200, every second of one day, the range edges, extremes
        for hour in (-613_608..2_016_000i64).step_by(7) {
            check(hour * 3_600 + hour % 3_600);
        }
        for second in 0..86_400 {
            check(1_712_139_300 - 43_200 + second);
        }
        for edge in [-62_135_596_801, -62_135_596_800, 253_402_300_799, 253_402_300_800, 0, -1, i64::MIN, i64::MAX] {
            check(edge);
        }
    }

    proptest::proptest! {
        #[test]
        fn to_bytes_writes_what_the_formatter_wrote_at_random_instants(unix_seconds in -70_000_000_000i64..300_000_000_000) {
            let d = SdkDate { unix_seconds };
            let bytes = d.to_bytes();
            proptest::prop_assert_eq!(std::str::from_utf8(&bytes).unwrap(), OldDisplay(d).to_string());
        }
    }

    /// The former parser (reference for the test below).
    fn parse_former(value: &str) -> Option<i64> {
        let b = value.as_bytes();
        let shape_ok =
            b.len() == 16 && b[8] == b'T' && b[15] == b'Z' && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
        if !shape_ok {
            return None;
        }
        let number = |range: std::ops::Range<usize>| b[range].iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        let (year, month, day) = (number(0..4), number(4..6), number(6..8));
        let (hour, minute, second) = (number(9..11), number(11..13), number(13..15));
        let valid = year >= 1
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    #[test]
    fn parse_agrees_with_the_former_parser() {
        let check = |text: &str| {
            assert_eq!(SdkDate::parse(text).ok().map(SdkDate::unix_seconds), parse_former(text), "{text:?}");
        };
        // every byte at every position of a valid date, and of an invalid one
        for base in ["20240403T101500Z", "20240229T235959Z", "00010101T000000Z", "99991231T235959Z"] {
            check(base);
            for at in 0..16 {
                for b in 0..=255u8 {
                    let mut bytes = base.as_bytes().to_vec();
                    bytes[at] = b;
                    if let Ok(text) = std::str::from_utf8(&bytes) {
                        check(text);
                    }
                }
            }
        }
        for text in ["", "2024040", "20240403T101500Z0", "20240403T101500", "é0240403T101500Z", "2024040é101500Z"] {
            check(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_agrees_with_the_former_parser_on_random_text(text in "[0-9TZ:/ -]{14,17}") {
            proptest::prop_assert_eq!(SdkDate::parse(&text).ok().map(SdkDate::unix_seconds), parse_former(&text));
        }

        #[test]
        fn parse_agrees_with_the_former_parser_on_digit_fields(d in "[0-9]{8}", t in "[0-9]{6}") {
            let text = format!("{d}T{t}Z");
            proptest::prop_assert_eq!(SdkDate::parse(&text).ok().map(SdkDate::unix_seconds), parse_former(&text));
        }
    }

    #[test]
    fn only_times_with_an_x_sdk_date_form_convert() {
        let first = SdkDate::parse("00010101T000000Z").unwrap();
        let last = SdkDate::parse("99991231T235959Z").unwrap();
        assert_eq!((first, last), (SdkDate::MIN, SdkDate::MAX));
        for ok in [first.to_system_time(), last.to_system_time(), last.to_system_time() + Duration::from_millis(999)] {
            assert_eq!(SdkDate::try_from_system_time(ok).unwrap(), SdkDate::from_system_time(ok));
        }
        for bad in [
            first.to_system_time() - Duration::from_millis(1),
            last.to_system_time() + Duration::from_secs(1),
            UNIX_EPOCH + Duration::from_secs(1_000_000_000_000_000),
        ] {
            let e = SdkDate::try_from_system_time(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedDate);
            assert!(e.message().contains("00010101T000000Z to 99991231T235959Z"), "{e}");
        }
        let seconds = |s: f64| system_time_from_unix_seconds(s).map(SdkDate::from_system_time);
        assert_eq!(seconds(1_712_139_300.5).unwrap().to_string(), "20240403T101500Z");
        assert_eq!(seconds(-0.5).unwrap().to_string(), "19691231T235959Z");
        assert_eq!(seconds(-62_135_596_800.0).unwrap(), SdkDate::MIN);
        assert_eq!(seconds(253_402_300_799.999).unwrap(), SdkDate::MAX);
        for bad in
            [1e15, 1e20, -1e15, 253_402_300_800.0, -62_135_596_800.001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
        {
            assert_eq!(seconds(bad).unwrap_err().kind(), ErrorKind::MalformedDate, "{bad}");
        }
    }

    #[test]
    fn skew_is_symmetric() {
        let d = SdkDate::parse("20240403T101500Z").unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(u64::try_from(d.unix_seconds()).unwrap());
        assert_eq!(d.skew_from(t + Duration::from_secs(90)), Duration::from_secs(90));
        assert_eq!(d.skew_from(t - Duration::from_secs(90)), Duration::from_secs(90));
    }
}
