//! What went wrong, in one sentence, without a model: when an objective fails fast, the
//! dependency whose failures rose at the same time (the service map's edges), the span its
//! failing traces failed at, and the pattern its failures' log lines share, found the way an
//! engineer would by hand and told in words. Explained once per evaluation of the objectives,
//! however many people ask.

pub mod episodes;
pub mod evidence;
pub mod words;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vitals_api::query::TimeRange;
use vitals_api::{
    Evidence, Explanation, ExplanationList, LogQueryResponse, PatternEvidence, SpanEvidence, SpanStatus,
};

use self::episodes::Episode;
use super::patterns::{self, MinerSettings};
use super::slo::board::{SloBoard, counts_in_steps};
use super::slo::{Explain, Slo};
use crate::masking::Masker;
use crate::sources::xray::TraceFilter;
use crate::sources::{LogQuery, Sources, TraceQuery};
use crate::status::board::StatusBoard;

/// The most episodes of a range explained, newest first; older ones are counted.
pub const MAX_EXPLAINED: usize = 6;
const MINUTE_MS: i64 = 60_000;
/// The shortest stretch before the failures their evidence is compared with.
const MIN_BEFORE_MS: i64 = 30 * MINUTE_MS;
/// Failing traces searched, per status.
const TRACES_SEARCHED: u32 = 20;
/// Log lines read of the failures' stretch, and of the stretch before.
const LINES_READ: u32 = 5_000;

/// The explanations of the objectives' last evaluation, kept until the next.
pub struct ExplanationBoard {
    /// For each objective, the status page's components that read it (`slo = "…"` rules).
    components: HashMap<String, Vec<String>>,
    cache: tokio::sync::Mutex<Cache>,
    explained: AtomicU64,
}

#[derive(Default)]
struct Cache {
    as_of: i64,
    episodes: HashMap<(String, i64, i64), Arc<Explanation>>,
}

/// What an explanation reads.
pub struct Reading<'a> {
    pub sources: &'a Sources,
    pub masker: &'a Masker,
    pub slos: &'a SloBoard,
    /// The status page, whose recorded history tells which components failed meanwhile.
    pub status: &'a StatusBoard,
}

impl ExplanationBoard {
    pub fn new(components: HashMap<String, Vec<String>>) -> Self {
        Self {
            components,
            cache: tokio::sync::Mutex::new(Cache::default()),
            explained: AtomicU64::new(0),
        }
    }

    /// How many episodes this board has looked into: each asks the sources a few times.
    pub fn explained(&self) -> u64 {
        self.explained.load(Ordering::Relaxed)
    }

    /// `GET /api/v1/explanations`: the episodes of `range`, newest first, with their evidence
    /// for engineers.
    pub async fn list(
        &self,
        reading: &Reading<'_>,
        range: TimeRange,
        now_ms: i64,
        engineer: bool,
    ) -> ExplanationList {
        let evaluation = reading.slos.evaluation(reading.sources, now_ms).await;
        let mut found: Vec<(&Arc<Slo>, &Explain, Episode)> = evaluation
            .slos
            .iter()
            .filter_map(|one| Some((&one.slo, one.slo.explain.as_ref()?, one.counts.as_ref().ok()?)))
            .flat_map(|(slo, explain, counts)| {
                episodes::episodes(counts, slo.objective, range, episodes::MIN_FAILED)
                    .into_iter()
                    .map(move |episode| (slo, explain, episode))
            })
            .collect();
        found.sort_by(|a, b| b.2.end_ms.cmp(&a.2.end_ms).then_with(|| a.0.id.cmp(&b.0.id)));
        let not_explained = found.len().saturating_sub(MAX_EXPLAINED);
        found.truncate(MAX_EXPLAINED);

        // Held while explaining, so viewers arriving meanwhile wait for these answers and share them.
        let mut cache = self.cache.lock().await;
        if cache.as_of != evaluation.as_of {
            *cache = Cache {
                as_of: evaluation.as_of,
                episodes: HashMap::new(),
            };
        }
        let mut explanations = Vec::with_capacity(found.len());
        for (slo, explain, episode) in found {
            let key = (slo.id.clone(), episode.start_ms, episode.end_ms);
            let explanation = match cache.episodes.get(&key) {
                Some(explanation) => Arc::clone(explanation),
                None => {
                    self.explained.fetch_add(1, Ordering::Relaxed);
                    let components = self.components.get(&slo.id).cloned().unwrap_or_default();
                    let explanation = Arc::new(
                        explain_one(reading, slo, explain, &episode, components, evaluation.as_of).await,
                    );
                    cache.episodes.insert(key, Arc::clone(&explanation));
                    explanation
                }
            };
            let mut explanation = Explanation::clone(&explanation);
            if !engineer {
                explanation.evidence = None;
            }
            explanations.push(explanation);
        }
        explanations.sort_by(|a, b| b.since.cmp(&a.since).then_with(|| a.slo.cmp(&b.slo)));
        // An objective whose counts cannot be read may have failed: it is named, not passed over.
        let cannot_tell = evaluation
            .slos
            .iter()
            .filter(|one| one.slo.explain.is_some() && one.counts.is_err())
            .map(|one| one.slo.name.clone())
            .collect();
        ExplanationList {
            as_of: evaluation.as_of,
            from: range.start_ms,
            to: range.end_ms,
            explanations,
            not_explained: u32::try_from(not_explained).unwrap_or(u32::MAX),
            cannot_tell,
        }
    }
}

