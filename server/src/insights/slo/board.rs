//! Every objective, evaluated once per interval for everyone: two range queries per objective
//! (good and all events per 5-minute step over four weeks and an hour), from which every window,
//! burn rate, baseline and chart is worked out without asking the sources again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::join_all;
use vitals_api::{Backend, BaselineVerdict, SloDetail, SloList, SloQueries, SloState, SloSummary, SloWindow};

use super::budget::{Counts, HOUR_MS, Sums};
use super::words::{self, Reading};
use super::{MAX_BUDGET_MS, STEP_MS, Slo};
use crate::dashboards::definition::Signal;
use crate::dashboards::evaluate::{Choices, filled, over_time, with_zeros};
use crate::insights::baseline::{self, WEEK_MS, WEEKS};
use crate::sources::{SourceError, Sources, TimeRange};

/// How far back an evaluation reads: the longest budget window, or four weeks of baselines and
/// the hour each compares.
pub const SPAN_MS: i64 = WEEKS * WEEK_MS + HOUR_MS;
const _: () = assert!(MAX_BUDGET_MS < SPAN_MS);
/// The most points a detail chart has.
const CHART_POINTS: usize = 300;

/// One objective as evaluated: its counts (to draw charts from) and its summary.
#[derive(Debug)]
pub struct Evaluated {
    pub slo: Arc<Slo>,
    /// The counts, or why a source could not answer (the summary says it too).
    pub counts: Result<Counts, SourceError>,
    pub summary: SloSummary,
}

/// Every objective at one moment.
#[derive(Debug)]
pub struct Evaluation {
    pub as_of: i64,
    pub slos: Vec<Evaluated>,
}

/// The objectives and their last evaluation.
pub struct SloBoard {
    slos: Vec<Arc<Slo>>,
    interval_ms: i64,
    latest: tokio::sync::Mutex<Option<Arc<Evaluation>>>,
    evaluations: AtomicU64,
}

impl SloBoard {
    pub fn new(slos: Vec<Slo>, interval_seconds: u32) -> Self {
        Self {
            slos: slos.into_iter().map(Arc::new).collect(),
            interval_ms: i64::from(interval_seconds) * 1_000,
            latest: tokio::sync::Mutex::new(None),
            evaluations: AtomicU64::new(0),
        }
    }

    pub fn interval_seconds(&self) -> u32 {
        (self.interval_ms / 1_000) as u32
    }

    /// How many evaluations this board has run: each asks the sources twice per objective.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// The evaluation as of `now_ms`: the last one while it is younger than the interval,
    /// else a new one. Viewers arriving during an evaluation wait for it and share it.
    pub async fn evaluation(&self, sources: &Sources, now_ms: i64) -> Arc<Evaluation> {
        let mut latest = self.latest.lock().await;
        if let Some(evaluation) = latest.as_ref()
            && (0..self.interval_ms).contains(&(now_ms - evaluation.as_of))
        {
            return Arc::clone(evaluation);
        }
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let slos = join_all(self.slos.iter().map(|slo| evaluate(sources, slo, now_ms))).await;
        let evaluation = Arc::new(Evaluation { as_of: now_ms, slos });
        *latest = Some(Arc::clone(&evaluation));
        evaluation
    }

    /// `GET /api/v1/slos`.
    pub async fn list(&self, sources: &Sources, now_ms: i64) -> SloList {
        let evaluation = self.evaluation(sources, now_ms).await;
        SloList {
            as_of: evaluation.as_of,
            interval_seconds: self.interval_seconds(),
            slos: evaluation.slos.iter().map(|one| one.summary.clone()).collect(),
        }
    }
}

/// How an objective's burn-rate alerts stand at `now_ms`, for a status page rule: bad while a
/// fast (page) alert fires, watch while the slow (ticket) one does, good otherwise; `None`
/// when the sources cannot answer or there were no events. Reads the three days the slowest
/// alert looks at.
pub async fn burn_level(sources: &Sources, slo: &Slo, now_ms: i64) -> Option<crate::status::rules::Level> {
    use crate::status::rules::Level;
    use vitals_api::BurnSeverity;
    let longest = super::budget::BURN_PAIRS
        .iter()
        .map(|pair| pair.0)
        .max()
        .unwrap_or(HOUR_MS);
    let counts = counts_over(sources, slo, TimeRange::new(now_ms - longest, now_ms))
        .await
        .ok()?;
    let alerts = counts.burn_rates(now_ms, slo.objective);
    if alerts.iter().all(|alert| alert.long.is_none()) {
        return None;
    }
    let firing = |severity| {
        alerts
            .iter()
            .any(|alert| alert.firing && alert.severity == severity)
    };
    Some(if firing(BurnSeverity::Page) {
        Level::Bad
    } else if firing(BurnSeverity::Ticket) {
        Level::Watch
    } else {
        Level::Good
    })
}

