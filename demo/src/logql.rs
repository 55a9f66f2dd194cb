//! A hand-written parser for the LogQL subset the demo source answers.
//!
//! Supported: stream selectors (`=`, `!=`, `=~`, `!~`), line filters (`|=`,
//! `!=`, `|~`, `!~`), `| json`, `| logfmt`, label filters (text and numeric,
//! joined with `and` or `,`), `count_over_time` and `rate` over a range, and
//! `sum` with `by`/`without` before or after its argument. Everything else is
//! refused with a sentence naming the part and what the demo does support.

use regex::Regex;

use vitals_api::query_limits::{NESTING_CEILING, too_deep};

/// A parsed query: lines, or numbers over lines.
#[derive(Debug, Clone)]
pub(crate) enum LogQl {
    Log(Pipeline),
    Metric(MetricExpr),
}

/// A stream selector and the stages that filter and parse its lines.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub(crate) selector: Vec<LabelMatcher>,
    pub(crate) stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub(crate) struct LabelMatcher {
    pub(crate) name: String,
    pub(crate) matcher: ValueMatcher,
}

/// How a label value is compared with a string.
#[derive(Debug, Clone)]
pub(crate) enum ValueMatcher {
    Equal(String),
    NotEqual(String),
    /// Anchored at both ends, as Loki anchors label regexes.
    Matches(Regex),
    NotMatches(Regex),
}

impl ValueMatcher {
    pub(crate) fn is_match(&self, value: &str) -> bool {
        match self {
            ValueMatcher::Equal(expected) => value == expected,
            ValueMatcher::NotEqual(expected) => value != expected,
            ValueMatcher::Matches(regex) => regex.is_match(value),
            ValueMatcher::NotMatches(regex) => !regex.is_match(value),
        }
    }

