//! The small X-Ray filter-expression subset the demo's trace search understands.
//!
//! Supported: `service("name")`, the keywords `ok`, `error`, `fault` and
//! `throttle`, `responsetime`, `duration` (seconds) and `http.status`
//! compared with `=`, `!=`, `<`, `<=`, `>`, `>=`, joined with `AND`/`OR`
//! (either case, AND binding tighter) and parentheses.

use super::logql::Comparison;
use vitals_api::query_limits::{NESTING_CEILING, too_deep};

const SUPPORTED: &str = "the demo source's trace filter supports service(\"name\"), edge(\"from\", \"to\"), ok, error, fault, throttle, \
    responsetime, duration, http.status and http.url, joined with AND or OR";

/// What a filter can ask about one trace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TraceFacts<'a> {
    pub(crate) services: &'a [&'a str],
    /// No span ended in an error, fault or throttle.
    pub(crate) ok: bool,
    pub(crate) error: bool,
    pub(crate) fault: bool,
    pub(crate) throttle: bool,
    /// The root span's duration, in seconds.
    pub(crate) response_time_seconds: f64,
    /// From the first span's start to the last span's end, in seconds.
    pub(crate) duration_seconds: f64,
    pub(crate) http_status: Option<u16>,
    /// The path of the root request, such as `/login`.
    pub(crate) url: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    Ok,
    Error,
    Fault,
    Throttle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberField {
    ResponseTime,
    Duration,
    HttpStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    All,
    Service(String),
    /// A call from the first node to the second: `edge("login-api", "DynamoDB")`.
    Edge(String, String),
    Flag(Flag),
    Number {
        field: NumberField,
        comparison: Comparison,
        value: f64,
    },
    /// `http.url CONTAINS "…"`, `BEGINSWITH`, `ENDSWITH`, `=` and `!=`.
    Url {
        operator: TextOperator,
        text: String,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOperator {
    Contains,
    BeginsWith,
    EndsWith,
    Equal,
    NotEqual,
}

impl TextOperator {
    fn holds(self, actual: &str, text: &str) -> bool {
        match self {
            TextOperator::Contains => actual.contains(text),
            TextOperator::BeginsWith => actual.starts_with(text),
            TextOperator::EndsWith => actual.ends_with(text),
            TextOperator::Equal => actual == text,
            TextOperator::NotEqual => actual != text,
        }
    }
}

impl Filter {
    pub(crate) fn matches(&self, facts: &TraceFacts) -> bool {
        match self {
            Filter::All => true,
            Filter::Service(name) => facts.services.contains(&name.as_str()),
            Filter::Flag(Flag::Ok) => facts.ok,
            Filter::Flag(Flag::Error) => facts.error,
            Filter::Flag(Flag::Fault) => facts.fault,
            Filter::Flag(Flag::Throttle) => facts.throttle,
            Filter::Number {
                field,
                comparison,
                value,
            } => {
                let actual = match field {
                    NumberField::ResponseTime => Some(facts.response_time_seconds),
                    NumberField::Duration => Some(facts.duration_seconds),
                    NumberField::HttpStatus => facts.http_status.map(f64::from),
                };
                actual.is_some_and(|actual| comparison.holds(actual, *value))
            }
            Filter::Url { operator, text } => operator.holds(facts.url, text),
            Filter::Edge(from, to) => facts
                .services
                .windows(2)
                .any(|pair| pair[0] == from.as_str() && pair[1] == to.as_str()),
            Filter::And(left, right) => left.matches(facts) && right.matches(facts),
            Filter::Or(left, right) => left.matches(facts) || right.matches(facts),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Number(f64),
    LeftParen,
    RightParen,
    Compare(Comparison),
    Other(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::LeftParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RightParen);
                i += 1;
            }
            '=' => {
                tokens.push(Token::Compare(Comparison::Equal));
                i += 1;
            }
            '!' if next == Some('=') => {
                tokens.push(Token::Compare(Comparison::NotEqual));
                i += 2;
            }
            '<' | '>' => {
                let or_equal = next == Some('=');
                tokens.push(Token::Compare(match (c, or_equal) {
                    ('<', true) => Comparison::LessOrEqual,
                    ('<', false) => Comparison::Less,
                    (_, true) => Comparison::GreaterOrEqual,
                    _ => Comparison::Greater,
                }));
                i += if or_equal { 2 } else { 1 };
            }
            '"' => {
                let end = chars[i + 1..].iter().position(|&c| c == '"').ok_or_else(|| {
                    format!("the string starting at position {i} is not closed; end it with \"")
                })?;
                tokens.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            c if c.is_ascii_digit() => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].is_ascii_digit() || chars[j] == '.'))
                    .unwrap_or(chars.len());
                let text: String = chars[i..end].iter().collect();
                let number = text
                    .parse()
                    .map_err(|_| format!("`{text}` is not a number; write one such as 0.5 or 404"))?;
                tokens.push(Token::Number(number));
                i = end;
            }
            c if c.is_ascii_alphabetic() => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '.' || chars[j] == '_'))
                    .unwrap_or(chars.len());
                tokens.push(Token::Word(chars[i..end].iter().collect()));
                i = end;
            }
            other => {
                tokens.push(Token::Other(other));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// Parses a filter; an empty one selects every trace.
pub(crate) fn parse(text: &str) -> Result<Filter, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(Filter::All);
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        nesting: 0,
    };
    let filter = parser.or()?;
    match parser.tokens.get(parser.position) {
        None => Ok(filter),
        Some(Token::Other('{')) => Err(format!(
            "conditions in braces after service(…) are not supported by the demo source; {SUPPORTED}"
        )),
        Some(token) => Err(format!(
            "unexpected {} in the filter; {SUPPORTED}",
            describe(token)
        )),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(word) => format!("`{word}`"),
        Token::Str(text) => format!("the string \"{text}\""),
        Token::Number(number) => format!("`{number}`"),
        Token::LeftParen => "`(`".into(),
        Token::RightParen => "`)`".into(),
        Token::Compare(_) => "a comparison".into(),
        Token::Other(c) => format!("`{c}`"),
    }
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    /// Parentheses and joins met so far: together they bound how deep the filter's tree, and each walk of it, can go.
    nesting: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.position), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.nesting += 1;
        if self.nesting > NESTING_CEILING {
            return Err(too_deep(NESTING_CEILING));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut filter = self.and()?;
        while self.peek_word("or") {
            self.position += 1;
            self.deeper()?;
            filter = Filter::Or(Box::new(filter), Box::new(self.and()?));
        }
        Ok(filter)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut filter = self.primary()?;
        while self.peek_word("and") {
            self.position += 1;
            self.deeper()?;
            filter = Filter::And(Box::new(filter), Box::new(self.primary()?));
        }
        Ok(filter)
    }

    fn primary(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Token::LeftParen) => {
                self.deeper()?;
                let inner = self.or()?;
                match self.next() {
                    Some(Token::RightParen) => Ok(inner),
                    _ => Err("a parenthesis in the filter is not closed; add )".into()),
                }
            }
            Some(Token::Word(word)) => match word.as_str() {
                "service" => {
                    let (Some(Token::LeftParen), Some(Token::Str(name)), Some(Token::RightParen)) =
                        (self.next(), self.next(), self.next())
                    else {
                        return Err(
                            "write service(\"name\") with a quoted name; other forms such as service(id(…)) are not \
                             supported by the demo source"
                                .into(),
                        );
                    };
                    Ok(Filter::Service(name))
                }
                "edge" => match (self.next(), self.next(), self.next(), self.next(), self.next()) {
                    (
                        Some(Token::LeftParen),
                        Some(Token::Str(from)),
                        Some(Token::Other(',')),
                        Some(Token::Str(to)),
                        Some(Token::RightParen),
                    ) => Ok(Filter::Edge(from, to)),
                    _ => Err("write edge(\"from\", \"to\") with two quoted names, such as edge(\"login-api\", \"DynamoDB\")".into()),
                },
                "ok" => Ok(Filter::Flag(Flag::Ok)),
                "error" => Ok(Filter::Flag(Flag::Error)),
                "fault" => Ok(Filter::Flag(Flag::Fault)),
                "throttle" => Ok(Filter::Flag(Flag::Throttle)),
                "responsetime" | "duration" | "http.status" => {
                    let field = match word.as_str() {
                        "responsetime" => NumberField::ResponseTime,
                        "duration" => NumberField::Duration,
                        _ => NumberField::HttpStatus,
                    };
                    match (self.next(), self.next()) {
                        (Some(Token::Compare(comparison)), Some(Token::Number(value))) => {
                            Ok(Filter::Number {
                                field,
                                comparison,
                                value,
                            })
                        }
                        _ => Err(format!("compare `{word}` with a number, such as {word} > 1")),
                    }
                }
                "http.url" => {
                    let operator = match self.next() {
                        Some(Token::Word(word)) if word == "CONTAINS" => TextOperator::Contains,
                        Some(Token::Word(word)) if word == "BEGINSWITH" => TextOperator::BeginsWith,
                        Some(Token::Word(word)) if word == "ENDSWITH" => TextOperator::EndsWith,
                        Some(Token::Compare(Comparison::Equal)) => TextOperator::Equal,
                        Some(Token::Compare(Comparison::NotEqual)) => TextOperator::NotEqual,
                        _ => return Err(URL_FORM.into()),
                    };
                    match self.next() {
                        Some(Token::Str(text)) => Ok(Filter::Url { operator, text }),
                        _ => Err(URL_FORM.into()),
                    }
                }
                other => Err(format!(
                    "`{other}` is not supported by the demo source; {SUPPORTED}"
                )),
            },
            Some(token) => Err(format!(
                "unexpected {} in the filter; {SUPPORTED}",
                describe(&token)
            )),
            None => Err("the filter ended early; complete it".into()),
        }
    }
}

