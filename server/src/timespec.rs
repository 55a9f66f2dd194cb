//! Times and steps as requests write them (`now-1h`, RFC 3339, `5m`), turned into milliseconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vitals_api::Step;

use crate::error::ApiError;
use crate::sources::TimeRange;

/// The latest time a request may name: the last millisecond whose nanoseconds
/// still fit an `i64` (April 2262). Times from 1970 to then, and steps up to
/// [`MAX_STEP_MS`], add, subtract and turn into nanoseconds without overflow.
pub const LATEST_MS: i64 = i64::MAX / 1_000_000;

/// The longest step of a range query: one year, far beyond any range the server allows.
pub const MAX_STEP_MS: i64 = 366 * 86_400_000;

pub use vitals_api::query::parse_duration_ms;

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
        let ms = parse_duration_ms(duration).ok_or_else(invalid)?;
        let shifted = if sign < 0 {
            now_ms.checked_sub(ms)
        } else {
            now_ms.checked_add(ms)
        };
        return within_bounds(field, text, shifted);
    }
    if let Ok(instant) = OffsetDateTime::parse(text, &Rfc3339) {
        let ms = i64::try_from(instant.unix_timestamp_nanos() / 1_000_000).ok();
        return within_bounds(field, text, ms);
    }
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
    {
        let ms = (seconds * 1000.0).round();
        // A cast saturates: only a value already in range is cast.
        let ms = (0.0..=LATEST_MS as f64).contains(&ms).then_some(ms as i64);
        return within_bounds(field, text, ms);
    }
    Err(invalid())
}

/// `ms` when it lies from 1970 to [`LATEST_MS`]; `None` is a time whose arithmetic overflowed.
fn within_bounds(field: &str, text: &str, ms: Option<i64>) -> Result<i64, ApiError> {
    ms.filter(|ms| (0..=LATEST_MS).contains(ms))
        .ok_or_else(|| out_of_range(field, text))
}

fn out_of_range(field: &str, text: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_time",
        format!(
            "`{field}` is \"{text}\", outside the times Vitals can query (1970 to 2262); \
             pick a time in between, such as now-1h"
        ),
    )
}

/// `ms` in nanoseconds, as Loki and live tails count time; refused outside 1970 to 2262.
pub fn nanoseconds(field: &str, ms: i64) -> Result<i64, ApiError> {
    ms.checked_mul(1_000_000)
        .filter(|ns| *ns >= 0)
        .ok_or_else(|| out_of_range(field, &ms.to_string()))
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
        // `end` is in bounds, so this cannot wrap; a default range starts in 1970 at the earliest.
        None => end.saturating_sub(default_span_ms).max(0),
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
    let Some(step) = step else {
        return Ok(auto_step_ms(range));
    };
    let (ms, shown) = match step {
        Step::Seconds(seconds) => {
            let ms = (seconds * 1000.0).round().max(1.0);
            // A cast saturates: only a value already in range is cast.
            let ms = (*seconds > 0.0 && ms <= MAX_STEP_MS as f64).then_some(ms as i64);
            (ms, seconds.to_string())
        }
        Step::Duration(text) => (parse_duration_ms(text), format!("\"{text}\"")),
    };
    ms.filter(|ms| (1..=MAX_STEP_MS).contains(ms)).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_step",
            format!(
                "`step` is {shown}; use a positive duration up to a year such as 60s or 5m, or a number of seconds"
            ),
        )
    })
}

/// A round step giving at most about 500 points, never under a second.
pub fn auto_step_ms(range: TimeRange) -> i64 {
    step_for_points(range, 500)
}

/// A round step giving at most about `points` points over `range`, never under a second.
pub fn step_for_points(range: TimeRange, points: i64) -> i64 {
    const NICE_STEPS_MS: [i64; 12] = [
        1_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
        3_600_000,
    ];
    let wanted = range.duration_ms() / points.max(1);
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

    fn code_of(error: ApiError) -> &'static str {
        match error {
            ApiError::BadRequest { code, .. } => code,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn times_whose_arithmetic_overflows_are_refused_not_wrapped() {
        for (field, text) in [
            ("from", "now-99999999999d"),
            ("to", "now+99999999999d"),
            ("to", "now+9223372036854775807ms"),
            ("from", "now-9223372036854775807ms"),
            ("from", "1e300"),
            ("from", "-5"),
            ("to", "99999999999999999"),
        ] {
            let error = parse_time_ms(field, text, NOW).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("(1970 to 2262)"), "{text}: {message}");
            assert_eq!(code_of(error), "invalid_time", "{text}");
        }
        assert_eq!(
            parse_time_ms("to", "now+200y", NOW).unwrap(),
            NOW + 200 * 31_536_000_000
        );
    }

    #[test]
    fn a_range_far_in_the_past_or_future_is_refused() {
        let error = resolve_range(Some("now-99999999999d"), Some("now"), NOW, 3_600_000).unwrap_err();
        assert_eq!(code_of(error), "invalid_time");
        let early = resolve_range(None, Some("1"), NOW, 3_600_000).unwrap();
        assert_eq!(early, TimeRange::new(0, 1_000));
    }

    #[test]
    fn nanoseconds_are_refused_rather_than_wrapped() {
        assert_eq!(nanoseconds("from", NOW).unwrap(), NOW * 1_000_000);
        assert_eq!(
            code_of(nanoseconds("from", i64::MAX / 1_000).unwrap_err()),
            "invalid_time"
        );
        assert_eq!(code_of(nanoseconds("from", -1).unwrap_err()), "invalid_time");
    }

    #[test]
    fn steps_that_overflow_are_refused() {
        let range = TimeRange::new(NOW - 3_600_000, NOW);
        for step in [
            Step::Seconds(1e300),
            Step::Seconds(f64::INFINITY),
            Step::Seconds(-60.0),
            Step::Duration("99999999999999w".into()),
            Step::Duration("2y".into()),
        ] {
            let error = resolve_step_ms(Some(&step), range).unwrap_err();
            assert_eq!(code_of(error), "invalid_step", "{step:?}");
        }
        assert_eq!(resolve_step_ms(Some(&Step::Seconds(0.0001)), range).unwrap(), 1);
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
