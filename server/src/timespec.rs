//! Times and steps as requests write them (`now-1h`, RFC 3339, `5m`), turned into milliseconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vitals_api::Step;

use crate::error::ApiError;
use crate::sources::TimeRange;

/// Parses a Prometheus-style duration (`90s`, `5m`, `1h30m`, `2d`, `1w`, `250ms`) into milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let amount: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(amount.checked_mul(unit_ms)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Parses `now`, `now-15m`, `now+1h`, an RFC 3339 instant, or seconds since the epoch.
pub fn parse_time_ms(field: &str, text: &str, now_ms: i64) -> Result<i64, ApiError> {
    let text = text.trim();
    let invalid = || {
        ApiError::bad_request(
            "invalid_time",
            format!(
                "`{field}` is \"{text}\"; use an RFC 3339 time such as 2026-11-25T08:00:00Z, \
                 or a relative one such as now-1h"
            ),
        )
    };
    if let Some(offset) = text.strip_prefix("now") {
        if offset.is_empty() {
            return Ok(now_ms);
        }
        let (sign, duration) = match offset.split_at(1) {
            ("-", duration) => (-1, duration),
            ("+", duration) => (1, duration),
            _ => return Err(invalid()),
        };
        return parse_duration_ms(duration)
            .map(|ms| now_ms + sign * ms)
            .ok_or_else(invalid);
    }
    if let Ok(instant) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok((instant.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
    {
        return Ok((seconds * 1000.0).round() as i64);
    }
    Err(invalid())
}

/// Resolves the optional `from`/`to` of a request into a range, `from` defaulting to `to` minus `default_span_ms`.
pub fn resolve_range(
    from: Option<&str>,
    to: Option<&str>,
    now_ms: i64,
    default_span_ms: i64,
) -> Result<TimeRange, ApiError> {
    let end = match to {
        Some(text) => parse_time_ms("to", text, now_ms)?,
        None => now_ms,
    };
    let start = match from {
        Some(text) => parse_time_ms("from", text, now_ms)?,
        None => end - default_span_ms,
    };
    if start > end {
        return Err(ApiError::bad_request(
            "invalid_time",
            "`from` is after `to`; swap them or pick an earlier `from`",
        ));
    }
    Ok(TimeRange::new(start, end))
}

/// The step of a range query: the one asked for, or one that gives about 500 points.
pub fn resolve_step_ms(step: Option<&Step>, range: TimeRange) -> Result<i64, ApiError> {
    let invalid = |shown: String| {
        ApiError::bad_request(
            "invalid_step",
            format!("`step` is {shown}; use a positive duration such as 60s or 5m, or a number of seconds"),
        )
    };
    match step {
        Some(Step::Seconds(seconds)) if seconds.is_finite() && *seconds > 0.0 => {
            Ok(((seconds * 1000.0).round() as i64).max(1))
        }
        Some(Step::Seconds(seconds)) => Err(invalid(seconds.to_string())),
        Some(Step::Duration(text)) => match parse_duration_ms(text) {
            Some(ms) if ms > 0 => Ok(ms),
            _ => Err(invalid(format!("\"{text}\""))),
        },
        None => Ok(auto_step_ms(range)),
    }
}

/// A round step giving at most about 500 points, never under a second.
pub fn auto_step_ms(range: TimeRange) -> i64 {
    const NICE_STEPS_MS: [i64; 12] = [
        1_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
        3_600_000,
    ];
    let wanted = range.duration_ms() / 500;
    NICE_STEPS_MS
        .iter()
        .copied()
        .find(|step| *step >= wanted)
        .unwrap_or_else(|| (wanted + 3_599_999) / 3_600_000 * 3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_600_000_000;

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration_ms("90s"), Some(90_000));
        assert_eq!(parse_duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("5"), None);
        assert_eq!(parse_duration_ms("m"), None);
        assert_eq!(parse_duration_ms(""), None);
    }

    #[test]
    fn relative_and_absolute_times_resolve() {
        assert_eq!(parse_time_ms("from", "now", NOW).unwrap(), NOW);
        assert_eq!(parse_time_ms("from", "now-1h", NOW).unwrap(), NOW - 3_600_000);
        assert_eq!(parse_time_ms("to", "now+5m", NOW).unwrap(), NOW + 300_000);
        assert_eq!(
            parse_time_ms("from", "2026-11-24T21:00:00Z", NOW).unwrap(),
            1_795_554_000_000
        );
        assert_eq!(
            parse_time_ms("from", "1795554000", NOW).unwrap(),
            1_795_554_000_000
        );
    }

    #[test]
    fn a_wrong_time_names_the_field_and_the_forms() {
        let err = parse_time_ms("from", "yesterday", NOW).unwrap_err().to_string();
        assert!(err.contains("`from`") && err.contains("now-1h"), "{err}");
    }

    #[test]
    fn inverted_range_is_refused() {
        assert!(resolve_range(Some("now"), Some("now-1h"), NOW, 3_600_000).is_err());
    }

    #[test]
    fn automatic_step_gives_about_500_points() {
        let day = TimeRange::new(NOW - 86_400_000, NOW);
        let step = auto_step_ms(day);
        assert_eq!(step, 300_000);
        assert!(day.duration_ms() / step <= 500);
        assert_eq!(auto_step_ms(TimeRange::new(NOW - 60_000, NOW)), 1_000);
    }

    #[test]
    fn zero_or_garbage_step_is_refused() {
        let range = TimeRange::new(NOW - 3_600_000, NOW);
        assert!(resolve_step_ms(Some(&Step::Seconds(0.0)), range).is_err());
        assert!(resolve_step_ms(Some(&Step::Duration("fast".into())), range).is_err());
        assert_eq!(
            resolve_step_ms(Some(&Step::Duration("5m".into())), range).unwrap(),
            300_000
        );
    }
}
