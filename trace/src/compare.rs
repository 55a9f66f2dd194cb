//! Two traces of the same operation side by side: where their durations differ, span by span and
//! by service.
//!
//! Spans are matched by their place in the tree: the (service, name) of every span from the root
//! down, and which of its parent's children with the same (service, name) it is, in start order.
//! Rather than building that path for every span and looking it up, the matching walks both trees
//! down together: two spans match when their parents match and they are the k-th child with the
//! same (service, name) on each side. That is the same relation, with no path kept and no hash of
//! one that could collide. The walk is a loop over a stack of matched pairs, so a trace a million
//! levels deep needs no recursion.

use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;

use vitals_api::traces::{ComparedTrace, ServiceDifference, SpanDifference, TraceComparison, UnmatchedSpan};

use crate::table::SpanTable;
use crate::tree::SpanTree;

/// How many span differences and unmatched spans of each trace a comparison lists at most.
pub const COMPARE_LIST_LIMIT: usize = 50;

/// No match on the other side.
const UNMATCHED: u32 = u32::MAX;

/// Compares trace `b` against trace `a`: what `b` spent more or less time on.
pub fn compare(a: &SpanTable, b: &SpanTable) -> TraceComparison {
    let a = Side::new(a);
    let b = Side::new(b);
    let matching = Matching::new(&a, &b);

    let matched = matching
        .a_to_b
        .iter()
        .filter(|other| **other != UNMATCHED)
        .count() as u64;
    let (only_in_a, only_in_a_first) = unmatched(&a, &matching.a_to_b);
    let (only_in_b, only_in_b_first) = unmatched(&b, &matching.b_to_a);

    let largest = LargestChanges::new(&a, &b, &matching);
    let spans = largest
        .top
        .iter()
        .map(|span| span_difference(&a, &b, &matching, *span))
        .collect();

    let summary_a = a.summary();
    let summary_b = b.summary();
    let same_operation = summary_a.service == summary_b.service && summary_a.operation == summary_b.operation;
    let difference = summary_b.duration.saturating_sub(summary_a.duration);
    let sentence = sentence(
        &a,
        &b,
        &summary_a,
        &summary_b,
        same_operation,
        &matching,
        &largest,
    );

    TraceComparison {
        a: summary_a,
        b: summary_b,
        same_operation,
        difference,
        sentence,
        matched,
        by_service: by_service(&a, &b),
        spans,
        only_in_a,
        only_in_b,
        only_in_a_first,
        only_in_b_first,
    }
}

/// One trace with what the comparison reads of it more than once.
struct Side<'t> {
    table: &'t SpanTable,
    tree: SpanTree,
    self_time: Vec<i64>,
}

impl<'t> Side<'t> {
    fn new(table: &'t SpanTable) -> Self {
        let tree = SpanTree::new(table);
        let self_time = (0..table.len() as u32)
            .map(|span| self_time(table, &tree, span))
            .collect();
        Self {
            table,
            tree,
            self_time,
        }
    }

    fn duration(&self, span: u32) -> i64 {
        self.table.end(span) - self.table.start(span)
    }

    fn label(&self, span: u32) -> (&str, &str) {
        (self.table.service(span), self.table.name(span))
    }

    /// The root and extent of the trace, as the overview reports them.
    fn summary(&self) -> ComparedTrace {
        let table = self.table;
        let all = 0..table.len() as u32;
        let start = all.clone().map(|span| table.start(span)).min().unwrap_or(0);
        let end = all.map(|span| table.end(span)).max().unwrap_or(start);
        let root = self.tree.roots().first().copied();
        ComparedTrace {
            trace_id: table.trace_id().to_owned(),
            service: root
                .map(|root| table.service(root).to_owned())
                .unwrap_or_default(),
            operation: root.map(|root| table.name(root).to_owned()).unwrap_or_default(),
            start,
            duration: end.saturating_sub(start),
            span_count: table.len() as u64,
        }
    }
}

/// The span's children in the tree, by start. A span in a loop of parents that the tree made a
/// root still sits in its parent's list; following it would go round the loop for ever.
fn children<'a>(tree: &'a SpanTree, span: u32) -> impl Iterator<Item = u32> + 'a {
    tree.children_of(span)
        .iter()
        .copied()
        .filter(|child| tree.depth(*child) != 0)
}

