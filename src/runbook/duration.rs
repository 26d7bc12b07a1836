//! Durations as runbooks write them: `500ms`, `30s`, `5m`, `1h30m`.

use std::time::Duration;

/// Parses a runbook duration; the error says what was wrong in words an operator can act on.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration".into());
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{trimmed}` has no unit"));
    }
    if trimmed.starts_with('-') {
        return Err(format!("`{trimmed}` is negative; durations are 0 or more"));
    }
    let duration = humantime::parse_duration(trimmed)
        .map_err(|e| format!("`{trimmed}` is not a duration ({})", why(trimmed, &e)))?;
    if duration > MAX {
        return Err(format!("`{trimmed}` is longer than a year, the longest duration a runbook may give"));
    }
    Ok(duration)
}

/// What is wrong, by position rather than by quoting part of the text: a duration may come from
/// a secret, and a masked value must not show through its parts.
fn why(text: &str, e: &humantime::DurationError) -> String {
    use humantime::DurationError as E;
    let at = |byte: usize| text.get(..byte).map_or(byte, |s| s.chars().count()) + 1;
    match e {
        E::InvalidCharacter(p) => format!("character {} cannot be part of a duration", at(*p)),
        E::NumberExpected(p) => format!("a number is expected at character {}", at(*p)),
        E::UnknownUnit { start, end, .. } => format!(
            "the unit at characters {}-{} is unknown; units: ms, s (sec), m (min), h (hours), d (days), w (weeks)",
            at(*start),
            at(*end) - 1
        ),
        E::NumberOverflow => "the number is too large".to_owned(),
        E::Empty => "it is empty".to_owned(),
    }
}

/// The longest duration a runbook may give: longer waits and timeouts are mistakes, and
/// durations far beyond it cannot be added to a point in time.
pub const MAX: Duration = Duration::from_secs(366 * 24 * 3600);

/// Formats a duration compactly for terminals and reports: `850ms`, `12.4s`, `3m05s`, `1h02m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 && ms % 1_000 == 0 {
        // Whole seconds as a runbook writes them: 30s, not 30.0s.
        format!("{}s", ms / 1_000)
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1_000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_point_at_the_wrong_part_without_quoting_it() {
        // Masking the whole value (a secret) must leave nothing of it in the message.
        let e = parse_duration("5mysecretunit").unwrap_err().replace("`5mysecretunit`", "`***`");
        assert!(!e.contains("secret"), "{e}");
        assert!(e.contains("the unit at characters 2-13 is unknown"), "{e}");
        let e = parse_duration("1é!").unwrap_err();
        assert!(e.contains("character 2 cannot be part of a duration"), "{e}");
    }

    #[test]
    fn parses_runbook_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30"), Err("`30` has no unit".to_owned()));
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_duration("365d"), Ok(Duration::from_secs(365 * 24 * 3600)));
        assert!(parse_duration("500000000000y").is_err_and(|e| e.contains("longer than a year")));
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(12_400)), "12.4s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h02m");
    }
}
