//! `expires` values: exactly `YYYY-MM-DDTHH:MM:SSZ`, held as Unix seconds.

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Parses `YYYY-MM-DDTHH:MM:SSZ` into Unix seconds.
pub(crate) fn parse(text: &str) -> Option<i64> {
    if text.len() != 20 {
        return None;
    }
    let t = PrimitiveDateTime::parse(text, FORMAT).ok()?;
    Some(t.assume_utc().unix_timestamp())
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (clamped to years 1970 to 9999).
pub(crate) fn format(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix.clamp(0, 253_402_300_799))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(super::parse("2030-01-01T00:00:00Z"), Some(1_893_456_000));
        assert_eq!(super::format(1_893_456_000), "2030-01-01T00:00:00Z");
        assert_eq!(super::parse("2030-01-01T00:00:00.5Z"), None);
        assert_eq!(super::parse("2030-01-01T00:00:00+00:00"), None);
        assert_eq!(super::parse("2030-1-01T00:00:00Z"), None);
    }
}
