//! The waterfall of a trace sent whole: which rows show as subtrees fold and unfold, where each
//! span's bar sits in the shown stretch of time, the next failed span, and the spans that match
//! a search. The page keeps one [`Waterfall`] and draws only the rows in view.

use vitals_api::SpanStatus;

use crate::critical::CriticalPath;
use crate::table::SpanTable;
use crate::tree::SpanTree;

/// A trace laid out as waterfall rows, with its critical path and the subtrees folded away.
#[derive(Debug, Clone)]
pub struct Waterfall {
    table: SpanTable,
    tree: SpanTree,
    critical: CriticalPath,
    collapsed: Vec<bool>,
    rows: Vec<u32>,
    start: i64,
    end: i64,
}

/// Where a span's bar goes in the shown stretch of time, as fractions of its width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub left: f64,
    pub width: f64,
}

impl Waterfall {
    /// Every row shown, nothing folded.
    pub fn new(table: SpanTable) -> Self {
        let tree = SpanTree::new(&table);
        let critical = CriticalPath::new(&table, &tree);
        let start = (0..table.len() as u32)
            .map(|span| table.start(span))
            .min()
            .unwrap_or(0);
        let end = (0..table.len() as u32)
            .map(|span| table.end(span))
            .max()
            .unwrap_or(start);
        let rows = tree.order().to_vec();
        Self {
            collapsed: vec![false; table.len()],
            table,
            tree,
            critical,
            rows,
            start,
            end,
        }
    }

    pub fn table(&self) -> &SpanTable {
        &self.table
    }

    pub fn tree(&self) -> &SpanTree {
        &self.tree
    }

    pub fn critical(&self) -> &CriticalPath {
        &self.critical
    }

    /// The spans shown, in row order.
    pub fn rows(&self) -> &[u32] {
        &self.rows
    }

    /// The earliest start and the latest end of any span, in nanoseconds.
    pub fn span_of_time(&self) -> (i64, i64) {
        (self.start, self.end)
    }

    pub fn has_children(&self, span: u32) -> bool {
        !self.tree.children_of(span).is_empty()
    }

    pub fn is_collapsed(&self, span: u32) -> bool {
        self.collapsed[span as usize]
    }

    /// Folds the span's subtree away, or unfolds it.
    pub fn toggle(&mut self, span: u32) {
        if self.has_children(span) {
            self.collapsed[span as usize] = !self.collapsed[span as usize];
            self.refresh();
        }
    }

    /// Shows levels 0 to `depth`: every span at `depth` with children is folded.
    pub fn collapse_below(&mut self, depth: u32) {
        for span in 0..self.table.len() as u32 {
            self.collapsed[span as usize] = self.tree.depth(span) >= depth && self.has_children(span);
        }
        self.refresh();
    }

    pub fn expand_all(&mut self) {
        self.collapsed.fill(false);
        self.refresh();
    }

    /// Unfolds the span's ancestors so that its row shows; answers that row.
    pub fn show(&mut self, span: u32) -> usize {
        let folded: Vec<u32> = self
            .tree
            .ancestors(&self.table, span)
            .filter(|ancestor| self.collapsed[*ancestor as usize])
            .collect();
        if !folded.is_empty() {
            for ancestor in folded {
                self.collapsed[ancestor as usize] = false;
            }
            self.refresh();
        }
        self.row_of(span).unwrap_or(0)
    }

    /// The row a span shows in, if it shows.
    pub fn row_of(&self, span: u32) -> Option<usize> {
        // Rows are in tree order, so the tree's own row numbers are sorted along them.
        let wanted = self.tree.row(span);
        self.rows
            .binary_search_by_key(&wanted, |shown| self.tree.row(*shown))
            .ok()
    }

    /// The next span after `after`, in tree order and wrapping round, that ended in an error,
    /// fault or throttle; the first of them when `after` is `None`.
    pub fn next_failed(&self, after: Option<u32>) -> Option<u32> {
        let order = self.tree.order();
        let from = after.map_or(0, |span| self.tree.row(span) as usize + 1);
        let failed = |span: &&u32| self.table.status(**span) != SpanStatus::Ok;
        order[from.min(order.len())..]
            .iter()
            .chain(&order[..from.min(order.len())])
            .find(failed)
            .copied()
    }

