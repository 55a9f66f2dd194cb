//! The circuit breaker: after a run of failures a backend gets a rest, then one test query.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// What the breaker of one source is doing, as `stats()` and readiness show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Queries go through.
    Closed,
    /// Queries are refused at once; one test query goes through after `retry_after`.
    Open { retry_after: Duration },
    /// One test query is running; the others are refused until it answers.
    HalfOpen,
}

impl BreakerState {
    /// The value of the `source_breaker_state` gauge: 0 closed, 1 half-open, 2 open.
    pub fn as_gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open { .. } => 2,
        }
    }
}

/// How long a test query is given to show whether a resting backend has recovered; other
/// queries are refused meanwhile.
const TEST_QUERY_WAIT_SECONDS: u64 = 5;

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures_in_a_row: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// One source's breaker. Only unavailable and timed-out calls count as failures:
/// a bad query or a missing trace is the user's doing, and the backend answered.
#[derive(Debug)]
pub(super) struct Breaker {
    state: Mutex<State>,
    failures_to_open: u32,
    cooldown: Duration,
    opens: AtomicU64,
}

/// Leave to call the backend once. A test query dropped before its outcome is
/// recorded (its caller went away, or it panicked) counts as a failure, so the
/// breaker cannot stay half-open; any other unrecorded call says nothing.
#[must_use]
pub(super) struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    recorded: bool,
}

impl Permit<'_> {
    pub(super) fn record(mut self, healthy: bool) {
        self.recorded = true;
        self.breaker.record(self.probe, healthy);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.recorded && self.probe {
            self.breaker.record(true, false);
        }
    }
}

impl Breaker {
    pub(super) fn new(failures_to_open: u32, cooldown: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures_in_a_row: 0 }),
            failures_to_open,
            cooldown,
            opens: AtomicU64::new(0),
        }
    }

    /// Lets a call through, or refuses it with the seconds until the breaker lets one through.
    pub(super) fn admit(&self) -> Result<Permit<'_>, u64> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() >= until => {
                *state = State::HalfOpen;
                true
            }
            State::Open { until } => {
                let wait = until.saturating_duration_since(Instant::now());
                return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            }
            State::HalfOpen => {
                return Err(TEST_QUERY_WAIT_SECONDS);
            }
        };
        Ok(Permit {
            breaker: self,
            probe,
            recorded: false,
        })
    }

    pub(super) fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } => BreakerState::Open {
                retry_after: until.saturating_duration_since(Instant::now()),
            },
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// How many times the breaker has opened since the server started.
    pub(super) fn opens(&self) -> u64 {
        self.opens.load(Ordering::Relaxed)
    }

    fn record(&self, probe: bool, healthy: bool) {
        let mut state = self.lock();
        *state = match (*state, probe, healthy) {
            (State::HalfOpen, true, true) | (State::Closed { .. }, false, true) => {
                State::Closed { failures_in_a_row: 0 }
            }
            (State::HalfOpen, true, false) => self.open(),
            (State::Closed { failures_in_a_row }, false, false) => {
                if failures_in_a_row + 1 >= self.failures_to_open {
                    self.open()
                } else {
                    State::Closed {
                        failures_in_a_row: failures_in_a_row + 1,
                    }
                }
            }
            // A call let through before the breaker opened says nothing about the
            // backend now: only the test query decides.
            (current, _, _) => current,
        };
    }

    fn open(&self) -> State {
        self.opens.fetch_add(1, Ordering::Relaxed);
        State::Open {
            until: Instant::now() + self.cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // No code panics while holding the lock, so a poisoned state is still sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(30);

    fn fail(breaker: &Breaker, times: u32) {
        for _ in 0..times {
            breaker.admit().unwrap().record(false);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_configured_failures_in_a_row() {
        let breaker = Breaker::new(3, COOLDOWN);
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        fail(&breaker, 1);
        assert_eq!(
            breaker.state(),
            BreakerState::Open {
                retry_after: COOLDOWN
            }
        );
        assert_eq!(breaker.opens(), 1);
        let refusal = breaker.admit().err().unwrap();
        assert_eq!(
            refusal,
            COOLDOWN.as_secs(),
            "the whole cool-down is still to wait"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_run_of_failures() {
        let breaker = Breaker::new(3, COOLDOWN);
        fail(&breaker, 2);
        breaker.admit().unwrap().record(true);
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_cooldown_only_one_test_query_goes_through() {
        let breaker = Breaker::new(1, COOLDOWN);
        fail(&breaker, 1);
        tokio::time::advance(COOLDOWN).await;
        let probe = breaker.admit().unwrap();
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let refusal = breaker.admit().err().unwrap();
        assert_eq!(refusal, TEST_QUERY_WAIT_SECONDS, "others wait for the test query");
        probe.record(true);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_test_query_opens_the_breaker_again() {
        let breaker = Breaker::new(1, COOLDOWN);
        fail(&breaker, 1);
        tokio::time::advance(COOLDOWN).await;
        breaker.admit().unwrap().record(false);
        assert!(matches!(breaker.state(), BreakerState::Open { .. }));
        assert_eq!(breaker.opens(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_test_query_dropped_unrecorded_counts_as_a_failure() {
        let breaker = Breaker::new(1, COOLDOWN);
        fail(&breaker, 1);
        tokio::time::advance(COOLDOWN).await;
        drop(breaker.admit().unwrap());
        assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn an_ordinary_call_dropped_unrecorded_is_not_a_failure() {
        let breaker = Breaker::new(1, COOLDOWN);
        drop(breaker.admit().unwrap());
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_success_from_before_the_opening_does_not_close_it() {
        let breaker = Breaker::new(1, COOLDOWN);
        let late = breaker.admit().unwrap();
        fail(&breaker, 1);
        late.record(true);
        assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    }
}
