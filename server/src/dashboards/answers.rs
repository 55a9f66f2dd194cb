//! Panel answers kept for a few seconds, ready to send.
//!
//! A clinic's wall screen, the front desk and a manager at home often watch the same dashboard.
//! Relative ranges end on a shared grain (see `NOW_GRAIN_MS` in the dashboards routes), so they
//! ask the same question within those seconds: the first request answers it and the others get
//! the same bytes, without asking the sources, building the sentence or writing the JSON again.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;

use super::definition::Dashboard;
use super::evaluate::Choices;
use crate::sources::TimeRange;
use crate::sources::guard::Scope;

/// At most this many answers are kept: a few per panel of every dashboard, for every scope.
const MAX_KEPT: u64 = 10_000;

/// Everything that decides a panel's answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    /// Who asks: two callers of one scope may see the same answers.
    pub scope: Scope,
    pub dashboard: String,
    pub panel: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub choices: Choices,
}

impl AnswerKey {
    pub fn new(scope: Scope, dashboard: &str, panel: &str, range: TimeRange, choices: Choices) -> Self {
        Self {
            scope,
            dashboard: dashboard.to_owned(),
            panel: panel.to_owned(),
            from_ms: range.start_ms,
            to_ms: range.end_ms,
            choices,
        }
    }
}

/// One kept answer, and what it was made from.
#[derive(Debug)]
struct Kept {
    /// The definition that answered: a reloaded dashboard answers afresh. Holding it also keeps
    /// its address from being reused while this answer is kept.
    dashboard: Arc<Dashboard>,
    made_at_ms: i64,
    body: Bytes,
}

/// Recent panel answers, each served for `fresh_for_ms` on the server's clock.
#[derive(Debug)]
pub struct PanelAnswers {
    kept: moka::sync::Cache<AnswerKey, Arc<Kept>>,
    fresh_for_ms: i64,
}

impl PanelAnswers {
    pub fn new(fresh_for_ms: i64) -> Self {
        let fresh_for = Duration::from_millis(u64::try_from(fresh_for_ms.max(1)).unwrap_or(1));
        Self {
            kept: moka::sync::Cache::builder()
                .max_capacity(MAX_KEPT)
                // Frees the memory of answers nobody asks for again; whether an answer may
                // still be served is decided on the server's clock in `get`.
                .time_to_live(fresh_for * 2)
                .build(),
            fresh_for_ms,
        }
    }

    /// The answer to `key` made by `dashboard` less than `fresh_for_ms` before `now_ms`.
    pub fn get(&self, key: &AnswerKey, dashboard: &Arc<Dashboard>, now_ms: i64) -> Option<Bytes> {
        let kept = self.kept.get(key)?;
        let age_ms = now_ms - kept.made_at_ms;
        let fresh = (0..self.fresh_for_ms).contains(&age_ms) && Arc::ptr_eq(&kept.dashboard, dashboard);
        fresh.then(|| kept.body.clone())
    }

    /// Keeps `body`, the answer `dashboard` gave to `key` at `now_ms`.
    pub fn keep(&self, key: AnswerKey, dashboard: Arc<Dashboard>, now_ms: i64, body: Bytes) {
        self.kept.insert(
            key,
            Arc::new(Kept {
                dashboard,
                made_at_ms: now_ms,
                body,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::Dashboards;

    fn key(scope: &str, to_ms: i64, clinic: &str) -> AnswerKey {
        AnswerKey::new(
            Scope::new(scope),
            "clinic-now",
            "registrations",
            TimeRange::new(to_ms - 3_600_000, to_ms),
            Choices::from_pairs([("clinic", clinic)]),
        )
    }

    fn dashboard() -> Arc<Dashboard> {
        let catalog = Dashboards::shipped().catalog();
        Arc::clone(catalog.find("clinic-now").expect("clinic-now is shipped"))
    }

    #[test]
    fn an_answer_is_served_while_fresh_and_then_made_again() {
        let answers = PanelAnswers::new(5_000);
        let board = dashboard();
        answers.keep(
            key("operations", 10_000, "north"),
            Arc::clone(&board),
            10_000,
            Bytes::from_static(b"{}"),
        );
        let asked = key("operations", 10_000, "north");
        assert_eq!(answers.get(&asked, &board, 10_000).as_deref(), Some(&b"{}"[..]));
        assert_eq!(answers.get(&asked, &board, 14_999).as_deref(), Some(&b"{}"[..]));
        assert_eq!(
            answers.get(&asked, &board, 15_000),
            None,
            "five seconds later it is made again"
        );
        assert_eq!(
            answers.get(&asked, &board, 9_999),
            None,
            "a clock that went back does not trust it"
        );
    }

    #[test]
    fn another_scope_range_variable_or_definition_gets_its_own_answer() {
        let answers = PanelAnswers::new(5_000);
        let board = dashboard();
        answers.keep(
            key("operations", 10_000, "north"),
            Arc::clone(&board),
            10_000,
            Bytes::from_static(b"{}"),
        );
        assert_eq!(
            answers.get(&key("engineer", 10_000, "north"), &board, 10_000),
            None
        );
        assert_eq!(
            answers.get(&key("operations", 15_000, "north"), &board, 10_000),
            None
        );
        assert_eq!(
            answers.get(&key("operations", 10_000, "south"), &board, 10_000),
            None
        );
        let reloaded = Arc::new(Dashboard::clone(&board));
        assert_eq!(
            answers.get(&key("operations", 10_000, "north"), &reloaded, 10_000),
            None,
            "a reloaded dashboard answers afresh"
        );
    }
}
