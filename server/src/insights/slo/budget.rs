//! The arithmetic of an objective, on good and all events counted per step: the ratio over a
//! window, the error budget left, burn rates over the multi-window pairs of the SRE workbook,
//! and since when the budget has been used fast. Pure, so each answer can be worked out by hand.
//!
//! A step is "measured" when the count of all events has a value there. A step whose count of
//! good events is missing while all events were counted had no good event. Counts below zero
//! (a counter reset read by a query that does not allow for it) count as zero, and good events
//! never count above all events.

use vitals_api::{BurnRate, BurnSeverity, Point, Series};

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The multi-window pairs: (long window, short window, threshold, severity). A burn rate of 14.4
/// over an hour spends 2% of a 30-day budget; 6 over six hours, 5%; 1 over three days, 10%.
pub const BURN_PAIRS: [(i64, i64, f64, BurnSeverity); 3] = [
    (HOUR_MS, 5 * MINUTE_MS, 14.4, BurnSeverity::Page),
    (6 * HOUR_MS, 30 * MINUTE_MS, 6.0, BurnSeverity::Page),
    (3 * DAY_MS, 6 * HOUR_MS, 1.0, BurnSeverity::Ticket),
];

/// Good and all events per step, on the same steps: step `i` covers the `step_ms` up to
/// `first_ms + i * step_ms`. Running totals make any window's sums a subtraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Counts {
    first_ms: i64,
    step_ms: i64,
    /// Per step: (good, total) when measured.
    steps: Vec<Option<(f64, f64)>>,
    /// Running (good, total, measured steps) before each step, and after the last.
    running: Vec<(f64, f64, usize)>,
}

/// Sums over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sums {
    pub good: f64,
    pub total: f64,
    /// Steps of the window with a measurement, and all its steps.
    pub measured: usize,
    pub steps: usize,
}

impl Sums {
    /// Good over all; `None` without events.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.good / self.total)
    }

    /// The share of the steps that had a measurement.
    pub fn coverage(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            self.measured as f64 / self.steps as f64
        }
    }

    /// How fast the budget is used: the share of bad events over the share the objective
    /// allows. 1 uses it up exactly over the budget window.
    pub fn burn_rate(&self, objective: f64) -> Option<f64> {
        let ratio = self.ratio()?;
        Some((1.0 - ratio) / (1.0 - objective))
    }

    /// The share of the error budget left: 1 untouched, 0 spent, below 0 overspent.
    pub fn budget_remaining(&self, objective: f64) -> Option<f64> {
        self.burn_rate(objective).map(|burn| 1.0 - burn)
    }
}

impl Counts {
    /// The counts of `good` and `total` events per step. A step is measured when its total
    /// has a value; a missing good count beside it is no good event; counts below zero count
    /// as zero and good never counts above total.
    pub fn new(first_ms: i64, step_ms: i64, good: &[Option<f64>], total: &[Option<f64>]) -> Self {
        let steps: Vec<Option<(f64, f64)>> = total
            .iter()
            .enumerate()
            .map(|(index, total)| {
                let total = total.filter(|value| value.is_finite())?.max(0.0);
                let good = good
                    .get(index)
                    .copied()
                    .flatten()
                    .filter(|value| value.is_finite())
                    .unwrap_or(0.0)
                    .clamp(0.0, total);
                Some((good, total))
            })
            .collect();
        let mut running = Vec::with_capacity(steps.len() + 1);
        let mut sum = (0.0, 0.0, 0usize);
        running.push(sum);
        for step in &steps {
            if let Some((good, total)) = step {
                sum = (sum.0 + good, sum.1 + total, sum.2 + 1);
            }
            running.push(sum);
        }
        Self {
            first_ms,
            step_ms: step_ms.max(1),
            steps,
            running,
        }
    }

