//! Times mining 100,000 log lines into patterns on one core, masking included, as
//! `POST /api/v1/logs/patterns` does; `cargo xtask bench` reads the line it prints
//! (`what<TAB>measured<TAB>target<TAB>unit`).
//!
//! The lines are the demo clinic's (logfmt and JSON, about one in ten with patient details),
//! as many days of them as make 100,000, with a baseline of the same size before them.

use std::hint::black_box;
use std::time::{Duration, Instant};

use vitals_api::query::TimeRange;
use vitals_demo::{DemoClinic, DemoConfig};
use vitals_server::insights::patterns::{MinerSettings, mine};
use vitals_server::masking::Masker;

#[global_allocator]
static ALLOCATOR: vitals_server::Allocator = vitals_server::Allocator;

const LINES: usize = 100_000;
const DAY_MS: i64 = 86_400_000;
/// Tuesday 2026-11-24, midnight UTC.
const FIRST_DAY_MS: i64 = 1_795_478_400_000;
const TARGET_MS: f64 = 300.0;

/// The demo clinic's lines from `start_ms` on, a day at a time, until there are `count`.
fn lines_from(clinic: &DemoClinic, start_ms: i64, count: usize) -> (TimeRange, Vec<(i64, String)>) {
    let mut lines = Vec::with_capacity(count);
    let mut end_ms = start_ms;
    while lines.len() < count {
        let day = TimeRange::new(end_ms, end_ms + DAY_MS);
        lines.extend(
            clinic
                .log_lines(day)
                .into_iter()
                .map(|line| (line.time, line.line)),
        );
        end_ms += DAY_MS;
    }
    lines.truncate(count);
    (TimeRange::new(start_ms, end_ms), lines)
}

/// Whether `cargo xtask bench --quick` runs this bench: fewer passes, the same figure.
fn quick() -> bool {
    std::env::var_os("VITALS_BENCH_QUICK").is_some()
}

fn main() {
    let clinic = DemoClinic::new(DemoConfig::default());
    let (range, lines) = lines_from(&clinic, FIRST_DAY_MS, LINES);
    let masker = Masker::default();
    let settings = MinerSettings::default();
    let pass = |baseline: Option<&[(i64, String)]>| {
        let mut texts = baseline.into_iter().flatten().map(|(_, line)| line.as_str());
        let mined = mine(
            &masker,
            range,
            lines.iter().map(|(time, line)| (*time, black_box(line.as_str()))),
            baseline
                .is_some()
                .then_some(&mut texts as &mut dyn Iterator<Item = &str>),
            &settings,
        );
        black_box(mined)
    };
    let first = pass(None);
    // Timed passes; fewer if the budget runs out.
    let (passes, budget) = if quick() {
        (3, Duration::from_secs(5))
    } else {
        (20, Duration::from_secs(20))
    };
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < passes && started.elapsed() < budget {
        let pass_started = Instant::now();
        pass(None);
        times.push(pass_started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "log patterns of {LINES} lines, masking included, one core ({} patterns, {} in the largest)\t{median:.1}\t{TARGET_MS}\tms",
        first.patterns.len(),
        first.patterns.first().map_or(0, |pattern| pattern.count),
    );

    let (_, baseline) = lines_from(&clinic, FIRST_DAY_MS - 7 * DAY_MS, LINES);
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < passes / 2 && started.elapsed() < budget {
        let pass_started = Instant::now();
        pass(Some(&baseline));
        times.push(pass_started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "log patterns of {LINES} lines beside a baseline of {LINES} more, one core\t{median:.1}\t{}\tms",
        2.0 * TARGET_MS
    );
}
