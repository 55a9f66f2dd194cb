//! Reads a status page's rules from the sources and judges each component, once per evaluation.
//!
//! Every reading that cannot be had (the source fails, the query matches nothing, the panel is
//! gone) is missing, which the rules turn into unknown: never into operational.

use std::collections::BTreeMap;

use vitals_api::{Direction, Health, LogQueryResponse};

use super::definition::{Component, ReadingSource, StatusPage};
use super::rules::{self, Judgement, Level, Reading, Sayings, Test};
use crate::dashboards::Catalog;
use crate::dashboards::definition::Signal;
use crate::dashboards::evaluate::{Choices, filled, instant, query_for, total};
use crate::sources::{LogQuery, Sources, TimeRange};

/// The window a panel's number covers when the panel sets none of its own.
const PANEL_WINDOW_MS: i64 = 10 * 60_000;
/// Steps a metric heartbeat's range is read in.
const HEARTBEAT_STEPS: i64 = 30;

/// One rule's reading at `now_ms`.
pub async fn reading(
    sources: &Sources,
    catalog: &Catalog,
    source: &ReadingSource,
    test: Test,
    now_ms: i64,
) -> Reading {
    let number = |answer: Result<Vec<vitals_api::Series>, _>| match answer.ok().as_deref().and_then(total) {
        Some(value) => Reading::Value(value),
        None => Reading::Missing,
    };
    // A heartbeat looks back twice as far as it may be old, so "not seen" is not a near miss.
    let look_back_ms = match test {
        Test::OlderThan(limit_ms) => limit_ms.saturating_mul(2),
        _ => PANEL_WINDOW_MS,
    };
    match source {
        ReadingSource::Metric(query) => number(instant(sources, Signal::Metrics, query, now_ms).await),
        ReadingSource::Logs(query) => number(instant(sources, Signal::Logs, query, now_ms).await),
        ReadingSource::Panel { dashboard, panel } => {
            let Some((dashboard, panel)) = catalog
                .find(dashboard)
                .and_then(|found| Some((found, found.panels.iter().find(|one| &one.id == panel)?)))
            else {
                return Reading::Missing;
            };
            let backend = match panel.signal {
                Signal::Metrics => sources.metrics.backend(),
                Signal::Logs => sources.logs.backend(),
            };
            let window_ms = panel.window_ms.unwrap_or(PANEL_WINDOW_MS);
            let choices = Choices::of(dashboard, &BTreeMap::new());
            let query = filled(query_for(panel, backend), &choices, window_ms, window_ms);
            let value = instant(sources, panel.signal, &query, now_ms)
                .await
                .ok()
                .as_deref()
                .and_then(total);
            match crate::dashboards::words::judged(value, panel.thresholds.as_ref()) {
                Health::Good => Reading::Level(Level::Good),
                Health::Warning => Reading::Level(Level::Watch),
                Health::Bad => Reading::Level(Level::Bad),
                Health::Unknown => Reading::Missing,
            }
        }
        ReadingSource::MetricHeartbeat(query) => {
            let range = TimeRange::new(now_ms - look_back_ms, now_ms);
            let step_ms = (look_back_ms / HEARTBEAT_STEPS).max(1_000);
            match sources.metrics.query_range(query, range, step_ms).await {
                Ok(answer) => answer
                    .series
                    .iter()
                    .filter_map(|series| series.points.iter().rev().find(|point| point.1.is_finite()))
                    .map(|point| point.0)
                    .max()
                    .map_or(Reading::NotSeen, Reading::LastSeen),
                Err(_) => Reading::Missing,
            }
        }
        ReadingSource::Slo { slo, .. } => match slo {
            Some(slo) => match crate::insights::slo::board::burn_level(sources, slo, now_ms).await {
                Some(level) => Reading::Level(level),
                None => Reading::Missing,
            },
            None => Reading::Missing,
        },
        ReadingSource::LogsHeartbeat(selector) => {
            let query = LogQuery {
                query: selector.clone(),
                range: TimeRange::new(now_ms - look_back_ms, now_ms),
                limit: 1,
                direction: Direction::Backward,
                step_ms: look_back_ms.max(1_000),
            };
            match sources.logs.query(&query).await {
                Ok(LogQueryResponse::Streams { lines }) => lines
                    .iter()
                    .map(|line| line.time.div_euclid(1_000_000))
                    .max()
                    .map_or(Reading::NotSeen, Reading::LastSeen),
                // A metric query where a selector was wanted reads as nothing known.
                Ok(_) | Err(_) => Reading::Missing,
            }
        }
    }
}