    /// Whether the matcher selects something without matching everything:
    /// an equality or regex that the empty value does not satisfy.
    fn narrows(&self) -> bool {
        matches!(self, ValueMatcher::Equal(_) | ValueMatcher::Matches(_)) && !self.is_match("")
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    LineContains(String),
    LineLacks(String),
    /// Unanchored, as Loki's line filter regexes are.
    LineMatches(Regex),
    LineNotMatches(Regex),
    Json,
    Logfmt,
    LabelText {
        name: String,
        matcher: ValueMatcher,
    },
    LabelNumber {
        name: String,
        comparison: Comparison,
        value: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Comparison {
    pub(crate) fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Comparison::Equal => left == right,
            Comparison::NotEqual => left != right,
            Comparison::Greater => left > right,
            Comparison::GreaterOrEqual => left >= right,
            Comparison::Less => left < right,
            Comparison::LessOrEqual => left <= right,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum MetricExpr {
    Range {
        function: RangeFunction,
        pipeline: Pipeline,
        window_ms: i64,
    },
    Sum {
        grouping: Option<Grouping>,
        inner: Box<MetricExpr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeFunction {
    CountOverTime,
    Rate,
}

/// `by (…)` keeps only the listed labels; `without (…)` drops them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grouping {
    pub(crate) without: bool,
    pub(crate) labels: Vec<String>,
}

const EMPTY_MATCHERS: &str = "queries require at least one regexp or equality matcher that does not have an \
    empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

const SUPPORTED_FUNCTIONS: &str = "use count_over_time or rate";
const SUPPORTED_STAGES: &str =
    "the demo source supports line filters (|=, !=, |~, !~), | json, | logfmt and label filters";

const UNSUPPORTED_RANGE_FUNCTIONS: [&str; 13] = [
    "bytes_over_time",
    "bytes_rate",
    "rate_counter",
    "sum_over_time",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "first_over_time",
    "last_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "absent_over_time",
];

const UNSUPPORTED_AGGREGATIONS: [&str; 12] = [
    "avg",
    "min",
    "max",
    "count",
    "topk",
    "bottomk",
    "stddev",
    "stdvar",
    "sort",
    "sort_desc",
    "count_values",
    "approx_topk",
];

const UNSUPPORTED_STAGES: [&str; 10] = [
    "line_format",
    "label_format",
    "unwrap",
    "pattern",
    "regexp",
    "unpack",
    "drop",
    "keep",
    "decolorize",
    "distinct",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    /// A number or a duration as written (`404`, `0.5`, `5m`, `10KB`).
    Number(String),
    LeftBrace,
    RightBrace,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Equal,
    DoubleEqual,
    NotEqual,
    RegexMatch,
    RegexNotMatch,
    Pipe,
    PipeEqual,
    PipeRegex,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    /// `+ - * / % ^`: binary operations, which the demo does not evaluate.
    Operator(char),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("`{name}`"),
            Token::Str(text) => format!("the string \"{text}\""),
            Token::Number(text) => format!("`{text}`"),
            Token::LeftBrace => "`{`".into(),
            Token::RightBrace => "`}`".into(),
            Token::LeftParen => "`(`".into(),
            Token::RightParen => "`)`".into(),
            Token::LeftBracket => "`[`".into(),
            Token::RightBracket => "`]`".into(),
            Token::Comma => "`,`".into(),
            Token::Equal => "`=`".into(),
            Token::DoubleEqual => "`==`".into(),
            Token::NotEqual => "`!=`".into(),
            Token::RegexMatch => "`=~`".into(),
            Token::RegexNotMatch => "`!~`".into(),
            Token::Pipe => "`|`".into(),
            Token::PipeEqual => "`|=`".into(),
            Token::PipeRegex => "`|~`".into(),
            Token::Greater => "`>`".into(),
            Token::GreaterOrEqual => "`>=`".into(),
            Token::Less => "`<`".into(),
            Token::LessOrEqual => "`<=`".into(),
            Token::Operator(op) => format!("`{op}`"),
        }
    }
}

fn tokenize(query: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, width) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('{', _) => (Token::LeftBrace, 1),
            ('}', _) => (Token::RightBrace, 1),
            ('(', _) => (Token::LeftParen, 1),
            (')', _) => (Token::RightParen, 1),
            ('[', _) => (Token::LeftBracket, 1),
            (']', _) => (Token::RightBracket, 1),
            (',', _) => (Token::Comma, 1),
            ('=', Some('~')) => (Token::RegexMatch, 2),
            ('=', Some('=')) => (Token::DoubleEqual, 2),
            ('=', _) => (Token::Equal, 1),
            ('!', Some('=')) => (Token::NotEqual, 2),
            ('!', Some('~')) => (Token::RegexNotMatch, 2),
            ('|', Some('=')) => (Token::PipeEqual, 2),
            ('|', Some('~')) => (Token::PipeRegex, 2),
            ('|', _) => (Token::Pipe, 1),
            ('>', Some('=')) => (Token::GreaterOrEqual, 2),
            ('>', _) => (Token::Greater, 1),
            ('<', Some('=')) => (Token::LessOrEqual, 2),
            ('<', _) => (Token::Less, 1),
            ('"', _) => {
                let (text, end) = read_quoted(&chars, i)?;
                tokens.push(Token::Str(text));
                i = end;
                continue;
            }
            ('`', _) => {
                let end = chars[i + 1..].iter().position(|&c| c == '`').ok_or_else(|| {
                    format!("the raw string starting at position {i} is not closed; end it with `")
                })?;
                tokens.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
                continue;
            }
            (c, next) if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let end = (i + 1..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '.'))
                    .unwrap_or(chars.len());
                tokens.push(Token::Number(chars[i..end].iter().collect()));
                i = end;
                continue;
            }
            (c, _) if c.is_ascii_alphabetic() || c == '_' => {
                let end = (i + 1..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                    .unwrap_or(chars.len());
                tokens.push(Token::Ident(chars[i..end].iter().collect()));
                i = end;
                continue;
            }
            ('+' | '-' | '*' | '/' | '%' | '^', _) => (Token::Operator(c), 1),
            (c, _) => {
                return Err(format!(
                    "unexpected character `{c}` at position {i}; check the query's syntax"
                ));
            }
        };
        tokens.push(token);
        i += width;
    }
    Ok(tokens)
}

