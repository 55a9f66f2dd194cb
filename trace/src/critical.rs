//! The critical path: the chain of work the trace's duration waited on.
//!
//! Walking back from the root's end, the span in charge at each moment is the child that
//! finished last before it (and, inside that child, the same again); where no child was running,
//! the parent itself was. The walk is one loop over a current span and a moment: it goes down
//! into the last-finishing child, or, when none is left, back up to the parent at the moment the
//! child started. Each step moves the moment strictly back, so it ends, and a span with a million
//! children answers each step by a binary search instead of a scan.

use crate::table::SpanTable;
use crate::tree::SpanTree;

/// A stretch of time when `span` was what the trace waited on. Times in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub span: u32,
    pub start: i64,
    pub end: i64,
}

/// The critical path of a trace, from its main root.
#[derive(Debug, Clone, Default)]
pub struct CriticalPath {
    /// In time order.
    pub segments: Vec<Segment>,
    on_path: Vec<bool>,
}

impl CriticalPath {
    /// The path from the root that runs longest (the first of equals), in time order.
    pub fn new(table: &SpanTable, tree: &SpanTree) -> Self {
        let mut on_path = vec![false; table.len()];
        let Some(root) = main_root(table, tree) else {
            return Self::default();
        };
        let latest = LatestEnd::new(table, tree);
        let mut segments = Vec::new();
        let mut span = root;
        let mut until = table.end(root);
        loop {
            on_path[span as usize] = true;
            // The child running last before `until`, among those started before it.
            match latest.before(table, tree, span, until) {
                Some(child) => {
                    let child_end = table.end(child).min(until);
                    if child_end < until {
                        segments.push(Segment {
                            span,
                            start: child_end,
                            end: until,
                        });
                    }
                    span = child;
                    until = child_end;
                }
                None => {
                    let start = table.start(span).min(until);
                    if start < until {
                        segments.push(Segment {
                            span,
                            start,
                            end: until,
                        });
                    }
                    if span == root {
                        break;
                    }
                    until = start;
                    span = table.parent(span);
                }
            }
        }
        segments.reverse();
        Self { segments, on_path }
    }

    /// Whether `span` is on the path for some of its time.
    pub fn contains(&self, span: u32) -> bool {
        self.on_path.get(span as usize).copied().unwrap_or(false)
    }
}

/// The root the path starts from: the one that runs longest, the earliest of equals.
fn main_root(table: &SpanTable, tree: &SpanTree) -> Option<u32> {
    tree.roots().iter().copied().max_by_key(|root| {
        (
            table.end(*root) - table.start(*root),
            std::cmp::Reverse(table.start(*root)),
        )
    })
}

/// For each span's children (by start), which of the first `k` ends latest: the answer to
/// "which child was running last before this moment" in one binary search.
struct LatestEnd {
    /// Aligned with the tree's child lists: the child ending latest among those up to here.
    latest: Vec<u32>,
}

impl LatestEnd {
    fn new(table: &SpanTable, tree: &SpanTree) -> Self {
        let mut latest = Vec::new();
        for span in 0..table.len() as u32 {
            let mut best: Option<u32> = None;
            for child in tree.children_of(span) {
                best = match best {
                    Some(best) if table.end(best) >= table.end(*child) => Some(best),
                    _ => Some(*child),
                };
                latest.extend(best);
            }
        }
        Self { latest }
    }

    /// The child of `span` that started before `until` and ends latest (the end taken as at most
    /// `until`); of equals, the one that started last.
    fn before(&self, table: &SpanTable, tree: &SpanTree, span: u32, until: i64) -> Option<u32> {
        let children = tree.children_of(span);
        let started = children.partition_point(|child| table.start(*child) < until);
        if started == 0 {
            return None;
        }
        let candidate = self.latest[tree.child_range(span).start + started - 1];
        if table.end(candidate) >= until {
            // Several children may run up to `until`: the one that started last took over last.
            let last_started = children[started - 1];
            if table.end(last_started) >= until {
                return Some(last_started);
            }
        }
        Some(candidate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::NO_PARENT;
    use crate::tree::tests::table_of;

    const N: u32 = NO_PARENT;

    fn path(rows: &[(u32, i64, i64)]) -> Vec<(u32, i64, i64)> {
        let table = table_of(rows);
        let tree = SpanTree::new(&table);
        CriticalPath::new(&table, &tree)
            .segments
            .iter()
            .map(|segment| (segment.span, segment.start, segment.end))
            .collect()
    }

    #[test]
    fn the_path_follows_the_child_that_finished_last() {
        // root 0..100; a 10..40, b 20..90 (finishes last), c inside b 30..60.
        let rows = [(N, 0, 100), (0, 10, 30), (0, 20, 70), (2, 30, 30)];
        assert_eq!(
            path(&rows),
            [
                (0, 0, 10),
                (1, 10, 20),
                (2, 20, 30),
                (3, 30, 60),
                (2, 60, 90),
                (0, 90, 100)
            ]
        );
    }

    #[test]
    fn sequential_calls_are_each_on_the_path() {
        let rows = [(N, 0, 100), (0, 0, 40), (0, 50, 50)];
        assert_eq!(path(&rows), [(1, 0, 40), (0, 40, 50), (2, 50, 100)]);
    }

    #[test]
    fn a_child_that_outlives_its_parent_counts_until_the_parent_ends() {
        let rows = [(N, 0, 50), (0, 10, 100)];
        assert_eq!(path(&rows), [(0, 0, 10), (1, 10, 50)]);
    }

    #[test]
    fn parallel_children_ending_together_hand_over_to_the_last_started() {
        let rows = [(N, 0, 100), (0, 10, 90), (0, 40, 60)];
        assert_eq!(path(&rows), [(0, 0, 10), (1, 10, 40), (2, 40, 100)]);
    }

    #[test]
    fn zero_length_spans_do_not_stop_the_walk() {
        let rows = [(N, 0, 10), (0, 10, 0), (0, 5, 0), (0, 0, 0)];
        let found = path(&rows);
        assert_eq!(
            found.iter().map(|(_, start, end)| end - start).sum::<i64>(),
            10,
            "{found:?}"
        );
    }

    #[test]
    fn an_empty_trace_has_no_path() {
        assert!(path(&[]).is_empty());
    }

    #[test]
    fn a_million_children_in_a_row_are_walked_in_one_loop() {
        let count = 1_000_000_u32;
        let mut rows = vec![(N, 0, i64::from(count) * 10)];
        rows.extend((0..count).map(|index| (0, i64::from(index) * 10, 10)));
        let found = path(&rows);
        assert_eq!(found.len(), count as usize);
        assert_eq!(found[0], (1, 0, 10));
        assert_eq!(
            found.last(),
            Some(&(count, i64::from(count - 1) * 10, i64::from(count) * 10))
        );
    }

    #[test]
    fn a_chain_a_million_deep_is_walked_without_recursion() {
        let depth = 1_000_000_u32;
        let rows: Vec<(u32, i64, i64)> = (0..depth)
            .map(|index| {
                (
                    if index == 0 { N } else { index - 1 },
                    i64::from(index),
                    2 * i64::from(depth) - 2 * i64::from(index),
                )
            })
            .collect();
        let table = table_of(&rows);
        let tree = SpanTree::new(&table);
        let critical = CriticalPath::new(&table, &tree);
        assert!(critical.contains(depth - 1));
        assert_eq!(critical.segments.first().map(|segment| segment.span), Some(0));
    }
}
