//! `[guard]`: how long Vitals waits for a backend, when it stops asking, what it caches and how big an answer may be.

use std::time::Duration;

use serde::Deserialize;

use vitals_api::query_limits::{LENGTH_CEILING, NESTING_CEILING, QueryLimits};

use crate::settings::InvalidSetting;

/// The guard settings, the same for every source; each source still gets its own
/// breaker, cache and counters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// How long one call to a backend may take before Vitals gives up on it.
    pub timeout_ms: u64,
    /// Failures in a row (unavailable or timed out) that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses queries before it lets one test query through.
    pub breaker_cooldown_ms: u64,
    /// How long an answer is reused for the same query and scope; 0 turns the cache off.
    pub cache_ttl_ms: u64,
    /// Approximate memory each source's cache of each kind of answer may hold.
    pub cache_max_mb: u64,
    /// Log lines one answer may carry.
    pub max_log_lines: usize,
    /// Series one answer may carry.
    pub max_series: usize,
    /// Points one series may carry.
    pub max_points_per_series: usize,
    /// Approximate size of one answer as JSON.
    pub max_answer_mb: u64,
    /// The longest time range one query may cover.
    pub max_range_days: u64,
    /// Brackets one query may hold open at once; deeper queries are refused before any parser runs.
    pub max_query_depth: usize,
    /// The longest query text, in bytes.
    pub max_query_bytes: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 15_000,
            breaker_failures: 5,
            breaker_cooldown_ms: 30_000,
            cache_ttl_ms: 10_000,
            cache_max_mb: 32,
            max_log_lines: 5_000,
            max_series: 500,
            max_points_per_series: 11_000,
            max_answer_mb: 20,
            max_range_days: 31,
            max_query_depth: 64,
            max_query_bytes: LENGTH_CEILING,
        }
    }
}

const MEGABYTE: u64 = 1024 * 1024;

impl GuardConfig {
    /// `max_range_days` in milliseconds.
    pub fn max_range_ms(&self) -> i64 {
        (self.max_range_days as i64).saturating_mul(86_400_000)
    }

    /// Checks what types alone cannot; each error names the key under `[guard]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_range("timeout_ms", self.timeout_ms, 100, 600_000, "milliseconds")?;
        check_range(
            "breaker_failures",
            self.breaker_failures.into(),
            1,
            1_000,
            "failures",
        )?;
        check_range(
            "breaker_cooldown_ms",
            self.breaker_cooldown_ms,
            100,
            3_600_000,
            "milliseconds",
        )?;
        check_range("cache_ttl_ms", self.cache_ttl_ms, 0, 3_600_000, "milliseconds")?;
        check_range("max_range_days", self.max_range_days, 1, 3_650, "days")?;
        check_range("cache_max_mb", self.cache_max_mb, 1, 4_096, "megabytes")?;
        check_range("max_log_lines", self.max_log_lines as u64, 1, 1_000_000, "lines")?;
        check_range("max_series", self.max_series as u64, 1, 1_000_000, "series")?;
        check_range(
            "max_points_per_series",
            self.max_points_per_series as u64,
            1,
            10_000_000,
            "points",
        )?;
        check_range("max_answer_mb", self.max_answer_mb, 1, 1_024, "megabytes")?;
        check_range(
            "max_query_depth",
            self.max_query_depth as u64,
            1,
            NESTING_CEILING as u64,
            "levels",
        )?;
        check_range(
            "max_query_bytes",
            self.max_query_bytes as u64,
            64,
            LENGTH_CEILING as u64,
            "bytes",
        )
    }

    pub(super) fn query_limits(&self) -> QueryLimits {
        QueryLimits {
            max_depth: self.max_query_depth,
            max_bytes: self.max_query_bytes,
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub(super) fn breaker_cooldown(&self) -> Duration {
        Duration::from_millis(self.breaker_cooldown_ms)
    }

    pub(super) fn cache_ttl(&self) -> Duration {
        Duration::from_millis(self.cache_ttl_ms)
    }

    pub(super) fn cache_max_bytes(&self) -> u64 {
        self.cache_max_mb.saturating_mul(MEGABYTE)
    }

    pub(super) fn max_answer_bytes(&self) -> u64 {
        self.max_answer_mb.saturating_mul(MEGABYTE)
    }
}

fn check_range(name: &str, value: u64, min: u64, max: u64, unit: &str) -> Result<(), InvalidSetting> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(InvalidSetting {
        key: format!("guard.{name}"),
        problem: format!("is {value}; use {min} to {max} {unit}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(GuardConfig::default().validate(), Ok(()));
    }

    #[test]
    fn missing_keys_take_their_defaults() {
        let config: GuardConfig = toml::from_str("timeout_ms = 2000").unwrap();
        assert_eq!(
            config,
            GuardConfig {
                timeout_ms: 2_000,
                ..GuardConfig::default()
            }
        );
    }

    #[test]
    fn unknown_key_is_refused_by_name() {
        let error = toml::from_str::<GuardConfig>("timeout = 2000").unwrap_err();
        assert!(error.to_string().contains("timeout"), "{error}");
    }

    #[test]
    fn invalid_value_names_the_guard_key() {
        let cases = [
            (
                GuardConfig {
                    timeout_ms: 0,
                    ..GuardConfig::default()
                },
                "guard.timeout_ms",
            ),
            (
                GuardConfig {
                    breaker_failures: 0,
                    ..GuardConfig::default()
                },
                "guard.breaker_failures",
            ),
            (
                GuardConfig {
                    max_series: 0,
                    ..GuardConfig::default()
                },
                "guard.max_series",
            ),
            (
                GuardConfig {
                    max_query_depth: 0,
                    ..GuardConfig::default()
                },
                "guard.max_query_depth",
            ),
            (
                GuardConfig {
                    max_query_bytes: 0,
                    ..GuardConfig::default()
                },
                "guard.max_query_bytes",
            ),
        ];
        for (config, key) in cases {
            let error = config.validate().unwrap_err();
            assert_eq!(error.key, key);
            assert!(
                error.to_string().starts_with(&format!("`{key}` is 0; use ")),
                "{error}"
            );
        }
    }

    #[test]
    fn query_limits_cannot_be_raised_past_what_the_parsers_survive() {
        let deeper = GuardConfig {
            max_query_depth: NESTING_CEILING + 1,
            ..GuardConfig::default()
        };
        assert_eq!(deeper.validate().unwrap_err().key, "guard.max_query_depth");
        let longer = GuardConfig {
            max_query_bytes: LENGTH_CEILING + 1,
            ..GuardConfig::default()
        };
        assert_eq!(longer.validate().unwrap_err().key, "guard.max_query_bytes");
    }

    #[test]
    fn zero_cache_ttl_turns_the_cache_off_and_is_valid() {
        let config = GuardConfig {
            cache_ttl_ms: 0,
            ..GuardConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
    }
}
