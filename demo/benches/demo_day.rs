//! Times a day of the demo clinic (logs, metrics, traces); `cargo xtask bench` reads the lines it prints.
//!
//! Each line is `what<TAB>median ms<TAB>target ms<TAB>ms`.

use std::hint::black_box;
use std::time::Instant;

use vitals_api::query::TimeRange;
use vitals_demo::{DemoClinic, DemoConfig};

/// Tuesday 2026-11-24, midnight to midnight UTC: a full weekday with failure windows.
const DAY: TimeRange = TimeRange {
    start_ms: 1_795_478_400_000,
    end_ms: 1_795_564_800_000,
};
const TARGET_MS: f64 = 50.0;

/// Runs timed after the warm-up: fewer when `cargo xtask bench --quick` runs this bench.
fn runs() -> usize {
    if std::env::var_os("VITALS_BENCH_QUICK").is_some() {
        3
    } else {
        7
    }
}

/// The median wall time of [`runs`] runs, in milliseconds, after one warm-up.
fn median_ms<T>(mut work: impl FnMut() -> T) -> f64 {
    black_box(work());
    let runs = runs();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            black_box(work());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() {
    let clinic = DemoClinic::new(DemoConfig::default());
    let lines = clinic.log_lines(DAY).len();
    let series = clinic.raw_series(DAY);
    let samples: usize = series.iter().map(|s| s.points.len()).sum();
    let traces = clinic.traces(DAY);
    let spans: usize = traces.iter().map(|t| t.spans.len()).sum();
    let rows = [
        (
            format!("a day of demo logs ({lines} lines)"),
            median_ms(|| clinic.log_lines(DAY)),
        ),
        (
            format!(
                "a day of demo metrics ({} series, {samples} samples)",
                series.len()
            ),
            median_ms(|| clinic.raw_series(DAY)),
        ),
        (
            format!("a day of demo traces ({} traces, {spans} spans)", traces.len()),
            median_ms(|| clinic.traces(DAY)),
        ),
    ];
    for (what, ms) in rows {
        println!("{what}\t{ms:.2}\t{TARGET_MS}\tms");
    }
}
