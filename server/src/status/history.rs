//! A component's history bars (the last 24 hours, 7 days, 90 days) from its recorded changes
//! of state: pure, so the bars of any range and any number of them are table-tested.

use super::rules::{State, severity};

/// One bar: a stretch of the range, the worst state shown in it, and how much of it was fine.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub from_ms: i64,
    pub to_ms: i64,
    /// The worst state shown at any moment of the bar; `None` when nothing was recorded in it
    /// (Vitals was not watching yet), which the page says in words, never as operational.
    pub worst: Option<State>,
    /// Of the time something was recorded, the share that was operational or under planned
    /// maintenance; `None` with nothing recorded.
    pub up_share: Option<f64>,
}

/// The spans a status page shows: their names, lengths and bar counts.
pub const SPANS: [(&str, i64, usize); 3] = [
    ("24h", 86_400_000, 24),
    ("7d", 7 * 86_400_000, 7),
    ("90d", 90 * 86_400_000, 90),
];

/// Of the time recorded across `bars`, the share that was up; `None` with nothing recorded.
pub fn up_share(bars: &[Bar]) -> Option<f64> {
    let (up, total) = bars
        .iter()
        .fold((0.0, 0.0), |(up, total), bar| match bar.up_share {
            Some(share) => {
                let length = (bar.to_ms - bar.from_ms) as f64;
                (up + share * length, total + length)
            }
            None => (up, total),
        });
    (total > 0.0).then(|| up / total)
}

fn is_up(state: State) -> bool {
    matches!(state, State::Operational | State::UnderMaintenance)
}

