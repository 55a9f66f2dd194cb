//! Rate limits: failed logins per username and per client address, API requests per person, and live tails per person.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::Clock as RateClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use moka::sync::Cache;
use serde::Deserialize;
use vitals_api::clock::Clock;

use crate::settings::InvalidSetting;

/// `[limits]`: how often people may fail to log in, how fast one person may call the API, and their live tails.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitConfig {
    /// Failed logins of one username in 15 minutes before it must wait.
    pub failed_logins_per_username: u32,
    /// Failed logins from one client address in 15 minutes before it must wait.
    pub failed_logins_per_client: u32,
    /// API requests per second one person may make, steadily.
    pub api_requests_per_second: u32,
    /// API requests one person may make at once (a dashboard loading all its panels).
    pub api_burst: u32,
    /// Live log tails one person may have open at once.
    pub tails_per_person: u32,
    /// Minutes a live tail stays open before the person must reopen it.
    pub tail_max_minutes: u32,
    /// Seconds between checks that an open tail's session and role still hold.
    pub tail_session_check_seconds: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            failed_logins_per_username: 5,
            failed_logins_per_client: 20,
            api_requests_per_second: 20,
            api_burst: 60,
            tails_per_person: 3,
            tail_max_minutes: 60,
            tail_session_check_seconds: 5,
        }
    }
}

impl LimitConfig {
    /// Every limit is a positive number; the error names the key under `[limits]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let limits = [
            ("failed_logins_per_username", self.failed_logins_per_username),
            ("failed_logins_per_client", self.failed_logins_per_client),
            ("api_requests_per_second", self.api_requests_per_second),
            ("api_burst", self.api_burst),
            ("tails_per_person", self.tails_per_person),
            ("tail_max_minutes", self.tail_max_minutes),
            ("tail_session_check_seconds", self.tail_session_check_seconds),
        ];
        match limits.into_iter().find(|(_, value)| *value == 0) {
            Some((key, _)) => Err(InvalidSetting::new(
                format!("limits.{key}"),
                "is 0; use a positive number",
            )),
            None => Ok(()),
        }
    }
}

/// Failed logins counted over this window.
const LOGIN_WINDOW_MS: i64 = 15 * 60_000;
/// Usernames and client addresses remembered at most, each kind on its own: a flood of
/// made-up addresses can only push out other addresses, never a username's lockout.
const MAX_TRACKED_KEYS: u64 = 100_000;
/// People whose API bucket is remembered before the full ones (the default state) are forgotten.
const MAX_TRACKED_PEOPLE: usize = 10_000;

/// The times of one key's recent failures, oldest first.
type Failures = Arc<Mutex<VecDeque<i64>>>;

/// Where failures of one kind of key (usernames, or client addresses) are remembered: each
/// key for the length of the window. Beyond `MAX_TRACKED_KEYS` keys, new ones share one
/// overflow entry instead of pushing anyone out, so a flood of made-up names locks only
/// itself out and never lifts another's lockout.
struct FailureMemory {
    keys: Cache<String, Failures>,
}

/// The entry new keys share once the memory is full; no username or address looks like it.
const OVERFLOW: &str = "\0overflow";

impl FailureMemory {
    fn new() -> Self {
        Self {
            // Room above the bound, so the cache never evicts on its own: the bound is kept
            // by sending newcomers to the overflow entry.
            keys: Cache::builder()
                .max_capacity(2 * MAX_TRACKED_KEYS)
                .time_to_idle(Duration::from_millis(LOGIN_WINDOW_MS as u64))
                .build(),
        }
    }

    /// The entry a key's failures are counted in: its own, or the overflow entry when full.
    fn entry_key(&self, key: &str) -> String {
        if self.keys.contains_key(key) || self.keys.entry_count() < MAX_TRACKED_KEYS {
            key.to_owned()
        } else {
            OVERFLOW.to_owned()
        }
    }

    fn failures(&self, key: &str) -> Option<Failures> {
        self.keys.get(&self.entry_key(key))
    }

    fn record(&self, key: &str, now_ms: i64) {
        let entry_key = self.entry_key(key);
        let overflowing = entry_key == OVERFLOW;
        let failures = self.keys.get_with(entry_key, || {
            if overflowing {
                tracing::warn!(
                    "failed logins from more than {MAX_TRACKED_KEYS} names or addresses in 15 minutes; \
                     new ones now share one limit, which refuses them together until the flood passes"
                );
            }
            Failures::default()
        });
        failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(now_ms);
        // Keep the count the bound is checked against close to exact under a flood.
        self.keys.run_pending_tasks();
    }

