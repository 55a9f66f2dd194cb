//! A trace too large to send whole: its overview and windows of its spans.

use std::collections::HashMap;

use vitals_api::SpanStatus;
use vitals_api::traces::{CriticalStep, ServiceSpans, TraceOverview, TraceWindow, WindowSpan};

use crate::critical::CriticalPath;
use crate::table::SpanTable;
use crate::tree::SpanTree;

/// How many equal slices of its duration the overview counts a trace's spans in.
pub const OVERVIEW_BUCKETS: usize = 200;
/// How many failed spans and critical-path steps the overview lists at most.
pub const OVERVIEW_LIST_LIMIT: usize = 1_000;

/// A trace with its tree and critical path worked out, ready to answer overviews and windows.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub table: SpanTable,
    pub tree: SpanTree,
    pub critical: CriticalPath,
}

impl Analysed {
    pub fn new(table: SpanTable) -> Self {
        let tree = SpanTree::new(&table);
        let critical = CriticalPath::new(&table, &tree);
        Self {
            table,
            tree,
            critical,
        }
    }

    /// The overview of the trace; `None` for a trace without spans.
    pub fn overview(&self, window_limit: u32) -> Option<TraceOverview> {
        let table = &self.table;
        let root = *self.tree.roots().first()?;
        let all = 0..table.len() as u32;
        let start = all.clone().map(|span| table.start(span)).min()?;
        let end = all.clone().map(|span| table.end(span)).max()?;
        let duration = (end - start).max(1);
        let bucket_duration = (duration + OVERVIEW_BUCKETS as i64 - 1) / OVERVIEW_BUCKETS as i64;

        let mut per_service: HashMap<u32, (u64, u64)> = HashMap::new();
        let mut spans_per_depth: Vec<u64> = Vec::new();
        let mut spans_per_bucket = vec![0_u64; OVERVIEW_BUCKETS];
        let mut errors = Vec::new();
        let mut error_count = 0;
        // Walking in waterfall order lists the failures in the order the page shows them.
        for &span in self.tree.order() {
            let failed = table.status(span) != SpanStatus::Ok;
            let counts = per_service.entry(table.service_number(span)).or_default();
            counts.0 += 1;
            if failed {
                counts.1 += 1;
                error_count += 1;
                if errors.len() < OVERVIEW_LIST_LIMIT {
                    errors.push(span);
                }
            }
            let depth = self.tree.depth(span) as usize;
            if spans_per_depth.len() <= depth {
                spans_per_depth.resize(depth + 1, 0);
            }
            spans_per_depth[depth] += 1;
            let bucket =
                ((table.start(span) - start) / bucket_duration).clamp(0, OVERVIEW_BUCKETS as i64 - 1);
            spans_per_bucket[bucket as usize] += 1;
        }
        errors.sort_by_key(|span| (table.start(*span), *span));

        let mut services: Vec<ServiceSpans> = per_service
            .into_iter()
            .map(|(service, (spans, failed))| ServiceSpans {
                service: table.word(service).to_owned(),
                spans,
                failed,
            })
            .collect();
        services.sort_by(|a, b| b.spans.cmp(&a.spans).then_with(|| a.service.cmp(&b.service)));

        let critical_path = self
            .critical
            .segments
            .iter()
            .take(OVERVIEW_LIST_LIMIT)
            .map(|segment| CriticalStep {
                span_id: table.span_id(segment.span),
                service: table.service(segment.span).to_owned(),
                name: table.name(segment.span).to_owned(),
                start: segment.start,
                end: segment.end,
                status: table.status(segment.span),
            })
            .collect();
        Some(TraceOverview {
            trace_id: table.trace_id().to_owned(),
            span_count: table.len() as u64,
            root: table.span(root),
            start,
            duration: end - start,
            services,
            critical_path,
            critical_path_steps: self.critical.segments.len() as u64,
            errors: errors.into_iter().map(|span| table.span(span)).collect(),
            error_count,
            spans_per_depth,
            spans_per_bucket,
            bucket_duration,
            window_limit,
        })
    }

