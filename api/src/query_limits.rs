//! How long and how deeply nested a query may be, checked in one linear pass before any parser sees it.
//!
//! Parsers and evaluators recurse once per level of nesting, and a query nested
//! tens of thousands deep overflows the stack of the thread running it, which
//! aborts the whole server. This scan needs no stack, so it runs first; the
//! recursive parsers also count their depth against [`NESTING_CEILING`] so they
//! stay bounded when called on their own.

/// The deepest nesting any parser accepts, whatever the configuration says:
/// far below what exhausts a worker thread's stack, far above what a person writes.
pub const NESTING_CEILING: usize = 256;

/// The longest query any configuration may allow. Chains of operators nest
/// without brackets, and the PromQL parser recurses over them: 16 KiB of `-`
/// or `up+up+…` stays well inside a worker thread's stack, 64 KiB does not.
pub const LENGTH_CEILING: usize = 16 * 1024;

/// The size and nesting one query may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Brackets (`(`, `[`, `{`) open at once, outside string literals.
    pub max_depth: usize,
    /// Bytes of the query text.
    pub max_bytes: usize,
}

impl QueryLimits {
    /// The widest limits there are: what a parser checks when called without the configured ones.
    pub const CEILING: Self = Self {
        max_depth: NESTING_CEILING,
        max_bytes: LENGTH_CEILING,
    };

    /// Refuses a query longer or more deeply nested than these limits, with a
    /// sentence saying which and what to do.
    pub fn check(&self, query: &str) -> Result<(), String> {
        if query.len() > self.max_bytes {
            return Err(format!(
                "the query is {} bytes long, above the limit of {} bytes; shorten it or split it into several queries",
                query.len(),
                self.max_bytes
            ));
        }
        if nesting_exceeds(query, self.max_depth) {
            return Err(too_deep(self.max_depth));
        }
        Ok(())
    }
}

/// The refusal of a query nested deeper than `max_depth`, for the scan and the parsers alike.
pub fn too_deep(max_depth: usize) -> String {
    format!(
        "the query nests brackets or expressions more than {max_depth} levels deep; flatten it or split it into several queries"
    )
}

/// Whether more than `max_depth` brackets are open at once anywhere in `query`.
/// Brackets inside `"…"`, `'…'` (with backslash escapes) and `` `…` `` do not count.
fn nesting_exceeds(query: &str, max_depth: usize) -> bool {
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for byte in query.bytes() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(b'`') if byte == b'`' => quote = None,
            Some(open) if open != b'`' && byte == b'\\' => escaped = true,
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None => match byte {
                b'"' | b'\'' | b'`' => quote = Some(byte),
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    if depth > max_depth {
                        return true;
                    }
                }
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: QueryLimits = QueryLimits {
        max_depth: 3,
        max_bytes: 64,
    };

    #[test]
    fn nesting_up_to_the_limit_passes() {
        assert_eq!(LIMITS.check("sum(rate(x{a=\"b\"}[5m]))"), Ok(()));
    }

    #[test]
    fn nesting_past_the_limit_is_refused_naming_it() {
        let reason = LIMITS.check("sum(sum(sum(sum(up))))").unwrap_err();
        assert!(reason.contains("more than 3 levels deep; flatten it"), "{reason}");
    }

    #[test]
    fn brackets_inside_string_literals_do_not_count() {
        for query in [
            r#"{app="((((("}"#,
            r#"{app='((((('}"#,
            r#"{app=~`((((\`}"#,
            r#"{app="\"(((((("}"#,
        ] {
            assert_eq!(LIMITS.check(query), Ok(()), "{query}");
        }
        assert!(LIMITS.check(r#"{app="\\"}(((("#).is_err());
    }

    #[test]
    fn a_query_past_the_length_limit_is_refused_naming_it() {
        let reason = LIMITS.check(&"a".repeat(65)).unwrap_err();
        assert!(
            reason.starts_with("the query is 65 bytes long, above the limit of 64 bytes; shorten it"),
            "{reason}"
        );
    }

    #[test]
    fn a_deep_query_is_scanned_without_recursion() {
        let limits = QueryLimits {
            max_depth: NESTING_CEILING,
            max_bytes: usize::MAX,
        };
        assert!(limits.check(&"(".repeat(1_000_000)).is_err());
    }
}
