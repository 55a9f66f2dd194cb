//! An explanation in one sentence: when the failures began, how many failed, and the cause the
//! evidence shows, in words a clinic manager reads. Pure.

use time::OffsetDateTime;
use time::macros::format_description;

/// The part of a failure's share people say: "almost every login", "about 2 logins in 3",
/// "about one login in 10", "about 4% of logins".
pub fn share_words(share: f64, noun: (&str, &str)) -> String {
    let (one, many) = noun;
    if share >= 0.95 {
        return format!("almost every {one}");
    }
    if share < 0.1 {
        let percent = (share * 100.0).round().max(1.0);
        return format!("about {percent:.0}% of {many}");
    }
    // The simplest fraction people say within two points of the share: 1 in 2 before 5 in 10.
    let (part, whole) = [2, 3, 4, 5, 10]
        .into_iter()
        .flat_map(|whole: u32| (1..whole).map(move |part| (part, whole)))
        .find(|&(part, whole)| (f64::from(part) / f64::from(whole) - share).abs() <= 0.02)
        .unwrap_or_else(|| {
            let whole = 10;
            ((share * 10.0).round().clamp(1.0, 9.0) as u32, whole)
        });
    if part == 1 {
        format!("about one {one} in {whole}")
    } else {
        format!("about {part} {many} in {whole}")
    }
}

/// A moment as a sentence says it beside `today_ms`: "14:40 UTC" on the same day (UTC),
/// "23 Nov 22:41 UTC" on another.
pub fn clock_beside(ms: i64, today_ms: i64) -> String {
    if ms.div_euclid(DAY_MS) == today_ms.div_euclid(DAY_MS) {
        clock(ms)
    } else {
        crate::dashboards::words::moment(ms)
    }
}

const DAY_MS: i64 = 86_400_000;

/// A time of day as a sentence says it: "14:40 UTC".
pub fn clock(ms: i64) -> String {
    let format = format_description!("[hour]:[minute] UTC");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// An error name without its `Exception` or `Error` ending: "ResourceNotFound".
pub fn short_error(error: &str) -> &str {
    error
        .strip_suffix("Exception")
        .or_else(|| error.strip_suffix("Error"))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(error)
}

/// What a service's calls to `target` failing with `error` mean, in the present or the past:
/// "cannot find a record in DynamoDB", "could not find a record in DynamoDB".
pub fn failure_words(error: Option<&str>, target: &str, ongoing: bool) -> String {
    let error = error.unwrap_or_default().to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| error.contains(word));
    let (now, then) = if has(&["notfound", "nosuch"]) {
        ("cannot find a record in", "could not find a record in")
    } else if has(&[
        "throttl",
        "throughputexceeded",
        "toomanyrequests",
        "ratelimit",
        "limitexceeded",
    ]) {
        ("is being held back by", "was held back by")
    } else if has(&["accessdenied", "unauthorized", "forbidden", "notauthorized"]) {
        ("is not allowed to use", "was not allowed to use")
    } else if has(&["timeout", "timedout"]) {
        ("gets no answer in time from", "got no answer in time from")
    } else if has(&["unavailable", "internalserver", "internalfailure"]) {
        ("finds unavailable", "found unavailable")
    } else {
        ("gets errors from", "got errors from")
    };
    format!("{} {target}", if ongoing { now } else { then })
}

/// What the evidence says, as much as it says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cause<'a> {
    pub service: &'a str,
    /// The dependency whose failures rose, and its failed calls.
    pub dependency: Option<(&'a str, u64)>,
    /// The failing span's operation and error, when it calls that dependency (or there is none).
    pub operation: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The words of the failures' log pattern.
    pub pattern: Option<&'a str>,
}

/// The whole sentence, its times said as seen on `now_ms`'s day.
pub fn sentence(
    since_ms: i64,
    until_ms: Option<i64>,
    share: f64,
    noun: (&str, &str),
    cause: &Cause<'_>,
    now_ms: i64,
) -> String {
    let ongoing = until_ms.is_none();
    let since = clock_beside(since_ms, now_ms);
    let when = match until_ms {
        None => format!("Since {since}"),
        Some(until) => format!("From {since} to {}", clock_beside(until, since_ms)),
    };
    let verb = if ongoing { "fails" } else { "failed" };
    let symptom = format!("{when}, {} {verb}", share_words(share, noun));
    let because = match (cause.dependency, cause.operation, cause.error) {
        (Some((target, failed)), operation, error) => {
            let what = failure_words(error, target, ongoing);
            let times = count_words(failed, ongoing);
            match (operation, error) {
                (Some(operation), Some(error)) => {
                    let answers = if ongoing { "answers" } else { "answered" };
                    format!(
                        "{} {what} ({operation} {answers} {}; {times})",
                        cause.service,
                        short_error(error)
                    )
                }
                _ => format!("{} {what} ({times})", cause.service),
            }
        }
        (None, Some(operation), Some(error)) => {
            let fail = if ongoing { "fail" } else { "failed" };
            format!(
                "{}'s failing requests {fail} at {operation} ({})",
                cause.service,
                short_error(error)
            )
        }
        _ => match cause.pattern {
            Some(pattern) => {
                let are = if ongoing { "are" } else { "were" };
                format!("most of {}'s failures {are} logged as '{pattern}'", cause.service)
            }
            None => {
                return format!(
                    "{symptom}. Vitals found no cause in {}'s traces or logs.",
                    cause.service
                );
            }
        },
    };
    format!("{symptom}: {because}.")
}

