//! The trace explorer: search with a scatter of durations, one trace's waterfall (whole, or a
//! huge one window by window), two traces compared, and the service map.

pub mod compare;
pub mod map;
pub mod search;
pub mod view;

use vitals_api::SpanStatus;

use crate::api::percent_encode;

/// How a span or trace ended, in a word, with a mark and a class: never colour alone.
pub fn status_words(status: SpanStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        SpanStatus::Ok => ("ok", "✓", "status-ok"),
        SpanStatus::Error => ("error (4xx)", "✖", "status-error"),
        SpanStatus::Fault => ("fault (5xx)", "✖", "status-fault"),
        SpanStatus::Throttle => ("throttled", "▲", "status-throttle"),
    }
}

/// A duration in nanoseconds, in the unit that reads best: `850 µs`, `12.4 ms`, `3.21 s`.
pub fn span_duration(ns: i64) -> String {
    let ns = ns.max(0) as f64;
    if ns < 1_000_000.0 {
        format!("{:.0} µs", ns / 1_000.0)
    } else if ns < 1_000_000_000.0 {
        let ms = ns / 1_000_000.0;
        if ms < 100.0 {
            format!("{ms:.1} ms")
        } else {
            format!("{ms:.0} ms")
        }
    } else if ns < 60_000_000_000.0 {
        format!("{:.2} s", ns / 1_000_000_000.0)
    } else {
        format!("{:.1} min", ns / 60_000_000_000.0)
    }
}

/// A count with its noun, thousands grouped: `1 service`, `10,000 spans`.
pub fn counted(count: u64, one: &str, many: &str) -> String {
    let number = crate::format::group_thousands(i64::try_from(count).unwrap_or(i64::MAX));
    format!("{number} {}", if count == 1 { one } else { many })
}

/// The address of one trace's view.
pub fn trace_url(id: &str) -> String {
    format!("/engineering/traces/{}", percent_encode(id))
}

/// The 32 hex digits of a trace id, as services write it in their log lines: an X-Ray id
/// (`1-5f84c7a1-…`) loses its version and dashes.
pub fn w3c_trace_id(id: &str) -> String {
    match id.trim().split('-').collect::<Vec<_>>().as_slice() {
        ["1", seconds, rest] if seconds.len() == 8 && rest.len() == 24 => format!("{seconds}{rest}"),
        _ => id.trim().to_owned(),
    }
    .to_ascii_lowercase()
}

/// A trace id as pasted, trimmed, if it has the shape of one: 32 hex digits (W3C) or
/// `1-xxxxxxxx-` and 24 more (X-Ray); otherwise what to write instead.
pub fn trace_id_of(text: &str) -> Result<String, String> {
    let text = text.trim();
    let hex = |part: &str, digits: usize| part.len() == digits && part.bytes().all(|b| b.is_ascii_hexdigit());
    let fits = match text.split('-').collect::<Vec<_>>().as_slice() {
        ["1", seconds, rest] => hex(seconds, 8) && hex(rest, 24),
        [whole] => hex(whole, 32),
        _ => false,
    };
    if fits {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "\"{text}\" is not a trace id: paste 32 hex digits, or an X-Ray id such as 1-5f84c7a1-0123456789abcdef01234567"
        ))
    }
}

/// The LogQL for every line that carries the trace's id.
pub fn trace_log_query(id: &str) -> String {
    format!(r#"{{service=~".+"}} |= "{}""#, w3c_trace_id(id))
}

/// The log view filtered to the lines that carry the trace's id, over the trace's own time
/// (a minute either side of `start..end`, in nanoseconds).
pub fn logs_for_trace(id: &str, start: i64, end: i64) -> String {
    const MINUTE_NS: i64 = 60_000_000_000;
    let query = trace_log_query(id);
    let instant = |ns: i64| crate::format::iso_time(ns.div_euclid(1_000_000));
    format!(
        "/engineering/logs?query={}&from={}&to={}",
        percent_encode(&query),
        percent_encode(&instant(start - MINUTE_NS)),
        percent_encode(&instant(end + MINUTE_NS))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        let cases = [
            (850_000, "850 µs"),
            (12_400_000, "12.4 ms"),
            (340_000_000, "340 ms"),
            (3_210_000_000, "3.21 s"),
            (90_000_000_000, "1.5 min"),
            (-5, "0 µs"),
        ];
        for (ns, words) in cases {
            assert_eq!(span_duration(ns), words);
        }
    }

    #[test]
    fn both_kinds_of_trace_id_open_and_anything_else_is_explained() {
        assert_eq!(
            trace_id_of(" 1-5f84c7a1-0123456789abcdef01234567 ").as_deref(),
            Ok("1-5f84c7a1-0123456789abcdef01234567")
        );
        assert!(trace_id_of("5f84c7a10123456789abcdef01234567").is_ok());
        for wrong in [
            "",
            "1-5f84c7a1-0123",
            "2-5f84c7a1-0123456789abcdef01234567",
            "zz84c7a10123456789abcdef01234567",
        ] {
            assert!(
                trace_id_of(wrong).unwrap_err().contains("is not a trace id"),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn counts_read_with_their_noun() {
        assert_eq!(counted(1, "service", "services"), "1 service");
        assert_eq!(counted(1_000_000, "span", "spans"), "1,000,000 spans");
        assert_eq!(counted(0, "level", "levels"), "0 levels");
    }

    #[test]
    fn xray_and_w3c_ids_both_find_the_lines_of_a_trace() {
        assert_eq!(
            w3c_trace_id("1-5F84C7A1-0123456789abcdef01234567"),
            "5f84c7a10123456789abcdef01234567"
        );
        assert_eq!(
            w3c_trace_id("5f84c7a10123456789abcdef01234567"),
            "5f84c7a10123456789abcdef01234567"
        );
        assert_eq!(
            trace_log_query("1-5f84c7a1-0123456789abcdef01234567"),
            r#"{service=~".+"} |= "5f84c7a10123456789abcdef01234567""#
        );
    }
}
