//! How a status component's state is judged from its readings, and held steady.
//!
//! Pure: the readings come in, a state and its sentence come out. A component's rules are each
//! a test on one reading (a value above or below a threshold, or a heartbeat older than a
//! limit); the worst state whose test holds is the state. A missing reading is unknown, never
//! fine: when nothing worse is known, the component is unknown, said in words. A new state
//! shows only once it has held for the component's hold time, so a flapping measurement does
//! not make the page flicker; a maintenance window overrides everything for its span.

use serde::{Deserialize, Serialize};

/// The five states a status page shows, and the sixth it owes its readers when it cannot tell.
pub use vitals_api::ComponentState as State;

/// How bad a state is, for choosing the worst that holds: unknown is worse than operational
/// (nobody could say it was fine), and planned maintenance ranks below any outage.
pub fn severity(state: State) -> u8 {
    match state {
        State::Operational => 0,
        State::Unknown => 1,
        State::UnderMaintenance => 2,
        State::DegradedPerformance => 3,
        State::PartialOutage => 4,
        State::MajorOutage => 5,
    }
}

/// What one rule asks of its reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    /// The value is above this.
    Above(f64),
    /// The value is below this.
    Below(f64),
    /// The last sign of life is older than this many milliseconds.
    OlderThan(i64),
    /// A dashboard panel's judgement of its value is this level or worse.
    Reaches(Level),
}

/// How a dashboard panel judges its value against its own thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Good,
    Watch,
    Bad,
}

/// What a rule's query answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    Value(f64),
    /// The last sign of life, in milliseconds since the epoch.
    LastSeen(i64),
    /// A panel's judgement.
    Level(Level),
    /// A heartbeat's query answered, and found no sign of life in the range it looked at.
    NotSeen,
    /// No answer: the source failed, or a number's query matched nothing.
    Missing,
}

/// One rule: when its test holds of its reading, the component is at least `state`, and
/// `says` tells people why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub state: State,
    pub test: Test,
    pub says: String,
}

/// A component's state and the sentence that goes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub state: State,
    pub says: String,
}

/// The sentences a component says when no rule speaks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sayings {
    pub operational: String,
    pub unknown: String,
}

/// Judges `rules` against their `readings` (one each, in order) at `now_ms`.
///
/// A test on a reading of the wrong kind (a heartbeat test given a value) counts as missing:
/// a misconfigured rule must not pass for a healthy one.
pub fn judge(rules: &[Rule], readings: &[Reading], now_ms: i64, sayings: &Sayings) -> Judgement {
    let mut worst: Option<&Rule> = None;
    let mut missing = rules.len() != readings.len();
    for (rule, reading) in rules.iter().zip(readings) {
        let holds = match (rule.test, *reading) {
            (Test::Above(limit), Reading::Value(value)) if value.is_finite() => Some(value > limit),
            (Test::Below(limit), Reading::Value(value)) if value.is_finite() => Some(value < limit),
            (Test::OlderThan(limit_ms), Reading::LastSeen(at_ms)) => Some(now_ms - at_ms > limit_ms),
            (Test::Reaches(level), Reading::Level(judged)) => Some(judged >= level),
            // A heartbeat not seen at all is as stale as can be; one that could not be asked
            // for (its source is down) is unknown, like any missing reading.
            (Test::OlderThan(_), Reading::NotSeen) => Some(true),
            _ => None,
        };
        match holds {
            Some(true) if worst.is_none_or(|worst| severity(rule.state) > severity(worst.state)) => {
                worst = Some(rule);
            }
            Some(_) => {}
            None => missing = true,
        }
    }
    match worst {
        Some(rule) => Judgement {
            state: rule.state,
            says: rule.says.clone(),
        },
        None if missing => Judgement {
            state: State::Unknown,
            says: sayings.unknown.clone(),
        },
        None => Judgement {
            state: State::Operational,
            says: sayings.operational.clone(),
        },
    }
}

/// A component's shown state, which changes only once a new state has held for the hold time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Steady {
    /// What the page shows, and since when (ms).
    pub shown: State,
    pub shown_since_ms: i64,
    /// A different state seen since, and when it was first seen; it shows once it has held.
    pub pending: Option<(State, i64)>,
}

impl Steady {
    /// The first judgement shows at once: there is nothing steadier to show instead.
    pub fn new(first: State, now_ms: i64) -> Self {
        Self {
            shown: first,
            shown_since_ms: now_ms,
            pending: None,
        }
    }

    /// Takes the latest judged state at `now_ms`; answers the state to show.
    pub fn settle(&mut self, judged: State, now_ms: i64, hold_ms: i64) -> State {
        if judged == self.shown {
            self.pending = None;
            return self.shown;
        }
        let since = match self.pending {
            Some((pending, since)) if pending == judged => since,
            _ => now_ms,
        };
        if now_ms - since >= hold_ms {
            self.shown = judged;
            self.shown_since_ms = now_ms;
            self.pending = None;
        } else {
            self.pending = Some((judged, since));
        }
        self.shown
    }
}

