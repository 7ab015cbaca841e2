//! Wall-clock time as the API shows it: milliseconds since the Unix epoch in
//! memory, RFC 3339 UTC on the wire.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Formats epoch milliseconds as RFC 3339 UTC, e.g. `2026-11-27T20:01:02.345Z`.
pub fn format_ms(ms: i64) -> String {
    Timestamp(ms).to_string()
}

/// Epoch milliseconds that display and serialise as RFC 3339 UTC without
/// allocating: listings format two of these per token. Fractional seconds are
/// shown only when non-zero, trailing zeros trimmed, as `time`'s RFC 3339
/// formatter does (`…:05Z`, `…:05.5Z`, `…:05.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub i64);

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000) else {
            return f.write_str("1970-01-01T00:00:00Z");
        };
        let (year, month, day) = t.to_calendar_date();
        let (h, m, sec, milli) = t.to_hms_milli();
        if !(0..=9999).contains(&year) {
            // RFC 3339 has four-digit years only; such a timestamp cannot come
            // from a fixture (the parser refuses it) or from the clock.
            return f.write_str("1970-01-01T00:00:00Z");
        }
        write!(
            f,
            "{year:04}-{:02}-{day:02}T{h:02}:{m:02}:{sec:02}",
            month as u8
        )?;
        match milli {
            0 => {}
            ms if ms % 100 == 0 => write!(f, ".{}", ms / 100)?,
            ms if ms % 10 == 0 => write!(f, ".{:02}", ms / 10)?,
            ms => write!(f, ".{ms:03}")?,
        }
        f.write_str("Z")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use std::io::Write;
        let mut buf = [0u8; 32];
        let mut cursor = &mut buf[..];
        let _ = write!(cursor, "{self}");
        let len = 32 - cursor.len();
        s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or("1970-01-01T00:00:00Z"))
    }
}

/// Parses an RFC 3339 timestamp to epoch milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_milliseconds() {
        let ms = 1_795_000_000_123;
        let text = format_ms(ms);
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(parse_rfc3339(&text), Some(ms));
    }

    #[test]
    fn matches_the_time_crates_rfc3339_output() {
        for ms in [
            0,
            1,
            10,
            100,
            120,
            500,
            692,
            999,
            1_795_000_000_000,
            1_795_000_000_123,
            253_402_300_799_999,
        ] {
            let expected = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            assert_eq!(format_ms(ms), expected, "{ms}");
            assert_eq!(
                serde_json::to_string(&Timestamp(ms)).unwrap(),
                format!("\"{expected}\"")
            );
        }
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-11-27"), None);
    }
}