/// Judges one component at `now_ms`, reading its rules side by side.
pub async fn judge(sources: &Sources, catalog: &Catalog, component: &Component, now_ms: i64) -> Judgement {
    let readings = futures::future::join_all(
        component
            .rules
            .iter()
            .map(|rule| reading(sources, catalog, &rule.reading, rule.test, now_ms)),
    )
    .await;
    let rules: Vec<rules::Rule> = component
        .rules
        .iter()
        .map(|rule| rules::Rule {
            state: rule.state,
            test: rule.test,
            says: rule.says.clone(),
        })
        .collect();
    let sayings = Sayings {
        operational: component.operational.clone(),
        unknown: component.unknown.clone(),
    };
    rules::judge(&rules, &readings, now_ms, &sayings)
}

/// Judges every component of `page` at `now_ms`, in the page's order.
pub async fn judge_page(
    sources: &Sources,
    catalog: &Catalog,
    page: &StatusPage,
    now_ms: i64,
) -> Vec<(String, Judgement)> {
    let judged = futures::future::join_all(
        page.components
            .iter()
            .map(|component| judge(sources, catalog, component, now_ms)),
    )
    .await;
    page.components
        .iter()
        .map(|component| component.id.clone())
        .zip(judged)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vitals_api::clock::FixedClock;

    use super::*;
    use crate::config::Config;
    use crate::dashboards::Dashboards;
    use crate::sources::{MetricSource, SourceError};
    use crate::status::definition::{SHIPPED, SHIPPED_FILE, parse};
    use crate::status::rules::State;
    use vitals_api::{Backend, MetricQueryResponse};

    /// Tuesday 2026-11-24 10:20 UTC: clinic hours, nothing failing.
    const CLINIC_MORNING: i64 = 1_795_515_600_000;
    /// 10:46: inside the failure the demo clinic runs from minute 40 to 50.
    const FAILING: i64 = CLINIC_MORNING + 26 * 60_000;

    async fn judged_at(now_ms: i64) -> Vec<(String, Judgement)> {
        let sources = crate::demo_sources(&Config::default(), Arc::new(FixedClock(now_ms)));
        let page = parse(SHIPPED_FILE, SHIPPED).unwrap();
        judge_page(&sources, &Dashboards::shipped().catalog(), &page, now_ms).await
    }

    fn state_of(judged: &[(String, Judgement)], id: &str) -> State {
        judged
            .iter()
            .find(|(one, _)| one == id)
            .map(|(_, judgement)| judgement.state)
            .unwrap()
    }

    #[tokio::test]
    async fn on_a_quiet_morning_every_component_of_the_demo_clinic_works() {
        let judged = judged_at(CLINIC_MORNING).await;
        for (id, judgement) in &judged {
            assert_eq!(judgement.state, State::Operational, "{id}: {}", judgement.says);
        }
        assert_eq!(judged.len(), 4);
    }

    /// Metrics and logs that are down: every query fails.
    struct Down;

    fn down() -> SourceError {
        SourceError::Unavailable {
            source_name: "Prometheus",
            reason: "connection refused".into(),
        }
    }

    #[async_trait::async_trait]
    impl MetricSource for Down {
        fn backend(&self) -> Backend {
            Backend::Prometheus
        }
        async fn query_range(
            &self,
            _: &str,
            _: TimeRange,
            _: i64,
        ) -> Result<MetricQueryResponse, SourceError> {
            Err(down())
        }
        async fn query_instant(&self, _: &str, _: i64) -> Result<MetricQueryResponse, SourceError> {
            Err(down())
        }
        async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
            Err(down())
        }
        async fn probe(&self) -> Result<(), SourceError> {
            Err(down())
        }
    }

    #[tokio::test]
    async fn with_the_sources_down_every_component_is_unknown_in_words_never_operational() {
        let mut sources = crate::demo_sources(&Config::default(), Arc::new(FixedClock(CLINIC_MORNING)));
        sources.metrics = Arc::new(Down);
        let page = parse(SHIPPED_FILE, SHIPPED).unwrap();
        let judged = judge_page(&sources, &Dashboards::shipped().catalog(), &page, CLINIC_MORNING).await;
        for (id, judgement) in &judged {
            assert_eq!(judgement.state, State::Unknown, "{id}: {}", judgement.says);
            assert!(judgement.says.contains("cannot tell"), "{id}: {}", judgement.says);
        }
    }

    #[tokio::test]
    async fn during_the_login_failure_logging_in_is_out_and_the_rest_still_works() {
        let judged = judged_at(FAILING).await;
        let login = state_of(&judged, "login");
        assert!(
            matches!(login, State::PartialOutage | State::MajorOutage),
            "login during the failure: {judged:?}"
        );
        assert_eq!(
            state_of(&judged, "registration"),
            State::Operational,
            "{judged:?}"
        );
    }

    /// A page whose login component follows the logins objective's burn-rate alerts.
    const BY_OBJECTIVE: &str = r#"
