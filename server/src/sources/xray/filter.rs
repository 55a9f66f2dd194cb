//! X-Ray filter expressions: built from structured fields with checked names and quoted values, or taken as typed and checked.
//!
//! The API's search box takes a raw X-Ray expression, passed through after a
//! length and control-character check: X-Ray itself is the parser, and its
//! `InvalidRequestException` message goes back to the user. [`TraceFilter`]
//! is for the pages that offer fields rather than a box.

use vitals_api::SpanStatus;

use vitals_api::query_limits::QueryLimits;

/// The longest filter this server sends; a longer one is a paste gone wrong.
pub const MAX_FILTER_CHARS: usize = 2_000;
/// X-Ray's limit on a service (segment) name.
const MAX_SERVICE_NAME_CHARS: usize = 200;
/// X-Ray's limit on an annotation key.
const MAX_ANNOTATION_KEY_CHARS: usize = 500;
/// Symbols X-Ray allows in a segment name besides letters, digits and spaces.
const SERVICE_NAME_SYMBOLS: &str = "_.:/%&#=+\\-@";

/// A trace search in fields; every field that is set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFilter {
    /// Traces that pass through this service (`service("login-api")`).
    pub service: Option<String>,
    /// Traces with this outcome somewhere (`ok`, `error`, `fault`, `throttle`).
    pub status: Option<SpanStatus>,
    /// Traces whose root took longer than this many seconds.
    pub min_duration_s: Option<f64>,
    /// Traces whose root took less than this many seconds.
    pub max_duration_s: Option<f64>,
    /// Annotations with exactly this string value (`annotation.clinic = "north"`).
    pub annotations: Vec<(String, String)>,
    /// The request's HTTP status (`http.status = 404`).
    pub http_status: Option<u16>,
    /// Text the request URL contains (`http.url CONTAINS "/login"`).
    pub path: Option<String>,
    /// An X-Ray expression of the user's own, joined to the rest with AND.
    pub raw: Option<String>,
}

/// Why a filter cannot be sent to X-Ray. Each message says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "\"{0}\" is not an X-Ray service name: use up to 200 letters, digits, spaces and _ . : / % & # = + \\ - @"
    )]
    BadServiceName(String),
    #[error(
        "\"{0}\" is not an annotation key: X-Ray filters match keys of letters, digits and underscores only"
    )]
    BadAnnotationKey(String),
    #[error("the value of annotation {key} contains a control character; remove it")]
    BadAnnotationValue { key: String },
    #[error("the {field} duration is {value}; use a number of seconds, 0 or more")]
    BadDuration { field: &'static str, value: f64 },
    #[error("the minimum duration ({min} s) is above the maximum ({max} s); swap them")]
    EmptyDurationRange { min: f64, max: f64 },
    #[error("the filter is {chars} characters long, above the limit of {MAX_FILTER_CHARS}; shorten it")]
    TooLong { chars: usize },
    /// The sentence of [`QueryLimits::check`], which names the limit.
    #[error("{0}")]
    TooDeep(String),
    #[error("the filter contains a control character (U+{0:04X}); remove it")]
    ControlCharacter(u32),
    #[error("the HTTP status is {0}; use a status from 100 to 599, such as 404")]
    BadHttpStatus(u16),
    #[error("the path is empty or contains a control character; write part of a URL, such as /login")]
    BadPath,
}

impl TraceFilter {
    /// The X-Ray filter expression, fields joined with AND; empty when no field is set.
    pub fn to_expression(&self) -> Result<String, FilterError> {
        let mut terms = Vec::new();
        if let Some(service) = &self.service {
            check_service_name(service)?;
            terms.push(format!("service({})", quote(service)));
        }
        if let Some(status) = self.status {
            terms.push(status_keyword(status).to_owned());
        }
        let min = self
            .min_duration_s
            .map(|s| checked_seconds("minimum", s))
            .transpose()?;
        let max = self
            .max_duration_s
            .map(|s| checked_seconds("maximum", s))
            .transpose()?;
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(FilterError::EmptyDurationRange { min, max });
        }
        if let Some(min) = min {
            terms.push(format!("responsetime > {min}"));
        }
        if let Some(max) = max {
            terms.push(format!("responsetime < {max}"));
        }
        if let Some(status) = self.http_status {
            if !(100..=599).contains(&status) {
                return Err(FilterError::BadHttpStatus(status));
            }
            terms.push(format!("http.status = {status}"));
        }
        if let Some(path) = &self.path {
            if path.trim().is_empty() || path.chars().any(char::is_control) {
                return Err(FilterError::BadPath);
            }
            terms.push(format!("http.url CONTAINS {}", quote(path.trim())));
        }
        for (key, value) in &self.annotations {
            check_annotation_key(key)?;
            if value.chars().any(char::is_control) {
                return Err(FilterError::BadAnnotationValue { key: key.clone() });
            }
            terms.push(format!("annotation.{key} = {}", quote(value)));
        }
        if let Some(raw) = self.raw.as_deref().map(filter_expression).transpose()?.flatten() {
            // Parentheses keep an OR inside the user's part from swallowing the fields before it.
            terms.push(if terms.is_empty() { raw } else { format!("({raw})") });
        }
        let expression = terms.join(" AND ");
        check_shape(&expression)?;
        Ok(expression)
    }
}