    /// The spans below `root` (the whole trace when `None`) that overlap `from..to`
    /// (nanoseconds), level by level as deep as `limit` spans allow.
    pub fn window(&self, from: i64, to: i64, root: Option<u32>, limit: u32) -> TraceWindow {
        let table = &self.table;
        let tree = &self.tree;
        let limit = limit.max(1) as usize;
        let rows = match root {
            Some(span) => tree.row(span) as usize..tree.subtree_end(span) as usize,
            None => 0..tree.len(),
        };
        let top = root.map_or(0, |span| tree.depth(span));
        let overlaps = |span: u32| table.start(span) <= to && table.end(span) >= from;

        // How many matching spans each level below the top holds.
        let mut per_level: Vec<usize> = Vec::new();
        for &span in &tree.order()[rows.clone()] {
            if overlaps(span) {
                let level = (tree.depth(span) - top) as usize;
                if per_level.len() <= level {
                    per_level.resize(level + 1, 0);
                }
                per_level[level] += 1;
            }
        }
        let matching: usize = per_level.iter().sum();
        // The deepest level whose spans, with every level above, fit in the limit; at least the
        // top and the level below it, cut to the limit when they do not fit, so that a span with
        // more children than the limit still opens (and narrower windows page through them).
        let mut levels: usize = 0;
        let mut kept = 0;
        for count in &per_level {
            if kept + count > limit && levels >= 2 {
                break;
            }
            kept += count;
            levels += 1;
        }
        let cut = kept > limit;
        let deepest = top + levels.saturating_sub(1) as u32;

        let mut spans = Vec::with_capacity(kept.min(limit));
        let mut row = rows.start;
        while row < rows.end && spans.len() < limit {
            let span = tree.order()[row];
            let depth = tree.depth(span);
            if depth > deepest {
                // Everything below this span is deeper still.
                row = tree.subtree_end(span) as usize;
                continue;
            }
            if overlaps(span) {
                let hidden = if depth == deepest {
                    tree.order()[row + 1..tree.subtree_end(span) as usize]
                        .iter()
                        .filter(|below| overlaps(**below))
                        .count() as u64
                } else {
                    0
                };
                spans.push(WindowSpan {
                    span: table.span(span),
                    depth,
                    descendants: tree.descendants(span),
                    hidden,
                    critical: self.critical.contains(span),
                });
            }
            row += 1;
        }
        TraceWindow {
            trace_id: table.trace_id().to_owned(),
            from,
            to,
            root: root.map(|span| table.span_id(span)),
            spans,
            depth: deepest - top,
            matching: matching as u64,
            cut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::NO_PARENT;
    use crate::tree::tests::table_of;

    const N: u32 = NO_PARENT;

    /// A root with `batches` children of `per_batch` leaves each, one after another.
    fn import(batches: u32, per_batch: u32) -> Analysed {
        let leaves = i64::from(per_batch);
        let mut rows = vec![(N, 0, i64::from(batches) * leaves * 10)];
        for batch in 0..batches {
            let batch_row = rows.len() as u32;
            let batch_start = i64::from(batch) * leaves * 10;
            rows.push((0, batch_start, leaves * 10));
            rows.extend((0..per_batch).map(|leaf| (batch_row, batch_start + i64::from(leaf) * 10, 10)));
        }
        Analysed::new(table_of(&rows))
    }

    #[test]
    fn the_overview_counts_by_depth_and_time_and_lists_the_critical_path() {
        let trace = import(4, 10);
        let overview = trace.overview(500).unwrap();
        assert_eq!(overview.span_count, 45);
        assert_eq!(overview.spans_per_depth, [1, 4, 40]);
        assert_eq!(overview.spans_per_bucket.iter().sum::<u64>(), 45);
        assert_eq!(overview.duration, 400);
        assert_eq!(overview.critical_path_steps, 40, "every leaf, one after another");
        assert_eq!(overview.critical_path.first().map(|step| step.start), Some(0));
        assert_eq!(overview.critical_path.last().map(|step| step.end), Some(400));
        assert_eq!(overview.services[0].spans, 45);
        assert_eq!(overview.error_count, 0);
    }

    #[test]
    fn a_window_goes_as_deep_as_the_limit_allows_and_counts_what_it_hides() {
        let trace = import(4, 10);
        let shallow = trace.window(0, 400, None, 10);
        assert_eq!(shallow.depth, 1);
        assert_eq!(shallow.spans.len(), 5, "the root and its four batches");
        assert_eq!(shallow.matching, 45);
        assert!(!shallow.cut);
        assert_eq!(shallow.spans[1].hidden, 10);
        assert_eq!(shallow.spans[0].hidden, 0, "the root's children are shown");

        let deep = trace.window(0, 400, None, 100);
        assert_eq!(deep.depth, 2);
        assert_eq!(deep.spans.len(), 45);
        assert_eq!(deep.spans.iter().map(|row| row.hidden).sum::<u64>(), 0);
    }

    #[test]
    fn a_window_keeps_to_its_time_range_and_subtree() {
        let trace = import(4, 10);
        // The second batch runs 100..200; its leaves 100..110, 110..120, …
        let batch = trace.tree.children_of(0)[1];
        let window = trace.window(150, 169, Some(batch), 100);
        let starts: Vec<i64> = window.spans.iter().map(|row| row.span.start).collect();
        assert_eq!(
            starts,
            [100, 140, 150, 160],
            "the batch, then the leaves touching 150..169"
        );
        assert_eq!(window.root.as_deref(), Some(trace.table.span_id(batch).as_str()));
        assert_eq!(window.depth, 1);
        assert!(window.spans.iter().all(|row| row.span.parent_id.is_some()));
    }

    #[test]
    fn a_level_wider_than_the_limit_is_cut_and_says_so() {
        let trace = import(1, 50);
        let batch = trace.tree.children_of(0)[0];
        let window = trace.window(0, 500, Some(batch), 20);
        assert!(window.cut);
        assert_eq!(window.spans.len(), 20);
        assert_eq!(window.matching, 51);
    }

    #[test]
    fn a_span_with_a_million_children_opens_one_window_at_a_time() {
        let trace = import(1, 1_000_000);
        let batch = trace.tree.children_of(0)[0];
        let first = trace.window(0, 10_000_000, Some(batch), 5_000);
        assert!(first.cut);
        assert_eq!(first.spans.len(), 5_000);
        assert_eq!(first.matching, 1_000_001);
        // The leaves run 10 ns each: 1,000 ns hold about a hundred of them.
        let narrow = trace.window(500_000, 501_000, Some(batch), 5_000);
        assert!(!narrow.cut);
        assert_eq!(
            narrow.spans.len(),
            1 + 102,
            "the batch and the leaves touching the range"
        );
        assert_eq!(narrow.spans[1].span.start, 499_990);
    }

    #[test]
    fn a_million_span_trace_answers_its_overview_and_windows() {
        let trace = import(1_000, 999);
        assert_eq!(trace.table.len(), 1_000_001);
        let overview = trace.overview(5_000).unwrap();
        assert_eq!(overview.spans_per_depth, [1, 1_000, 999_000]);
        assert_eq!(overview.critical_path_steps, 999_000);
        assert_eq!(overview.critical_path.len(), OVERVIEW_LIST_LIMIT);

        let top = trace.window(overview.start, overview.start + overview.duration, None, 5_000);
        assert_eq!(
            top.spans.len(),
            1_001,
            "the root and its batches; the leaves would not fit"
        );
        assert_eq!(top.spans[1].hidden, 999);
        let batch = trace.tree.children_of(0)[500];
        let leaves = trace.window(
            overview.start,
            overview.start + overview.duration,
            Some(batch),
            5_000,
        );
        assert_eq!(leaves.spans.len(), 1_000);
        assert!(leaves.spans.iter().skip(1).all(|row| row.critical));
    }
}