/// When the failures of an episode began and ended to the minute, and their sums: from the
/// objective's counts per minute over the episode, or its 5-minute steps when those cannot say.
struct Stretch {
    since_ms: i64,
    until_ms: Option<i64>,
    good: f64,
    total: f64,
}

async fn stretch(sources: &Sources, slo: &Slo, episode: &Episode) -> Stretch {
    let whole = Stretch {
        since_ms: episode.start_ms,
        until_ms: (!episode.ongoing).then_some(episode.end_ms),
        good: episode.good,
        total: episode.total,
    };
    let window = TimeRange::new(episode.start_ms, episode.end_ms);
    let Ok(minutes) = counts_in_steps(sources, slo, window, MINUTE_MS).await else {
        return whole;
    };
    // A minute has few events: one failure is enough there, the episode itself having many.
    let failing = episodes::episodes(&minutes, slo.objective, window, 1.0);
    let (Some(first), Some(last)) = (failing.first(), failing.last()) else {
        return whole;
    };
    let (mut good, mut total) = (0.0, 0.0);
    for index in 0..minutes.len() {
        let end = minutes.time_of(index);
        if end > first.start_ms
            && end <= last.end_ms
            && let Some((step_good, step_total)) = minutes.step(index)
        {
            good += step_good;
            total += step_total;
        }
    }
    // Still failing while the newest 5-minute step is (its last minute may have had no event).
    Stretch {
        since_ms: first.start_ms,
        until_ms: (!episode.ongoing).then_some(last.end_ms),
        good,
        total,
    }
}

