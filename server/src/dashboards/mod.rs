//! Dashboards: named queries turned into numbers, sentences and charts for people who do not write queries.

use std::sync::Arc;

use vitals_api::{DashboardSummary, Health, MetricQueryResponse, PanelData, PanelSummary, Point, Unit};

use crate::sources::{MetricSource, SourceError, TimeRange};

const MINUTE_MS: i64 = 60_000;
/// How far back the small chart under each number goes.
const CHART_SPAN_MS: i64 = 6 * 60 * MINUTE_MS;
const CHART_STEP_MS: i64 = 10 * MINUTE_MS;

/// The home dashboard: is the clinic working right now?
pub const CLINIC_NOW: &str = "clinic-now";

/// The panels of the home dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClinicNowPanel {
    Registrations,
    LoginSuccess,
}

impl ClinicNowPanel {
    pub const ALL: [Self; 2] = [Self::Registrations, Self::LoginSuccess];

    pub fn id(self) -> &'static str {
        match self {
            Self::Registrations => "registrations",
            Self::LoginSuccess => "login-success",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Registrations => "Patient registrations",
            Self::LoginSuccess => "Logins working",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|panel| panel.id() == id)
    }
}

/// The dashboards a person may open, without their queries.
pub fn list() -> Vec<DashboardSummary> {
    vec![DashboardSummary {
        id: CLINIC_NOW.to_owned(),
        title: "The clinic right now".to_owned(),
        description: "Registrations in the last hour and whether logins work, refreshed every 15 seconds."
            .to_owned(),
        panels: ClinicNowPanel::ALL
            .into_iter()
            .map(|panel| PanelSummary {
                id: panel.id().to_owned(),
                title: panel.title().to_owned(),
            })
            .collect(),
    }]
}

/// The dashboard with this id, if there is one.
pub fn find(id: &str) -> Option<DashboardSummary> {
    list().into_iter().find(|dashboard| dashboard.id == id)
}

/// Whether the dashboard allows `_value` for its variable `name`; the error says why not.
/// The shipped dashboards have no variables yet, so every name is refused, by name; the
/// value will be checked against the variable's allowlist once dashboards declare them.
pub fn check_variable(dashboard: &DashboardSummary, name: &str, _value: &str) -> Result<(), String> {
    Err(format!(
        "the dashboard \"{}\" has no variable \"{}\"; leave it out",
        dashboard.id,
        name.chars().take(60).collect::<String>()
    ))
}

/// Works out one panel of the home dashboard at `now_ms`.
pub async fn clinic_now_panel(
    metrics: &Arc<dyn MetricSource>,
    panel: ClinicNowPanel,
    now_ms: i64,
) -> Result<PanelData, SourceError> {
    let chart_range = TimeRange::new(now_ms - CHART_SPAN_MS, now_ms);
    let (value, health, sentence, series) = match panel {
        ClinicNowPanel::Registrations => {
            let (registered, turned_away, chart) = tokio::try_join!(
                instant(
                    metrics,
                    r#"sum(increase(patient_registrations_total{result="success"}[1h]))"#,
                    now_ms
                ),
                instant(
                    metrics,
                    r#"sum(increase(patient_registrations_total{result!="success"}[1h]))"#,
                    now_ms
                ),
                chart(
                    metrics,
                    r#"sum(increase(patient_registrations_total{result="success"}[10m]))"#,
                    chart_range
                ),
            )?;
            let (health, sentence) = describe_registrations(registered, turned_away);
            (registered.map(f64::round), health, sentence, chart)
        }
        ClinicNowPanel::LoginSuccess => {
            let (worked, failed, chart) = tokio::try_join!(
                instant(
                    metrics,
                    r#"sum(increase(login_attempts_total{result="success"}[15m]))"#,
                    now_ms
                ),
                instant(
                    metrics,
                    r#"sum(increase(login_attempts_total{result!~"success|invalid_credentials"}[15m]))"#,
                    now_ms
                ),
                chart(
                    metrics,
                    r#"sum(increase(login_attempts_total{result="success"}[10m])) / sum(increase(login_attempts_total{result!="invalid_credentials"}[10m]))"#,
                    chart_range
                ),
            )?;
            let (ratio, health, sentence) = describe_logins(worked, failed);
            (ratio, health, sentence, chart)
        }
    };
    Ok(PanelData {
        id: panel.id().to_owned(),
        title: panel.title().to_owned(),
        value,
        unit: match panel {
            ClinicNowPanel::Registrations => Unit::Count,
            ClinicNowPanel::LoginSuccess => Unit::Ratio,
        },
        health,
        sentence,
        as_of: series
            .last()
            .map_or(now_ms, |point| point.0.max(now_ms - CHART_STEP_MS)),
        series,
        generated_at: now_ms,
    })
}