/// The filter the search API received, ready for X-Ray: `None` when empty,
/// else the trimmed text once it is of sane length and free of control
/// characters (tabs and line breaks are spaces to X-Ray and pass).
pub fn filter_expression(text: &str) -> Result<Option<String>, FilterError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    check_shape(text)?;
    if let Some(control) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(FilterError::ControlCharacter(u32::from(control)));
    }
    Ok(Some(text.to_owned()))
}

/// Refuses a filter too long, or nested too deep for any parser down the line.
fn check_shape(text: &str) -> Result<(), FilterError> {
    let chars = text.chars().count();
    if chars > MAX_FILTER_CHARS {
        return Err(FilterError::TooLong { chars });
    }
    QueryLimits::CEILING.check(text).map_err(FilterError::TooDeep)
}

/// A string literal of the filter language: in double quotes, with `\` and `"` escaped.
fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

fn status_keyword(status: SpanStatus) -> &'static str {
    match status {
        SpanStatus::Ok => "ok",
        SpanStatus::Error => "error",
        SpanStatus::Fault => "fault",
        SpanStatus::Throttle => "throttle",
    }
}

fn checked_seconds(field: &'static str, value: f64) -> Result<f64, FilterError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(FilterError::BadDuration { field, value })
    }
}

fn check_service_name(name: &str) -> Result<(), FilterError> {
    let allowed = |c: char| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || SERVICE_NAME_SYMBOLS.contains(c)
    };
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_SERVICE_NAME_CHARS || !name.chars().all(allowed) {
        return Err(FilterError::BadServiceName(name.to_owned()));
    }
    Ok(())
}

