//! Confining PromQL: the query is parsed with `promql-parser`, the scope's matchers are added to
//! every vector and matrix selector (each `or` group of one included, inside subqueries,
//! binary operations and function calls), and the query is written out, read again and checked
//! before it is sent. What cannot be confined is refused: parser extensions, and `info()`,
//! which reads `target_info` series the query does not name.

use promql_parser::label::Matcher as PromMatcher;
use promql_parser::parser::{self, Expr, VectorSelector};

use super::logql::Matcher;

/// `query` with `scope` added to every selector; refused with a reason when it does not parse
/// or cannot be confined.
pub fn confine(query: &str, scope: &[Matcher]) -> Result<String, String> {
    let mut expr =
        parser::parse(query).map_err(|error| format!("it is not PromQL Vitals can read: {error}"))?;
    let wanted = prom_matchers(scope)?;
    visit(&mut expr, &mut |selector| add(selector, &wanted))?;
    let written = expr.to_string();
    if !is_confined(&written, scope) {
        return Err("Vitals could not confine it safely".to_owned());
    }
    Ok(written)
}

/// Whether every selector of `query` (every `or` group of each) holds every matcher of `scope`.
pub fn is_confined(query: &str, scope: &[Matcher]) -> bool {
    let (Ok(mut expr), Ok(wanted)) = (parser::parse(query), prom_matchers(scope)) else {
        return false;
    };
    let mut confined = true;
    let walked = visit(&mut expr, &mut |selector| {
        let groups: Vec<&Vec<PromMatcher>> = if selector.matchers.or_matchers.is_empty() {
            vec![&selector.matchers.matchers]
        } else {
            selector.matchers.or_matchers.iter().collect()
        };
        confined &= groups
            .iter()
            .all(|group| wanted.iter().all(|matcher| group.contains(matcher)));
    });
    walked.is_ok() && confined
}

fn add(selector: &mut VectorSelector, wanted: &[PromMatcher]) {
    if selector.matchers.or_matchers.is_empty() {
        selector.matchers.matchers.extend_from_slice(wanted);
    } else {
        for group in &mut selector.matchers.or_matchers {
            group.extend_from_slice(wanted);
        }
    }
}

/// The scope's matchers as the parser builds them (regular expressions compiled its way).
fn prom_matchers(scope: &[Matcher]) -> Result<Vec<PromMatcher>, String> {
    scope
        .iter()
        .map(|matcher| match parser::parse(&format!("{{{matcher}}}")) {
            Ok(Expr::VectorSelector(selector)) if selector.matchers.matchers.len() == 1 => {
                Ok(selector.matchers.matchers[0].clone())
            }
            _ => Err(format!("the scope's matcher {matcher} is not one PromQL reads")),
        })
        .collect()
}

/// Calls `each` on every selector of `expr`; an error for what cannot be confined.
fn visit(expr: &mut Expr, each: &mut impl FnMut(&mut VectorSelector)) -> Result<(), String> {
    match expr {
        Expr::Aggregate(aggregate) => {
            visit(&mut aggregate.expr, each)?;
            match &mut aggregate.param {
                Some(param) => visit(param, each),
                None => Ok(()),
            }
        }
        Expr::Unary(unary) => visit(&mut unary.expr, each),
        Expr::Binary(binary) => {
            visit(&mut binary.lhs, each)?;
            visit(&mut binary.rhs, each)
        }
        Expr::Paren(paren) => visit(&mut paren.expr, each),
        Expr::Subquery(subquery) => visit(&mut subquery.expr, each),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::VectorSelector(selector) => {
            each(selector);
            Ok(())
        }
        Expr::MatrixSelector(matrix) => {
            each(&mut matrix.vs);
            Ok(())
        }
        Expr::Call(call) if call.func.name == "info" => Err(
            "it calls info(), which reads series the query does not name; join target_info yourself with a selector"
                .to_owned(),
        ),
        Expr::Call(call) => call.args.args.iter_mut().try_for_each(|arg| visit(arg, each)),
        Expr::Extension(_) => Err("it uses an extension of PromQL Vitals cannot confine".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::logql::parse_matcher;

    fn scope() -> Vec<Matcher> {
        vec![parse_matcher(r#"team="records""#).unwrap()]
    }

    #[test]
    fn every_selector_gets_the_scope() {
        for query in [
            "up",
            r#"sum by (status) (rate(dynamodb_requests_total{operation="GetItem"}[5m]))"#,
            r#"rate(a[5m]) / rate(b[5m])"#,
            r#"max_over_time(rate(a[1m])[30m:1m])"#,
            r#"a or b unless c and on(job) d"#,
            r#"label_replace(up{team="billing"}, "team", "records", "", "")"#,
            r#"{__name__=~".+"}"#,
            r#"{a="1" or b="2"}"#,
            r#"quantile_over_time(0.9, a[5m]) > bool scalar(b)"#,
            r#"topk(scalar(count(c)), a)"#,
            r#"absent_over_time(nonexistent{job="x"}[1h])"#,
            "1 + 1",
        ] {
            let confined = confine(query, &scope()).unwrap_or_else(|why| panic!("{query}: {why}"));
            assert!(is_confined(&confined, &scope()), "{query} became {confined}");
        }
        assert_eq!(
            confine(r#"up{job="api"}"#, &scope()).unwrap(),
            r#"up{job="api",team="records"}"#
        );
    }

    #[test]
    fn what_cannot_be_confined_is_refused() {
        for query in [r#"info(rate(a[5m]))"#, "sum(", r#"up{a="1""#, "a{} )"] {
            assert!(confine(query, &scope()).is_err(), "{query}");
        }
        // Checking a query that was never confined finds the selector that escapes.
        assert!(!is_confined(r#"a{team="records"} or b"#, &scope()));
        assert!(!is_confined(r#"{team="records" or b="2"}"#, &scope()));
    }
}