    /// Where the trace failed: spans that ended badly while nothing below them did, in tree
    /// order. A login answered 404 because its `GetItem` failed points at the `GetItem`.
    pub fn failure_origins(&self) -> Vec<u32> {
        let failed = |span: u32| self.table.status(span) != SpanStatus::Ok;
        // Children come after their parents in tree order, so one pass backwards tells each
        // span whether anything below it failed.
        let mut failed_below = vec![false; self.table.len()];
        for &span in self.tree.order().iter().rev() {
            let parent = self.table.parent(span);
            if parent != crate::table::NO_PARENT && self.tree.depth(span) > 0 {
                failed_below[parent as usize] |= failed(span) || failed_below[span as usize];
            }
        }
        self.tree
            .order()
            .iter()
            .copied()
            .filter(|span| failed(*span) && !failed_below[*span as usize])
            .collect()
    }

    /// The spans whose service, name or an attribute contains `text` (any case), in tree order.
    pub fn search(&self, text: &str) -> Vec<u32> {
        let wanted = text.trim().to_lowercase();
        if wanted.is_empty() {
            return Vec::new();
        }
        let holds = |value: &str| value.to_lowercase().contains(&wanted);
        self.tree
            .order()
            .iter()
            .copied()
            .filter(|span| {
                holds(self.table.service(*span))
                    || holds(self.table.name(*span))
                    || holds(&self.table.span_id(*span))
                    || self
                        .table
                        .attributes(*span)
                        .iter()
                        .any(|(name, value)| holds(name) || holds(value))
            })
            .collect()
    }

    /// The span's bar within the stretch `from..to`; `None` when it lies wholly outside it.
    /// A bar is at least a sliver wide, so an instant still shows.
    pub fn bar(&self, span: u32, from: i64, to: i64) -> Option<Bar> {
        bar_within(self.table.start(span), self.table.end(span), from, to)
    }

    fn refresh(&mut self) {
        let collapsed = &self.collapsed;
        self.rows = self.tree.visible(|span| collapsed[span as usize]);
    }
}