async fn explain_one(
    reading: &Reading<'_>,
    slo: &Slo,
    explain: &Explain,
    episode: &Episode,
    mut components: Vec<String>,
    now_ms: i64,
) -> Explanation {
    let sources = reading.sources;
    let stretch = stretch(sources, slo, episode).await;
    let during = TimeRange::new(stretch.since_ms, stretch.until_ms.unwrap_or(episode.end_ms));
    // The status page's components that read the objective, and those recorded failing meanwhile.
    for failing in reading
        .status
        .failing_during(during.start_ms, during.end_ms)
        .await
    {
        if !components.contains(&failing) {
            components.push(failing);
        }
    }
    let before_ms = during.duration_ms().max(MIN_BEFORE_MS);
    let before = TimeRange::new(during.start_ms - before_ms, during.start_ms);

    let search = |status: SpanStatus| {
        let filter = TraceFilter {
            service: Some(explain.service.clone()),
            status: Some(status),
            ..TraceFilter::default()
        }
        .to_expression();
        async move {
            let Ok(filter) = filter else {
                return Vec::new();
            };
            let query = TraceQuery {
                filter,
                range: during,
                limit: TRACES_SEARCHED,
            };
            sources.traces.search(&query).await.unwrap_or_default()
        }
    };
    let lines = |range: TimeRange| {
        let query = LogQuery {
            query: explain.logs.clone(),
            range,
            limit: LINES_READ,
            direction: vitals_api::Direction::Backward,
            step_ms: 0,
        };
        async move {
            match sources.logs.query(&query).await {
                Ok(LogQueryResponse::Streams { lines }) => lines,
                _ => Vec::new(),
            }
        }
    };
    let (map_during, map_before, errors, faults, lines_during, lines_before) = tokio::join!(
        sources.traces.service_map(during),
        sources.traces.service_map(before),
        search(SpanStatus::Error),
        search(SpanStatus::Fault),
        lines(during),
        lines(before),
    );

    let dependency = match (map_during, map_before) {
        (Ok(now), Ok(earlier)) => evidence::dependency(&explain.service, &now, &earlier),
        _ => None,
    };
    let mut failing = errors;
    failing.extend(faults);
    failing.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.trace_id.cmp(&b.trace_id)));
    failing.dedup_by(|a, b| a.trace_id == b.trace_id);
    let target = dependency.as_ref().map(|found| found.target.as_str());
    let mut span = None;
    if let Some(newest) = failing.first()
        && let Ok(trace) = sources.traces.trace(&newest.trace_id).await
        && let Some(found) = evidence::failed_span(&trace, target)
    {
        let masked = |text: Option<String>| text.map(|text| reading.masker.mask(&text).into_owned());
        span = Some(SpanEvidence {
            trace_id: trace.trace_id.clone(),
            service: found.service,
            name: reading.masker.mask(&found.name).into_owned(),
            operation: masked(found.operation),
            error: masked(found.error),
            message: masked(found.message),
            failing_traces: u32::try_from(failing.len()).unwrap_or(u32::MAX),
        });
        // The span speaks for the dependency only when it calls it.
        if let Some(target) = target
            && found.target.as_deref() != Some(target)
        {
            span = span.map(|span| SpanEvidence {
                operation: None,
                error: None,
                ..span
            });
        }
    }

    let settings = MinerSettings::default();
    let mut before_texts = lines_before.iter().map(|line| line.line.as_str());
    let mined = patterns::mine(
        reading.masker,
        during,
        lines_during.iter().map(|line| (line.time, line.line.as_str())),
        Some(&mut before_texts as &mut dyn Iterator<Item = &str>),
        &settings,
    );
    let pattern = evidence::pattern(&mined).map(|found| PatternEvidence {
        template: found.template.clone(),
        count: u32::try_from(found.count).unwrap_or(u32::MAX),
        new: found.new,
        query: patterns::narrowed(&explain.logs, &found.line_filter).unwrap_or_else(|| explain.logs.clone()),
    });

    let pattern_words = pattern
        .as_ref()
        .map(|found| patterns::plain_words(&found.template));
    // A span speaks in the sentence beside its dependency, or alone when failing traces are
    // more than a stray one or two (a slow objective's failures need not be errors at all).
    let telling = span
        .as_ref()
        .filter(|span| dependency.is_some() || f64::from(span.failing_traces) >= episodes::MIN_FAILED);
    let cause = words::Cause {
        service: &explain.service,
        dependency: dependency
            .as_ref()
            .map(|found| (found.target.as_str(), found.failed)),
        operation: telling.and_then(|span| span.operation.as_deref()),
        error: telling.and_then(|span| span.error.as_deref()),
        pattern: pattern_words.as_deref(),
    };
    let failed = (stretch.total - stretch.good).max(0.0);
    let share = if stretch.total > 0.0 {
        failed / stretch.total
    } else {
        0.0
    };
    let sentence = words::sentence(
        stretch.since_ms,
        stretch.until_ms,
        share,
        (&slo.noun.0, &slo.noun.1),
        &cause,
        now_ms,
    );
    Explanation {
        slo: slo.id.clone(),
        slo_name: slo.name.clone(),
        since: stretch.since_ms,
        until: stretch.until_ms,
        failed_share: share,
        failed: failed.round() as u64,
        sentence,
        components,
        evidence: Some(Evidence {
            service: explain.service.clone(),
            dependency,
            span,
            pattern,
        }),
    }
}
