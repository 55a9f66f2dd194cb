//! The property the label scope rests on: for every query that parses, the confined query has
//! the scope's matchers in every selector, and exactly as many selectors as the query had.
//! Queries are generated from the grammars' parts, with label values and line filters full of
//! the characters that could end a string or a selector early.

use proptest::prelude::*;

use super::logql::{self, Matcher, escape, parse_matcher};
use super::promql;

fn scope() -> Vec<Matcher> {
    vec![
        parse_matcher(r#"team="records""#).unwrap(),
        parse_matcher(r#"env=~"prod|staging""#).unwrap(),
    ]
}

/// Text with the characters that matter to a lexer.
fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('{'),
            Just('}'),
            Just('`'),
            Just('#'),
            Just('\''),
            Just(','),
            Just('='),
            Just(' '),
            Just('\n'),
            Just('a'),
            Just('é'),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn label_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}"
}

fn op() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("="), Just("!="), Just("=~"), Just("!~")]
}

/// A LogQL selector and how many selectors it is (one).
fn log_selector() -> impl Strategy<Value = String> {
    proptest::collection::vec((label_name(), op(), tricky_text()), 0..4).prop_map(|matchers| {
        let inner: Vec<String> = matchers
            .into_iter()
            .map(|(name, op, value)| {
                // Regular expressions must stay valid for the real backends; text is all that
                // matters here, so regex values are quoted raw when they have no backquote.
                if op.contains('~') && !value.contains('`') {
                    format!("{name}{op}`{value}`")
                } else {
                    format!("{name}{op}\"{}\"", escape(&value))
                }
            })
            .collect();
        format!("{{{}}}", inner.join(", "))
    })
}

fn log_stage() -> impl Strategy<Value = String> {
    prop_oneof![
        tricky_text().prop_map(|text| format!("|= \"{}\"", escape(&text))),
        tricky_text().prop_map(|text| format!("!~ \"{}\"", escape(&text))),
        Just("| json".to_owned()),
        Just("| logfmt".to_owned()),
        tricky_text().prop_map(|text| format!("| line_format \"{}\"", escape(&text))),
        tricky_text()
            .prop_filter("raw strings hold no backquote", |text| !text.contains('`'))
            .prop_map(|text| format!("| label_format a=`{text}`")),
    ]
}

/// A log query and the number of selectors in it.
fn log_query() -> impl Strategy<Value = (String, usize)> {
    (log_selector(), proptest::collection::vec(log_stage(), 0..3))
        .prop_map(|(selector, stages)| (format!("{selector} {}", stages.join(" ")), 1))
}

/// A LogQL metric query, nested and joined, and the number of selectors in it.
fn log_metric_query() -> impl Strategy<Value = (String, usize)> {
    let leaf = log_query().prop_map(|(query, count)| (format!("count_over_time({query} [5m])"), count));
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(|(q, n)| (format!("sum by (level) ({q})"), n)),
            (
                inner.clone(),
                prop_oneof![Just("or"), Just("unless"), Just("and"), Just("/"), Just("+")],
                inner
            )
                .prop_map(|((a, n), op, (b, m))| (format!("{a} {op} {b}"), n + m)),
        ]
    })
}

fn prom_selector() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(String::new()), "[a-z_][a-z0-9_]{0,8}"],
        proptest::collection::vec(
            (label_name(), prop_oneof![Just("="), Just("!=")], tricky_text()),
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(name, matchers, or)| {
            let written: Vec<String> = matchers
                .iter()
                .map(|(label, op, value)| format!("{label}{op}\"{}\"", escape(value)))
                .collect();
            // A selector needs a name or a matcher that cannot match empty; `x="1"` gives one.
            let mut groups = written.join(",");
            if name.is_empty() {
                groups = if groups.is_empty() {
                    "x=\"1\"".to_owned()
                } else {
                    format!("x=\"1\",{groups}")
                };
            }
            if or && !written.is_empty() {
                groups = format!("{groups} or x=\"2\"");
            }
            format!("{name}{{{groups}}}")
        })
}

/// A PromQL query and the number of selectors in it.
fn prom_query() -> impl Strategy<Value = (String, usize)> {
    let leaf = prop_oneof![
        prom_selector().prop_map(|s| (s, 1)),
        prom_selector().prop_map(|s| (format!("rate({s}[5m])"), 1)),
        Just(("1".to_owned(), 0)),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(|(q, n)| (format!("sum by (job) ({q})"), n)),
            inner
                .clone()
                .prop_map(|(q, n)| (format!(r#"label_replace({q}, "team", "records", "", "")"#), n)),
            prom_selector().prop_map(|s| (format!("max_over_time(rate({s}[1m])[10m:1m])"), 1)),
            (
                inner.clone(),
                prop_oneof![Just("or"), Just("unless"), Just("and"), Just("/"), Just("+")],
                inner
            )
                .prop_map(|((a, n), op, (b, m))| (format!("({a}) {op} ({b})"), n + m)),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_log_query_comes_out_confined_in_every_selector((query, selectors) in log_metric_query()) {
        let confined = logql::confine(&query, &scope()).unwrap_or_else(|why| panic!("{query}: {why}"));
        let found = logql::selectors(&confined).unwrap();
        prop_assert_eq!(found.len(), selectors, "{}", confined);
        for selector in found {
            for wanted in scope() {
                prop_assert!(selector.matchers.contains(&wanted), "{} lacks {}", confined, wanted);
            }
        }
    }

    #[test]
    fn any_text_is_refused_or_comes_out_confined(query in "[{}\"`'#\\\\a=~!|, ()]{0,40}") {
        if let Ok(confined) = logql::confine(&query, &scope()) {
            prop_assert!(logql::is_confined(&confined, &scope()), "{} became {}", query, confined);
        }
        if let Ok(confined) = promql::confine(&query, &scope()) {
            prop_assert!(promql::is_confined(&confined, &scope()), "{} became {}", query, confined);
        }
    }

    #[test]
    fn every_metric_query_comes_out_confined_in_every_selector((query, selectors) in prom_query()) {
        prop_assume!(promql_parser::parser::parse(&query).is_ok());
        let confined = promql::confine(&query, &scope()).unwrap_or_else(|why| panic!("{query}: {why}"));
        // Checked by the parser's own reading of what is sent: every selector, each `or` group.
        prop_assert!(promql::is_confined(&confined, &scope()), "{}", confined);
        prop_assert!(selectors == 0 || confined.contains("team=\"records\""), "{}", confined);
    }
}
