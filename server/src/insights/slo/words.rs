//! An objective in sentences a clinic manager reads: whether the goal was met, how much of the
//! error budget is left, and whether it is being used faster than usual.

use vitals_api::{BurnRate, BurnSeverity, SloState, Unit};

use super::Slo;
use super::budget::{DAY_MS, HOUR_MS, Sums};
use crate::dashboards::words::{duration_words, moment, number};

/// A window as a sentence names it: "this week", "this month", "the last 3 days".
pub fn window_words(window_ms: i64) -> String {
    match window_ms {
        ms if ms == 7 * DAY_MS => "this week".to_owned(),
        ms if ms == DAY_MS => "today".to_owned(),
        ms if ms == HOUR_MS => "in the last hour".to_owned(),
        ms if (28 * DAY_MS..=31 * DAY_MS).contains(&ms) => "this month".to_owned(),
        ms => format!("in the last {}", duration_words(ms)),
    }
}

/// The budget window's name before "error budget": "this month's", "the last 14 days'".
fn window_owning(window_ms: i64) -> String {
    let words = window_words(window_ms);
    match words.strip_prefix("in the last ") {
        Some(span) if span.ends_with('s') => format!("the last {span}'"),
        Some(span) => format!("the last {span}'s"),
        None => format!("{words}'s"),
    }
}

/// A share as a percentage with up to `decimals` places, trailing zeros dropped: "99.5%".
pub fn percent(share: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, share * 100.0);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}%")
}

/// A ratio close to its objective with the places needed to tell them apart: 99.82% against
/// 99.5%, never a rounded 100% when some events failed.
fn ratio_words(ratio: f64) -> String {
    let shown = percent(ratio, 2);
    if shown == "100%" && ratio < 1.0 {
        "99.99%".to_owned()
    } else {
        shown
    }
}

/// What is known at one moment, for the sentence.
pub struct Reading<'a> {
    pub goal: Sums,
    pub budget: Sums,
    pub alerts: &'a [BurnRate],
    /// When the budget began to be used faster than usual, if it is now.
    pub fast_since: Option<i64>,
    /// The one-hour burn rate now.
    pub burn_now: Option<f64>,
}

/// The objective's state and the sentences that say it.
pub fn judged(slo: &Slo, reading: &Reading<'_>) -> (SloState, String) {
    let goal_words = window_words(slo.goal_ms);
    let goal = percent(slo.objective, 3);
    let Some(ratio) = reading.goal.ratio() else {
        let sentence = if reading.goal.measured == 0 {
            format!(
                "Vitals has no measurements of {} {goal_words}, so it cannot say whether the {goal} goal was met.",
                slo.noun.1
            )
        } else {
            format!(
                "There were no {} {goal_words} to hold to the {goal} goal.",
                slo.noun.1
            )
        };
        return (SloState::NoData, sentence);
    };
    let met = ratio >= slo.objective;
    let count = number(reading.goal.total, Unit::Count);
    let noun = if reading.goal.total == 1.0 {
        &slo.noun.0
    } else {
        &slo.noun.1
    };
    let mut sentence = if met {
        format!(
            "{} met the {goal} goal {goal_words}: {} of {count} {noun} {}",
            slo.subject,
            ratio_words(ratio),
            slo.good_words
        )
    } else {
        format!(
            "{} missed the {goal} goal {goal_words}: only {} of {count} {noun} {}",
            slo.subject,
            ratio_words(ratio),
            slo.good_words
        )
    };
    let owning = window_owning(slo.budget_ms);
    let left = reading.budget.budget_remaining(slo.objective);
    match left {
        Some(left) if left > 0.0 => {
            sentence.push_str(&format!(
                ". {} of {owning} error budget is left",
                percent(left.min(1.0), 0)
            ));
        }
        Some(_) => sentence.push_str(&format!(". {} error budget is spent", capitalised(&owning))),
        None => {}
    }
    if let Some(since) = reading.fast_since {
        sentence.push_str(&format!(
            ", and it is being used faster than usual since {}",
            moment(since)
        ));
    }
    let paging = reading
        .alerts
        .iter()
        .any(|alert| alert.firing && alert.severity == BurnSeverity::Page);
    if let (true, Some(left), Some(burn)) = (paging, left, reading.burn_now)
        && left > 0.0
        && burn > 0.0
    {
        // At burn rate 1 the whole budget lasts the budget window.
        let lasts_ms = (left * slo.budget_ms as f64 / burn) as i64;
        sentence.push_str(&format!(
            "; at this pace the rest lasts about {}",
            duration_words(lasts_ms.max(60_000))
        ));
    }
    sentence.push('.');
    let state = if !met {
        SloState::Missed
    } else if paging || left.is_some_and(|left| left <= 0.0) {
        SloState::AtRisk
    } else {
        SloState::Met
    };
    (state, sentence)
}