/// The span's duration less the union of its children's time within it: overlapping children
/// count once, and a child running past its parent counts only up to the parent's end.
fn self_time(table: &SpanTable, tree: &SpanTree, span: u32) -> i64 {
    let start = table.start(span);
    let end = table.end(span);
    let mut covered = 0_i64;
    let mut run: Option<(i64, i64)> = None;
    // Children come by start, and clipping to the parent keeps that order, so one pass merges
    // the overlaps.
    for child in children(tree, span) {
        let from = table.start(child).max(start);
        let to = table.end(child).min(end);
        if to <= from {
            continue;
        }
        run = match run {
            Some((run_from, run_to)) if from <= run_to => Some((run_from, run_to.max(to))),
            Some((run_from, run_to)) => {
                covered = covered.saturating_add(run_to - run_from);
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((run_from, run_to)) = run {
        covered = covered.saturating_add(run_to - run_from);
    }
    (end - start).saturating_sub(covered)
}

/// Which span of the other trace each span matches, and which of its like-named siblings it is.
struct Matching {
    a_to_b: Vec<u32>,
    b_to_a: Vec<u32>,
    /// For matched spans of `a`: the k-th child of its parent with the same (service, name).
    occurrence: Vec<u32>,
}

impl Matching {
    fn new(a: &Side<'_>, b: &Side<'_>) -> Self {
        let mut matching = Self {
            a_to_b: vec![UNMATCHED; a.table.len()],
            b_to_a: vec![UNMATCHED; b.table.len()],
            occurrence: vec![0; a.table.len()],
        };
        let mut pending: Vec<(u32, u32)> = Vec::new();
        let mut xs: Vec<u32> = a.tree.roots().to_vec();
        let mut ys: Vec<u32> = b.tree.roots().to_vec();
        matching.pair_siblings(a, b, &mut xs, &mut ys, &mut pending);
        while let Some((x, y)) = pending.pop() {
            xs.clear();
            xs.extend(children(&a.tree, x));
            ys.clear();
            ys.extend(children(&b.tree, y));
            matching.pair_siblings(a, b, &mut xs, &mut ys, &mut pending);
        }
        matching
    }

    /// Pairs the k-th of `xs` with the k-th of `ys` of each (service, name); both come by start.
    fn pair_siblings(
        &mut self,
        a: &Side<'_>,
        b: &Side<'_>,
        xs: &mut [u32],
        ys: &mut [u32],
        pending: &mut Vec<(u32, u32)>,
    ) {
        // Most spans have one child, and a deep chain is nothing else.
        if let ([x], [y]) = (&*xs, &*ys) {
            if a.label(*x) == b.label(*y) {
                self.a_to_b[*x as usize] = *y;
                self.b_to_a[*y as usize] = *x;
                pending.push((*x, *y));
            }
            return;
        }
        // A stable sort keeps the start order within each (service, name), which is what the
        // occurrence counts.
        xs.sort_by(|p, q| a.label(*p).cmp(&a.label(*q)));
        ys.sort_by(|p, q| b.label(*p).cmp(&b.label(*q)));
        let (mut i, mut j) = (0, 0);
        while i < xs.len() && j < ys.len() {
            let x_label = a.label(xs[i]);
            let y_label = b.label(ys[j]);
            let x_run = run_end(xs, i, |span| a.label(span) == x_label);
            let y_run = run_end(ys, j, |span| b.label(span) == y_label);
            match x_label.cmp(&y_label) {
                Ordering::Less => i = x_run,
                Ordering::Greater => j = y_run,
                Ordering::Equal => {
                    for (occurrence, (x, y)) in xs[i..x_run].iter().zip(&ys[j..y_run]).enumerate() {
                        self.a_to_b[*x as usize] = *y;
                        self.b_to_a[*y as usize] = *x;
                        self.occurrence[*x as usize] = occurrence as u32;
                        pending.push((*x, *y));
                    }
                    i = x_run;
                    j = y_run;
                }
            }
        }
    }
}

/// The end of the run of `spans` from `from` for which `same` holds.
fn run_end(spans: &[u32], from: usize, same: impl Fn(u32) -> bool) -> usize {
    spans[from..]
        .iter()
        .position(|span| !same(*span))
        .map_or(spans.len(), |length| from + length)
}

/// The matched spans whose self time differs most, and the largest change each way for the
/// sentence, which must not miss one that the list's limit left out.
struct LargestChanges {
    /// Spans of `a`, the largest absolute difference first, the earliest row of equals first.
    top: Vec<u32>,
    /// The span of `a` whose self time grew most in `b`, and the one that shrank most.
    grew: Option<u32>,
    shrank: Option<u32>,
}

impl LargestChanges {
    fn new(a: &Side<'_>, b: &Side<'_>, matching: &Matching) -> Self {
        let change = |span: u32| {
            let other = matching.a_to_b[span as usize];
            b.self_time[other as usize].saturating_sub(a.self_time[span as usize])
        };
        let mut changed: Vec<u32> = (0..a.table.len() as u32)
            .filter(|span| matching.a_to_b[*span as usize] != UNMATCHED && change(*span) != 0)
            .collect();
        let grew = changed
            .iter()
            .copied()
            .filter(|span| change(*span) > 0)
            .min_by_key(|span| (Reverse(change(*span)), a.tree.row(*span)));
        let shrank = changed
            .iter()
            .copied()
            .filter(|span| change(*span) < 0)
            .min_by_key(|span| (change(*span), a.tree.row(*span)));
        let key = |span: &u32| (Reverse(change(*span).unsigned_abs()), a.tree.row(*span));
        if changed.len() > COMPARE_LIST_LIMIT {
            changed.select_nth_unstable_by_key(COMPARE_LIST_LIMIT, key);
            changed.truncate(COMPARE_LIST_LIMIT);
        }
        changed.sort_unstable_by_key(key);
        Self {
            top: changed,
            grew,
            shrank,
        }
    }
}

fn span_difference(a: &Side<'_>, b: &Side<'_>, matching: &Matching, span: u32) -> SpanDifference {
    let other = matching.a_to_b[span as usize];
    let self_time_a = a.self_time[span as usize];
    let self_time_b = b.self_time[other as usize];
    SpanDifference {
        service: a.table.service(span).to_owned(),
        name: a.table.name(span).to_owned(),
        depth: a.tree.depth(span),
        occurrence: matching.occurrence[span as usize],
        span_id_a: a.table.span_id(span),
        span_id_b: b.table.span_id(other),
        duration_a: a.duration(span),
        duration_b: b.duration(other),
        self_time_a,
        self_time_b,
        difference: self_time_b.saturating_sub(self_time_a),
    }
}

/// How many spans of `side` have no match, and the first of them in waterfall order.
fn unmatched(side: &Side<'_>, matches: &[u32]) -> (u64, Vec<UnmatchedSpan>) {
    let mut spans = side
        .tree
        .order()
        .iter()
        .copied()
        .filter(|span| matches[*span as usize] == UNMATCHED);
    let first = spans
        .by_ref()
        .take(COMPARE_LIST_LIMIT)
        .map(|span| UnmatchedSpan {
            span_id: side.table.span_id(span),
            service: side.table.service(span).to_owned(),
            name: side.table.name(span).to_owned(),
            depth: side.tree.depth(span),
            duration: side.duration(span),
            self_time: side.self_time[span as usize],
        })
        .collect::<Vec<_>>();
    (first.len() as u64 + spans.count() as u64, first)
}

/// Self time and span count per service in `a` and `b`, the largest difference first.
fn by_service(a: &Side<'_>, b: &Side<'_>) -> Vec<ServiceDifference> {
    // Services are interned per table, so each side is summed by its own numbers first and the
    // two joined by name once per service rather than once per span.
    let totals = |side: &Side<'_>| {
        let mut per_number: Vec<(i64, u64)> = Vec::new();
        for span in 0..side.table.len() as u32 {
            let number = side.table.service_number(span) as usize;
            if per_number.len() <= number {
                per_number.resize(number + 1, (0, 0));
            }
            let total = &mut per_number[number];
            total.0 = total.0.saturating_add(side.self_time[span as usize]);
            total.1 += 1;
        }
        per_number
    };
    let mut joined: BTreeMap<&str, [(i64, u64); 2]> = BTreeMap::new();
    for (slot, side) in [a, b].into_iter().enumerate() {
        for (number, total) in totals(side).into_iter().enumerate() {
            // Numbers that are names rather than services have no spans.
            if total.1 > 0 {
                joined.entry(side.table.word(number as u32)).or_default()[slot] = total;
            }
        }
    }
    let mut services: Vec<ServiceDifference> = joined
        .into_iter()
        .map(
            |(service, [(self_time_a, spans_a), (self_time_b, spans_b)])| ServiceDifference {
                service: service.to_owned(),
                self_time_a,
                self_time_b,
                difference: self_time_b.saturating_sub(self_time_a),
                spans_a,
                spans_b,
            },
        )
        .collect();
    // The join came sorted by name, and a stable sort keeps that order among equals.
    services.sort_by_key(|service| Reverse(service.difference.unsigned_abs()));
    services
}

/// What a share of the difference is put down to in the sentence.
enum Cause<'a> {
    Span { service: &'a str, name: &'a str },
    OnlyIn(&'static str),
}

impl Cause<'_> {
    fn describe(&self) -> String {
        match self {
            Cause::Span { service, name } => format!("{service}'s {name}"),
            Cause::OnlyIn(which) => format!("spans only the {which} trace has"),
        }
    }
}

/// One sentence on how long each trace took and what made most of the difference.
fn sentence(
    a: &Side<'_>,
    b: &Side<'_>,
    summary_a: &ComparedTrace,
    summary_b: &ComparedTrace,
    same_operation: bool,
    matching: &Matching,
    largest: &LargestChanges,
) -> String {
    match (summary_a.span_count, summary_b.span_count) {
        (0, 0) => return "Neither trace has any spans.".to_owned(),
        (0, _) => return "The first trace has no spans.".to_owned(),
        (_, 0) => return "The second trace has no spans.".to_owned(),
        _ => {}
    }
    let difference = summary_b.duration.saturating_sub(summary_a.duration);
    let amount = difference.unsigned_abs();
    let opening = match difference.cmp(&0) {
        Ordering::Equal => format!("both traces took equally long ({})", readable(summary_a.duration)),
        Ordering::Greater => format!(
            "the second trace took {} longer ({} against {})",
            readable_unsigned(amount),
            readable(summary_b.duration),
            readable(summary_a.duration)
        ),
        Ordering::Less => format!(
            "the second trace took {} less ({} against {})",
            readable_unsigned(amount),
            readable(summary_b.duration),
            readable(summary_a.duration)
        ),
    };
    let mut text = if same_operation {
        capitalised(&opening)
    } else {
        format!(
            "Comparing different operations ({}'s {} and {}'s {}), {opening}",
            summary_a.service, summary_a.operation, summary_b.service, summary_b.operation
        )
    };

    let span_change = |span: Option<u32>| {
        span.map(|span| {
            let other = matching.a_to_b[span as usize];
            let change = b.self_time[other as usize].saturating_sub(a.self_time[span as usize]);
            let cause = Cause::Span {
                service: a.table.service(span),
                name: a.table.name(span),
            };
            (change.unsigned_abs(), cause)
        })
    };
    // Time in spans one side lacks moves the total as surely as a slower span does.
    let only_time = |side: &Side<'_>, matches: &[u32]| {
        (0..side.table.len())
            .filter(|span| matches[*span] == UNMATCHED)
            .fold(0_i64, |total, span| total.saturating_add(side.self_time[span]))
    };
    let extra = only_time(b, &matching.b_to_a).saturating_sub(only_time(a, &matching.a_to_b));
    let unmatched_change = |wanted: Ordering, which: &'static str| {
        (extra.cmp(&0) == wanted).then(|| (extra.unsigned_abs(), Cause::OnlyIn(which)))
    };
    let (span_cause, unmatched_cause) = match difference.cmp(&0) {
        Ordering::Less => (
            span_change(largest.shrank),
            unmatched_change(Ordering::Less, "first"),
        ),
        Ordering::Greater => (
            span_change(largest.grew),
            unmatched_change(Ordering::Greater, "second"),
        ),
        // With nothing to explain, the sentence points at the span that moved most either way.
        Ordering::Equal => {
            let grew = span_change(largest.grew);
            let shrank = span_change(largest.shrank);
            match (grew, shrank) {
                (Some(grew), Some(shrank)) if shrank.0 > grew.0 => (Some(shrank), None),
                (grew, shrank) => (grew.or(shrank), None),
            }
        }
    };
    // Of equal shares, a named span says more than a count of unmatched ones.
    let cause = match (span_cause, unmatched_cause) {
        (Some(span), Some(only)) if only.0 > span.0 => Some(only),
        (Some(span), _) => Some(span),
        (None, only) => only,
    };

    if let Some((share, cause)) = cause {
        let who = cause.describe();
        let share_text = readable_unsigned(share);
        let clause = if difference == 0 {
            match cause {
                Cause::Span { .. } => format!(", though {who}'s own time differs by {share_text}"),
                Cause::OnlyIn(_) => format!(", though {who} took {share_text}"),
            }
        } else if share > amount {
            let verb = match cause {
                Cause::Span { .. } => "alone accounts",
                Cause::OnlyIn(_) => "alone account",
            };
            format!("; {who} {verb} for {share_text}")
        } else if share == amount {
            format!("; all of it ({share_text}) is {who}")
        } else if share * 2 > amount {
            format!("; most of it ({share_text}) is {who}")
        } else {
            format!("; the largest part ({share_text}) is {who}")
        };
        text.push_str(&clause);
    }
    text.push('.');
    text
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// Nanoseconds as a person reads them: three significant digits in the largest unit that fits.
fn readable(nanoseconds: i64) -> String {
    let sign = if nanoseconds < 0 { "-" } else { "" };
    format!("{sign}{}", readable_unsigned(nanoseconds.unsigned_abs()))
}