/// `count` bars over `from_ms..to_ms` from `changes` (time, state), oldest first, where each
/// state holds until the next change (the last until `to_ms`, or `now_ms` if sooner: what
/// has not happened yet is not recorded). Changes before `from_ms` set the state the range
/// starts in.
pub fn bars(changes: &[(i64, State)], from_ms: i64, to_ms: i64, now_ms: i64, count: usize) -> Vec<Bar> {
    let span = (to_ms - from_ms).max(1);
    let count = count.max(1);
    let edge = |index: usize| from_ms + (span as i128 * index as i128 / count as i128) as i64;
    let mut bars: Vec<Bar> = (0..count)
        .map(|index| Bar {
            from_ms: edge(index),
            to_ms: edge(index + 1),
            worst: None,
            up_share: None,
        })
        .collect();
    let mut recorded = vec![(0_i64, 0_i64); count];
    let end = to_ms.min(now_ms);
    for (index, (at_ms, state)) in changes.iter().enumerate() {
        let next = changes.get(index + 1).map_or(end, |(next, _)| *next);
        let (start, stop) = ((*at_ms).max(from_ms), next.min(end));
        if stop <= start {
            continue;
        }
        let first = ((start - from_ms) as i128 * count as i128 / span as i128) as usize;
        for bar_index in first.min(count - 1)..count {
            let bar = &mut bars[bar_index];
            if bar.from_ms >= stop {
                break;
            }
            let overlap = stop.min(bar.to_ms) - start.max(bar.from_ms);
            if bar.worst.is_none_or(|worst| severity(*state) > severity(worst)) {
                bar.worst = Some(*state);
            }
            let (total, up) = &mut recorded[bar_index];
            *total += overlap;
            if is_up(*state) {
                *up += overlap;
            }
        }
    }
    for (bar, (total, up)) in bars.iter_mut().zip(recorded) {
        bar.up_share = (total > 0).then(|| up as f64 / total as f64);
    }
    bars
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    const START: i64 = 1_795_478_400_000; // Tuesday 2026-11-24 00:00 UTC

    fn worst(bars: &[Bar]) -> Vec<Option<State>> {
        bars.iter().map(|bar| bar.worst).collect()
    }

    #[test]
    fn each_bar_shows_the_worst_state_in_it_and_the_share_that_was_up() {
        use State::{MajorOutage, Operational, PartialOutage, UnderMaintenance};
        // A day in 24 hourly bars: fine, an outage from 10:40 to 10:50, maintenance 02:00–03:00.
        let changes = [
            (START - DAY, Operational),
            (START + 2 * HOUR, UnderMaintenance),
            (START + 3 * HOUR, Operational),
            (START + 10 * HOUR + 40 * 60_000, PartialOutage),
            (START + 10 * HOUR + 50 * 60_000, Operational),
        ];
        let bars = bars(&changes, START, START + DAY, START + DAY, 24);
        assert_eq!(bars.len(), 24);
        assert_eq!(bars[0].worst, Some(Operational), "the state the range starts in");
        assert_eq!(bars[2].worst, Some(UnderMaintenance));
        assert_eq!(bars[2].up_share, Some(1.0), "planned maintenance is not downtime");
        assert_eq!(
            bars[3].worst,
            Some(Operational),
            "a change at a bar's very start belongs to it"
        );
        assert_eq!(bars[10].worst, Some(PartialOutage));
        let share = bars[10].up_share.unwrap();
        assert!(
            (share - 50.0 / 60.0).abs() < 1e-9,
            "ten minutes of sixty down: {share}"
        );
        assert_eq!(bars[11].worst, Some(Operational));
        assert_eq!(bars[23].to_ms, START + DAY);
        // A major outage of one minute inside a day-long bar still shows as the bar's worst.
        let short = [
            (START, Operational),
            (START + HOUR, MajorOutage),
            (START + HOUR + 60_000, Operational),
        ];
        assert_eq!(
            worst(&super::bars(&short, START, START + DAY, START + DAY, 1)),
            [Some(MajorOutage)]
        );
    }

    #[test]
    fn a_span_is_up_for_the_share_of_its_recorded_time_that_was_up() {
        use State::{Operational, PartialOutage};
        // Recorded from 12:00 of a day in four bars: six hours fine, three down, three fine.
        let changes = [
            (START + 12 * HOUR, Operational),
            (START + 18 * HOUR, PartialOutage),
            (START + 21 * HOUR, Operational),
        ];
        let drawn = bars(&changes, START, START + DAY, START + DAY, 4);
        let share = up_share(&drawn).unwrap();
        assert!(
            (share - 9.0 / 12.0).abs() < 1e-9,
            "nine of twelve recorded hours up: {share}"
        );
        assert_eq!(up_share(&bars(&[], START, START + DAY, START + DAY, 4)), None);
    }

    #[test]
    fn time_without_a_record_is_no_state_not_operational() {
        use State::{Operational, Unknown};
        // Vitals started watching at 06:00; it is now 12:00 of a day shown in four bars.
        let changes = [(START + 6 * HOUR, Operational)];
        let bars = bars(&changes, START, START + DAY, START + 12 * HOUR, 4);
        assert_eq!(worst(&bars), [None, Some(Operational), None, None]);
        assert_eq!(bars[0].up_share, None);
        assert_eq!(bars[1].up_share, Some(1.0));
        // Unknown is recorded: it shows, and it is not up.
        let unknown = [(START, Unknown)];
        let bars = super::bars(&unknown, START, START + DAY, START + DAY, 2);
        assert_eq!(worst(&bars), [Some(Unknown), Some(Unknown)]);
        assert_eq!(bars[0].up_share, Some(0.0));
        assert_eq!(
            super::bars(&[], START, START + DAY, START + DAY, 3)
                .iter()
                .filter(|b| b.worst.is_some())
                .count(),
            0
        );
    }

    #[test]
    fn ninety_daily_bars_cover_the_range_exactly_and_fast() {
        // A change every two minutes for 90 days: 64,800 changes into 90 bars.
        let changes: Vec<(i64, State)> = (0..64_800)
            .map(|n| {
                let state = if n % 2 == 0 {
                    State::Operational
                } else {
                    State::DegradedPerformance
                };
                (START + n * 120_000, state)
            })
            .collect();
        let bars = bars(&changes, START, START + 90 * DAY, START + 90 * DAY, 90);
        assert_eq!(bars.len(), 90);
        assert_eq!(bars[0].from_ms, START);
        assert!(
            bars.windows(2).all(|pair| pair[0].to_ms == pair[1].from_ms),
            "no gap, no overlap"
        );
        for bar in &bars {
            assert_eq!(bar.worst, Some(State::DegradedPerformance));
            assert!((bar.up_share.unwrap() - 0.5).abs() < 1e-9);
        }
    }
}