/// What the page shows next, and since when: under maintenance while a window covers now,
/// whatever the readings say; otherwise the steady state. `previous` is what it showed,
/// `steady` the steady state and since when it has held.
///
/// Entering or leaving maintenance is a change now; a change of the steady state dates from
/// when the steady state changed, but never before what was shown last.
pub fn next_shown(
    previous: (State, i64),
    steady: (State, i64),
    in_maintenance: bool,
    now_ms: i64,
) -> (State, i64) {
    let state = if in_maintenance {
        State::UnderMaintenance
    } else {
        steady.0
    };
    if state == previous.0 {
        previous
    } else if in_maintenance || previous.0 == State::UnderMaintenance {
        (state, now_ms)
    } else {
        (state, steady.1.max(previous.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_515_600_000;
    const MINUTE: i64 = 60_000;

    fn sayings() -> Sayings {
        Sayings {
            operational: "Logins are working.".into(),
            unknown: "Vitals cannot tell whether logins work: its measurements are missing.".into(),
        }
    }

    /// Logins: slow above 2 s at p95, partly out below 95% success, out below 50%, and the
    /// sign-in service's heartbeat stale after 5 minutes.
    fn login_rules() -> Vec<Rule> {
        vec![
            Rule {
                state: State::MajorOutage,
                test: Test::Below(0.5),
                says: "Almost no one can log in.".into(),
            },
            Rule {
                state: State::PartialOutage,
                test: Test::Below(0.95),
                says: "Some people cannot log in; trying again may work.".into(),
            },
            Rule {
                state: State::DegradedPerformance,
                test: Test::Above(2.0),
                says: "Logins are slower than usual; most still work.".into(),
            },
            Rule {
                state: State::MajorOutage,
                test: Test::OlderThan(5 * MINUTE),
                says: "The sign-in service has stopped answering.".into(),
            },
        ]
    }

    fn readings(success: Reading, p95: Reading, heartbeat: Reading) -> Vec<Reading> {
        vec![success, success, p95, heartbeat]
    }

    #[test]
    fn the_worst_state_whose_test_holds_is_the_state() {
        use Reading::{LastSeen, NotSeen, Value};
        let fresh = LastSeen(NOW - MINUTE);
        let table = [
            (
                readings(Value(0.999), Value(0.4), fresh),
                State::Operational,
                "Logins are working.",
            ),
            (
                readings(Value(0.999), Value(2.5), fresh),
                State::DegradedPerformance,
                "slower",
            ),
            (
                readings(Value(0.9), Value(2.5), fresh),
                State::PartialOutage,
                "Some people",
            ),
            (
                readings(Value(0.3), Value(2.5), fresh),
                State::MajorOutage,
                "Almost no one",
            ),
            // Exactly at a threshold is not past it.
            (
                readings(Value(0.95), Value(2.0), fresh),
                State::Operational,
                "working",
            ),
            (
                readings(Value(0.999), Value(0.4), LastSeen(NOW - 6 * MINUTE)),
                State::MajorOutage,
                "stopped answering",
            ),
            // A heartbeat not seen is stale.
            (
                readings(Value(0.999), Value(0.4), NotSeen),
                State::MajorOutage,
                "stopped answering",
            ),
        ];
        for (readings, state, says) in table {
            let judged = judge(&login_rules(), &readings, NOW, &sayings());
            assert_eq!(judged.state, state, "{readings:?}");
            assert!(judged.says.contains(says), "{readings:?}: {}", judged.says);
        }
    }

    #[test]
    fn missing_data_is_unknown_in_words_never_operational() {
        use Reading::{LastSeen, Missing, Value};
        let fresh = LastSeen(NOW - MINUTE);
        let table = [
            (readings(Missing, Value(0.4), fresh), State::Unknown),
            (readings(Value(0.999), Missing, fresh), State::Unknown),
            (readings(Value(f64::NAN), Value(0.4), fresh), State::Unknown),
            // What is known to be bad still shows when something else is missing.
            (readings(Missing, Value(2.5), fresh), State::DegradedPerformance),
            (readings(Value(0.3), Missing, fresh), State::MajorOutage),
            // A value where a heartbeat was wanted is a broken rule, not a healthy one.
            (readings(Value(0.999), Value(0.4), Value(1.0)), State::Unknown),
            // A heartbeat that could not be asked for is unknown, not stale.
            (readings(Value(0.999), Value(0.4), Missing), State::Unknown),
        ];
        for (readings, state) in table {
            let judged = judge(&login_rules(), &readings, NOW, &sayings());
            assert_eq!(judged.state, state, "{readings:?}");
        }
        let judged = judge(&login_rules(), &[], NOW, &sayings());
        assert_eq!(
            judged.state,
            State::Unknown,
            "readings that do not match the rules"
        );
        assert!(
            judge(&login_rules(), &[Reading::Missing; 4], NOW, &sayings())
                .says
                .contains("cannot tell")
        );
        assert_eq!(
            judge(&[], &[], NOW, &sayings()).state,
            State::Operational,
            "no rules, nothing wrong"
        );
    }

    #[test]
    fn a_new_state_shows_only_once_it_has_held() {
        const HOLD: i64 = 2 * MINUTE;
        let mut steady = Steady::new(State::Operational, NOW);
        // (minutes from now, judged, shown)
        let table = [
            (1, State::PartialOutage, State::Operational),
            (2, State::Operational, State::Operational),
            // A blip that went away starts the count again.
            (3, State::PartialOutage, State::Operational),
            (4, State::PartialOutage, State::Operational),
            (5, State::PartialOutage, State::PartialOutage),
            // Recovering holds too.
            (6, State::Operational, State::PartialOutage),
            // A different bad state restarts the count.
            (7, State::MajorOutage, State::PartialOutage),
            (8, State::Unknown, State::PartialOutage),
            (10, State::Unknown, State::Unknown),
            (11, State::Operational, State::Unknown),
            (13, State::Operational, State::Operational),
        ];
        for (minute, judged, shown) in table {
            assert_eq!(
                steady.settle(judged, NOW + minute * MINUTE, HOLD),
                shown,
                "minute {minute}"
            );
        }
        assert_eq!(steady.shown_since_ms, NOW + 13 * MINUTE);
        let mut at_once = Steady::new(State::Operational, NOW);
        assert_eq!(
            at_once.settle(State::MajorOutage, NOW + 1, 0),
            State::MajorOutage,
            "no hold: at once"
        );
    }

    #[test]
    fn a_panel_rule_fires_at_its_level_or_worse() {
        let rule = |level| Rule {
            state: State::PartialOutage,
            test: Test::Reaches(level),
            says: "Some people cannot log in.".into(),
        };
        let table = [
            (Level::Watch, Level::Good, State::Operational),
            (Level::Watch, Level::Watch, State::PartialOutage),
            (Level::Watch, Level::Bad, State::PartialOutage),
            (Level::Bad, Level::Watch, State::Operational),
            (Level::Bad, Level::Bad, State::PartialOutage),
        ];
        for (at, judged, state) in table {
            let judgement = judge(&[rule(at)], &[Reading::Level(judged)], NOW, &sayings());
            assert_eq!(judgement.state, state, "rule at {at:?}, panel {judged:?}");
        }
        let missing = judge(&[rule(Level::Watch)], &[Reading::Value(0.99)], NOW, &sayings());
        assert_eq!(
            missing.state,
            State::Unknown,
            "a number where a judgement was wanted"
        );
    }

    #[test]
    fn maintenance_overrides_whatever_the_readings_say() {
        for steady in [State::Operational, State::MajorOutage, State::Unknown] {
            let before = (steady, NOW - 10 * MINUTE);
            assert_eq!(
                next_shown(before, before, true, NOW),
                (State::UnderMaintenance, NOW),
                "{steady:?} gives way to a window"
            );
            assert_eq!(next_shown(before, before, false, NOW), before, "{steady:?} stays");
        }
    }

    #[test]
    fn what_is_shown_changes_at_the_right_moment() {
        let start = NOW - 60 * MINUTE;
        let maintained = (State::UnderMaintenance, NOW - 30 * MINUTE);
        let cases = [
            // (previous, steady, in maintenance, expected, why)
            (
                (State::Operational, start),
                (State::Operational, start),
                false,
                (State::Operational, start),
                "nothing changed: since stays",
            ),
            (
                (State::Operational, start),
                (State::MajorOutage, NOW - MINUTE),
                false,
                (State::MajorOutage, NOW - MINUTE),
                "a steady change dates from when it settled",
            ),
            (
                maintained,
                (State::Operational, start),
                false,
                (State::Operational, NOW),
                "leaving maintenance is a change now, not when the steady state began",
            ),
            (
                maintained,
                (State::PartialOutage, NOW - 40 * MINUTE),
                true,
                maintained,
                "the window holds whatever the readings turn to",
            ),
            (
                (State::Operational, NOW - MINUTE),
                (State::Unknown, NOW - 5 * MINUTE),
                false,
                (State::Unknown, NOW - MINUTE),
                "never dated before what was shown last",
            ),
        ];
        for (previous, steady, in_maintenance, expected, why) in cases {
            assert_eq!(
                next_shown(previous, steady, in_maintenance, NOW),
                expected,
                "{why}"
            );
        }
    }
}