fn readable_unsigned(nanoseconds: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")];
    // Whole integers throughout: this crate also runs in the browser, where the float printer
    // would cost more than it is worth.
    for (at, (unit, symbol)) in UNITS.iter().enumerate() {
        if nanoseconds < *unit {
            continue;
        }
        let whole = nanoseconds / unit;
        let decimals: u32 = match whole {
            0..=9 => 2,
            10..=99 => 1,
            _ => 0,
        };
        let scale = 10_u128.pow(decimals);
        let scaled = (u128::from(nanoseconds) * scale + u128::from(*unit) / 2) / u128::from(*unit);
        // 999.6 ms rounds to 1000 ms, which reads better as the next unit up.
        if decimals == 0 && scaled >= 1000 && at > 0 {
            let (larger, larger_symbol) = UNITS[at - 1];
            let whole = (u128::from(nanoseconds) + u128::from(larger) / 2) / u128::from(larger);
            return format!("{whole} {larger_symbol}");
        }
        let integer = scaled / scale;
        let fraction = scaled % scale;
        if fraction == 0 {
            return format!("{integer} {symbol}");
        }
        let digits = format!("{fraction:0width$}", width = decimals as usize);
        return format!("{integer}.{} {symbol}", digits.trim_end_matches('0'));
    }
    format!("{nanoseconds} ns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{NO_ATTRIBUTES, NO_PARENT, NewSpan, TableBuilder};
    use vitals_api::{SpanKind, SpanStatus};

    const N: u32 = NO_PARENT;
    const MS: i64 = 1_000_000;

    /// A span for [`table`]: `(parent, service, name, start, duration)`, times in milliseconds.
    type Row<'a> = (u32, &'a str, &'a str, i64, i64);

    /// A table of `rows`; the span at row `i` has the id `first_id + i`.
    fn table(first_id: u64, rows: &[Row<'_>]) -> SpanTable {
        let mut builder = TableBuilder::new("1-00000000-000000000000000000000000");
        for (index, (parent, service, name, start, duration)) in rows.iter().enumerate() {
            builder.push(NewSpan {
                id: first_id + index as u64,
                parent: *parent,
                service,
                name,
                start: start * MS,
                duration: duration * MS,
                status: SpanStatus::Ok,
                kind: SpanKind::Internal,
                attributes: NO_ATTRIBUTES,
            });
        }
        builder.finish()
    }

    fn login(get_item: i64) -> Vec<Row<'static>> {
        vec![
            (N, "gateway", "POST /login", 0, 300 + get_item),
            (0, "login-api", "Login", 10, 280 + get_item),
            (1, "login-api", "DynamoDB.GetItem", 20, get_item),
            (1, "login-api", "KMS.Decrypt", 30 + get_item, 100),
        ]
    }

    #[test]
    fn identical_traces_have_no_differences() {
        let a = table(1, &login(200));
        let b = table(100, &login(200));
        let found = compare(&a, &b);
        assert!(found.same_operation);
        assert_eq!(found.difference, 0);
        assert_eq!(found.matched, 4);
        assert_eq!((found.only_in_a, found.only_in_b), (0, 0));
        assert!(found.spans.is_empty());
        assert!(found.by_service.iter().all(|service| service.difference == 0));
        assert_eq!(found.a.duration, 500 * MS);
        assert_eq!(found.sentence, "Both traces took equally long (500 ms).");
    }

    #[test]
    fn a_slower_get_item_is_the_top_difference_and_named_in_the_sentence() {
        let a = table(1, &login(200));
        let b = table(100, &login(1_400));
        let found = compare(&a, &b);
        assert_eq!(found.difference, 1_200 * MS);
        let top = &found.spans[0];
        assert_eq!(
            (top.service.as_str(), top.name.as_str()),
            ("login-api", "DynamoDB.GetItem")
        );
        assert_eq!((top.depth, top.occurrence), (2, 0));
        assert_eq!(
            (top.span_id_a.as_str(), top.span_id_b.as_str()),
            ("0000000000000003", "0000000000000066")
        );
        assert_eq!((top.duration_a, top.duration_b), (200 * MS, 1_400 * MS));
        assert_eq!(top.difference, 1_200 * MS);
        assert_eq!(found.spans.len(), 1, "the parents' own time is unchanged");
        assert_eq!(found.by_service[0].service, "login-api");
        assert_eq!(found.by_service[0].difference, 1_200 * MS);
        assert_eq!(
            found.sentence,
            "The second trace took 1.2 s longer (1.7 s against 500 ms); all of it (1.2 s) is \
             login-api's DynamoDB.GetItem."
        );
        let back = compare(&b, &a);
        assert_eq!(
            back.sentence,
            "The second trace took 1.2 s less (500 ms against 1.7 s); all of it (1.2 s) is \
             login-api's DynamoDB.GetItem."
        );
    }

    #[test]
    fn repeated_siblings_match_by_occurrence() {
        let a = table(
            1,
            &[
                (N, "api", "Save", 0, 100),
                (0, "api", "PutItem", 10, 10),
                (0, "api", "Query", 15, 5),
                (0, "api", "PutItem", 30, 10),
                (0, "api", "PutItem", 50, 10),
            ],
        );
        // Added in another order, and the third call is slower: only it differs.
        let b = table(
            100,
            &[
                (N, "api", "Save", 0, 130),
                (0, "api", "PutItem", 50, 40),
                (0, "api", "PutItem", 10, 10),
                (0, "api", "PutItem", 30, 10),
                (0, "api", "Query", 15, 5),
            ],
        );
        let found = compare(&a, &b);
        assert_eq!(found.matched, 5);
        let put_items: Vec<_> = found.spans.iter().filter(|span| span.name == "PutItem").collect();
        assert_eq!(put_items.len(), 1);
        assert_eq!(put_items[0].occurrence, 2);
        assert_eq!(
            (put_items[0].span_id_a.as_str(), put_items[0].span_id_b.as_str()),
            ("0000000000000005", "0000000000000065")
        );
        assert_eq!(put_items[0].difference, 30 * MS);
        assert!(
            found.sentence.ends_with("all of it (30 ms) is api's PutItem."),
            "{}",
            found.sentence
        );
    }

    #[test]
    fn a_span_only_in_b_is_counted_as_such() {
        let a = table(1, &[(N, "api", "Get", 0, 100), (0, "api", "Query", 10, 20)]);
        let b = table(
            100,
            &[
                (N, "api", "Get", 0, 180),
                (0, "api", "Query", 10, 20),
                (0, "cache", "Redis.GET", 40, 80),
                (2, "cache", "Connect", 40, 10),
            ],
        );
        let found = compare(&a, &b);
        assert_eq!((found.matched, found.only_in_a, found.only_in_b), (2, 0, 2));
        assert!(found.only_in_a_first.is_empty());
        let first = &found.only_in_b_first[0];
        assert_eq!(
            (
                first.service.as_str(),
                first.name.as_str(),
                first.depth,
                first.duration,
                first.self_time
            ),
            ("cache", "Redis.GET", 1, 80 * MS, 70 * MS)
        );
        assert_eq!(found.only_in_b_first[1].name, "Connect");
        assert_eq!(found.by_service[0].service, "cache");
        assert_eq!((found.by_service[0].spans_a, found.by_service[0].spans_b), (0, 2));
        assert_eq!(
            found.sentence,
            "The second trace took 80 ms longer (180 ms against 100 ms); all of it (80 ms) is spans only \
             the second trace has."
        );
    }

    #[test]
    fn self_time_counts_overlapping_children_once() {
        // Root 0..100; children 10..50 and 30..70 overlap, covering 10..70; a child running past
        // the root's end counts only up to it.
        let a = table(
            1,
            &[
                (N, "api", "Get", 0, 100),
                (0, "api", "One", 10, 40),
                (0, "api", "Two", 30, 40),
                (0, "api", "Late", 90, 50),
            ],
        );
        let b = table(100, &[(N, "api", "Get", 0, 100)]);
        let found = compare(&a, &b);
        let root = found
            .spans
            .iter()
            .find(|span| span.name == "Get")
            .map(|span| span.self_time_a);
        assert_eq!(root, Some(30 * MS));
        let a_side = Side::new(&a);
        assert_eq!(a_side.self_time, [30 * MS, 40 * MS, 40 * MS, 50 * MS]);
        assert_eq!(found.only_in_a, 3);
    }

    #[test]
    fn different_root_operations_are_flagged() {
        let a = table(1, &[(N, "api", "GET /a", 0, 100)]);
        let b = table(100, &[(N, "api", "GET /b", 0, 100)]);
        let found = compare(&a, &b);
        assert!(!found.same_operation);
        assert_eq!(
            (found.a.operation.as_str(), found.b.operation.as_str()),
            ("GET /a", "GET /b")
        );
        assert_eq!((found.matched, found.only_in_a, found.only_in_b), (0, 1, 1));
        assert_eq!(
            found.sentence,
            "Comparing different operations (api's GET /a and api's GET /b), both traces took equally \
             long (100 ms)."
        );
    }

    #[test]
    fn empty_traces_have_a_sentence_too() {
        let empty = table(1, &[]);
        let one = table(1, &[(N, "api", "Get", 0, 1)]);
        assert_eq!(compare(&empty, &empty).sentence, "Neither trace has any spans.");
        assert_eq!(compare(&empty, &one).sentence, "The first trace has no spans.");
        assert_eq!(compare(&one, &empty).only_in_a, 1);
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        let cases = [
            (0, "0 ns"),
            (999, "999 ns"),
            (1_500, "1.5 µs"),
            (900 * MS, "900 ms"),
            (999_600_000, "1 s"),
            (1_234 * MS, "1.23 s"),
            (12_345 * MS, "12.3 s"),
            (2_000 * MS, "2 s"),
            (-3 * MS, "-3 ms"),
        ];
        for (nanoseconds, text) in cases {
            assert_eq!(readable(nanoseconds), text, "{nanoseconds}");
        }
    }

    #[test]
    fn a_chain_a_million_deep_compares_without_recursion() {
        let depth = 1_000_000_u32;
        let chain = |last: i64| {
            let mut builder = TableBuilder::new("t");
            builder.reserve(depth as usize);
            for index in 0..depth {
                let deepest = index == depth - 1;
                builder.push(NewSpan {
                    id: u64::from(index) + 1,
                    parent: if index == 0 { N } else { index - 1 },
                    service: "s",
                    name: "op",
                    start: i64::from(index),
                    duration: if deepest {
                        last
                    } else {
                        2 * i64::from(depth - index)
                    },
                    status: SpanStatus::Ok,
                    kind: SpanKind::Internal,
                    attributes: NO_ATTRIBUTES,
                });
            }
            builder.finish()
        };
        let found = compare(&chain(2), &chain(3));
        assert_eq!(found.matched, u64::from(depth));
        assert_eq!((found.only_in_a, found.only_in_b), (0, 0));
        // The deepest span grew by 1 ns into its parent's own time.
        let changes: Vec<_> = found
            .spans
            .iter()
            .map(|span| (span.depth, span.difference))
            .collect();
        assert_eq!(changes, [(depth - 2, -1), (depth - 1, 1)]);
        assert_eq!(found.difference, 0);
        assert_eq!(
            found.sentence,
            "Both traces took equally long (2 ms), though s's op's own time differs by 1 ns."
        );
    }
}