const URL_FORM: &str = "compare `http.url` with a quoted text, such as http.url CONTAINS \"/login\"";

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> TraceFacts<'static> {
        TraceFacts {
            services: &["login-api", "DynamoDB"],
            ok: false,
            error: true,
            fault: false,
            throttle: false,
            response_time_seconds: 0.05,
            duration_seconds: 0.05,
            http_status: Some(404),
            url: "/login",
        }
    }

    fn matches(filter: &str) -> bool {
        parse(filter).unwrap().matches(&facts())
    }

    #[test]
    fn an_edge_matches_a_call_from_one_node_to_the_next() {
        assert!(matches(r#"edge("login-api", "DynamoDB") AND error"#));
        assert!(!matches(r#"edge("DynamoDB", "login-api")"#));
        assert!(!matches(r#"edge("login-api", "SQS")"#));
        assert!(parse(r#"edge("login-api")"#).is_err());
    }

    #[test]
    fn the_request_url_matches_by_text() {
        assert!(matches(r#"http.url CONTAINS "/log""#));
        assert!(matches(r#"http.url = "/login" AND error"#));
        assert!(!matches(r#"http.url BEGINSWITH "/register""#));
        assert!(matches(r#"http.url ENDSWITH "in""#));
        assert!(parse("http.url CONTAINS login").is_err());
    }

    #[test]
    fn keywords_services_and_numbers_match_the_trace() {
        assert!(matches(""));
        assert!(matches("error"));
        assert!(!matches("fault"));
        assert!(!matches("ok"));
        assert!(matches(r#"service("DynamoDB")"#));
        assert!(!matches(r#"service("records")"#));
        assert!(matches("http.status = 404"));
        assert!(matches("responsetime < 0.1 AND duration >= 0.05"));
        assert!(!matches("responsetime > 1"));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        assert!(matches("fault OR error and http.status = 404"));
        assert!(!matches("(fault OR error) and http.status = 500"));
        assert!(matches("ok or (error AND service(\"login-api\"))"));
    }

    #[test]
    fn deep_parentheses_and_long_joins_are_refused_without_overflowing() {
        let parenthesised = format!("{}error{}", "(".repeat(50_000), ")".repeat(50_000));
        let joined = vec!["error"; 200_000].join(" and ");
        for filter in [parenthesised, joined] {
            let reason = parse(&filter).unwrap_err();
            assert!(reason.contains("levels deep; flatten it"), "{reason}");
        }
    }

    #[test]
    fn unsupported_filters_name_the_part() {
        let err = parse(r#"annotation.user = "x""#).unwrap_err();
        assert!(err.contains("`annotation.user` is not supported"), "{err}");
        let err = parse(r#"service("api") { fault }"#).unwrap_err();
        assert!(err.contains("braces"), "{err}");
        let err = parse("responsetime >").unwrap_err();
        assert!(err.contains("compare"), "{err}");
    }
}
