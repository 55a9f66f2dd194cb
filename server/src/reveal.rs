//! Reveal references: how an answer points at a masked log line or span, so that an engineer
//! can ask for it whole, with a reason, without the server keeping any patient data to do so.
//!
//! A reference only locates: a log line by its stream selector, time and the digest of its
//! masked text; a span by its trace and span ids. A reveal asks the source again within the
//! caller's scope, so a reference made up by hand shows nothing its maker could not already
//! find, and every reveal is on the audit trail with its reason.

use std::fmt;

use sha2::{Digest, Sha256};
use vitals_api::{LogLine, Span};

use crate::masking::Masker;

/// Where a masked item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevealRef {
    /// A log line: in a stream `selector` matches, at `time` (nanoseconds), whose masked text
    /// has this digest.
    Line {
        time: i64,
        digest: String,
        selector: String,
    },
    /// A span of a trace.
    Span { trace_id: String, span_id: String },
}

/// Hex digits of a line digest: enough to tell apart the lines of one stream at one instant.
const DIGEST_HEX: usize = 16;
/// Longest reference read; a stream selector is short.
const MAX_REF_CHARS: usize = 2_048;

impl RevealRef {
    /// The reference of a masked line found by a query with this stream selector.
    pub fn line(selector: &str, line: &LogLine) -> Self {
        RevealRef::Line {
            time: line.time,
            digest: digest(&line.line),
            selector: selector.to_owned(),
        }
    }

    /// Reads a reference an answer carried; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let unchanged = "send the reveal_ref an answer carried, unchanged";
        if text.chars().count() > MAX_REF_CHARS {
            return Err(format!("is longer than {MAX_REF_CHARS} characters; {unchanged}"));
        }
        match text.split_once(':') {
            Some(("line", rest)) => {
                let mut parts = rest.splitn(3, ':');
                let (Some(time), Some(digest), Some(selector)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!(
                        "names a log line without its time, digest and stream; {unchanged}"
                    ));
                };
                let time = time.parse::<i64>().map_err(|_| {
                    format!("names a log line at \"{time}\", which is not a time in nanoseconds; {unchanged}")
                })?;
                let hex = digest.len() == DIGEST_HEX && digest.bytes().all(|b| b.is_ascii_hexdigit());
                let stream = selector.starts_with('{') && selector.ends_with('}');
                if !hex || !stream {
                    return Err(format!(
                        "names a log line in a way Vitals does not write; {unchanged}"
                    ));
                }
                Ok(RevealRef::Line {
                    time,
                    digest: digest.to_ascii_lowercase(),
                    selector: selector.to_owned(),
                })
            }
            Some(("span", rest)) => match rest.split_once(':') {
                Some((trace_id, span_id)) if !trace_id.is_empty() && !span_id.is_empty() => {
                    Ok(RevealRef::Span {
                        trace_id: trace_id.to_owned(),
                        span_id: span_id.to_owned(),
                    })
                }
                _ => Err(format!(
                    "names a span without its trace and span ids; {unchanged}"
                )),
            },
            _ => Err(format!(
                "is neither a log line's nor a span's reference; {unchanged}"
            )),
        }
    }

    /// What the audit trail says was shown: where, never what.
    pub fn describe(&self) -> String {
        match self {
            RevealRef::Line { time, selector, .. } => {
                format!("log line of {selector} at {} ms", time.div_euclid(1_000_000))
            }
            RevealRef::Span { trace_id, span_id } => format!("span {span_id} of trace {trace_id}"),
        }
    }
}

impl fmt::Display for RevealRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevealRef::Line {
                time,
                digest,
                selector,
            } => write!(f, "line:{time}:{digest}:{selector}"),
            RevealRef::Span { trace_id, span_id } => write!(f, "span:{trace_id}:{span_id}"),
        }
    }
}

