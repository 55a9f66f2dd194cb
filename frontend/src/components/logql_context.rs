//! Where the cursor is in a LogQL query, so that the editor suggests what fits there: a label's
//! values inside a selector's quotes, label names inside its braces, pipeline stages after a
//! `|`, functions at the start.

use crate::components::completion::word_start;

/// The stages of a LogQL pipeline, for completion after a `|`.
pub const PIPELINE_STAGES: [&str; 12] = [
    "json",
    "logfmt",
    "regexp",
    "pattern",
    "unpack",
    "line_format",
    "label_format",
    "unwrap",
    "drop",
    "keep",
    "decolorize",
    "distinct",
];

/// What fits at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Inside the quotes of `label="…`: its values; the typed part starts at `start`.
    Value { label: String, start: usize },
    /// Inside a selector's braces: label names.
    LabelName { start: usize },
    /// After a `|`: pipeline stages (and label names, for a label filter).
    Stage { start: usize },
    /// Anywhere else: functions.
    Other { start: usize },
}

/// The place of the cursor (a byte offset) in `text`.
pub fn place_of(text: &str, cursor: usize) -> Place {
    let cursor = cursor.min(text.len());
    let before = &text[..cursor];
    let mut depth = 0_i32;
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    for (at, c) in before.char_indices() {
        if let Some((open, _)) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && open != '`' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '`' => quote = Some((c, at)),
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
    }
    let start = word_start(text, cursor);
    if let Some((_, opened)) = quote {
        if depth > 0 {
            let label = label_before(&before[..opened]);
            return Place::Value {
                label,
                start: opened + 1,
            };
        }
        return Place::Other { start: cursor };
    }
    if depth > 0 {
        return Place::LabelName { start };
    }
    // The last thing before the word being typed is a `|`: a stage goes here.
    let typed_from = before[..start].trim_end();
    if typed_from.ends_with('|') && !typed_from.ends_with("||") {
        return Place::Stage { start };
    }
    Place::Other { start }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The label a matcher's value belongs to: the name before `=`, `!=`, `=~` or `!~`.
fn label_before(text: &str) -> String {
    let trimmed = text.trim_end();
    let without_operator = trimmed.trim_end_matches(['=', '~', '!']).trim_end();
    let name_start = without_operator
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(without_operator.len(), |(at, _)| at);
    without_operator[name_start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_finds_values_names_stages_or_functions() {
        let at_end = |text: &str| place_of(text, text.len());
        assert_eq!(
            at_end(r#"{service="log"#),
            Place::Value {
                label: "service".into(),
                start: 10
            }
        );
        assert_eq!(
            at_end(r#"{env="prod", service=~"lo"#),
            Place::Value {
                label: "service".into(),
                start: 23
            }
        );
        assert_eq!(at_end(r#"{env="prod", ser"#), Place::LabelName { start: 13 });
        assert_eq!(at_end("{"), Place::LabelName { start: 1 });
        assert_eq!(at_end(r#"{service="records"} | lo"#), Place::Stage { start: 22 });
        assert_eq!(at_end(r#"{service="records"} |"#), Place::Stage { start: 21 });
        assert_eq!(
            at_end(r#"{service="records"} |= "lo"#),
            Place::Other { start: 26 }
        );
        assert_eq!(
            at_end(r#"{service="records"} |= "x" or"#),
            Place::Other { start: 27 }
        );
        assert_eq!(at_end("count_ov"), Place::Other { start: 0 });
        assert_eq!(
            place_of(r#"{service="records", level="e"} | json"#, 28),
            Place::Value {
                label: "level".into(),
                start: 27
            },
            "the cursor, not the end"
        );
    }
}
