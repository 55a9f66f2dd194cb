//! The sentences a panel answers with: numbers as people write them, the range and the
//! comparison in words, and how out of date the data is.

use time::OffsetDateTime;
use time::macros::format_description;
use vitals_api::{Health, Trend, TrendDirection, Unit};

use super::definition::{Better, Compare, Thresholds};
use crate::sources::TimeRange;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// A range ending this close to now is "the last …".
const NOW_SLACK_MS: i64 = 2 * MINUTE_MS;
/// A change smaller than this share is "about the same".
const FLAT_SHARE: f64 = 0.005;

/// What a sentence template may say.
pub struct Fill<'a> {
    pub value: Option<f64>,
    pub unit: Unit,
    pub noun: Option<&'a (String, String)>,
    pub range: &'a str,
    pub trend: Option<&'a Trend>,
    /// The group with the largest number, for bar and table panels.
    pub top: Option<&'a str>,
}

/// Fills `template`'s placeholders; the first letter comes out capitalised.
pub fn render(template: &str, fill: &Fill<'_>) -> String {
    let mut sentence = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        sentence.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            break;
        };
        let value = fill.value.unwrap_or(0.0);
        match &after[..close] {
            "value" => sentence.push_str(&number(value, fill.unit)),
            "count" => sentence.push_str(&counted(value, fill.noun)),
            "range" => sentence.push_str(fill.range),
            "trend" => sentence.push_str(fill.trend.map_or("", |trend| trend.words.as_str())),
            "top" => sentence.push_str(fill.top.unwrap_or("no group")),
            other => {
                sentence.push('{');
                sentence.push_str(other);
                sentence.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    sentence.push_str(rest);
    capitalised(sentence)
}

fn capitalised(mut sentence: String) -> String {
    if let Some(first) = sentence.chars().next()
        && first.is_lowercase()
    {
        let upper: String = first.to_uppercase().collect();
        sentence.replace_range(..first.len_utf8(), &upper);
    }
    sentence
}

/// A number as the page shows it: `1,234`, `97.3%`, `350 ms`, `4.5 per minute`.
pub fn number(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Count => grouped(value.round() as i64),
        Unit::Ratio => format!("{:.1}%", value * 100.0),
        Unit::Seconds if value.abs() < 1.0 => format!("{} ms", (value * 1000.0).round() as i64),
        Unit::Seconds if value.abs() < 120.0 => format!("{value:.1} s"),
        Unit::Seconds => duration_words((value * 1000.0) as i64),
        Unit::PerMinute => format!("{} per minute", trimmed(value)),
        // Four decimals at most, and no trailing zeros: `0.0123`, `42.5`, `1200`.
        Unit::Number => format!("{}", (value * 10_000.0).round() / 10_000.0),
    }
}

/// A count with its noun: "1 patient", "142 patients".
fn counted(value: f64, noun: Option<&(String, String)>) -> String {
    let count = value.round() as i64;
    match noun {
        Some((one, _)) if count == 1 => format!("1 {one}"),
        Some((_, many)) => format!("{} {many}", grouped(count)),
        None => grouped(count),
    }
}