/// The range an evaluation at `now_ms` reads: 5-minute steps ending at `now_ms`.
fn span(now_ms: i64) -> TimeRange {
    TimeRange::new(now_ms - SPAN_MS, now_ms)
}

/// The query an objective sends for `which` events per `step_ms` to the source behind `backend`.
fn query_text(slo: &Slo, good: bool, backend: Backend, step_ms: i64) -> String {
    let queries = if good { &slo.good } else { &slo.total };
    let real = match slo.signal {
        Signal::Metrics => queries.prometheus.as_deref(),
        Signal::Logs => queries.loki.as_deref(),
    };
    let chosen = if backend == Backend::Demo {
        queries.demo.as_deref().or(real)
    } else {
        real
    };
    filled(chosen.unwrap_or_default(), &Choices::default(), step_ms, step_ms)
}

fn backend(sources: &Sources, signal: Signal) -> Backend {
    match signal {
        Signal::Metrics => sources.metrics.backend(),
        Signal::Logs => sources.logs.backend(),
    }
}

/// The per-step counts over the evaluation's span.
async fn counts(sources: &Sources, slo: &Slo, now_ms: i64) -> Result<Counts, SourceError> {
    counts_over(sources, slo, span(now_ms)).await
}

/// The per-step counts over `range`, in 5-minute steps ending at its end.
async fn counts_over(sources: &Sources, slo: &Slo, range: TimeRange) -> Result<Counts, SourceError> {
    counts_in_steps(sources, slo, range, STEP_MS).await
}

/// The counts over `range` in steps of `step_ms` ending at its end.
pub async fn counts_in_steps(
    sources: &Sources,
    slo: &Slo,
    range: TimeRange,
    step_ms: i64,
) -> Result<Counts, SourceError> {
    let backend = backend(sources, slo.signal);
    let read = |good: bool| {
        let query = query_text(slo, good, backend, step_ms);
        async move {
            let mut answer = over_time(sources, slo.signal, &query, range, step_ms).await?;
            if slo.signal == Signal::Logs {
                // Loki leaves out the steps where nothing was logged: those counted nothing.
                for series in &mut answer {
                    series.points = with_zeros(&series.points, range, step_ms);
                }
            }
            Ok::<_, SourceError>(answer)
        }
    };
    let (good, total) = tokio::try_join!(read(true), read(false))?;
    // The steps the sources answer on end at the range's start plus whole steps.
    Ok(Counts::from_answers(
        range.start_ms,
        range.end_ms,
        step_ms,
        &good,
        &total,
    ))
}

async fn evaluate(sources: &Sources, slo: &Arc<Slo>, now_ms: i64) -> Evaluated {
    match counts(sources, slo, now_ms).await {
        Ok(counts) => Evaluated {
            summary: summary(slo, &counts, now_ms),
            counts: Ok(counts),
            slo: Arc::clone(slo),
        },
        Err(error) => Evaluated {
            summary: SloSummary {
                id: slo.id.clone(),
                name: slo.name.clone(),
                description: slo.description.clone(),
                objective: slo.objective,
                state: SloState::NoData,
                sentence: format!(
                    "Vitals cannot tell right now how {} are doing: {error}.",
                    slo.noun.1
                ),
                windows: Vec::new(),
                budget_remaining: None,
                burn_rates: Vec::new(),
                baseline: None,
                fast_since: None,
            },
            counts: Err(error),
            slo: Arc::clone(slo),
        },
    }
}

fn window(sums: &Sums, window_ms: i64) -> SloWindow {
    SloWindow {
        window_ms,
        label: words::window_words(window_ms),
        good: sums.good,
        total: sums.total,
        ratio: sums.ratio(),
        coverage: sums.coverage(),
    }
}

