//! Clinical timestamps.
//!
//! Registry exports carry local wall-clock times of the centre without a zone
//! (`2019-03-04 08:15`). They are stored as whole minutes since
//! 1970-01-01 00:00 of that same wall clock, which is exact for every interval
//! the scores use (minutes of low-flow, hours on ECMO) and makes comparisons
//! and as-of filtering plain integer work. Parsing is a fixed-format routine
//! rather than a general date library because registries hold tens of millions
//! of timestamps and this is the hot path of import and feature derivation.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An instant, in minutes since 1970-01-01 00:00 (centre-local wall clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const MINUTES_PER_HOUR: i64 = 60;

    pub fn from_ymd_hm(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Option<Timestamp> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || hour > 23 || minute > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(Timestamp(days * 1440 + i64::from(hour) * 60 + i64::from(minute)))
    }

    /// Hours from `origin` to this instant (negative before it).
    pub fn hours_since(self, origin: Timestamp) -> f64 {
        (self.0 - origin.0) as f64 / 60.0
    }

    pub fn minutes_since(self, origin: Timestamp) -> i64 {
        self.0 - origin.0
    }

    pub fn plus_minutes(self, minutes: i64) -> Timestamp {
        Timestamp(self.0 + minutes)
    }

    pub fn plus_hours(self, hours: f64) -> Timestamp {
        Timestamp(self.0 + (hours * 60.0).round() as i64)
    }

    /// (year, month, day, hour, minute)
    pub fn civil(self) -> (i32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(1440);
        let mins = self.0.rem_euclid(1440);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, (mins / 60) as u32, (mins % 60) as u32)
    }

    /// Write `YYYY-MM-DDTHH:MM` into a buffer without allocating.
    pub fn write_to(self, out: &mut Vec<u8>) {
        let (y, mo, d, h, mi) = self.civil();
        let put2 = |v: u32, out: &mut Vec<u8>| {
            out.push(b'0' + (v / 10) as u8);
            out.push(b'0' + (v % 10) as u8);
        };
        if (0..=9999).contains(&y) {
            let y = y as u32;
            put2(y / 100, out);
            put2(y % 100, out);
        } else {
            out.extend_from_slice(y.to_string().as_bytes());
        }
        out.push(b'-');
        put2(mo, out);
        out.push(b'-');
        put2(d, out);
        out.push(b'T');
        put2(h, out);
        out.push(b':');
        put2(mi, out);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(16);
        self.write_to(&mut buf);
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = TimestampError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{0}' is not a date-time of the form YYYY-MM-DD HH:MM (or YYYY-MM-DDTHH:MM[:SS])")]
pub struct TimestampError(pub String);

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimestampError(s.to_string());
        let b = s.trim().as_bytes();
        if b.len() != 16 && b.len() != 19 {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let mut v = 0u32;
            for &c in &b[r] {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + u32::from(c - b'0');
            }
            Some(v)
        };
        if b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
            return Err(err());
        }
        if b.len() == 19 {
            // Seconds are accepted but must be a valid field; they are below the
            // resolution any score uses and are dropped.
            if b[16] != b':' || num(17..19).is_none_or(|s| s > 59) {
                return Err(err());
            }
        }
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi)) =
            (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16))
        else {
            return Err(err());
        };
        Timestamp::from_ymd_hm(y as i32, mo, d, h, mi).ok_or_else(err)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_separators_and_seconds() {
        let a: Timestamp = "2019-03-04 08:15".parse().unwrap();
        let b: Timestamp = "2019-03-04T08:15:59".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2019-03-04T08:15");
        assert_eq!("1970-01-01T00:00".parse::<Timestamp>().unwrap(), Timestamp(0));
    }

    #[test]
    fn refuses_impossible_dates() {
        for s in [
            "2019-02-29 10:00",
            "2019-13-01 10:00",
            "2019-01-01 24:00",
            "2019-1-1 10:00",
            "yesterday",
            "2020-01-01 10:00:61",
        ] {
            assert!(s.parse::<Timestamp>().is_err(), "{s}");
        }
        assert!("2020-02-29 10:00".parse::<Timestamp>().is_ok());
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(m in -10_000_000i64..40_000_000i64) {
            let t = Timestamp(m);
            prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }
}