    fn forget(&self, key: &str) {
        self.keys.invalidate(key);
    }
}

/// Counts failed logins and refuses more after too many, per username and per client.
pub struct LoginLimiter {
    per_username: u32,
    per_client: u32,
    usernames: FailureMemory,
    clients: FailureMemory,
}

impl LoginLimiter {
    pub fn new(per_username: u32, per_client: u32) -> Self {
        Self {
            per_username,
            per_client,
            usernames: FailureMemory::new(),
            clients: FailureMemory::new(),
        }
    }

    fn username_key(username: &str) -> String {
        username.trim().to_lowercase()
    }

    /// `Err(seconds to wait)` when this username or client has failed too often lately.
    pub fn check(&self, username: &str, client: &str, now_ms: i64) -> Result<(), u64> {
        let waits = [
            (
                self.usernames.failures(&Self::username_key(username)),
                self.per_username,
            ),
            (self.clients.failures(client), self.per_client),
        ]
        .into_iter()
        .filter_map(|(failures, allowed)| {
            let failures = failures?;
            let mut times = failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            while times.front().is_some_and(|at| now_ms - at >= LOGIN_WINDOW_MS) {
                times.pop_front();
            }
            // The oldest failure that still counts must leave the window first.
            (times.len() >= allowed as usize).then(|| {
                let oldest = times[times.len() - allowed as usize];
                ((oldest + LOGIN_WINDOW_MS - now_ms).max(1_000) as u64).div_ceil(1_000)
            })
        })
        .max();
        match waits {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, username: &str, client: &str, now_ms: i64) {
        self.usernames.record(&Self::username_key(username), now_ms);
        self.clients.record(client, now_ms);
    }

    /// A successful login clears the username's failures (not the client's).
    pub fn record_success(&self, username: &str) {
        self.usernames.forget(&Self::username_key(username));
    }
}

/// The server's clock as the rate limiter reads it, so tests move API limits with their clock.
#[derive(Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl RateClock for LimiterClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_ms()).unwrap_or_default())
    }
}

/// A token bucket per person for API requests.
pub struct ApiLimiter {
    limiter: RateLimiter<String, DashMapStateStore<String>, LimiterClock, NoOpMiddleware<Duration>>,
    clock: LimiterClock,
}

