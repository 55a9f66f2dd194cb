//! The spans of a trace as the waterfall shows them: parents before children, siblings by start.

use crate::table::{NO_PARENT, SpanTable};

/// The tree of a [`SpanTable`], in waterfall order.
///
/// Rows are positions in [`SpanTree::order`]; a span's subtree is the run of rows from its own
/// to [`SpanTree::subtree_end`], so hiding a collapsed subtree is one jump.
#[derive(Debug, Clone)]
pub struct SpanTree {
    /// Span indices in waterfall order.
    order: Vec<u32>,
    /// The row of each span.
    row: Vec<u32>,
    depth: Vec<u32>,
    /// The row after the last of each span's descendants.
    subtree_end: Vec<u32>,
    /// Children of span `i`: `children[child_start[i]..child_start[i + 1]]`, by start.
    child_start: Vec<u32>,
    children: Vec<u32>,
    /// Spans without a parent in the trace, by start.
    roots: Vec<u32>,
}

impl SpanTree {
    pub fn new(table: &SpanTable) -> Self {
        let count = table.len();
        let by_start = |a: &u32, b: &u32| table.start(*a).cmp(&table.start(*b)).then(a.cmp(b));

        // Children grouped by parent (a counting sort), each group by start.
        let mut child_start = vec![0_u32; count + 1];
        for index in 0..count as u32 {
            let parent = table.parent(index);
            if parent != NO_PARENT {
                child_start[parent as usize + 1] += 1;
            }
        }
        for at in 1..=count {
            child_start[at] += child_start[at - 1];
        }
        let mut filled = child_start.clone();
        let mut children = vec![0_u32; child_start[count] as usize];
        let mut roots = Vec::new();
        for index in 0..count as u32 {
            match table.parent(index) {
                NO_PARENT => roots.push(index),
                parent => {
                    let slot = &mut filled[parent as usize];
                    children[*slot as usize] = index;
                    *slot += 1;
                }
            }
        }
        for span in 0..count {
            children[child_start[span] as usize..child_start[span + 1] as usize].sort_unstable_by(by_start);
        }
        roots.sort_unstable_by(by_start);

        let mut tree = Self {
            order: Vec::with_capacity(count),
            row: vec![u32::MAX; count],
            depth: vec![0; count],
            subtree_end: vec![0; count],
            child_start,
            children,
            roots,
        };
        let roots = tree.roots.clone();
        for root in roots {
            tree.walk_from(root);
        }
        // Spans in a loop of parents are reached from no root: the first of each loop met
        // becomes a root, so every span has a row.
        for index in 0..count as u32 {
            if tree.row[index as usize] == u32::MAX {
                tree.roots.push(index);
                tree.walk_from(index);
            }
        }
        tree
    }

    /// Gives rows to `root` and every span below it not yet given one, depth first.
    fn walk_from(&mut self, root: u32) {
        let root_depth = 0;
        // (span, depth); a span is pushed again as `closing` to note where its subtree ends.
        let mut stack = vec![Step::Open(root, root_depth)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Open(span, depth) => {
                    if self.row[span as usize] != u32::MAX {
                        continue;
                    }
                    self.row[span as usize] = self.order.len() as u32;
                    self.order.push(span);
                    self.depth[span as usize] = depth;
                    stack.push(Step::Close(span));
                    for child in self.children_of(span).iter().rev() {
                        stack.push(Step::Open(*child, depth + 1));
                    }
                }
                Step::Close(span) => self.subtree_end[span as usize] = self.order.len() as u32,
            }
        }
    }

    /// Span indices in waterfall order.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn row(&self, span: u32) -> u32 {
        self.row[span as usize]
    }

    pub fn depth(&self, span: u32) -> u32 {
        self.depth[span as usize]
    }

    /// The row after the last of the span's descendants.
    pub fn subtree_end(&self, span: u32) -> u32 {
        self.subtree_end[span as usize]
    }

    pub fn descendants(&self, span: u32) -> u64 {
        u64::from(self.subtree_end(span) - self.row(span) - 1)
    }

    pub fn children_of(&self, span: u32) -> &[u32] {
        &self.children[self.child_range(span)]
    }

    /// Where the span's children sit in the list of every span's children, which holds them
    /// span after span: for data kept alongside it.
    pub fn child_range(&self, span: u32) -> std::ops::Range<usize> {
        self.child_start[span as usize] as usize..self.child_start[span as usize + 1] as usize
    }

    pub fn roots(&self) -> &[u32] {
        &self.roots
    }

    /// The rows shown when the spans for which `collapsed` holds have their subtrees folded away.
    pub fn visible(&self, collapsed: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut rows = Vec::new();
        let mut row = 0;
        while row < self.order.len() {
            let span = self.order[row];
            rows.push(span);
            row = if collapsed(span) {
                self.subtree_end(span) as usize
            } else {
                row + 1
            };
        }
        rows
    }

    /// The rows shown with every span at `depth` collapsed: levels 0 to `depth`.
    pub fn down_to(&self, depth: u32) -> Vec<u32> {
        self.visible(|span| self.depth(span) >= depth)
    }

    /// The span's ancestors, nearest first.
    pub fn ancestors<'a>(&'a self, table: &'a SpanTable, span: u32) -> impl Iterator<Item = u32> + 'a {
        let mut at = span;
        let mut steps = 0;
        std::iter::from_fn(move || {
            let parent = table.parent(at);
            // A loop of parents ends where its walk began.
            if parent == NO_PARENT || steps >= self.order.len() || self.depth(at) == 0 {
                return None;
            }
            steps += 1;
            at = parent;
            Some(parent)
        })
    }
}