fn read_quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((text, i + 1)),
            '\\' => {
                let escaped = chars.get(i + 1).ok_or_else(|| {
                    format!("the string starting at position {start} is not closed; end it with \"")
                })?;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => *other,
                });
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(format!(
        "the string starting at position {start} is not closed; end it with \""
    ))
}

/// A positive Prometheus-style duration (`5m`, `1h30m`, `500ms`) in milliseconds.
pub(crate) fn parse_duration_ms(text: &str) -> Option<i64> {
    vitals_api::query::parse_duration_ms(text).filter(|ms| *ms > 0)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    /// Metric expressions entered so far: each `sum(` or `(` recurses once more.
    nesting: usize,
}

/// Parses a query; the error is a sentence for the person who wrote it.
pub(crate) fn parse(query: &str) -> Result<LogQl, String> {
    let tokens = tokenize(query)?;
    if tokens.is_empty() {
        return Err(
            "the query is empty; start with a stream selector such as {service=\"login-api\"}".into(),
        );
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        nesting: 0,
    };
    let parsed = if parser.peek() == Some(&Token::LeftBrace) {
        LogQl::Log(parser.pipeline(false)?.0)
    } else {
        LogQl::Metric(parser.metric()?)
    };
    match parser.peek() {
        None => Ok(parsed),
        Some(Token::Operator(op)) => Err(format!(
            "binary operations between queries (`{op}`) are not supported by the demo source; run the queries separately"
        )),
        Some(Token::LeftBracket) => Err(
            "a range such as [5m] needs a function around the query: count_over_time({…}[5m]) or rate({…}[5m])".into(),
        ),
        Some(Token::Ident(word)) if matches!(word.as_str(), "and" | "or" | "unless") => Err(format!(
            "binary operations between queries (`{word}`) are not supported by the demo source; run the queries separately"
        )),
        Some(Token::Ident(word)) if word == "offset" => {
            Err("`offset` is not supported by the demo source; move the time range instead".into())
        }
        Some(other) => Err(format!("unexpected {} after the end of the query; check the query's syntax", other.describe())),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn expect(&mut self, expected: Token, context: &str) -> Result<(), String> {
        match self.next() {
            Some(token) if token == expected => Ok(()),
            Some(token) => Err(format!(
                "expected {} {context} but found {}",
                expected.describe(),
                token.describe()
            )),
            None => Err(format!(
                "expected {} {context} but the query ended",
                expected.describe()
            )),
        }
    }

    fn metric(&mut self) -> Result<MetricExpr, String> {
        self.nesting += 1;
        if self.nesting > NESTING_CEILING {
            return Err(too_deep(NESTING_CEILING));
        }
        match self.next() {
            Some(Token::LeftParen) => {
                let inner = self.metric()?;
                self.expect(Token::RightParen, "to close the parenthesis")?;
                Ok(inner)
            }
            Some(Token::Ident(name)) => match name.as_str() {
                "sum" => self.sum(),
                "count_over_time" => self.range(RangeFunction::CountOverTime, &name),
                "rate" => self.range(RangeFunction::Rate, &name),
                other if UNSUPPORTED_RANGE_FUNCTIONS.contains(&other) => Err(format!(
                    "`{other}` is not supported by the demo source; {SUPPORTED_FUNCTIONS}"
                )),
                other if UNSUPPORTED_AGGREGATIONS.contains(&other) => {
                    Err(format!("`{other}` is not supported by the demo source; use sum"))
                }
                other => Err(format!(
                    "`{other}` is not supported by the demo source; it answers log queries, count_over_time, rate and sum"
                )),
            },
            Some(token) => Err(format!(
                "a query starts with a stream selector such as {{service=\"login-api\"}} or a function such as \
                 count_over_time, not {}",
                token.describe()
            )),
            None => Err("the query ended early; complete it".into()),
        }
    }

    fn sum(&mut self) -> Result<MetricExpr, String> {
        let before = self.grouping()?;
        if self.peek() != Some(&Token::LeftParen) {
            return Err("expected `(` after sum".into());
        }
        self.next();
        let inner = self.metric()?;
        if self.peek() == Some(&Token::Comma) {
            return Err("sum takes one argument; remove the parameter".into());
        }
        self.expect(Token::RightParen, "to close sum(")?;
        let after = self.grouping()?;
        if before.is_some() && after.is_some() {
            return Err("sum has two groupings; keep one `by (…)` or `without (…)`".into());
        }
        Ok(MetricExpr::Sum {
            grouping: before.or(after),
            inner: Box::new(inner),
        })
    }

    fn grouping(&mut self) -> Result<Option<Grouping>, String> {
        let without = match self.peek() {
            Some(Token::Ident(word)) if word == "by" => false,
            Some(Token::Ident(word)) if word == "without" => true,
            _ => return Ok(None),
        };
        self.next();
        self.expect(Token::LeftParen, "after by/without")?;
        let mut labels = Vec::new();
        loop {
            match self.next() {
                Some(Token::RightParen) => break,
                Some(Token::Ident(label)) => {
                    labels.push(label);
                    match self.next() {
                        Some(Token::Comma) => continue,
                        Some(Token::RightParen) => break,
                        _ => return Err("expected `,` or `)` in the label list of by/without".into()),
                    }
                }
                _ => return Err("expected label names in by (…) or without (…)".into()),
            }
        }
        Ok(Some(Grouping { without, labels }))
    }

    fn range(&mut self, function: RangeFunction, name: &str) -> Result<MetricExpr, String> {
        self.expect(Token::LeftParen, &format!("after {name}"))?;
        if self.peek() != Some(&Token::LeftBrace) {
            return Err(format!(
                "{name} takes a log query such as {{service=\"login-api\"}}[5m]"
            ));
        }
        let (pipeline, window_ms) = self.pipeline(true)?;
        if let Some(Token::Ident(word)) = self.peek()
            && word == "offset"
        {
            return Err("`offset` is not supported by the demo source; move the time range instead".into());
        }
        self.expect(Token::RightParen, &format!("to close {name}("))?;
        let window_ms =
            window_ms.ok_or_else(|| format!("{name} needs a range such as [5m] after the log query"))?;
        Ok(MetricExpr::Range {
            function,
            pipeline,
            window_ms,
        })
    }

    /// A selector and its stages; with `ranged`, also the `[5m]` before or after the stages.
    fn pipeline(&mut self, ranged: bool) -> Result<(Pipeline, Option<i64>), String> {
        let selector = self.selector()?;
        let mut stages = Vec::new();
        let mut window_ms = None;
        loop {
            match self.peek() {
                Some(Token::LeftBracket) if ranged => {
                    if window_ms.is_some() {
                        return Err("the query has two ranges; keep one such as [5m]".into());
                    }
                    self.next();
                    let text = match self.next() {
                        Some(Token::Number(text)) => text,
                        _ => return Err("expected a duration such as 5m inside [ ]".into()),
                    };
                    window_ms = Some(parse_duration_ms(&text).ok_or_else(|| {
                        format!("`{text}` is not a duration; write one such as 30s, 5m or 1h")
                    })?);
                    self.expect(Token::RightBracket, "to close the range")?;
                }
                Some(Token::PipeEqual | Token::NotEqual | Token::PipeRegex | Token::RegexNotMatch) => {
                    stages.push(self.line_filter()?);
                }
                Some(Token::Pipe) => {
                    self.next();
                    self.stage(&mut stages)?;
                }
                _ => break,
            }
        }
        Ok((Pipeline { selector, stages }, window_ms))
    }

    fn selector(&mut self) -> Result<Vec<LabelMatcher>, String> {
        self.expect(Token::LeftBrace, "to start the stream selector")?;
        let mut matchers = Vec::new();
        if self.peek() == Some(&Token::RightBrace) {
            return Err(EMPTY_MATCHERS.into());
        }
        loop {
            let name = match self.next() {
                Some(Token::Ident(name)) => name,
                Some(token) => {
                    return Err(format!(
                        "expected a label name in the stream selector but found {}",
                        token.describe()
                    ));
                }
                None => return Err("the stream selector is not closed; end it with }".into()),
            };
            let op = self.next();
            let value = match self.next() {
                Some(Token::Str(value)) => value,
                _ => {
                    return Err(format!(
                        "expected a quoted value after `{name}` in the stream selector"
                    ));
                }
            };
            let matcher = match op {
                Some(Token::Equal) => ValueMatcher::Equal(value),
                Some(Token::NotEqual) => ValueMatcher::NotEqual(value),
                Some(Token::RegexMatch) => ValueMatcher::Matches(anchored_regex(&value)?),
                Some(Token::RegexNotMatch) => ValueMatcher::NotMatches(anchored_regex(&value)?),
                _ => {
                    return Err(format!(
                        "expected =, !=, =~ or !~ after `{name}` in the stream selector"
                    ));
                }
            };
            matchers.push(LabelMatcher { name, matcher });
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::RightBrace) => break,
                _ => return Err("the stream selector is not closed; end it with }".into()),
            }
        }
        if !matchers.iter().any(|m| m.matcher.narrows()) {
            return Err(EMPTY_MATCHERS.into());
        }
        Ok(matchers)
    }

    fn line_filter(&mut self) -> Result<Stage, String> {
        let op = self.next();
        let text = match self.next() {
            Some(Token::Str(text)) => text,
            Some(Token::Ident(word)) => {
                return Err(format!(
                    "line filters with `{word}(…)` are not supported by the demo source; filter with a quoted string"
                ));
            }
            _ => return Err("expected a quoted string after the line filter".into()),
        };
        if let Some(Token::Ident(word)) = self.peek()
            && word == "or"
        {
            return Err(
                "`or` between line filters is not supported by the demo source; use |~ \"a|b\"".into(),
            );
        }
        Ok(match op {
            Some(Token::PipeEqual) => Stage::LineContains(text),
            Some(Token::NotEqual) => Stage::LineLacks(text),
            Some(Token::PipeRegex) => Stage::LineMatches(line_regex(&text)?),
            _ => Stage::LineNotMatches(line_regex(&text)?),
        })
    }

    /// What follows a `|`: a parser or label filters.
    fn stage(&mut self, stages: &mut Vec<Stage>) -> Result<(), String> {
        let word = match self.next() {
            Some(Token::Ident(word)) => word,
            Some(token) => {
                return Err(format!(
                    "expected a parser or a label filter after `|` but found {}",
                    token.describe()
                ));
            }
            None => return Err("the query ends with `|`; add a parser or a label filter".into()),
        };
        let is_filter = matches!(
            self.peek(),
            Some(
                Token::Equal
                    | Token::DoubleEqual
                    | Token::NotEqual
                    | Token::RegexMatch
                    | Token::RegexNotMatch
                    | Token::Greater
                    | Token::GreaterOrEqual
                    | Token::Less
                    | Token::LessOrEqual
            )
        );
        if is_filter {
            stages.push(self.label_filter(word)?);
            loop {
                let joined = match self.peek() {
                    Some(Token::Comma) => true,
                    Some(Token::Ident(word)) if word == "and" => true,
                    Some(Token::Ident(word)) if word == "or" => {
                        return Err(
                            "`or` between label filters is not supported by the demo source; use a regex such as \
                             | level=~\"warn|error\""
                                .into(),
                        );
                    }
                    _ => false,
                };
                if !joined {
                    return Ok(());
                }
                self.next();
                let name = match self.next() {
                    Some(Token::Ident(name)) => name,
                    _ => return Err("expected a label filter after `and`".into()),
                };
                stages.push(self.label_filter(name)?);
            }
        }
        match word.as_str() {
            "json" | "logfmt" => {
                if let Some(Token::Ident(_)) = self.peek() {
                    return Err(format!(
                        "`| {word}` with expressions or flags is not supported by the demo source; use a plain | {word}"
                    ));
                }
                if matches!(self.peek(), Some(Token::Operator('-'))) {
                    return Err(format!(
                        "`| {word}` with flags is not supported by the demo source; use a plain | {word}"
                    ));
                }
                stages.push(if word == "json" {
                    Stage::Json
                } else {
                    Stage::Logfmt
                });
                Ok(())
            }
            other if UNSUPPORTED_STAGES.contains(&other) => Err(format!(
                "`| {other}` is not supported by the demo source; {SUPPORTED_STAGES}"
            )),
            other => Err(format!(
                "`| {other}` is not a stage the demo source knows; {SUPPORTED_STAGES}"
            )),
        }
    }

    fn label_filter(&mut self, name: String) -> Result<Stage, String> {
        let op = self.next();
        let value = self.next();
        match (op, value) {
            (Some(op @ (Token::Equal | Token::DoubleEqual | Token::NotEqual)), Some(Token::Str(text))) => {
                let matcher = if op == Token::NotEqual {
                    ValueMatcher::NotEqual(text)
                } else {
                    ValueMatcher::Equal(text)
                };
                Ok(Stage::LabelText { name, matcher })
            }
            (Some(Token::RegexMatch), Some(Token::Str(text))) => Ok(Stage::LabelText {
                name,
                matcher: ValueMatcher::Matches(anchored_regex(&text)?),
            }),
            (Some(Token::RegexNotMatch), Some(Token::Str(text))) => Ok(Stage::LabelText {
                name,
                matcher: ValueMatcher::NotMatches(anchored_regex(&text)?),
            }),
            (Some(op), Some(Token::Number(text))) => {
                let comparison = match op {
                    Token::Equal | Token::DoubleEqual => Comparison::Equal,
                    Token::NotEqual => Comparison::NotEqual,
                    Token::Greater => Comparison::Greater,
                    Token::GreaterOrEqual => Comparison::GreaterOrEqual,
                    Token::Less => Comparison::Less,
                    Token::LessOrEqual => Comparison::LessOrEqual,
                    _ => {
                        return Err(format!(
                            "`{name}` cannot be compared with a regex and a number; quote the value"
                        ));
                    }
                };
                let value: f64 = text.parse().map_err(|_| {
                    format!(
                        "comparing `{name}` with `{text}` is not supported by the demo source; durations and byte sizes \
                         are not, compare with a plain number"
                    )
                })?;
                Ok(Stage::LabelNumber {
                    name,
                    comparison,
                    value,
                })
            }
            (Some(_), Some(Token::Str(_))) => Err(format!(
                "`{name}` is compared with a string using >, <, >= or <=; compare strings with =, !=, =~ or !~, \
                 or write the number without quotes"
            )),
            _ => Err(format!("expected a value after `{name}` in the label filter")),
        }
    }
}