/// Where `start..end` sits within `from..to`, as fractions of it, clipped to it.
pub fn bar_within(start: i64, end: i64, from: i64, to: i64) -> Option<Bar> {
    const SLIVER: f64 = 0.002;
    let length = (to - from).max(1) as f64;
    if end < from || start > to {
        return None;
    }
    let left = ((start.max(from) - from) as f64 / length).clamp(0.0, 1.0 - SLIVER);
    let right = ((end.min(to) - from) as f64 / length).clamp(0.0, 1.0);
    let width = (right - left).clamp(SLIVER, 1.0 - left);
    Some(Bar { left, width })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{NO_ATTRIBUTES, NO_PARENT, NewSpan, TableBuilder};
    use vitals_api::SpanKind;

    const N: u32 = NO_PARENT;

    /// A table from `(parent, start, duration, status)` rows; the span at row `i` has id `i + 1`
    /// and the name `op{i}`.
    fn table_of(rows: &[(u32, i64, i64, SpanStatus)]) -> SpanTable {
        let mut builder = TableBuilder::new("1-00000000-000000000000000000000000");
        for (index, (parent, start, duration, status)) in rows.iter().enumerate() {
            let mut attributes = std::collections::BTreeMap::new();
            if *status != SpanStatus::Ok {
                attributes.insert(
                    "exception.message".to_owned(),
                    "Requested resource not found".to_owned(),
                );
            }
            let attributes = if attributes.is_empty() {
                NO_ATTRIBUTES
            } else {
                builder.attribute_set(&attributes)
            };
            builder.push(NewSpan {
                id: index as u64 + 1,
                parent: *parent,
                service: if index == 0 { "login-api" } else { "DynamoDB" },
                name: &format!("op{index}"),
                start: *start,
                duration: *duration,
                status: *status,
                kind: SpanKind::Internal,
                attributes,
            });
        }
        builder.finish()
    }

    use SpanStatus::{Error, Fault, Ok};

    /// 0 ─┬─ 1 ── 2 (error)
    ///    └─ 3 ── 4 (fault)
    fn login() -> Waterfall {
        Waterfall::new(table_of(&[
            (N, 0, 100, Error),
            (0, 10, 40, Ok),
            (1, 12, 10, Error),
            (0, 60, 30, Ok),
            (3, 61, 5, Fault),
        ]))
    }

    #[test]
    fn folding_and_unfolding_changes_the_rows_shown() {
        let mut waterfall = login();
        assert_eq!(waterfall.rows(), [0, 1, 2, 3, 4]);
        waterfall.toggle(1);
        assert_eq!(waterfall.rows(), [0, 1, 3, 4]);
        assert!(waterfall.is_collapsed(1));
        waterfall.toggle(2); // a leaf has nothing to fold
        assert_eq!(waterfall.rows(), [0, 1, 3, 4]);
        waterfall.toggle(1);
        assert_eq!(waterfall.rows(), [0, 1, 2, 3, 4]);

        let cases: [(u32, &[u32]); 3] = [(0, &[0]), (1, &[0, 1, 3]), (2, &[0, 1, 2, 3, 4])];
        for (depth, rows) in cases {
            waterfall.collapse_below(depth);
            assert_eq!(waterfall.rows(), rows, "collapsed below depth {depth}");
        }
        waterfall.collapse_below(0);
        waterfall.expand_all();
        assert_eq!(waterfall.rows(), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_next_failed_span_wraps_round_and_unfolds_to_show() {
        let mut waterfall = login();
        assert_eq!(waterfall.next_failed(None), Some(0));
        assert_eq!(waterfall.next_failed(Some(0)), Some(2));
        assert_eq!(waterfall.next_failed(Some(2)), Some(4));
        assert_eq!(waterfall.next_failed(Some(4)), Some(0));
        waterfall.collapse_below(0);
        assert_eq!(waterfall.row_of(4), None);
        assert_eq!(
            waterfall.show(4),
            3,
            "4 shows under 3 once its ancestors unfold; 1 stays folded"
        );
        assert_eq!(waterfall.rows(), [0, 1, 3, 4]);

        let healthy = Waterfall::new(table_of(&[(N, 0, 10, Ok), (0, 1, 2, Ok)]));
        assert_eq!(healthy.next_failed(None), None);
        assert!(healthy.failure_origins().is_empty());
    }

    #[test]
    fn a_failure_is_traced_to_the_spans_where_it_began() {
        assert_eq!(
            login().failure_origins(),
            [2, 4],
            "not the root, whose children failed first"
        );
        let alone = Waterfall::new(table_of(&[(N, 0, 10, Fault), (0, 1, 2, Ok)]));
        assert_eq!(
            alone.failure_origins(),
            [0],
            "a root failing on its own is where it began"
        );
    }

    #[test]
    fn search_finds_services_names_and_attributes_in_any_case() {
        let waterfall = login();
        let cases: [(&str, &[u32]); 5] = [
            ("dynamodb", &[1, 2, 3, 4]),
            ("OP3", &[3]),
            ("resource not found", &[0, 2, 4]),
            ("  ", &[]),
            ("nothing like it", &[]),
        ];
        for (text, spans) in cases {
            assert_eq!(waterfall.search(text), spans, "searching {text:?}");
        }
    }

    #[test]
    fn bars_sit_within_the_stretch_shown_and_keep_a_sliver() {
        let cases = [
            // (start, end, from, to) → (left, width)
            ((0, 100, 0, 100), Some((0.0, 1.0))),
            ((25, 75, 0, 100), Some((0.25, 0.5))),
            ((50, 150, 100, 200), Some((0.0, 0.5))),
            ((40, 40, 0, 100), Some((0.4, 0.002))),
            ((100, 100, 0, 100), Some((0.998, 0.002))),
            ((0, 10, 50, 100), None),
            ((120, 130, 50, 100), None),
        ];
        for ((start, end, from, to), expected) in cases {
            let bar = bar_within(start, end, from, to).map(|bar| (bar.left, bar.width));
            match (bar, expected) {
                (Some((left, width)), Some((want_left, want_width))) => {
                    assert!(
                        (left - want_left).abs() < 1e-9,
                        "{start}..{end} in {from}..{to}: left {left}"
                    );
                    assert!(
                        (width - want_width).abs() < 1e-9,
                        "{start}..{end} in {from}..{to}: width {width}"
                    );
                }
                (bar, expected) => assert_eq!(
                    bar.is_some(),
                    expected.is_some(),
                    "{start}..{end} in {from}..{to}"
                ),
            }
        }
    }

    #[test]
    fn a_trace_of_a_million_spans_folds_and_finds_without_recursion() {
        // One chain a million deep: recursion would overflow the stack long before the end.
        let mut builder = TableBuilder::new("1-00000000-000000000000000000000000");
        for index in 0..1_000_000_u32 {
            builder.push(NewSpan {
                id: u64::from(index) + 1,
                parent: if index == 0 { N } else { index - 1 },
                service: "s",
                name: "op",
                start: i64::from(index),
                duration: 1_000_000 - i64::from(index),
                status: if index == 999_999 { Fault } else { Ok },
                kind: SpanKind::Internal,
                attributes: NO_ATTRIBUTES,
            });
        }
        let mut waterfall = Waterfall::new(builder.finish());
        assert_eq!(waterfall.rows().len(), 1_000_000);
        assert!(waterfall.critical().contains(999_999));
        waterfall.collapse_below(10);
        assert_eq!(waterfall.rows().len(), 11);
        assert_eq!(waterfall.next_failed(None), Some(999_999));
        assert_eq!(waterfall.show(999_999), 999_999);
    }
}
