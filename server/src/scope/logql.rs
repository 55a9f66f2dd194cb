//! Confining LogQL: every stream selector of a query gets the scope's matchers.
//!
//! No crate reads Loki's grammar, so this is written by hand, and only as far as confinement
//! needs: a lexer that knows LogQL's strings (`"…"` with escapes, `` `…` `` raw), and a
//! parser of stream selectors. Outside strings a brace only ever opens a stream selector, so
//! every selector is found wherever it sits (a metric query, a binary operation, `or`,
//! `unless`, a nested aggregation). What the lexer cannot be sure Loki reads the same way (a
//! comment, a character literal, an unclosed string or brace) is refused: the rule is to fail
//! closed. The rewritten query is read again and checked before it is sent.

use std::fmt::Write;

/// A label matcher: `name op "value"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}\"{}\"", self.name, self.op.as_str(), escape(&self.value))
    }
}

/// `value` as the inside of a double-quoted LogQL or PromQL string.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// A stream selector as found in a query: where its braces are, and its matchers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Byte offset of `{`.
    pub open: usize,
    /// Byte offset of `}`.
    pub close: usize,
    pub matchers: Vec<Matcher>,
}

/// Every stream selector of `query`, in order; an error says what could not be read safely.
pub fn selectors(query: &str) -> Result<Vec<Selector>, String> {
    let bytes = query.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' | b'`' => at = string_end(query, at)?,
            b'{' => {
                let selector = selector_at(query, at)?;
                at = selector.close + 1;
                found.push(selector);
            }
            b'}' => {
                return Err(format!(
                    "it has a `}}` at character {} that closes nothing",
                    at + 1
                ));
            }
            b'#' => {
                return Err(format!(
                    "it has a comment (`#`) at character {}; remove it, comments are not accepted \
                     in a confined query",
                    at + 1
                ));
            }
            b'\'' => {
                return Err(format!(
                    "it has a `'` at character {}; LogQL quotes text with \" or `",
                    at + 1
                ));
            }
            _ => at += 1,
        }
    }
    Ok(found)
}

/// Where the string that opens at `start` ends (just past its closing quote).
fn string_end(query: &str, start: usize) -> Result<usize, String> {
    let bytes = query.as_bytes();
    let quote = bytes[start];
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if quote == b'"' => at += 2,
            byte if byte == quote => return Ok(at + 1),
            _ => at += 1,
        }
    }
    Err(format!(
        "the text quoted at character {} is never closed",
        start + 1
    ))
}