fn anchored_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|err| format!("the regex \"{pattern}\" is not valid: {err}"))
}

fn line_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|err| format!("the regex \"{pattern}\" is not valid: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(query: &str) -> String {
        match parse(query) {
            Ok(parsed) => panic!("{query} parsed as {parsed:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn nesting_past_the_ceiling_is_refused_without_overflowing() {
        let query = format!(
            "{}count_over_time({{app=\"a\"}}[5m]){}",
            "sum(".repeat(50_000),
            ")".repeat(50_000)
        );
        assert!(error_of(&query).contains("levels deep; flatten it"));
    }

    #[test]
    fn log_query_with_every_stage_kind_parses() {
        let parsed = parse(
            r#"{service="login-api", env=~"prod|staging", level!="debug"} |= "GetItem" != "ok" |~ "Resource.*" !~ "x+" | json | status=404 | error="ResourceNotFoundException" and duration_ms > 10"#,
        )
        .unwrap();
        let LogQl::Log(pipeline) = parsed else {
            panic!("expected a log query")
        };
        assert_eq!(pipeline.selector.len(), 3);
        assert_eq!(pipeline.stages.len(), 8);
        assert!(matches!(pipeline.stages[0], Stage::LineContains(ref text) if text == "GetItem"));
        assert!(matches!(pipeline.stages[4], Stage::Json));
        assert!(matches!(
            pipeline.stages[5],
            Stage::LabelNumber { value: 404.0, .. }
        ));
    }

    #[test]
    fn sum_by_accepts_the_grouping_before_or_after() {
        for query in [
            r#"sum by (level) (count_over_time({env="prod"}[5m]))"#,
            r#"sum(count_over_time({env="prod"}[5m])) by (level)"#,
        ] {
            let LogQl::Metric(MetricExpr::Sum { grouping, inner }) = parse(query).unwrap() else {
                panic!("expected sum for {query}")
            };
            assert_eq!(grouping.unwrap().labels, vec!["level".to_string()]);
            assert!(matches!(
                *inner,
                MetricExpr::Range {
                    window_ms: 300_000,
                    ..
                }
            ));
        }
    }

    #[test]
    fn range_may_follow_the_stages() {
        let parsed = parse(r#"rate({service="login-api"} | json | status=404 [1m])"#).unwrap();
        assert!(matches!(
            parsed,
            LogQl::Metric(MetricExpr::Range {
                function: RangeFunction::Rate,
                window_ms: 60_000,
                ..
            })
        ));
    }

    #[test]
    fn selectors_that_match_everything_are_refused_like_loki() {
        for query in ["{}", r#"{service=~".*"}"#, r#"{service!="x"}"#, r#"{service=""}"#] {
            assert!(
                error_of(query).starts_with("queries require at least one regexp"),
                "{query}"
            );
        }
    }

    #[test]
    fn unsupported_parts_are_named() {
        assert!(
            error_of(r#"bytes_over_time({env="prod"}[5m])"#).contains("`bytes_over_time` is not supported")
        );
        assert!(
            error_of(r#"topk(3, count_over_time({env="prod"}[5m]))"#).contains("`topk` is not supported")
        );
        assert!(
            error_of(r#"{env="prod"} | line_format "{{.msg}}""#).contains("`| line_format` is not supported")
        );
        assert!(
            error_of(r#"{env="prod"} | logfmt | unwrap duration_ms"#).contains("`| unwrap` is not supported")
        );
        assert!(
            error_of(r#"label_replace(rate({env="prod"}[1m]), "a", "b", "c", "d")"#)
                .contains("`label_replace`")
        );
        assert!(error_of(r#"sum(rate({env="prod"}[1m])) / 2"#).contains("binary operations"));
        assert!(error_of(r#"{env="prod"} | json | duration > 10s"#).contains("compare with a plain number"));
    }

    #[test]
    fn syntax_errors_say_what_is_wrong() {
        assert!(error_of(r#"{service="login-api""#).contains("not closed"));
        assert!(error_of(r#"count_over_time({env="prod"})"#).contains("needs a range"));
        assert!(error_of(r#"{env="prod"}[5m]"#).contains("needs a function"));
        assert!(error_of(r#"{env="prod} "#).contains("not closed"));
    }

    #[test]
    fn durations_follow_prometheus_units() {
        assert_eq!(parse_duration_ms("5m"), Some(300_000));
        assert_eq!(parse_duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("5"), None);
        assert_eq!(parse_duration_ms("0s"), None);
    }
}