    /// The per-step counts from two query answers read over the same steps, from `first_ms`
    /// to `last_ms`: each answer's series are added up at each step (the queries normally
    /// answer one series each); points off the steps are ignored.
    pub fn from_answers(
        first_ms: i64,
        last_ms: i64,
        step_ms: i64,
        good: &[Series],
        total: &[Series],
    ) -> Self {
        let steps = if step_ms <= 0 || last_ms < first_ms {
            0
        } else {
            ((last_ms - first_ms) / step_ms + 1) as usize
        };
        let on_steps = |answer: &[Series]| {
            let mut values: Vec<Option<f64>> = vec![None; steps];
            for series in answer {
                for Point(time, value) in &series.points {
                    let offset = time - first_ms;
                    if offset < 0 || offset % step_ms != 0 || !value.is_finite() {
                        continue;
                    }
                    if let Some(slot) = values.get_mut((offset / step_ms) as usize) {
                        *slot = Some(slot.unwrap_or(0.0) + value);
                    }
                }
            }
            values
        };
        Self::new(first_ms, step_ms, &on_steps(good), &on_steps(total))
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    /// Good and all events of step `index`, when measured.
    pub fn step(&self, index: usize) -> Option<(f64, f64)> {
        self.steps.get(index).copied().flatten()
    }

    /// The time step `index` ends at.
    pub fn time_of(&self, index: usize) -> i64 {
        self.first_ms + index as i64 * self.step_ms
    }

    /// The index of the first step ending after `time`, within `0..=len`.
    fn first_after(&self, time: i64) -> usize {
        let index = (time - self.first_ms).div_euclid(self.step_ms) + 1;
        index.clamp(0, self.len() as i64) as usize
    }

    /// The sums over the `window_ms` up to `end_ms`: the steps ending after `end_ms - window_ms`
    /// and at or before `end_ms`.
    pub fn sums(&self, end_ms: i64, window_ms: i64) -> Sums {
        if window_ms <= 0 {
            return Sums {
                good: 0.0,
                total: 0.0,
                measured: 0,
                steps: 0,
            };
        }
        // Steps the window asks for, whether or not the counts reach back that far.
        let steps = (window_ms / self.step_ms).max(1) as usize;
        let from = self.first_after(end_ms - window_ms);
        let to = self.first_after(end_ms).max(from);
        let (good, total, measured) = (
            self.running[to].0 - self.running[from].0,
            self.running[to].1 - self.running[from].1,
            self.running[to].2 - self.running[from].2,
        );
        Sums {
            good: good.max(0.0),
            total: total.max(0.0),
            measured: measured.min(steps),
            steps,
        }
    }

    /// The multi-window burn-rate alerts at `end_ms`.
    pub fn burn_rates(&self, end_ms: i64, objective: f64) -> Vec<BurnRate> {
        BURN_PAIRS
            .iter()
            .map(|&(long_ms, short_ms, threshold, severity)| {
                let long = self.sums(end_ms, long_ms).burn_rate(objective);
                let short = self.sums(end_ms, short_ms).burn_rate(objective);
                BurnRate {
                    long_ms,
                    short_ms,
                    threshold,
                    long,
                    short,
                    firing: long.is_some_and(|rate| rate >= threshold)
                        && short.is_some_and(|rate| rate >= threshold),
                    severity,
                }
            })
            .collect()
    }

    /// The burn rate over `window_ms` at each step from `from_ms` to `to_ms`, where it has events.
    pub fn burn_series(&self, from_ms: i64, to_ms: i64, window_ms: i64, objective: f64) -> Vec<Point> {
        self.step_times(from_ms, to_ms)
            .filter_map(|time| {
                let rate = self.sums(time, window_ms).burn_rate(objective)?;
                Some(Point(time, rate))
            })
            .collect()
    }

    /// The budget left over `budget_ms` at each step from `from_ms` to `to_ms`, where it has events.
    pub fn budget_series(&self, from_ms: i64, to_ms: i64, budget_ms: i64, objective: f64) -> Vec<Point> {
        self.step_times(from_ms, to_ms)
            .filter_map(|time| {
                let left = self.sums(time, budget_ms).budget_remaining(objective)?;
                Some(Point(time, left))
            })
            .collect()
    }

    fn step_times(&self, from_ms: i64, to_ms: i64) -> impl Iterator<Item = i64> + '_ {
        (0..self.len())
            .map(|index| self.time_of(index))
            .filter(move |time| (from_ms..=to_ms).contains(time))
    }