enum Step {
    Open(u32, u32),
    Close(u32),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::table::{NO_ATTRIBUTES, NewSpan, TableBuilder};
    use vitals_api::{SpanKind, SpanStatus};

    /// A table from `(parent, start, duration)` rows; the span at row `i` has the id `i + 1`.
    pub(crate) fn table_of(rows: &[(u32, i64, i64)]) -> SpanTable {
        let mut builder = TableBuilder::new("1-00000000-000000000000000000000000");
        for (index, (parent, start, duration)) in rows.iter().enumerate() {
            builder.push(NewSpan {
                id: index as u64 + 1,
                parent: *parent,
                service: "s",
                name: "op",
                start: *start,
                duration: *duration,
                status: SpanStatus::Ok,
                kind: SpanKind::Internal,
                attributes: NO_ATTRIBUTES,
            });
        }
        builder.finish()
    }

    const N: u32 = NO_PARENT;

    #[test]
    fn rows_are_parents_before_children_and_siblings_by_start() {
        // 0 ─┬─ 2 (starts at 5) ── 3
        //    └─ 1 (starts at 30)
        let table = table_of(&[(N, 0, 100), (0, 30, 10), (0, 5, 20), (2, 6, 4)]);
        let tree = SpanTree::new(&table);
        assert_eq!(tree.order(), &[0, 2, 3, 1]);
        assert_eq!(
            (0..4).map(|span| tree.depth(span)).collect::<Vec<_>>(),
            [0, 1, 1, 2]
        );
        assert_eq!(tree.descendants(0), 3);
        assert_eq!(tree.descendants(2), 1);
        assert_eq!(tree.descendants(1), 0);
        assert_eq!(tree.children_of(0), &[2, 1]);
        assert_eq!(tree.ancestors(&table, 3).collect::<Vec<_>>(), [2, 0]);
    }

    #[test]
    fn collapsing_hides_a_subtree_and_depth_folds_everything_below() {
        let table = table_of(&[(N, 0, 100), (0, 30, 10), (0, 5, 20), (2, 6, 4), (3, 7, 1)]);
        let tree = SpanTree::new(&table);
        assert_eq!(tree.visible(|_| false), [0, 2, 3, 4, 1]);
        assert_eq!(tree.visible(|span| span == 2), [0, 2, 1]);
        assert_eq!(tree.visible(|span| span == 0), [0]);
        assert_eq!(tree.down_to(0), [0]);
        assert_eq!(tree.down_to(1), [0, 2, 1]);
        assert_eq!(tree.down_to(2), [0, 2, 3, 1]);
    }

    #[test]
    fn orphans_are_roots_and_a_loop_of_parents_still_gets_rows() {
        // 1 and 2 name each other as parent; 3 has no parent.
        let table = table_of(&[(N, 10, 5), (2, 0, 5), (1, 1, 5), (N, 0, 1)]);
        let tree = SpanTree::new(&table);
        assert_eq!(tree.len(), 4);
        let mut rows: Vec<u32> = tree.order().to_vec();
        rows.sort_unstable();
        assert_eq!(rows, [0, 1, 2, 3]);
        assert_eq!(&tree.roots()[..2], &[3, 0], "true roots by start first");
        assert!(tree.ancestors(&table, 2).count() <= 4);
    }

    #[test]
    fn a_chain_a_million_deep_is_walked_without_recursion() {
        let depth = 1_000_000;
        let rows: Vec<(u32, i64, i64)> = (0..depth)
            .map(|index| {
                (
                    if index == 0 { N } else { index - 1 },
                    i64::from(index),
                    2 * i64::from(depth),
                )
            })
            .collect();
        let table = table_of(&rows);
        let tree = SpanTree::new(&table);
        assert_eq!(tree.depth(depth - 1), depth - 1);
        assert_eq!(tree.descendants(0), u64::from(depth - 1));
        assert_eq!(tree.down_to(2).len(), 3);
    }
}