/// Whether X-Ray can index and filter on an annotation with this key.
pub(crate) fn is_annotation_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_ANNOTATION_KEY_CHARS
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_annotation_key(key: &str) -> Result<(), FilterError> {
    if is_annotation_key(key) {
        Ok(())
    } else {
        Err(FilterError::BadAnnotationKey(key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expression(filter: TraceFilter) -> String {
        filter.to_expression().unwrap()
    }

    #[test]
    fn a_deeply_nested_filter_is_refused_before_x_ray_sees_it() {
        let raw = format!("{}ok{}", "(".repeat(900), ")".repeat(900));
        let error = filter_expression(&raw).unwrap_err();
        assert!(error.to_string().contains("levels deep; flatten it"), "{error}");
        let built = TraceFilter {
            raw: Some(raw),
            ..TraceFilter::default()
        };
        assert!(matches!(built.to_expression(), Err(FilterError::TooDeep(_))));
    }

    #[test]
    fn an_empty_filter_is_an_empty_expression() {
        assert_eq!(expression(TraceFilter::default()), "");
    }

    #[test]
    fn each_field_becomes_its_own_term() {
        let cases = [
            (
                TraceFilter {
                    service: Some("login-api".into()),
                    ..TraceFilter::default()
                },
                r#"service("login-api")"#,
            ),
            (
                TraceFilter {
                    status: Some(SpanStatus::Fault),
                    ..TraceFilter::default()
                },
                "fault",
            ),
            (
                TraceFilter {
                    status: Some(SpanStatus::Throttle),
                    ..TraceFilter::default()
                },
                "throttle",
            ),
            (
                TraceFilter {
                    min_duration_s: Some(1.5),
                    ..TraceFilter::default()
                },
                "responsetime > 1.5",
            ),
            (
                TraceFilter {
                    max_duration_s: Some(2.0),
                    ..TraceFilter::default()
                },
                "responsetime < 2",
            ),
            (
                TraceFilter {
                    annotations: vec![("clinic".into(), "north".into())],
                    ..TraceFilter::default()
                },
                r#"annotation.clinic = "north""#,
            ),
            (
                TraceFilter {
                    raw: Some("  http.status = 404 OR error ".into()),
                    ..TraceFilter::default()
                },
                "http.status = 404 OR error",
            ),
        ];
        for (filter, want) in cases {
            assert_eq!(expression(filter), want);
        }
    }

    #[test]
    fn fields_are_joined_with_and_and_raw_is_parenthesised() {
        let filter = TraceFilter {
            service: Some("login-api".into()),
            status: Some(SpanStatus::Fault),
            min_duration_s: Some(1.5),
            max_duration_s: Some(10.0),
            annotations: vec![
                ("clinic".into(), "north".into()),
                ("shift_2".into(), "late".into()),
            ],
            http_status: Some(404),
            path: Some(" /login ".into()),
            raw: Some("http.status = 404 OR ok".into()),
        };
        assert_eq!(
            expression(filter),
            r#"service("login-api") AND fault AND responsetime > 1.5 AND responsetime < 10 AND http.status = 404 AND http.url CONTAINS "/login" AND annotation.clinic = "north" AND annotation.shift_2 = "late" AND (http.status = 404 OR ok)"#
        );
    }

    #[test]
    fn a_status_or_path_that_cannot_match_is_refused() {
        let status = TraceFilter {
            http_status: Some(42),
            ..TraceFilter::default()
        };
        assert_eq!(status.to_expression(), Err(FilterError::BadHttpStatus(42)));
        let path = TraceFilter {
            path: Some("  ".into()),
            ..TraceFilter::default()
        };
        assert_eq!(path.to_expression(), Err(FilterError::BadPath));
    }

    #[test]
    fn quotes_and_backslashes_in_values_are_escaped() {
        let filter = TraceFilter {
            service: Some(r"domain\svc".into()),
            annotations: vec![("key".into(), r#"say "hi" \o/"#.into())],
            ..TraceFilter::default()
        };
        assert_eq!(
            expression(filter),
            r#"service("domain\\svc") AND annotation.key = "say \"hi\" \\o/""#
        );
    }

    #[test]
    fn bad_annotation_keys_are_refused() {
        for key in ["", "clinic.name", "clinic name", "clinic\"", "klinik-nord", "ä"] {
            let filter = TraceFilter {
                annotations: vec![(key.into(), "x".into())],
                ..TraceFilter::default()
            };
            assert_eq!(
                filter.to_expression(),
                Err(FilterError::BadAnnotationKey(key.into())),
                "{key:?}"
            );
        }
        let control_value = TraceFilter {
            annotations: vec![("clinic".into(), "north\u{0}".into())],
            ..TraceFilter::default()
        };
        assert!(matches!(
            control_value.to_expression(),
            Err(FilterError::BadAnnotationValue { .. })
        ));
    }

    #[test]
    fn bad_service_names_and_durations_are_refused() {
        for name in ["", "   ", "login\"api", "login\napi", &"x".repeat(201)] {
            let filter = TraceFilter {
                service: Some(name.into()),
                ..TraceFilter::default()
            };
            assert!(
                matches!(filter.to_expression(), Err(FilterError::BadServiceName(_))),
                "{name:?}"
            );
        }
        for seconds in [-1.0, f64::NAN, f64::INFINITY] {
            let filter = TraceFilter {
                min_duration_s: Some(seconds),
                ..TraceFilter::default()
            };
            assert!(matches!(
                filter.to_expression(),
                Err(FilterError::BadDuration { .. })
            ));
        }
        let inverted = TraceFilter {
            min_duration_s: Some(3.0),
            max_duration_s: Some(1.0),
            ..TraceFilter::default()
        };
        assert_eq!(
            inverted.to_expression(),
            Err(FilterError::EmptyDurationRange { min: 3.0, max: 1.0 })
        );
    }

    #[test]
    fn typed_filters_pass_through_when_sane() {
        assert_eq!(filter_expression("").unwrap(), None);
        assert_eq!(filter_expression("  \n ").unwrap(), None);
        assert_eq!(
            filter_expression(" service(\"login-api\")\n AND fault ")
                .unwrap()
                .as_deref(),
            Some("service(\"login-api\")\n AND fault")
        );
        assert_eq!(
            filter_expression("fault\u{7}"),
            Err(FilterError::ControlCharacter(7))
        );
        let long = "ok OR ".repeat(400) + "ok";
        assert!(matches!(
            filter_expression(&long),
            Err(FilterError::TooLong { .. })
        ));
    }
}