/// The range's events in a sentence: "In the last 24 hours 99.1% of 2,340 logins succeeded,
/// below the 99.5% goal."
pub fn range_sentence(slo: &Slo, sums: &Sums, range_words: &str) -> String {
    let goal = percent(slo.objective, 3);
    match sums.ratio() {
        None if sums.measured == 0 => format!("Vitals has no measurements of {} {range_words}.", slo.noun.1),
        None => format!("There were no {} {range_words}.", slo.noun.1),
        Some(ratio) => {
            let side = if ratio >= slo.objective {
                "meeting"
            } else {
                "below"
            };
            let noun = if sums.total == 1.0 {
                &slo.noun.0
            } else {
                &slo.noun.1
            };
            capitalised(&format!(
                "{range_words} {} of {} {noun} {}, {side} the {goal} goal.",
                ratio_words(ratio),
                number(sums.total, Unit::Count),
                slo.good_words
            ))
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboards::definition::{Queries, Signal};

    fn logins() -> Slo {
        Slo {
            id: "logins".into(),
            name: "Logins succeed".into(),
            description: String::new(),
            subject: "Logins".into(),
            noun: ("login".into(), "logins".into()),
            good_words: "succeeded".into(),
            objective: 0.995,
            goal_ms: 7 * DAY_MS,
            budget_ms: 28 * DAY_MS,
            signal: Signal::Metrics,
            good: Queries::default(),
            total: Queries::default(),
            explain: None,
        }
    }

    fn sums(good: f64, total: f64) -> Sums {
        Sums {
            good,
            total,
            measured: 10,
            steps: 10,
        }
    }

    fn alert(firing: bool, severity: BurnSeverity) -> BurnRate {
        BurnRate {
            long_ms: 3_600_000,
            short_ms: 300_000,
            threshold: 14.4,
            long: Some(20.0),
            short: Some(20.0),
            firing,
            severity,
        }
    }

    #[test]
    fn a_met_goal_says_how_much_budget_is_left() {
        let reading = Reading {
            goal: sums(9982.0, 10_000.0),
            // 76 bad of 40,000 against 0.5% allowed (200): 62% left.
            budget: sums(39_924.0, 40_000.0),
            alerts: &[],
            fast_since: None,
            burn_now: None,
        };
        let (state, sentence) = judged(&logins(), &reading);
        assert_eq!(state, SloState::Met);
        assert_eq!(
            sentence,
            "Logins met the 99.5% goal this week: 99.82% of 10,000 logins succeeded. 62% of this month's error budget is left."
        );
    }

    #[test]
    fn a_fast_burn_says_since_when_and_how_long_the_rest_lasts() {
        let alerts = [alert(true, BurnSeverity::Page)];
        let reading = Reading {
            goal: sums(9982.0, 10_000.0),
            budget: sums(39_924.0, 40_000.0),
            alerts: &alerts,
            fast_since: Some(1_764_770_400_000),
            burn_now: Some(20.0),
        };
        let (state, sentence) = judged(&logins(), &reading);
        assert_eq!(state, SloState::AtRisk);
        // 62% of 28 days at 20 times the sustainable pace: about 21 hours.
        assert!(
            sentence.ends_with(
                "62% of this month's error budget is left, and it is being used faster than usual since 3 Dec 14:00 UTC; at this pace the rest lasts about 21 hours."
            ),
            "{sentence}"
        );
    }

    #[test]
    fn a_missed_goal_and_a_spent_budget_say_so() {
        let reading = Reading {
            goal: sums(9_700.0, 10_000.0),
            budget: sums(39_000.0, 40_000.0),
            alerts: &[],
            fast_since: None,
            burn_now: None,
        };
        let (state, sentence) = judged(&logins(), &reading);
        assert_eq!(state, SloState::Missed);
        assert_eq!(
            sentence,
            "Logins missed the 99.5% goal this week: only 97% of 10,000 logins succeeded. This month's error budget is spent."
        );
    }

    #[test]
    fn a_met_week_with_the_month_overspent_is_at_risk() {
        let reading = Reading {
            goal: sums(10_000.0, 10_000.0),
            budget: sums(39_000.0, 40_000.0),
            alerts: &[alert(false, BurnSeverity::Page)],
            fast_since: None,
            burn_now: Some(0.0),
        };
        assert_eq!(judged(&logins(), &reading).0, SloState::AtRisk);
    }

    #[test]
    fn no_events_or_no_measurements_say_which() {
        let mut reading = Reading {
            goal: sums(0.0, 0.0),
            budget: sums(0.0, 0.0),
            alerts: &[],
            fast_since: None,
            burn_now: None,
        };
        let (state, sentence) = judged(&logins(), &reading);
        assert_eq!(state, SloState::NoData);
        assert_eq!(
            sentence,
            "There were no logins this week to hold to the 99.5% goal."
        );
        reading.goal.measured = 0;
        assert_eq!(
            judged(&logins(), &reading).1,
            "Vitals has no measurements of logins this week, so it cannot say whether the 99.5% goal was met."
        );
    }

    #[test]
    fn a_ratio_never_rounds_up_to_a_perfect_score() {
        assert_eq!(ratio_words(0.99999), "99.99%");
        assert_eq!(ratio_words(1.0), "100%");
        assert_eq!(percent(0.995, 3), "99.5%");
        assert_eq!(percent(0.62, 0), "62%");
    }

    #[test]
    fn windows_are_named_as_people_say_them() {
        assert_eq!(window_words(7 * DAY_MS), "this week");
        assert_eq!(window_owning(28 * DAY_MS), "this month's");
        assert_eq!(window_owning(14 * DAY_MS), "the last 14 days'");
        assert_eq!(window_owning(HOUR_MS), "the last hour's");
    }

    #[test]
    fn a_range_sentence_compares_with_the_goal() {
        assert_eq!(
            range_sentence(&logins(), &sums(2_319.0, 2_340.0), "in the last 24 hours"),
            "In the last 24 hours 99.1% of 2,340 logins succeeded, below the 99.5% goal."
        );
    }
}