async fn instant(
    metrics: &Arc<dyn MetricSource>,
    query: &str,
    at_ms: i64,
) -> Result<Option<f64>, SourceError> {
    let answer = metrics.query_instant(query, at_ms).await?;
    Ok(first_value(&answer))
}

async fn chart(
    metrics: &Arc<dyn MetricSource>,
    query: &str,
    range: TimeRange,
) -> Result<Vec<Point>, SourceError> {
    let answer = metrics.query_range(query, range, CHART_STEP_MS).await?;
    Ok(answer
        .series
        .into_iter()
        .next()
        .map(|series| {
            series
                .points
                .into_iter()
                .filter(|point| point.1.is_finite())
                .collect()
        })
        .unwrap_or_default())
}

/// The value of a one-series answer (`sum(...)` without `by`), if it has one.
fn first_value(answer: &MetricQueryResponse) -> Option<f64> {
    answer
        .series
        .first()
        .and_then(|series| series.points.last())
        .map(|point| point.1)
        .filter(|value| value.is_finite())
}

fn describe_registrations(registered: Option<f64>, turned_away: Option<f64>) -> (Health, String) {
    let registered = registered.unwrap_or(0.0).round() as u64;
    let turned_away = turned_away.unwrap_or(0.0).round() as u64;
    let attempts = registered + turned_away;
    if attempts == 0 {
        return (
            Health::Unknown,
            "No one has registered a patient in the last hour.".to_owned(),
        );
    }
    let patients = plural(registered, "patient", "patients");
    let mut sentence = format!("{patients} registered in the last hour.");
    if turned_away > 0 {
        sentence.push_str(&format!(
            " {} could not be completed.",
            plural(turned_away, "registration", "registrations")
        ));
    }
    let failed_share = turned_away as f64 / attempts as f64;
    let health = if failed_share >= 0.25 {
        Health::Bad
    } else if failed_share >= 0.10 {
        Health::Warning
    } else {
        Health::Good
    };
    (health, sentence)
}

fn describe_logins(worked: Option<f64>, failed: Option<f64>) -> (Option<f64>, Health, String) {
    let worked = worked.unwrap_or(0.0).max(0.0);
    let failed = failed.unwrap_or(0.0).max(0.0);
    if worked + failed < 0.5 {
        return (
            None,
            Health::Unknown,
            "No one has tried to log in during the last 15 minutes.".to_owned(),
        );
    }
    let ratio = worked / (worked + failed);
    let percent = format!("{:.1}%", ratio * 100.0);
    let failed_people = failed.round() as u64;
    let (health, sentence) = if failed_people == 0 {
        (
            Health::Good,
            format!("{percent} of logins in the last 15 minutes worked."),
        )
    } else {
        let health = if ratio >= 0.99 {
            Health::Good
        } else if ratio >= 0.95 {
            Health::Warning
        } else {
            Health::Bad
        };
        let who = if failed_people == 1 {
            "1 person".to_owned()
        } else {
            format!("about {failed_people} people")
        };
        (
            health,
            format!(
                "{percent} of logins in the last 15 minutes worked; {who} could not log in because of a system problem."
            ),
        )
    };
    (Some(ratio), health, sentence)
}

fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_sentence_counts_patients_and_failures() {
        let (health, sentence) = describe_registrations(Some(41.6), Some(2.2));
        assert_eq!(
            sentence,
            "42 patients registered in the last hour. 2 registrations could not be completed."
        );
        assert_eq!(health, Health::Good);
        let (health, _) = describe_registrations(Some(6.0), Some(4.0));
        assert_eq!(health, Health::Bad);
    }

    #[test]
    fn no_registrations_is_said_plainly() {
        let (health, sentence) = describe_registrations(None, Some(0.0));
        assert_eq!(health, Health::Unknown);
        assert!(sentence.starts_with("No one"), "{sentence}");
    }

    #[test]
    fn login_failures_make_the_panel_bad_and_say_how_many() {
        let (ratio, health, sentence) = describe_logins(Some(30.0), Some(20.0));
        assert_eq!(ratio, Some(0.6));
        assert_eq!(health, Health::Bad);
        assert!(
            sentence.contains("60.0%") && sentence.contains("about 20 people"),
            "{sentence}"
        );
    }

    #[test]
    fn all_logins_working_is_good() {
        let (ratio, health, sentence) = describe_logins(Some(12.0), Some(0.0));
        assert_eq!(ratio, Some(1.0));
        assert_eq!(health, Health::Good);
        assert_eq!(sentence, "100.0% of logins in the last 15 minutes worked.");
    }

    #[test]
    fn panels_are_found_by_id() {
        assert_eq!(
            ClinicNowPanel::from_id("login-success"),
            Some(ClinicNowPanel::LoginSuccess)
        );
        assert_eq!(ClinicNowPanel::from_id("nope"), None);
    }
}