/// The value of the string at `start..end` (quotes included). Escapes other than `\\`, `\"`,
/// `\n`, `\t` and `\r` are kept as written: only where strings end matters to confinement, and
/// that follows Loki (a backslash always takes the next character).
fn unquote(query: &str, start: usize, end: usize) -> String {
    let inner = &query[start + 1..end - 1];
    if query.as_bytes()[start] == b'`' {
        return inner.to_owned();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(c @ ('\\' | '"')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The selector whose `{` is at `open`.
fn selector_at(query: &str, open: usize) -> Result<Selector, String> {
    let bytes = query.as_bytes();
    let mut matchers = Vec::new();
    let mut at = open + 1;
    let skip_space = |mut at: usize| {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    };
    loop {
        at = skip_space(at);
        if at >= bytes.len() {
            return Err(format!("the selector at character {} is never closed", open + 1));
        }
        if bytes[at] == b'}' && (matchers.is_empty() || bytes[at - 1] != b',') {
            return Ok(Selector {
                open,
                close: at,
                matchers,
            });
        }
        let name_start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        let name = &query[name_start..at];
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
            return Err(format!(
                "the selector at character {} has no label name at character {}; write label=\"value\" pairs",
                open + 1,
                name_start + 1
            ));
        }
        at = skip_space(at);
        let op = match bytes.get(at..at + 2) {
            Some(b"=~") => MatchOp::Regex,
            Some(b"!~") => MatchOp::NotRegex,
            Some(b"!=") => MatchOp::NotEqual,
            _ if bytes.get(at) == Some(&b'=') => MatchOp::Equal,
            _ => {
                return Err(format!(
                    "the label {name} at character {} has no =, !=, =~ or !~ after it",
                    name_start + 1
                ));
            }
        };
        at = skip_space(at + op.as_str().len());
        if !matches!(bytes.get(at), Some(b'"' | b'`')) {
            return Err(format!(
                "the label {name} at character {} has no quoted value",
                name_start + 1
            ));
        }
        let end = string_end(query, at)?;
        let value = unquote(query, at, end);
        matchers.push(Matcher {
            name: name.to_owned(),
            op,
            value,
        });
        at = skip_space(end);
        match bytes.get(at) {
            Some(b',') => at += 1,
            Some(b'}') => {
                return Ok(Selector {
                    open,
                    close: at,
                    matchers,
                });
            }
            _ => {
                return Err(format!(
                    "the selector at character {} goes on at character {} with neither `,` nor `}}`",
                    open + 1,
                    at + 1
                ));
            }
        }
    }
}

/// `query` with `scope` added to every stream selector; refused when it cannot be read safely
/// or has no selector at all.
pub fn confine(query: &str, scope: &[Matcher]) -> Result<String, String> {
    let found = selectors(query)?;
    if found.is_empty() {
        return Err("it has no stream selector ({label=\"value\"}) to confine".to_owned());
    }
    let mut out = String::with_capacity(query.len() + found.len() * 32);
    let mut copied = 0;
    for selector in &found {
        out.push_str(&query[copied..selector.close]);
        for (i, matcher) in scope.iter().enumerate() {
            let first = i == 0 && selector.matchers.is_empty();
            let _ = write!(out, "{}{matcher}", if first { "" } else { ", " });
        }
        copied = selector.close;
    }
    out.push_str(&query[copied..]);
    // What is sent is read again: every selector must hold the whole scope.
    if !is_confined(&out, scope) {
        return Err("Vitals could not confine it safely".to_owned());
    }
    Ok(out)
}

/// Whether every stream selector of `query` holds every matcher of `scope`.
pub fn is_confined(query: &str, scope: &[Matcher]) -> bool {
    match selectors(query) {
        Ok(found) => {
            !found.is_empty()
                && found
                    .iter()
                    .all(|selector| scope.iter().all(|wanted| selector.matchers.contains(wanted)))
        }
        Err(_) => false,
    }
}

/// Reads matchers written as `name="value"` (a scope's configuration).
pub fn parse_matcher(text: &str) -> Result<Matcher, String> {
    let wrapped = format!("{{{text}}}");
    let selector = selector_at(&wrapped, 0)?;
    match (selector.close + 1 == wrapped.len(), selector.matchers.as_slice()) {
        (true, [matcher]) => Ok(matcher.clone()),
        _ => Err("write one label matcher, such as team=\"records\"".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Vec<Matcher> {
        vec![
            parse_matcher(r#"team="records""#).unwrap(),
            parse_matcher(r#"env="prod""#).unwrap(),
        ]
    }

    #[test]
    fn every_selector_of_a_query_gets_the_scope() {
        for (query, confined) in [
            (
                r#"{service="records"} |= "error""#,
                r#"{service="records", team="records", env="prod"} |= "error""#,
            ),
            (r#"{}"#, r#"{team="records", env="prod"}"#),
            (
                r#"sum by (level) (count_over_time({service="a"} | json [5m])) / sum(count_over_time({service="b"}[5m]))"#,
                r#"sum by (level) (count_over_time({service="a", team="records", env="prod"} | json [5m])) / sum(count_over_time({service="b", team="records", env="prod"}[5m]))"#,
            ),
            (
                r#"{a="x"} | line_format "{{.msg}} }" | label_format b=`{{.c}}`"#,
                r#"{a="x", team="records", env="prod"} | line_format "{{.msg}} }" | label_format b=`{{.c}}`"#,
            ),
            (
                r#"rate({a="x"}[1m]) or rate({b=~".+"}[1m]) unless rate({c!~"y"}[1m])"#,
                r#"rate({a="x", team="records", env="prod"}[1m]) or rate({b=~".+", team="records", env="prod"}[1m]) unless rate({c!~"y", team="records", env="prod"}[1m])"#,
            ),
        ] {
            assert_eq!(confine(query, &scope()).unwrap(), confined, "{query}");
        }
    }

    #[test]
    fn hostile_queries_fail_closed_or_stay_confined() {
        // Each either is refused or comes out with the scope in every selector; the ones that
        // try to end a selector early from inside a string stay in the string.
        let hostile = [
            r#"{team=~".*"}"#,
            r#"{team="records"} or {team="billing"}"#,
            r#"{a="\"} or {team=\"billing"}"#,
            r#"{a=`x"`} or {b="y"}"#,
            r#"{a="x"} # } or {team="billing"}"#,
            r#"{a="x"} |= '{' or {team="billing"}"#,
            r#"{a="x"}}"#,
            r#"{a="x""#,
            r#"{a="x",}"#,
            r#"{a="x" b="y"}"#,
            r#"{"a"="x"}"#,
            r#"label_replace(rate({a="x"}[1m]), "team", "records", "", "")"#,
            r#"sum(rate({a="x"}[1m])) by (team) > on() group_left sum(rate({b="y"}[1m]))"#,
            "{a=\"x\"} |= \"\\q\"",
            r#"count_over_time(`{a="x"}`[1m])"#,
            "",
        ];
        for query in hostile {
            match confine(query, &scope()) {
                Ok(confined) => assert!(is_confined(&confined, &scope()), "{query} became {confined}"),
                Err(why) => assert!(!why.is_empty(), "{query}"),
            }
        }
        // A regex that would match other teams is ANDed with the scope, not replacing it.
        assert_eq!(
            confine(r#"{team=~".*"}"#, &scope()).unwrap(),
            r#"{team=~".*", team="records", env="prod"}"#
        );
        for refused in [
            r#"{a="x"} # } or {team="billing"}"#,
            r#"{a="x"} |= '{'"#,
            r#"{a="x"}}"#,
            r#"{a="x""#,
        ] {
            assert!(confine(refused, &scope()).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_matcher_written_in_the_configuration_is_read_or_refused() {
        assert_eq!(
            parse_matcher(r#"team=~"records|billing""#).unwrap(),
            Matcher {
                name: "team".into(),
                op: MatchOp::Regex,
                value: "records|billing".into()
            }
        );
        for wrong in [
            "team",
            r#"team="a", env="b""#,
            r#"="a""#,
            r#"team="a"} or {b="c""#,
        ] {
            assert!(parse_matcher(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn values_are_written_back_escaped() {
        let matcher = Matcher {
            name: "a".into(),
            op: MatchOp::Equal,
            value: "say \"hi\" \\ there".into(),
        };
        let written = format!("{{{matcher}}}");
        assert_eq!(selectors(&written).unwrap()[0].matchers, vec![matcher]);
    }
}
