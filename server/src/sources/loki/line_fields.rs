//! The fields of a log line: a logfmt parser and a flat reading of JSON lines, for every log source.

use std::collections::BTreeMap;

use serde_json::Value;

/// The `key=value` pairs of a logfmt line, in the order they appear.
///
/// Values may be quoted (`msg="patient registered"`) with backslash escapes
/// (`\"`, `\\`, `\n`, `\t`, `\r`, `\uXXXX`). Bare words without `=` are not
/// fields and are skipped, so free text such as `GetItem failed table=users`
/// still yields `table`. A line with an unterminated quote keeps the rest of
/// the line as the last value rather than failing: log lines are often cut.
pub fn parse_logfmt(line: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return pairs;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c == '"' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        if let Some(after_equals) = rest.strip_prefix('=') {
            let value;
            (value, rest) = match after_equals.strip_prefix('"') {
                Some(quoted) => unquote(quoted),
                None => {
                    let end = after_equals
                        .find(char::is_whitespace)
                        .unwrap_or(after_equals.len());
                    (after_equals[..end].to_owned(), &after_equals[end..])
                }
            };
            if !key.is_empty() {
                pairs.push((key.to_owned(), value));
            }
        } else if let Some(quoted) = rest.strip_prefix('"') {
            // A quoted word that is not a value: skip it whole, spaces included.
            (_, rest) = unquote(quoted);
        }
    }
}

/// The fields of a line written as a JSON object or as logfmt; empty for other text.
///
/// JSON objects are flattened the way Loki's `| json` does (`{"a":{"b":1}}`
/// gives `a_b`), numbers and booleans keep their JSON text, arrays stay
/// compact JSON and nulls are left out. When a key repeats, the first one wins.
pub fn line_fields(line: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    if line.trim_start().starts_with('{')
        && let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line)
    {
        for (key, value) in &object {
            flatten_json(key, value, &mut fields);
        }
        return fields;
    }
    for (key, value) in parse_logfmt(line) {
        fields.entry(key).or_insert(value);
    }
    fields
}

fn flatten_json(key: &str, value: &Value, fields: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(object) => {
            for (inner_key, inner_value) in object {
                flatten_json(&format!("{key}_{inner_key}"), inner_value, fields);
            }
        }
        Value::Null => {}
        Value::String(text) => {
            fields.entry(key.to_owned()).or_insert_with(|| text.clone());
        }
        other => {
            fields.entry(key.to_owned()).or_insert_with(|| other.to_string());
        }
    }
}

/// Reads a quoted value whose opening quote is already consumed; returns it
/// unescaped and what follows the closing quote.
fn unquote(text: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return (value, &text[index + 1..]),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 'u')) => value.push(unicode_escape(&mut chars)),
                Some((_, escaped @ ('"' | '\\' | '/'))) => value.push(escaped),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            other => value.push(other),
        }
    }
    (value, "")
}

/// The character of a `\uXXXX` escape (the `\u` already read), joining a
/// UTF-16 surrogate pair; U+FFFD when the escape is malformed.
fn unicode_escape(chars: &mut std::str::CharIndices<'_>) -> char {
    let Some(first) = hex4(chars) else {
        return char::REPLACEMENT_CHARACTER;
    };
    if (0xD800..0xDC00).contains(&first) {
        let mut lookahead = chars.clone();
        if let (Some((_, '\\')), Some((_, 'u'))) = (lookahead.next(), lookahead.next())
            && let Some(second @ 0xDC00..0xE000) = hex4(&mut lookahead)
        {
            *chars = lookahead;
            let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            return char::from_u32(combined).unwrap_or(char::REPLACEMENT_CHARACTER);
        }
    }
    char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn hex4(chars: &mut std::str::CharIndices<'_>) -> Option<u32> {
    let mut code = 0;
    for _ in 0..4 {
        let (_, c) = chars.next()?;
        code = code * 16 + c.to_digit(16)?;
    }
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn logfmt_reads_plain_and_quoted_values_in_order() {
        let line = r#"level=info msg="patient registered" clinic=north duration_ms=337 trace_id=39d8b57dd6e649dd29e8af2771bbbdb0"#;
        assert_eq!(
            parse_logfmt(line),
            owned(&[
                ("level", "info"),
                ("msg", "patient registered"),
                ("clinic", "north"),
                ("duration_ms", "337"),
                ("trace_id", "39d8b57dd6e649dd29e8af2771bbbdb0"),
            ])
        );
    }

    #[test]
    fn logfmt_unescapes_quoted_values() {
        let cases = [
            (r#"msg="say \"hi\"""#, "say \"hi\""),
            (r#"msg="C:\\temp""#, "C:\\temp"),
            (r#"msg="two\nlines\tand tab""#, "two\nlines\tand tab"),
            (r#"msg="caf\u00e9""#, "café"),
            (r#"msg="\ud83d\ude00""#, "😀"),
            (r#"msg="\u12""#, "\u{FFFD}"),
            (r#"msg="odd \q escape""#, "odd \\q escape"),
            (r#"msg="""#, ""),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_logfmt(line), owned(&[("msg", expected)]), "line {line}");
        }
    }

    #[test]
    fn logfmt_skips_bare_words_and_keeps_empty_values() {
        assert_eq!(
            parse_logfmt(
                r#"GetItem failed table=users err=ResourceNotFoundException empty= "quoted word" x=1"#
            ),
            owned(&[
                ("table", "users"),
                ("err", "ResourceNotFoundException"),
                ("empty", ""),
                ("x", "1")
            ])
        );
        assert!(parse_logfmt("connection reset by peer").is_empty());
        assert!(parse_logfmt("   ").is_empty());
        assert!(parse_logfmt("=orphan").is_empty());
    }

    #[test]
    fn logfmt_keeps_the_rest_of_a_cut_line_as_the_last_value() {
        assert_eq!(
            parse_logfmt(r#"level=warn msg="queue depth high and the line was cu"#),
            owned(&[("level", "warn"), ("msg", "queue depth high and the line was cu")])
        );
    }

    #[test]
    fn json_lines_are_flattened_like_loki_json_parser() {
        let fields = line_fields(
            r#"{"level":"error","status":404,"ok":false,"gone":null,"ids":[1,2],"aws":{"table":"users","retry":{"count":2}}}"#,
        );
        let expected = owned(&[
            ("aws_retry_count", "2"),
            ("aws_table", "users"),
            ("ids", "[1,2]"),
            ("level", "error"),
            ("ok", "false"),
            ("status", "404"),
        ]);
        assert_eq!(fields.into_iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn first_of_repeated_logfmt_keys_wins() {
        let fields = line_fields("level=info level=debug");
        assert_eq!(fields.get("level").map(String::as_str), Some("info"));
    }

    #[test]
    fn text_that_is_neither_json_nor_logfmt_has_no_fields() {
        assert!(line_fields("ready").is_empty());
        assert!(line_fields("{not json at all").is_empty());
        assert!(line_fields("").is_empty());
    }
}
