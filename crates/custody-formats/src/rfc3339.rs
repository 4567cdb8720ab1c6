//! RFC 3339 timestamps as the formats write them: UTC with a `Z`.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Error;

/// Parses a UTC (`Z`) RFC 3339 timestamp with whole seconds, and nothing else: the text must be
/// exactly what [`format`] writes for the parsed time.
pub(crate) fn parse_whole_seconds(text: &str, field: &str) -> Result<OffsetDateTime, Error> {
    let time = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| Error::invalid(field, format!("not an RFC 3339 timestamp: {e}")))?;
    if time.nanosecond() != 0 || format(time).as_deref() != Some(text) {
        return Err(Error::invalid(
            field,
            "timestamps must be UTC with whole seconds, like 2026-01-31T12:00:00Z",
        ));
    }
    Ok(time)
}

/// Parses a UTC (`Z`) RFC 3339 timestamp; fractional seconds are allowed.
pub(crate) fn parse_utc(text: &str, field: &str) -> Result<OffsetDateTime, Error> {
    let time = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| Error::invalid(field, format!("not an RFC 3339 timestamp: {e}")))?;
    if !(text.ends_with('Z') || text.ends_with('z')) {
        return Err(Error::invalid(field, "timestamps must be in UTC ('Z')"));
    }
    Ok(time)
}

/// Formats a time as RFC 3339 in UTC; `None` for years outside 0000–9999.
pub(crate) fn format(time: OffsetDateTime) -> Option<String> {
    time.checked_to_offset(time::UtcOffset::UTC)?
        .format(&Rfc3339)
        .ok()
}
