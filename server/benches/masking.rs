//! Times masking patient data in log text on one core; `cargo xtask bench` reads the line it
//! prints (`what<TAB>measured<TAB>target<TAB>unit`).
//!
//! The text is a day of the demo clinic's logs (logfmt and JSON, about one line in ten with
//! patient details), masked line by line as the log routes will.

use std::hint::black_box;
use std::time::{Duration, Instant};

use vitals_api::query::TimeRange;
use vitals_demo::{DemoClinic, DemoConfig};
use vitals_server::masking::Masker;

/// Tuesday 2026-11-24, midnight to midnight UTC.
const DAY: TimeRange = TimeRange {
    start_ms: 1_795_478_400_000,
    end_ms: 1_795_564_800_000,
};
const TARGET_MB_PER_S: f64 = 200.0;

/// Whether `cargo xtask bench --quick` runs this bench: fewer passes, the same figure.
fn quick() -> bool {
    std::env::var_os("VITALS_BENCH_QUICK").is_some()
}

fn main() {
    let lines: Vec<String> = DemoClinic::new(DemoConfig::default())
        .log_lines(DAY)
        .into_iter()
        .map(|line| line.line)
        .collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    let masker = Masker::default();
    let pass = || {
        let mut masked = 0;
        for line in &lines {
            if matches!(masker.mask(black_box(line)), std::borrow::Cow::Owned(_)) {
                masked += 1;
            }
        }
        black_box(masked)
    };
    let masked = pass();
    // Timed passes over the day; fewer if the budget runs out.
    let (most, budget) = if quick() {
        (20, Duration::from_secs(2))
    } else {
        (200, Duration::from_secs(10))
    };
    let started = Instant::now();
    let mut passes = 0;
    while passes < most && started.elapsed() < budget {
        pass();
        passes += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let megabytes_per_second = (bytes * passes) as f64 / seconds / 1e6;
    println!(
        "masking patient data in log text, one core ({} lines, {:.1} MB, {masked} masked)\t{megabytes_per_second:.0}\t{TARGET_MB_PER_S}\tMB/s",
        lines.len(),
        bytes as f64 / 1e6
    );
}