    /// Since when the one-hour burn rate has stayed above `above`, if it is above it at `end_ms`:
    /// the end of the first step of the current run. Looks back at most a day.
    pub fn burning_since(&self, end_ms: i64, objective: f64, above: f64) -> Option<i64> {
        let above_at = |time: i64| {
            self.sums(time, HOUR_MS)
                .burn_rate(objective)
                .is_some_and(|rate| rate > above)
        };
        if !above_at(end_ms) {
            return None;
        }
        let mut since = end_ms;
        let mut time = end_ms - self.step_ms;
        while time > end_ms - DAY_MS && time >= self.first_ms && above_at(time) {
            since = time;
            time -= self.step_ms;
        }
        // The run began with the step whose bad events pushed the hour over: the hour before
        // `since` ends at the step that first counts them.
        Some(since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_api::Labels;

    const STEP: i64 = 5 * MINUTE_MS;

    fn series(points: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::default(),
            points: points.iter().map(|&(time, value)| Point(time, value)).collect(),
        }
    }

    /// `steps` steps of `total` events with `bad` of them failing, ending at `steps * STEP`.
    fn steady(steps: usize, total: f64, bad: f64) -> Counts {
        counts(&vec![Some(total - bad); steps], &vec![Some(total); steps])
    }

    fn counts(good: &[Option<f64>], total: &[Option<f64>]) -> Counts {
        Counts::new(STEP, STEP, good, total)
    }

    #[test]
    fn a_window_adds_up_its_steps_by_hand() {
        // 12 steps of 100 events, 1 bad each: the hour has 1,200 events, 1,188 good.
        let counts = steady(12, 100.0, 1.0);
        let hour = counts.sums(12 * STEP, HOUR_MS);
        assert_eq!(
            (hour.good, hour.total, hour.measured, hour.steps),
            (1188.0, 1200.0, 12, 12)
        );
        assert_eq!(hour.ratio(), Some(0.99));
        // 1% bad against a 99.5% objective (0.5% allowed) burns at 2: the budget is overspent.
        let burn = hour.burn_rate(0.995).unwrap();
        assert!((burn - 2.0).abs() < 1e-9, "{burn}");
        assert!((hour.budget_remaining(0.995).unwrap() + 1.0).abs() < 1e-9);
        // The last 10 minutes are the last two steps.
        let short = counts.sums(12 * STEP, 10 * MINUTE_MS);
        assert_eq!((short.total, short.measured, short.steps), (200.0, 2, 2));
    }

    #[test]
    fn an_empty_window_has_no_ratio_and_no_budget_answer() {
        let counts = steady(12, 0.0, 0.0);
        let hour = counts.sums(12 * STEP, HOUR_MS);
        assert_eq!((hour.total, hour.measured), (0.0, 12));
        assert_eq!(hour.ratio(), None);
        assert_eq!(hour.burn_rate(0.995), None);
        assert_eq!(hour.budget_remaining(0.995), None);
        // A window before the first count has no measured step at all.
        let before = counts.sums(0, HOUR_MS);
        assert_eq!((before.measured, before.coverage()), (0, 0.0));
    }

    #[test]
    fn missing_steps_are_left_out_and_lower_the_coverage() {
        let mut good = vec![Some(100.0); 12];
        let mut total = vec![Some(100.0); 12];
        (total[3], good[3], total[4]) = (None, None, None);
        let hour = counts(&good, &total).sums(12 * STEP, HOUR_MS);
        assert_eq!((hour.total, hour.measured), (1000.0, 10));
        assert!((hour.coverage() - 10.0 / 12.0).abs() < 1e-9);
        assert_eq!(hour.ratio(), Some(1.0));
    }

    #[test]
    fn a_missing_good_count_beside_a_total_is_no_good_event() {
        let both = counts(&[Some(10.0), None], &[Some(10.0), Some(10.0)]).sums(2 * STEP, 2 * STEP);
        assert_eq!((both.good, both.total), (10.0, 20.0));
    }

    #[test]
    fn a_counter_reset_read_as_a_negative_count_counts_nothing() {
        // A query that takes plain differences of a counter reads its reset as a drop.
        let counts = Counts::from_answers(
            STEP,
            3 * STEP,
            STEP,
            &[series(&[(STEP, 90.0), (2 * STEP, -4000.0), (3 * STEP, 95.0)])],
            &[series(&[(STEP, 100.0), (2 * STEP, -4100.0), (3 * STEP, 100.0)])],
        );
        let sums = counts.sums(3 * STEP, 3 * STEP);
        assert_eq!((sums.good, sums.total, sums.measured), (185.0, 200.0, 3));
    }

    #[test]
    fn good_events_never_count_above_all_events() {
        let counts = Counts::from_answers(
            STEP,
            STEP,
            STEP,
            &[series(&[(STEP, 12.0)])],
            &[series(&[(STEP, 10.0)])],
        );
        assert_eq!(counts.sums(STEP, STEP).ratio(), Some(1.0));
    }

    #[test]
    fn answers_are_added_up_per_step_and_points_off_the_steps_ignored() {
        let counts = Counts::from_answers(
            STEP,
            3 * STEP,
            STEP,
            &[
                series(&[(STEP, 1.0), (2 * STEP, 2.0)]),
                series(&[(2 * STEP, 3.0), (2 * STEP + 7, 50.0)]),
            ],
            &[series(&[(STEP, 10.0), (2 * STEP, 10.0), (3 * STEP, f64::NAN)])],
        );
        assert_eq!(
            counts,
            Counts::new(
                STEP,
                STEP,
                &[Some(1.0), Some(5.0), None],
                &[Some(10.0), Some(10.0), None]
            )
        );
    }

    #[test]
    fn burn_alerts_fire_only_when_both_windows_burn() {
        // Three days of a clean service, then the last 5 minutes fail entirely.
        let steps = (3 * DAY_MS / STEP) as usize;
        let mut good = vec![Some(100.0); steps];
        let mut total = vec![Some(100.0); steps];
        good[steps - 1] = Some(0.0);
        let alerts = counts(&good, &total).burn_rates(steps as i64 * STEP, 0.995);
        // The short window burns at 200 (all bad / 0.5%), the hour at 200/12 = 16.7 ≥ 14.4.
        let fast = &alerts[0];
        assert!((fast.short.unwrap() - 200.0).abs() < 1e-6);
        assert!((fast.long.unwrap() - 200.0 / 12.0).abs() < 1e-6);
        assert!(fast.firing);
        // Six hours: 100 bad of 7,200 → 2.78, below 6.
        assert!(!alerts[1].firing);
        // Three days: 100 of 86,400 → 0.23, below 1.
        assert!(!alerts[2].firing);
        // Five minutes later the short window is clean again: the hour still burns at 16.7,
        // but the alert stops.
        good.push(Some(100.0));
        total.push(Some(100.0));
        let later = counts(&good, &total).burn_rates((steps as i64 + 1) * STEP, 0.995);
        assert!(later[0].long.unwrap() > 14.4);
        assert!(!later[0].firing);
    }

    #[test]
    fn burning_since_finds_the_start_of_the_current_run() {
        // A day of clean steps, then from step 200 on, 2 of each 100 events fail.
        let mut good = vec![Some(100.0); 288];
        for step in good.iter_mut().skip(200) {
            *step = Some(98.0);
        }
        let counts = counts(&good, &vec![Some(100.0); 288]);
        let end = counts.time_of(287);
        // With n bad steps in the hour its burn rate against 99.5% is (2n / 1,200) / 0.005 =
        // n / 3: above 1 from the fourth bad step on, step 203.
        assert_eq!(counts.burning_since(end, 0.995, 1.0), Some(counts.time_of(203)));
        // Nothing burns on a clean day.
        assert_eq!(steady(288, 100.0, 0.0).burning_since(end, 0.995, 1.0), None);
    }

    #[test]
    fn series_follow_the_steps_of_the_range() {
        let counts = steady(24, 100.0, 1.0);
        let burn = counts.burn_series(counts.time_of(12), counts.time_of(23), HOUR_MS, 0.99);
        assert_eq!(burn.len(), 12);
        assert!(burn.iter().all(|point| (point.1 - 1.0).abs() < 1e-9));
        let budget = counts.budget_series(counts.time_of(23), counts.time_of(23), 2 * HOUR_MS, 0.98);
        assert_eq!(budget.len(), 1);
        assert!((budget[0].1 - 0.5).abs() < 1e-9, "{budget:?}");
    }
}
