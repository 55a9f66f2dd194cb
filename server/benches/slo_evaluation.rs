//! Times evaluating 20 objectives over four weeks with the sources' answers at hand (a warm
//! cache): two answers of 8,000-odd points per objective read into per-step counts, every
//! window, burn rate, baseline and sentence worked out. `cargo xtask bench` reads the line it
//! prints (`what<TAB>measured<TAB>target<TAB>unit`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use vitals_api::query::TimeRange;
use vitals_api::{Backend, Labels, MetricQueryResponse, Point, ResultType, Series};
use vitals_server::config::Config;
use vitals_server::insights::slo::board::SloBoard;
use vitals_server::insights::slo::{SHIPPED, SHIPPED_FILE, Slo, parse};
use vitals_server::sources::{MetricSource, SourceError};
use vitals_server::state::{Clock, FixedClock};

const OBJECTIVES: usize = 20;
const TARGET_MS: f64 = 200.0;
/// Tuesday 2026-11-24 10:20 UTC.
const NOW_MS: i64 = 1_795_515_600_000;

/// Answers every range query at once with a busy service's counts: 100 events a step, one
/// failing now and then.
struct AtHand;

#[async_trait]
impl MetricSource for AtHand {
    fn backend(&self) -> Backend {
        Backend::Prometheus
    }

    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        let good =
            query.contains("success") || query.contains("le=") || query.contains("status!~\"4..|5..\"");
        let points = (0..)
            .map(|index| range.start_ms + index * step_ms)
            .take_while(|time| *time <= range.end_ms)
            .map(|time| Point(time, if good && time % 7 == 0 { 99.0 } else { 100.0 }))
            .collect();
        Ok(MetricQueryResponse {
            result_type: ResultType::Matrix,
            series: vec![Series {
                labels: Labels::new(),
                points,
            }],
            step_seconds: step_ms as f64 / 1000.0,
            warnings: Vec::new(),
        })
    }

    async fn query_instant(&self, _: &str, _: i64) -> Result<MetricQueryResponse, SourceError> {
        unreachable!("objectives read ranges")
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        Ok(Vec::new())
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

/// Whether `cargo xtask bench --quick` runs this bench: fewer passes, the same figure.
fn quick() -> bool {
    std::env::var_os("VITALS_BENCH_QUICK").is_some()
}

fn main() {
    let shipped = parse(SHIPPED_FILE, SHIPPED).expect("the shipped objectives");
    let slos: Vec<Slo> = (0..OBJECTIVES)
        .map(|index| {
            let mut slo = shipped[index % shipped.len()].clone();
            slo.id = format!("{}-{index}", slo.id);
            slo
        })
        .collect();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW_MS));
    let mut sources = vitals_server::demo_sources(&Config::default(), clock);
    sources.metrics = Arc::new(AtHand);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let board = SloBoard::new(slos, 60);
    let (runs, budget) = if quick() {
        (5, Duration::from_secs(5))
    } else {
        (30, Duration::from_secs(20))
    };
    let mut times = Vec::new();
    let started = Instant::now();
    for run in 0..runs {
        if started.elapsed() > budget {
            break;
        }
        // A minute apart: each run is a new evaluation.
        let now = NOW_MS + run as i64 * 60_000;
        let begun = Instant::now();
        let list = runtime.block_on(board.list(&sources, now));
        times.push(begun.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(list.slos.len(), OBJECTIVES);
        assert!(
            list.slos.iter().all(|slo| !slo.windows.is_empty()),
            "every objective had counts"
        );
    }
    assert_eq!(
        board.evaluations() as usize,
        times.len(),
        "one evaluation per interval"
    );
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "evaluating {OBJECTIVES} objectives over 28 days with the answers cached (median of {} evaluations)\t{median:.1}\t{TARGET_MS}\tms",
        times.len()
    );
}
