//! When an objective was failing fast: the stretches of its steps whose failures burn its
//! error budget at the rate of the fastest alert, found in counts alone. Pure, so each answer
//! can be worked out by hand.

use vitals_api::query::TimeRange;

use crate::insights::slo::budget::{BURN_PAIRS, Counts};

/// The burn rate a step must reach to count as failing: the fastest alert's threshold (14.4,
/// two per cent of a month's budget in an hour).
pub const FAILING_BURN: f64 = BURN_PAIRS[0].2;
/// The fewest failed events a failing 5-minute step has, so a handful of events at night where
/// one failed is not an episode.
pub const MIN_FAILED: f64 = 3.0;

/// A stretch of consecutive failing steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Episode {
    /// When its first step begins and its last step ends.
    pub start_ms: i64,
    pub end_ms: i64,
    pub good: f64,
    pub total: f64,
    /// Whether its last step is the newest the counts have: the failures may go on.
    pub ongoing: bool,
}

impl Episode {
    /// The events that failed.
    pub fn failed(&self) -> f64 {
        (self.total - self.good).max(0.0)
    }

    /// The share of events that failed.
    pub fn failed_share(&self) -> f64 {
        if self.total > 0.0 {
            self.failed() / self.total
        } else {
            0.0
        }
    }
}

/// Whether a step of `good` and `total` events with at least `min_failed` failures fails fast
/// against `objective`.
pub fn failing(good: f64, total: f64, objective: f64, min_failed: f64) -> bool {
    let failed = total - good;
    total > 0.0
        && failed >= min_failed.max(f64::MIN_POSITIVE)
        && failed / total / (1.0 - objective) >= FAILING_BURN
}

/// The episodes of the counts' steps that overlap `range`, oldest first; a failing step has at
/// least `min_failed` failures.
pub fn episodes(counts: &Counts, objective: f64, range: TimeRange, min_failed: f64) -> Vec<Episode> {
    let step_ms = counts.step_ms();
    let mut found: Vec<Episode> = Vec::new();
    let mut open: Option<Episode> = None;
    for index in 0..counts.len() {
        let end_ms = counts.time_of(index);
        let start_ms = end_ms - step_ms;
        if end_ms <= range.start_ms || start_ms >= range.end_ms {
            continue;
        }
        match counts
            .step(index)
            .filter(|&(good, total)| failing(good, total, objective, min_failed))
        {
            Some((good, total)) => {
                let episode = open.get_or_insert(Episode {
                    start_ms,
                    end_ms,
                    good: 0.0,
                    total: 0.0,
                    ongoing: false,
                });
                episode.end_ms = end_ms;
                episode.good += good;
                episode.total += total;
                episode.ongoing = index + 1 == counts.len();
            }
            None => found.extend(open.take()),
        }
    }
    found.extend(open);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: i64 = 60_000;
    const T0: i64 = 1_795_515_600_000;

    /// Counts of one-minute steps ending at T0 + STEP, T0 + 2 STEP, …
    fn counts(steps: &[(f64, f64)]) -> Counts {
        let good: Vec<Option<f64>> = steps.iter().map(|step| Some(step.0)).collect();
        let total: Vec<Option<f64>> = steps.iter().map(|step| Some(step.1)).collect();
        Counts::new(T0 + STEP, STEP, &good, &total)
    }

    fn everything() -> TimeRange {
        TimeRange::new(T0 - 3_600_000, T0 + 3_600_000)
    }

    #[test]
    fn a_step_fails_when_its_failures_burn_the_budget_at_the_fastest_alerts_rate() {
        // 99.5%: 14.4 times its 0.5% is 7.2% failed.
        assert!(failing(92.0, 100.0, 0.995, MIN_FAILED), "8% failed");
        assert!(
            !failing(93.0, 100.0, 0.995, MIN_FAILED),
            "7% failed is below 7.2%"
        );
        assert!(
            !failing(0.0, 2.0, 0.995, MIN_FAILED),
            "two failures of two are too few to tell"
        );
        assert!(failing(0.0, 3.0, 0.995, MIN_FAILED));
        assert!(
            failing(0.0, 1.0, 0.995, 1.0),
            "a minute's one failure, where one is enough"
        );
        assert!(!failing(0.0, 0.0, 0.995, 1.0), "no events, nothing failed");
        assert!(
            !failing(1.0, 1.0, 0.995, 0.0),
            "nothing failed, whatever the least asked"
        );
    }

    #[test]
    fn consecutive_failing_steps_make_one_episode_with_their_sums() {
        let found = episodes(
            &counts(&[
                (100.0, 100.0),
                (60.0, 100.0),
                (30.0, 90.0),
                (100.0, 100.0),
                (0.0, 10.0),
            ]),
            0.995,
            everything(),
            MIN_FAILED,
        );
        assert_eq!(
            found,
            vec![
                Episode {
                    start_ms: T0 + STEP,
                    end_ms: T0 + 3 * STEP,
                    good: 90.0,
                    total: 190.0,
                    ongoing: false,
                },
                Episode {
                    start_ms: T0 + 4 * STEP,
                    end_ms: T0 + 5 * STEP,
                    good: 0.0,
                    total: 10.0,
                    ongoing: true,
                },
            ]
        );
        assert_eq!(found[0].failed(), 100.0);
        assert!((found[0].failed_share() - 100.0 / 190.0).abs() < 1e-9);
    }

    #[test]
    fn only_steps_overlapping_the_range_count_and_missing_steps_end_an_episode() {
        let good = [Some(0.0), None, Some(0.0), Some(0.0)];
        let total = [Some(10.0), None, Some(10.0), Some(10.0)];
        let counts = Counts::new(T0 + STEP, STEP, &good, &total);
        let found = episodes(&counts, 0.99, everything(), MIN_FAILED);
        assert_eq!(found.len(), 2, "a step without data ends the first: {found:?}");
        // The range from T0 + 2.5 steps: the step ending at T0 + 3 STEP overlaps it.
        let later = TimeRange::new(T0 + 5 * STEP / 2, T0 + 10 * STEP);
        let found = episodes(&counts, 0.99, later, MIN_FAILED);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].start_ms, T0 + 2 * STEP);
        assert_eq!(found[0].total, 20.0);
    }

    #[test]
    fn quiet_counts_and_empty_counts_have_no_episode() {
        assert!(episodes(&counts(&[(100.0, 100.0); 30]), 0.995, everything(), MIN_FAILED).is_empty());
        assert!(episodes(&counts(&[]), 0.995, everything(), MIN_FAILED).is_empty());
        assert!(episodes(&counts(&[(0.0, 0.0); 5]), 0.995, everything(), 1.0).is_empty());
    }
}
