//! What the page can tell of a query's syntax before sending it: strings left open, brackets
//! that do not pair, and a LogQL query that does not start with its stream selector or a
//! function, each with the place it is wrong. The server (and Loki or Prometheus behind it)
//! still decides; this answers while the person types.

use vitals_api::TextSpan;

/// A syntax problem and where it is, in characters.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxProblem {
    pub message: String,
    pub at: TextSpan,
}

fn problem(message: impl Into<String>, start: usize, end: usize) -> SyntaxProblem {
    SyntaxProblem {
        message: message.into(),
        at: TextSpan {
            start: start as u32,
            end: end as u32,
        },
    }
}

/// Strings and brackets: every quote closed, every bracket closed by its partner.
pub fn bracket_problem(text: &str) -> Option<SyntaxProblem> {
    let chars: Vec<char> = text.chars().collect();
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        match c {
            '"' | '`' | '\'' => {
                let quote = c;
                let start = at;
                at += 1;
                loop {
                    match chars.get(at) {
                        None => {
                            return Some(problem(
                                format!("this string is never closed: end it with {quote}"),
                                start,
                                chars.len(),
                            ));
                        }
                        Some('\\') if quote != '`' => at += 2,
                        Some(c) if *c == quote => break,
                        Some(_) => at += 1,
                    }
                }
            }
            '#' => {
                // A comment runs to the end of the line.
                while at < chars.len() && chars[at] != '\n' {
                    at += 1;
                }
            }
            '(' | '[' | '{' => open.push((c, at)),
            ')' | ']' | '}' => {
                let wanted = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match open.pop() {
                    Some((opened, _)) if opened == wanted => {}
                    Some((opened, start)) => {
                        return Some(problem(
                            format!(
                                "{c} closes the {opened} opened at character {}, which needs {} first",
                                start + 1,
                                closer(opened)
                            ),
                            at,
                            at + 1,
                        ));
                    }
                    None => {
                        return Some(problem(
                            format!("{c} closes nothing: remove it, or open it first"),
                            at,
                            at + 1,
                        ));
                    }
                }
            }
            _ => {}
        }
        at += 1;
    }
    open.pop().map(|(opened, start)| {
        problem(
            format!(
                "this {opened} is never closed: add {} after what it holds",
                closer(opened)
            ),
            start,
            start + 1,
        )
    })
}

fn closer(opened: char) -> char {
    match opened {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// LogQL's functions that may start a metric query.
pub const LOGQL_FUNCTIONS: [&str; 22] = [
    "avg",
    "avg_over_time",
    "bottomk",
    "bytes_over_time",
    "bytes_rate",
    "count",
    "count_over_time",
    "first_over_time",
    "last_over_time",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "quantile_over_time",
    "rate",
    "rate_counter",
    "sort",
    "sort_desc",
    "stddev",
    "stdvar",
    "sum",
    "topk",
];

/// A LogQL query's problem: brackets and strings first, then its start, which must be a stream
/// selector (`{service="login-api"}`) or a function over one.
pub fn logql_problem(text: &str) -> Option<SyntaxProblem> {
    if let Some(found) = bracket_problem(text) {
        return Some(found);
    }
    let skipped = text.chars().take_while(|c| c.is_whitespace()).count();
    let rest: String = text.chars().skip(skipped).collect();
    if rest.is_empty() || rest.starts_with('{') {
        return None;
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if LOGQL_FUNCTIONS.contains(&word.as_str()) {
        return None;
    }
    let length = word.chars().count().max(1);
    Some(problem(
        format!(
            "a log query starts with a stream selector such as {{service=\"login-api\"}}, or a function such as count_over_time, not \"{}\"",
            if word.is_empty() {
                rest.chars().next().map(String::from).unwrap_or_default()
            } else {
                word
            }
        ),
        skipped,
        skipped + length,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(found: Option<SyntaxProblem>) -> Option<(u32, u32)> {
        found.map(|found| (found.at.start, found.at.end))
    }

    #[test]
    fn brackets_and_strings_are_checked_with_their_place() {
        let cases: [(&str, Option<(u32, u32)>); 9] = [
            (r#"sum(rate(x{a="b"}[5m]))"#, None),
            (r#"{service="login-api"} |= "a)b""#, None),
            (r#"{service="login-api"} |= "GetItem"#, Some((25, 33))),
            ("sum(rate(x[5m])", Some((3, 4))),
            ("sum(rate(x[5m)))", Some((13, 14))),
            ("x)", Some((1, 2))),
            (r#"{a="b\"c"}"#, None),
            ("{a=`b\\`}", None),
            ("sum(x) # a comment (", None),
        ];
        for (text, wanted) in cases {
            assert_eq!(at(bracket_problem(text)), wanted, "{text}");
        }
        let message = bracket_problem("sum(rate(x[5m)))").unwrap().message;
        assert!(message.contains("opened at character 11"), "{message}");
    }

    #[test]
    fn a_log_query_starts_with_a_selector_or_a_function() {
        assert_eq!(logql_problem(r#"  {service="records"}"#), None);
        assert_eq!(logql_problem(r#"count_over_time({a="b"}[5m])"#), None);
        assert_eq!(logql_problem(""), None);
        let found = logql_problem(r#"  service="records""#).unwrap();
        assert_eq!((found.at.start, found.at.end), (2, 9));
        assert!(found.message.contains("stream selector"), "{}", found.message);
        assert_eq!(at(logql_problem(r#"|= "x""#)), Some((0, 1)));
    }
}
