//! Rate limits: failed logins per username and per client address, API requests per person, and live tails per person.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Failed logins counted over this window.
const LOGIN_WINDOW_MS: i64 = 15 * 60_000;
/// Keys remembered at most; the stalest are forgotten first, so a flood of made-up
/// usernames cannot grow memory without bound.
const MAX_TRACKED_KEYS: usize = 10_000;

/// Counts failed logins and refuses more after too many, per username and per client.
pub struct LoginLimiter {
    per_username: u32,
    per_client: u32,
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl LoginLimiter {
    pub fn new(per_username: u32, per_client: u32) -> Self {
        Self {
            per_username,
            per_client,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn username_key(username: &str) -> String {
        format!("user:{}", username.trim().to_lowercase())
    }

    fn client_key(client: &str) -> String {
        format!("client:{client}")
    }

    /// `Err(seconds to wait)` when this username or client has failed too often lately.
    pub fn check(&self, username: &str, client: &str, now_ms: i64) -> Result<(), u64> {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let waits = [
            (Self::username_key(username), self.per_username),
            (Self::client_key(client), self.per_client),
        ]
        .into_iter()
        .filter_map(|(key, allowed)| {
            let times = failures.get_mut(&key)?;
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
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() >= MAX_TRACKED_KEYS {
            let stalest = failures
                .iter()
                .min_by_key(|(_, times)| times.back().copied().unwrap_or(i64::MIN))
                .map(|(key, _)| key.clone());
            if let Some(key) = stalest {
                failures.remove(&key);
            }
        }
        for key in [Self::username_key(username), Self::client_key(client)] {
            failures.entry(key).or_default().push_back(now_ms);
        }
    }

    /// A successful login clears the username's failures (not the client's).
    pub fn record_success(&self, username: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(&Self::username_key(username));
    }
}

/// A token bucket per person for API requests.
pub struct ApiLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

impl ApiLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `user`'s bucket; `Err(seconds to wait)` when it is empty.
    pub fn check(&self, user: &str, now_ms: i64) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TRACKED_KEYS && !buckets.contains_key(user) {
            // Full buckets are the default state: forgetting them changes nothing.
            let burst = self.burst;
            buckets.retain(|_, (tokens, _)| *tokens < burst);
        }
        let (tokens, last_ms) = buckets.entry(user.to_owned()).or_insert((self.burst, now_ms));
        let refill = (now_ms - *last_ms).max(0) as f64 / 1000.0 * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last_ms = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
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
    fn api_bucket_allows_a_burst_then_the_steady_rate() {
        let limiter = ApiLimiter::new(10, 20);
        for _ in 0..20 {
            assert!(limiter.check("ana", NOW).is_ok());
        }
        assert_eq!(limiter.check("ana", NOW), Err(1));
        assert!(
            limiter.check("ben", NOW).is_ok(),
            "each person has their own bucket"
        );
        assert!(
            limiter.check("ana", NOW + 100).is_ok(),
            "a tenth of a second refills one request"
        );
        assert!(limiter.check("ana", NOW + 100).is_err());
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