/// The last hour's share of failed events at `end_ms`.
fn bad_share(counts: &Counts, end_ms: i64) -> Option<f64> {
    counts.sums(end_ms, HOUR_MS).ratio().map(|ratio| 1.0 - ratio)
}

/// An objective's summary from its counts, as of `end_ms`.
pub fn summary(slo: &Slo, counts: &Counts, end_ms: i64) -> SloSummary {
    let goal = counts.sums(end_ms, slo.goal_ms);
    let budget = counts.sums(end_ms, slo.budget_ms);
    let alerts = counts.burn_rates(end_ms, slo.objective);
    let allowed = 1.0 - slo.objective;
    let earlier: Vec<Option<f64>> = (1..=WEEKS)
        .map(|week| bad_share(counts, end_ms - week * WEEK_MS))
        .collect();
    // Half the failures the objective allows is not worth calling unusual.
    let baseline = baseline::against(bad_share(counts, end_ms), &earlier, allowed / 2.0);
    let burn_now = counts.sums(end_ms, HOUR_MS).burn_rate(slo.objective);
    let fast_since = match &baseline {
        Some(band) if band.verdict == BaselineVerdict::Higher && burn_now.is_some_and(|burn| burn > 1.0) => {
            counts.burning_since(end_ms, slo.objective, (band.high / allowed).max(1.0))
        }
        _ => None,
    };
    let (state, sentence) = words::judged(
        slo,
        &Reading {
            goal,
            budget,
            alerts: &alerts,
            fast_since,
            burn_now,
        },
    );
    SloSummary {
        id: slo.id.clone(),
        name: slo.name.clone(),
        description: slo.description.clone(),
        objective: slo.objective,
        state,
        sentence,
        windows: vec![window(&goal, slo.goal_ms), window(&budget, slo.budget_ms)],
        budget_remaining: budget.budget_remaining(slo.objective),
        burn_rates: alerts,
        baseline,
        fast_since,
    }
}

/// Why a detail cannot be drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum DetailRefusal {
    /// The range reaches before what the evaluation holds.
    TooEarly { earliest_ms: i64 },
    /// The sources could not answer.
    Unavailable(SourceError),
}

/// One objective over `range`, drawn from its evaluation. `range_words` says the range in a
/// sentence ("in the last 24 hours"); queries are given only to engineers.
pub fn detail(
    evaluated: &Evaluated,
    range: TimeRange,
    range_words: &str,
    backend: Backend,
    with_queries: bool,
) -> Result<SloDetail, DetailRefusal> {
    let counts = evaluated
        .counts
        .as_ref()
        .map_err(|error| DetailRefusal::Unavailable(error.clone()))?;
    let earliest_ms = counts.time_of(0);
    if range.start_ms < earliest_ms {
        return Err(DetailRefusal::TooEarly { earliest_ms });
    }
    let slo = &evaluated.slo;
    let end = range.end_ms.min(counts.time_of(counts.len().saturating_sub(1)));
    let sums = counts.sums(end, range.duration_ms().max(STEP_MS));
    let stride = (range.duration_ms() / STEP_MS / CHART_POINTS as i64).max(1);
    let thin = |points: Vec<vitals_api::Point>| -> Vec<vitals_api::Point> {
        let last = points.len().saturating_sub(1);
        points
            .into_iter()
            .enumerate()
            .filter(|(index, _)| (last - index) as i64 % stride == 0)
            .map(|(_, point)| point)
            .collect()
    };
    Ok(SloDetail {
        summary: evaluated.summary.clone(),
        from: range.start_ms,
        to: range.end_ms,
        step_ms: stride * STEP_MS,
        range: window(&sums, range.duration_ms()),
        range_sentence: words::range_sentence(slo, &sums, range_words),
        burn_1h: thin(counts.burn_series(range.start_ms, end, HOUR_MS, slo.objective)),
        burn_6h: thin(counts.burn_series(range.start_ms, end, 6 * HOUR_MS, slo.objective)),
        budget: thin(counts.budget_series(range.start_ms, end, slo.budget_ms, slo.objective)),
        queries: with_queries.then(|| SloQueries {
            source: backend.as_str().to_owned(),
            good: query_text(slo, true, backend, STEP_MS),
            total: query_text(slo, false, backend, STEP_MS),
        }),
    })
}