fn trimmed(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

/// A whole number with its thousands grouped: 12,345.
pub fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A length of time in the largest whole unit that fits: "15 minutes", "24 hours", "7 days".
pub fn duration_words(ms: i64) -> String {
    let (amount, one, many) = if ms >= 2 * DAY_MS && ms % DAY_MS == 0 {
        (ms / DAY_MS, "day", "days")
    } else if ms >= HOUR_MS && ms % HOUR_MS == 0 {
        (ms / HOUR_MS, "hour", "hours")
    } else if ms >= 2 * HOUR_MS {
        ((ms + HOUR_MS / 2) / HOUR_MS, "hour", "hours")
    } else if ms >= MINUTE_MS {
        ((ms + MINUTE_MS / 2) / MINUTE_MS, "minute", "minutes")
    } else {
        ((ms + 500) / 1000, "second", "seconds")
    };
    if amount == 1 {
        format!("1 {one}")
    } else {
        format!("{amount} {many}")
    }
}

/// The range as a sentence says it: "in the last 24 hours", or "in the 2 hours up to 3 Dec 14:00 UTC".
pub fn range_words(range: TimeRange, now_ms: i64) -> String {
    let span = range.duration_ms().max(1000);
    let last = match duration_words(span).as_str() {
        "1 hour" => "hour".to_owned(),
        "1 minute" => "minute".to_owned(),
        words => words.to_owned(),
    };
    if (now_ms - range.end_ms).abs() <= NOW_SLACK_MS {
        format!("in the last {last}")
    } else {
        format!("in the {last} up to {}", moment(range.end_ms))
    }
}

/// A moment as "3 Dec 14:05 UTC".
pub fn moment(ms: i64) -> String {
    let format = format_description!("[day padding:none] [month repr:short] [hour]:[minute] UTC");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// How far back the comparison looks, for a range of `span_ms`.
pub fn comparison_offset_ms(compare: Compare, span_ms: i64) -> Option<i64> {
    match compare {
        Compare::None => None,
        Compare::Day => Some(DAY_MS),
        Compare::Week => Some(7 * DAY_MS),
        Compare::Previous => Some(span_ms.max(1000)),
    }
}

fn period_words(compare: Compare, span_ms: i64) -> String {
    match compare {
        Compare::Day => "the same time yesterday".to_owned(),
        Compare::Week => "the same time last week".to_owned(),
        Compare::Previous | Compare::None => format!("the {} before", duration_words(span_ms.max(1000))),
    }
}

/// The number next to the earlier one: which way it moved, in words, and whether that is good news.
pub fn trend(
    current: Option<f64>,
    previous: Option<f64>,
    compare: Compare,
    span_ms: i64,
    unit: Unit,
    thresholds: Option<&Thresholds>,
) -> Trend {
    let period = period_words(compare, span_ms);
    let (direction, words) = match (current, previous) {
        (_, None) | (None, _) => (
            TrendDirection::Flat,
            format!("with no data from {period} to compare"),
        ),
        (Some(now), Some(before)) => {
            let (up, down) = match unit {
                Unit::Count => ("more", "fewer"),
                _ => ("higher", "lower"),
            };
            let change = now - before;
            if unit == Unit::Ratio {
                let points = change * 100.0;
                if points.abs() < 0.05 {
                    (TrendDirection::Flat, format!("the same as {period}"))
                } else {
                    let direction = if points > 0.0 {
                        TrendDirection::Up
                    } else {
                        TrendDirection::Down
                    };
                    let word = if points > 0.0 { up } else { down };
                    (
                        direction,
                        format!("{:.1} points {word} than {period}", points.abs()),
                    )
                }
            } else if before.abs() < f64::EPSILON {
                if now.abs() < f64::EPSILON {
                    (TrendDirection::Flat, format!("the same as {period}"))
                } else {
                    (TrendDirection::Up, format!("up from none {period}"))
                }
            } else {
                let share = change / before.abs();
                if share.abs() < FLAT_SHARE {
                    (TrendDirection::Flat, format!("about the same as {period}"))
                } else {
                    let direction = if share > 0.0 {
                        TrendDirection::Up
                    } else {
                        TrendDirection::Down
                    };
                    let word = if share > 0.0 { up } else { down };
                    (
                        direction,
                        format!("{}% {word} than {period}", (share.abs() * 100.0).round() as i64),
                    )
                }
            }
        }
    };
    let health = match (direction, thresholds.map(|thresholds| thresholds.better)) {
        (TrendDirection::Flat, _) | (_, None) => Health::Unknown,
        (TrendDirection::Up, Some(Better::Higher)) | (TrendDirection::Down, Some(Better::Lower)) => {
            Health::Good
        }
        _ => Health::Warning,
    };
    Trend {
        direction,
        words,
        previous,
        health,
    }
}

/// Good, worth a look or bad, by the panel's thresholds; unknown without a number or thresholds.
pub fn judged(value: Option<f64>, thresholds: Option<&Thresholds>) -> Health {
    let (Some(value), Some(thresholds)) = (value, thresholds) else {
        return Health::Unknown;
    };
    let at_least = |limit: f64| match thresholds.better {
        Better::Higher => value >= limit,
        Better::Lower => value <= limit,
    };
    if at_least(thresholds.watch) {
        Health::Good
    } else if at_least(thresholds.bad) {
        Health::Warning
    } else {
        Health::Bad
    }
}

/// Why the data may be out of date, when the newest point is older than `stale_after_ms`.
pub fn staleness(as_of_ms: i64, range: TimeRange, now_ms: i64, stale_after_ms: i64) -> Option<String> {
    let live = (now_ms - range.end_ms).abs() <= NOW_SLACK_MS;
    let age = range.end_ms - as_of_ms;
    (live && age > stale_after_ms).then(|| {
        format!(
            "no new data for {}; the number may be out of date",
            duration_words(age)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000_000;

    fn fill<'a>(
        value: f64,
        noun: &'a (String, String),
        range: &'a str,
        trend: Option<&'a Trend>,
    ) -> Fill<'a> {
        Fill {
            value: Some(value),
            unit: Unit::Count,
            noun: Some(noun),
            range,
            trend,
            top: None,
        }
    }

    #[test]
    fn a_count_sentence_reads_like_the_issue_asks() {
        let noun = ("patient".to_owned(), "patients".to_owned());
        let higher = Thresholds {
            better: Better::Higher,
            watch: 10.0,
            bad: 1.0,
        };
        let trend = trend(
            Some(142.0),
            Some(126.8),
            Compare::Week,
            DAY_MS,
            Unit::Count,
            Some(&higher),
        );
        assert_eq!(trend.direction, TrendDirection::Up);
        assert_eq!(trend.health, Health::Good);
        let range = range_words(TimeRange::new(NOW - DAY_MS, NOW), NOW);
        let sentence = render(
            "{count} registered {range}, {trend}.",
            &fill(142.0, &noun, &range, Some(&trend)),
        );
        assert_eq!(
            sentence,
            "142 patients registered in the last 24 hours, 12% more than the same time last week."
        );
        assert_eq!(
            render("{count} registered.", &fill(1.0, &noun, "", None)),
            "1 patient registered."
        );
    }

    #[test]
    fn fewer_failures_are_good_news_and_ratios_move_in_points() {
        let lower = Thresholds {
            better: Better::Lower,
            watch: 1.0,
            bad: 5.0,
        };
        let fewer = trend(
            Some(4.0),
            Some(8.0),
            Compare::Day,
            HOUR_MS,
            Unit::Count,
            Some(&lower),
        );
        assert_eq!(fewer.words, "50% fewer than the same time yesterday");
        assert_eq!(fewer.health, Health::Good);
        let ratio = trend(
            Some(0.95),
            Some(0.99),
            Compare::Previous,
            HOUR_MS,
            Unit::Ratio,
            None,
        );
        assert_eq!(ratio.words, "4.0 points lower than the 1 hour before");
        assert_eq!(ratio.direction, TrendDirection::Down);
        let missing = trend(Some(3.0), None, Compare::Week, HOUR_MS, Unit::Count, None);
        assert_eq!(
            missing.words,
            "with no data from the same time last week to compare"
        );
    }

    #[test]
    fn ranges_are_said_as_people_say_them() {
        assert_eq!(
            range_words(TimeRange::new(NOW - HOUR_MS, NOW), NOW),
            "in the last hour"
        );
        assert_eq!(
            range_words(TimeRange::new(NOW - 15 * MINUTE_MS, NOW - 30_000), NOW),
            "in the last 15 minutes"
        );
        assert_eq!(
            range_words(TimeRange::new(NOW - 7 * DAY_MS, NOW), NOW),
            "in the last 7 days"
        );
        let earlier = 1_764_770_700_000; // 2025-12-03T14:05:00Z
        assert_eq!(
            range_words(TimeRange::new(earlier - 2 * HOUR_MS, earlier), NOW + 30 * DAY_MS),
            "in the 2 hours up to 3 Dec 14:05 UTC"
        );
    }

    #[test]
    fn thresholds_judge_in_the_direction_that_is_better() {
        let higher = Thresholds {
            better: Better::Higher,
            watch: 0.99,
            bad: 0.95,
        };
        assert_eq!(judged(Some(0.995), Some(&higher)), Health::Good);
        assert_eq!(judged(Some(0.97), Some(&higher)), Health::Warning);
        assert_eq!(judged(Some(0.5), Some(&higher)), Health::Bad);
        assert_eq!(judged(None, Some(&higher)), Health::Unknown);
        let lower = Thresholds {
            better: Better::Lower,
            watch: 60.0,
            bad: 300.0,
        };
        assert_eq!(judged(Some(30.0), Some(&lower)), Health::Good);
        assert_eq!(judged(Some(400.0), Some(&lower)), Health::Bad);
    }

    #[test]
    fn old_data_on_a_live_range_is_called_out() {
        let range = TimeRange::new(NOW - HOUR_MS, NOW);
        assert_eq!(
            staleness(NOW - 12 * MINUTE_MS, range, NOW, 10 * MINUTE_MS).as_deref(),
            Some("no new data for 12 minutes; the number may be out of date")
        );
        assert_eq!(staleness(NOW - MINUTE_MS, range, NOW, 10 * MINUTE_MS), None);
        assert_eq!(
            staleness(NOW - 12 * MINUTE_MS, range, NOW + DAY_MS, 10 * MINUTE_MS),
            None
        );
    }

    #[test]
    fn numbers_are_written_with_their_unit() {
        assert_eq!(number(1234.4, Unit::Count), "1,234");
        assert_eq!(number(0.9734, Unit::Ratio), "97.3%");
        assert_eq!(number(0.35, Unit::Seconds), "350 ms");
        assert_eq!(number(4.0, Unit::PerMinute), "4 per minute");
        assert_eq!(number(0.012_34, Unit::Number), "0.0123");
        assert_eq!(number(1_200.0, Unit::Number), "1200");
        assert_eq!(number(600.0, Unit::Seconds), "10 minutes");
    }
}
