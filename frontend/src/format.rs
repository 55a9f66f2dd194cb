//! Numbers, durations and times turned into the words and digits people read.

use vitals_api::Unit;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Data newer than this, when the server answered, counts as current.
const FRESH_FOR_MS: i64 = 2 * MINUTE_MS;

/// A value as its unit reads: `1,234`, `97.5%`, `350 ms`, `1.2 s`, `8.2 min`.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Count => group_thousands(value.round() as i64),
        Unit::Ratio => format!("{}%", decimal(value * 100.0, 1)),
        Unit::Seconds if value.abs() < 1.0 => format!("{} ms", (value * 1000.0).round() as i64),
        Unit::Seconds if value.abs() < 120.0 => format!("{} s", decimal(value, 1)),
        Unit::Seconds => format!("{} min", decimal(value / 60.0, 1)),
        Unit::PerMinute => format!("{} per minute", decimal(value, 1)),
        Unit::Number => number_words(value),
    }
}

/// A number of any size with the digits its size needs: `12,345`, `42.5`, `0.0123`.
fn number_words(value: f64) -> String {
    match value.abs() {
        size if size >= 1_000.0 => group_thousands(value.round() as i64),
        size if size >= 10.0 => decimal(value, 1),
        size if size >= 0.01 || size == 0.0 => decimal(value, 3),
        _ => plain_number(value),
    }
}

/// `value` with exactly `places` decimals, rounded half away from zero: `decimal(97.46, 1)` is
/// `97.5`. The app writes its numbers through this and [`plain_number`] rather than through
/// `format!("{:.1}")` or `f64`'s `Display`: those bring the standard library's float printer,
/// several kilobytes, into every visitor's download.
pub fn decimal(value: f64, places: u32) -> String {
    if !value.is_finite() {
        return not_finite(value);
    }
    let places = places.min(9);
    let scale = 10_u64.pow(places);
    // Beyond 2^53 an f64 holds no fraction, and `as` saturates rather than wraps.
    let scaled = (value.abs() * scale as f64).round() as u64;
    let sign = if value < 0.0 && scaled != 0 { "-" } else { "" };
    let whole = scaled / scale;
    if places == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = scaled % scale;
    let width = places as usize;
    format!("{sign}{whole}.{fraction:0width$}")
}