/// The digest of a line's masked text, which names no patient detail.
pub fn digest(masked: &str) -> String {
    let hash = Sha256::digest(masked.as_bytes());
    hash[..DIGEST_HEX / 2]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Masks lines a log query with this text found, giving each masked one its reference.
pub fn mask_lines(masker: &Masker, query: &str, lines: &mut [LogLine]) {
    let selector = stream_selector(query);
    for line in lines {
        if masker.mask_log_line(line) {
            line.reveal_ref = selector.map(|selector| RevealRef::line(selector, line).to_string());
        }
    }
}

/// Masks spans, giving each masked one its reference.
pub fn mask_spans<'s>(masker: &Masker, spans: impl IntoIterator<Item = &'s mut Span>) {
    for span in spans {
        if masker.mask_span(span) {
            span.reveal_ref = Some(
                RevealRef::Span {
                    trace_id: span.trace_id.clone(),
                    span_id: span.span_id.clone(),
                }
                .to_string(),
            );
        }
    }
}

/// The stream selector a log query starts with (`{service="login-api"}`), quotes respected;
/// `None` for a metric query, whose answer carries no lines.
pub fn stream_selector(query: &str) -> Option<&str> {
    let trimmed = query.trim_start();
    let offset = query.len() - trimmed.len();
    let bytes = trimmed.as_bytes();
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let mut quote: Option<u8> = None;
    let mut at = 1;
    while at < bytes.len() {
        let byte = bytes[at];
        match quote {
            Some(b'"') if byte == b'\\' => at += 1,
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None if byte == b'"' || byte == b'`' => quote = Some(byte),
            None if byte == b'}' => return Some(&query[offset..offset + at + 1]),
            None => {}
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_back_as_written() {
        let refs = [
            RevealRef::Line {
                time: 1_767_225_600_123_456_789,
                digest: "00ff00ff00ff00ff".into(),
                selector: r#"{service="login-api", path=~"/a:b}"}"#.into(),
            },
            RevealRef::Span {
                trace_id: "1-5f84c7a1-0123456789abcdef01234567".into(),
                span_id: "53995c3f42cd8ad8".into(),
            },
        ];
        for reference in refs {
            assert_eq!(RevealRef::parse(&reference.to_string()), Ok(reference));
        }
    }

    #[test]
    fn made_up_references_are_refused_with_a_reason() {
        for (text, says) in [
            ("", "neither a log line's nor a span's"),
            ("row:1:2", "neither"),
            (
                "line:soon:00ff00ff00ff00ff:{a=\"b\"}",
                "not a time in nanoseconds",
            ),
            ("line:1:xyz:{a=\"b\"}", "does not write"),
            ("line:1:00ff00ff00ff00ff:a=b", "does not write"),
            ("line:1", "without its time"),
            (
                "span:1-5f84c7a1-0123456789abcdef01234567",
                "without its trace and span ids",
            ),
        ] {
            let error = RevealRef::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
        assert!(
            RevealRef::parse(&"line:1:".repeat(1_000))
                .unwrap_err()
                .contains("longer than")
        );
    }

    #[test]
    fn the_stream_selector_is_the_leading_braces_with_quotes_respected() {
        for (query, selector) in [
            (
                r#"{service="login-api"} |= "x""#,
                Some(r#"{service="login-api"}"#),
            ),
            (r#"  {a="}", b=~`{.*}`} | json"#, Some(r#"{a="}", b=~`{.*}`}"#)),
            (r#"{a="\"}"} != "b""#, Some(r#"{a="\"}"}"#)),
            (r#"sum(count_over_time({a="b"}[5m]))"#, None),
            (r#"{a="b""#, None),
        ] {
            assert_eq!(stream_selector(query), selector, "{query}");
        }
    }

    #[test]
    fn masked_lines_carry_a_reference_and_clean_lines_none() {
        let masker = Masker::default();
        let line = |text: &str| LogLine {
            time: 7,
            labels: Default::default(),
            line: text.to_owned(),
            fields: Default::default(),
            reveal_ref: None,
        };
        let mut lines = vec![
            line("registered patient_name=\"Ada Lovelace\" mrn=MRN-0042"),
            line("ready"),
        ];
        mask_lines(&masker, r#"{service="patient-registration"}"#, &mut lines);
        let reference = RevealRef::parse(lines[0].reveal_ref.as_deref().unwrap()).unwrap();
        assert_eq!(
            reference,
            RevealRef::Line {
                time: 7,
                digest: digest(&lines[0].line),
                selector: r#"{service="patient-registration"}"#.into()
            }
        );
        assert!(!lines[0].line.contains("Ada"));
        assert_eq!(lines[1].reveal_ref, None);
        assert!(!reference.describe().contains("Ada"));
    }
}