impl ApiLimiter {
    /// `per_second` requests steadily and `burst` at once per person; both at least one.
    pub fn new(per_second: u32, burst: u32, clock: Arc<dyn Clock>) -> Self {
        // One request back every 1/per_second; a rate beyond a billion a second is one a nanosecond.
        let period = (Duration::from_secs(1) / per_second.max(1)).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        let clock = LimiterClock(clock);
        Self {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Takes one request from `user`'s bucket; `Err(seconds to wait)` when it is empty.
    pub fn check(&self, user: &str) -> Result<(), u64> {
        if self.limiter.len() >= MAX_TRACKED_PEOPLE {
            // Full buckets are the default state: forgetting them changes nothing.
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&user.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }
}

/// The live log tails open now, per person, and the limits on them: a tail holds an upstream
/// query open, so one person cannot keep more than a few, nor keep one forever.
pub struct TailLimits {
    /// Tails one person may have open at once.
    pub per_person: usize,
    /// How long a tail stays open before the person must reopen it.
    pub max_open_ms: i64,
    /// How often an open tail checks that its session and role still hold.
    pub session_check: Duration,
    open: Mutex<HashMap<String, usize>>,
}

/// One person's place among the open tails, given back when dropped.
pub struct TailSlot {
    limits: Arc<TailLimits>,
    user: String,
}

impl TailLimits {
    pub fn new(per_person: u32, max_open: Duration, session_check: Duration) -> Self {
        Self {
            per_person: per_person as usize,
            max_open_ms: i64::try_from(max_open.as_millis()).unwrap_or(i64::MAX),
            session_check,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more tail of `user`, unless they have all theirs open already.
    pub fn take(self: &Arc<Self>, user: &str) -> Option<TailSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user.to_owned()).or_default();
        if *count >= self.per_person {
            return None;
        }
        *count += 1;
        Some(TailSlot {
            limits: self.clone(),
            user: user.to_owned(),
        })
    }
}

impl Drop for TailSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use vitals_api::clock::ManualClock;

    use super::*;

    const NOW: i64 = 1_795_515_600_000;

    #[test]
    fn five_failures_lock_the_username_for_the_rest_of_the_window() {
        let limiter = LoginLimiter::new(5, 20);
        for i in 0..5 {
            assert!(limiter.check("ana", "10.0.0.1", NOW + i).is_ok());
            limiter.record_failure("ana", "10.0.0.1", NOW + i);
        }
        let wait = limiter.check("ANA ", "10.0.0.2", NOW + 60_000).unwrap_err();
        assert_eq!(
            wait,
            14 * 60,
            "the first failure leaves the window after 15 minutes"
        );
        assert!(
            limiter.check("ben", "10.0.0.2", NOW + 60_000).is_ok(),
            "other people are not locked out"
        );
        assert!(
            limiter
                .check("ana", "10.0.0.1", NOW + LOGIN_WINDOW_MS + 5)
                .is_ok()
        );
    }

    #[test]
    fn one_client_trying_many_usernames_is_limited() {
        let limiter = LoginLimiter::new(5, 20);
        for i in 0..20 {
            limiter.record_failure(&format!("user{i}"), "10.0.0.9", NOW);
        }
        assert!(limiter.check("someone-new", "10.0.0.9", NOW).is_err());
        assert!(limiter.check("someone-new", "10.0.0.8", NOW).is_ok());
    }

    #[test]
    fn success_clears_the_username() {
        let limiter = LoginLimiter::new(2, 20);
        limiter.record_failure("ana", "c", NOW);
        limiter.record_failure("ana", "c", NOW);
        assert!(limiter.check("ana", "c", NOW).is_err());
        limiter.record_success("ana");
        assert!(limiter.check("ana", "c", NOW).is_ok());
    }

    #[test]
    fn a_flood_of_made_up_logins_cannot_lift_a_lockout_or_grow_memory() {
        let limiter = LoginLimiter::new(3, 1_000_000);
        for i in 0..3 {
            limiter.record_failure("ana", "10.0.0.1", NOW + i);
        }
        assert!(limiter.check("ana", "10.0.0.1", NOW + 10).is_err());
        // More made-up usernames and addresses than either memory holds, each failing once,
        // as an attacker would send them to push ana's failures out.
        for i in 0..MAX_TRACKED_KEYS + 20_000 {
            let address = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            limiter.record_failure(&format!("made-up-{i}"), &address, NOW + 20);
        }
        for memory in [&limiter.usernames, &limiter.clients] {
            memory.keys.run_pending_tasks();
            let count = memory.keys.entry_count();
            assert!(count <= MAX_TRACKED_KEYS + 1, "{count} entries");
        }
        assert!(
            limiter.check("made-up-new", "192.0.2.1", NOW + 30).is_err(),
            "past the bound, the flood shares one entry and locks itself out"
        );
        assert!(
            limiter.check("ana", "192.0.2.1", NOW + 30).is_err(),
            "ana stays locked out, whatever address the next guess comes from"
        );
    }

    #[test]
    fn api_bucket_allows_a_burst_then_the_steady_rate() {
        let clock = Arc::new(ManualClock::new(NOW));
        let limiter = ApiLimiter::new(10, 20, clock.clone());
        for _ in 0..20 {
            assert!(limiter.check("ana").is_ok());
        }
        assert_eq!(limiter.check("ana"), Err(1));
        assert!(limiter.check("ben").is_ok(), "each person has their own bucket");
        clock.advance(Duration::from_millis(100));
        assert!(
            limiter.check("ana").is_ok(),
            "a tenth of a second refills one request"
        );
        assert!(limiter.check("ana").is_err());
    }

    #[test]
    fn each_person_keeps_at_most_their_tails_and_a_closed_one_frees_its_place() {
        let limits = Arc::new(TailLimits::new(
            2,
            Duration::from_secs(3_600),
            Duration::from_secs(5),
        ));
        let first = limits.take("ana").expect("a first tail");
        let _second = limits.take("ana").expect("a second tail");
        assert!(limits.take("ana").is_none(), "a third is refused");
        assert!(limits.take("ben").is_some(), "each person counts alone");
        drop(first);
        assert!(limits.take("ana").is_some(), "a closed tail gives its place back");
    }
}