/// `value` as plainly as it can be written and read back exactly: `42`, `0.25`, `1e-7`. For
/// downloads, where the number must survive a spreadsheet unchanged.
pub fn plain_number(value: f64) -> String {
    if !value.is_finite() {
        return not_finite(value);
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    // JSON's number writer prints the shortest text that reads back as the same f64, and the
    // app already carries it.
    serde_json::to_string(&value).unwrap_or_default()
}

fn not_finite(value: f64) -> String {
    match value {
        _ if value.is_nan() => "NaN".to_owned(),
        _ if value > 0.0 => "Infinity".to_owned(),
        _ => "-Infinity".to_owned(),
    }
}

/// An integer with a comma between each group of three digits.
pub fn group_thousands(number: i64) -> String {
    let digits = number.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if number < 0 {
        grouped.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A duration in the largest units that describe it: `45 seconds`,
/// `5 minutes`, `1 hour 30 minutes`, `3 days`.
pub fn duration_words(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < MINUTE_MS {
        return plural(ms / SECOND_MS, "second");
    }
    if ms < HOUR_MS {
        return plural(ms / MINUTE_MS, "minute");
    }
    if ms < 2 * DAY_MS {
        let hours = ms / HOUR_MS;
        let minutes = (ms % HOUR_MS) / MINUTE_MS;
        return if minutes == 0 {
            plural(hours, "hour")
        } else {
            format!("{} {}", plural(hours, "hour"), plural(minutes, "minute"))
        };
    }
    plural(ms / DAY_MS, "day")
}

/// How long to wait, rounded up so the wait is never understated: whole
/// seconds under a minute (`30 seconds`), whole minutes above (`4 minutes`).
pub fn wait_words(seconds: u64) -> String {
    let seconds = i64::try_from(seconds.max(1)).unwrap_or(i64::MAX / SECOND_MS);
    let rounded = if seconds < 60 {
        seconds
    } else {
        (seconds + 59) / 60 * 60
    };
    duration_words(rounded.saturating_mul(SECOND_MS))
}

fn plural(count: i64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// A message as a sentence: a capital first letter and a full stop. The
/// server's messages start lowercase so that they can also follow a colon.
pub fn as_sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

/// A time of day on a 24-hour clock: `14:05`.
pub fn clock(hours: u32, minutes: u32) -> String {
    format!("{hours:02}:{minutes:02}")
}

/// How fresh a panel is, from when the server answered (`updated_clock`, in
/// local time) and how far its newest data lags behind that answer.
pub fn freshness_words(as_of_ms: i64, generated_at_ms: i64, updated_clock: &str) -> Freshness {
    let lag = generated_at_ms - as_of_ms;
    if as_of_ms <= 0 || lag <= FRESH_FOR_MS {
        Freshness {
            words: format!("Updated {updated_clock}"),
            stale: false,
        }
    } else {
        Freshness {
            words: format!(
                "Updated {updated_clock} · newest data is {} old",
                duration_words(lag)
            ),
            stale: true,
        }
    }
}

/// The freshness line of a panel, and whether its data is late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    pub words: String,
    pub stale: bool,
}

/// The local time of day of a moment in milliseconds since the epoch.
pub fn local_clock(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    clock(date.get_hours(), date.get_minutes())
}

/// A moment in milliseconds as RFC 3339 in UTC, as files for other tools want it.
pub fn iso_time(ms: i64) -> String {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
        .to_iso_string()
        .into()
}

/// The local time of a log line to the millisecond: `14:05:09.123`.
pub fn local_time_precise(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    precise_clock(
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds(),
    )
}

/// `14:05:09.123`.
pub fn precise_clock(hours: u32, minutes: u32, seconds: u32, millis: u32) -> String {
    format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
}

/// The local day and time of a moment: `25 Nov 14:05`.
pub fn local_day_and_time(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    day_and_time(
        date.get_date(),
        date.get_month(),
        date.get_hours(),
        date.get_minutes(),
    )
}

/// `day` of the month, `month` counted from 0 (January), as `25 Nov 14:05`.
pub fn day_and_time(day: u32, month: u32, hours: u32, minutes: u32) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.get(month as usize).copied().unwrap_or("?");
    format!("{day} {month} {}", clock(hours, minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_and_time_reads_as_day_month_and_clock() {
        assert_eq!(day_and_time(25, 10, 14, 5), "25 Nov 14:05");
        assert_eq!(day_and_time(1, 0, 0, 0), "1 Jan 00:00");
    }

    #[test]
    fn counts_are_rounded_and_grouped_by_thousands() {
        assert_eq!(format_value(0.0, Unit::Count), "0");
        assert_eq!(format_value(999.0, Unit::Count), "999");
        assert_eq!(format_value(1_000.0, Unit::Count), "1,000");
        assert_eq!(format_value(1_234_567.4, Unit::Count), "1,234,567");
        assert_eq!(format_value(41.6, Unit::Count), "42");
        assert_eq!(format_value(-12_345.0, Unit::Count), "-12,345");
    }

    #[test]
    fn ratios_are_percentages_with_one_decimal() {
        assert_eq!(format_value(0.9734, Unit::Ratio), "97.3%");
        assert_eq!(format_value(1.0, Unit::Ratio), "100.0%");
        assert_eq!(format_value(0.0, Unit::Ratio), "0.0%");
    }

    #[test]
    fn seconds_below_one_read_as_milliseconds() {
        assert_eq!(format_value(0.35, Unit::Seconds), "350 ms");
        assert_eq!(format_value(1.25, Unit::Seconds), "1.3 s");
        assert_eq!(format_value(490.4, Unit::Seconds), "8.2 min");
        assert_eq!(format_value(12_345.6, Unit::Number), "12,346");
        assert_eq!(format_value(42.46, Unit::Number), "42.5");
        assert_eq!(format_value(0.012_34, Unit::Number), "0.012");
        assert_eq!(format_value(0.000_5, Unit::Number), "0.0005");
    }

    #[test]
    fn decimals_round_half_away_from_zero_to_the_places_asked() {
        assert_eq!(decimal(97.46, 1), "97.5");
        assert_eq!(decimal(2.0, 2), "2.00");
        assert_eq!(decimal(0.125, 2), "0.13");
        assert_eq!(decimal(-1.25, 1), "-1.3");
        assert_eq!(decimal(-0.04, 1), "0.0");
        assert_eq!(decimal(1234.5, 0), "1235");
        assert_eq!(decimal(0.05, 3), "0.050");
        assert_eq!(decimal(f64::NAN, 1), "NaN");
        assert_eq!(decimal(f64::NEG_INFINITY, 1), "-Infinity");
    }

    #[test]
    fn plain_numbers_read_back_as_the_same_value() {
        assert_eq!(plain_number(42.0), "42");
        assert_eq!(plain_number(-3.0), "-3");
        assert_eq!(plain_number(0.25), "0.25");
        assert_eq!(plain_number(0.1 + 0.2), "0.30000000000000004");
        for value in [1e-7, 123_456.789, 2.5e20, f64::MAX] {
            assert_eq!(plain_number(value).parse::<f64>(), Ok(value), "{value}");
        }
        assert_eq!(plain_number(f64::INFINITY), "Infinity");
    }

    #[test]
    fn durations_use_the_largest_fitting_units() {
        assert_eq!(duration_words(45 * SECOND_MS), "45 seconds");
        assert_eq!(duration_words(MINUTE_MS), "1 minute");
        assert_eq!(duration_words(5 * MINUTE_MS + 20 * SECOND_MS), "5 minutes");
        assert_eq!(duration_words(6 * HOUR_MS), "6 hours");
        assert_eq!(duration_words(HOUR_MS + 30 * MINUTE_MS), "1 hour 30 minutes");
        assert_eq!(duration_words(3 * DAY_MS + HOUR_MS), "3 days");
        assert_eq!(duration_words(-5), "0 seconds");
    }

    #[test]
    fn waits_are_rounded_up_to_whole_minutes_past_one_minute() {
        assert_eq!(wait_words(240), "4 minutes");
        assert_eq!(wait_words(30), "30 seconds");
        assert_eq!(wait_words(1), "1 second");
        assert_eq!(wait_words(0), "1 second");
        assert_eq!(wait_words(60), "1 minute");
        assert_eq!(wait_words(61), "2 minutes");
        assert_eq!(wait_words(230), "4 minutes");
        assert_eq!(wait_words(3_600), "1 hour");
    }

    #[test]
    fn server_messages_become_sentences() {
        assert_eq!(
            as_sentence("the password must have at least 12 characters"),
            "The password must have at least 12 characters."
        );
        assert_eq!(as_sentence("Already one."), "Already one.");
        assert_eq!(as_sentence("  "), "");
    }

    #[test]
    fn clock_pads_hours_and_minutes() {
        assert_eq!(clock(9, 5), "09:05");
        assert_eq!(clock(14, 30), "14:30");
    }

    #[test]
    fn current_data_reads_as_updated_at_a_time() {
        let answered = 1_700_000_000_000;
        let freshness = freshness_words(answered - 30 * SECOND_MS, answered, "14:05");
        assert_eq!(
            freshness,
            Freshness {
                words: "Updated 14:05".into(),
                stale: false
            }
        );
    }

    #[test]
    fn late_data_says_how_old_it_is() {
        let answered = 1_700_000_000_000;
        let freshness = freshness_words(answered - 12 * MINUTE_MS, answered, "14:05");
        assert_eq!(freshness.words, "Updated 14:05 · newest data is 12 minutes old");
        assert!(freshness.stale);
    }

    #[test]
    fn missing_data_time_is_not_called_late() {
        assert!(!freshness_words(0, 1_700_000_000_000, "14:05").stale);
    }
}