/// "412 times", "412 times so far", "once".
fn count_words(count: u64, ongoing: bool) -> String {
    let times = match count {
        1 => "once".to_owned(),
        count => format!("{} times", crate::dashboards::words::grouped(count as i64)),
    };
    if ongoing { format!("{times} so far") } else { times }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24 14:40 UTC.
    const AT_1440: i64 = 1_795_531_200_000;
    const LOGIN: (&str, &str) = ("login", "logins");

    fn getitem() -> Cause<'static> {
        Cause {
            service: "login-api",
            dependency: Some(("DynamoDB", 412)),
            operation: Some("GetItem"),
            error: Some("ResourceNotFoundException"),
            pattern: Some("GetItem failed"),
        }
    }

    #[test]
    fn shares_read_as_simple_fractions() {
        assert_eq!(share_words(0.7, LOGIN), "about 7 logins in 10");
        assert_eq!(share_words(0.667, LOGIN), "about 2 logins in 3");
        assert_eq!(share_words(0.34, LOGIN), "about one login in 3");
        assert_eq!(share_words(0.5, LOGIN), "about one login in 2");
        assert_eq!(share_words(0.98, LOGIN), "almost every login");
        assert_eq!(share_words(0.04, LOGIN), "about 4% of logins");
        assert_eq!(share_words(0.001, LOGIN), "about 1% of logins");
    }

    #[test]
    fn an_ongoing_failure_with_all_its_evidence() {
        assert_eq!(
            sentence(AT_1440, None, 0.34, LOGIN, &getitem(), AT_1440),
            "Since 14:40 UTC, about one login in 3 fails: login-api cannot find a record in DynamoDB \
             (GetItem answers ResourceNotFound; 412 times so far)."
        );
    }

    #[test]
    fn a_past_failure_is_told_in_the_past() {
        assert_eq!(
            sentence(AT_1440, Some(AT_1440 + 600_000), 0.7, LOGIN, &getitem(), AT_1440),
            "From 14:40 UTC to 14:50 UTC, about 7 logins in 10 failed: login-api could not find a record \
             in DynamoDB (GetItem answered ResourceNotFound; 412 times)."
        );
    }

    #[test]
    fn less_evidence_says_less_and_none_invents_nothing() {
        let dependency_only = Cause {
            operation: None,
            error: None,
            dependency: Some(("DynamoDB", 1)),
            ..getitem()
        };
        assert_eq!(
            sentence(AT_1440, None, 0.5, LOGIN, &dependency_only, AT_1440),
            "Since 14:40 UTC, about one login in 2 fails: login-api gets errors from DynamoDB (once so far)."
        );
        let span_only = Cause {
            dependency: None,
            ..getitem()
        };
        assert_eq!(
            sentence(AT_1440, None, 0.5, LOGIN, &span_only, AT_1440),
            "Since 14:40 UTC, about one login in 2 fails: login-api's failing requests fail at GetItem \
             (ResourceNotFound)."
        );
        let pattern_only = Cause {
            service: "login-api",
            pattern: Some("GetItem failed"),
            ..Cause::default()
        };
        assert!(
            sentence(AT_1440, None, 0.5, LOGIN, &pattern_only, AT_1440)
                .ends_with("most of login-api's failures are logged as 'GetItem failed'.")
        );
        let nothing = Cause {
            service: "login-api",
            ..Cause::default()
        };
        assert_eq!(
            sentence(AT_1440, Some(AT_1440 + 60_000), 0.5, LOGIN, &nothing, AT_1440),
            "From 14:40 UTC to 14:41 UTC, about one login in 2 failed. Vitals found no cause in login-api's \
             traces or logs."
        );
    }

    #[test]
    fn a_failure_of_another_day_says_its_day() {
        let yesterday = AT_1440 - 16 * 3_600_000;
        let said = sentence(
            yesterday,
            Some(yesterday + 180_000),
            0.98,
            LOGIN,
            &getitem(),
            AT_1440,
        );
        assert!(
            said.starts_with("From 23 Nov 22:40 UTC to 22:43 UTC, almost every login failed"),
            "{said}"
        );
        let overnight = sentence(
            AT_1440 - 5 * 3_600_000,
            Some(AT_1440),
            0.5,
            LOGIN,
            &getitem(),
            AT_1440,
        );
        assert!(
            overnight.starts_with("From 09:40 UTC to 14:40 UTC"),
            "{overnight}"
        );
    }

    #[test]
    fn error_names_become_plain_words() {
        assert_eq!(
            failure_words(Some("ProvisionedThroughputExceededException"), "DynamoDB", true),
            "is being held back by DynamoDB"
        );
        assert_eq!(
            failure_words(Some("AccessDeniedException"), "SQS", false),
            "was not allowed to use SQS"
        );
        assert_eq!(
            failure_words(Some("ReadTimeout"), "Cognito", true),
            "gets no answer in time from Cognito"
        );
        assert_eq!(failure_words(None, "S3", true), "gets errors from S3");
        assert_eq!(short_error("ResourceNotFoundException"), "ResourceNotFound");
        assert_eq!(short_error("Exception"), "Exception");
    }
}