[[component]]
id = "login"
name = "Logging in"
description = "Staff signing in."
operational = "Logins are working."
unknown = "Vitals cannot tell whether logins work."

[[component.rule]]
state = "partial_outage"
says = "Logins are failing fast enough to use up the month's room for failures within days."
slo = "logins"
at = "bad"

[[component.rule]]
state = "degraded_performance"
says = "Logins fail more often than their goal allows."
slo = "logins"
at = "watch"
"#;

    #[tokio::test]
    async fn a_component_takes_its_state_from_an_objectives_burn_rate() {
        let slos = crate::insights::slo::parse("slos.toml", crate::insights::slo::SHIPPED).unwrap();
        let page = parse("status.toml", BY_OBJECTIVE)
            .unwrap()
            .with_objectives(&slos)
            .unwrap();
        let judge = |now_ms: i64| {
            let page = page.clone();
            async move {
                let sources = crate::demo_sources(&Config::default(), Arc::new(FixedClock(now_ms)));
                judge_page(&sources, &Dashboards::shipped().catalog(), &page, now_ms).await
            }
        };
        // In the failure a third of logins fail: the fast alerts fire.
        assert_eq!(state_of(&judge(FAILING).await, "login"), State::PartialOutage);
        // Forty minutes after it, the short windows (5 and 30 minutes) are clean, but three days
        // of hourly failures still use the budget faster than it lasts.
        assert_eq!(
            state_of(&judge(FAILING + 40 * 60_000).await, "login"),
            State::DegradedPerformance
        );
        // An objective the page names that does not exist is refused by its key.
        let unknown = parse(
            "status.toml",
            &BY_OBJECTIVE.replace("slo = \"logins\"", "slo = \"nothing\""),
        )
        .unwrap()
        .with_objectives(&slos)
        .unwrap_err();
        assert_eq!(unknown.key.as_deref(), Some("component \"login\" rule 1 slo"));
        // `at` is required.
        let error = parse("status.toml", &BY_OBJECTIVE.replacen("at = \"bad\"", "", 1)).unwrap_err();
        assert!(error.problem.contains("`at`"), "{error}");
    }
}
