//! What the numbers mean: objectives with their error budgets, and whether now is unusual.

pub mod baseline;
pub mod explain;
pub mod journey;
pub mod patterns;
pub mod slo;

use std::path::PathBuf;

use serde::Deserialize;

use crate::settings::InvalidSetting;

/// Seconds between evaluations of the objectives, unless configured.
pub const DEFAULT_INTERVAL_SECONDS: u32 = 60;

/// `[insights]`: where the objectives come from and how often they are evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsightsConfig {
    /// Seconds between evaluations (`VITALS_INSIGHTS_INTERVAL_SECONDS`), for everyone at once;
    /// 5 to 3600.
    pub interval_seconds: u32,
    /// The hospital's own objectives (`VITALS_INSIGHTS_SLOS_FILE`); the shipped `slos.toml`
    /// when unset.
    pub slos_file: Option<PathBuf>,
    /// The hospital's own patient journeys (`VITALS_INSIGHTS_JOURNEYS_FILE`); the shipped
    /// `journeys.toml` when unset.
    pub journeys_file: Option<PathBuf>,
}

impl Default for InsightsConfig {
    fn default() -> Self {
        Self {
            interval_seconds: DEFAULT_INTERVAL_SECONDS,
            slos_file: None,
            journeys_file: None,
        }
    }
}

impl InsightsConfig {
    /// Checks the interval; the error names the key under `[insights]`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(5..=3_600).contains(&self.interval_seconds) {
            return Err(InvalidSetting::new(
                "insights.interval_seconds",
                format!("is {}; use 5 to 3600 seconds", self.interval_seconds),
            ));
        }
        Ok(())
    }

    /// The objectives: the configured file's, or the shipped ones.
    pub fn slos(&self) -> anyhow::Result<Vec<slo::Slo>> {
        use anyhow::Context;
        let slos = match &self.slos_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "the objectives' file {} (`insights.slos_file`) cannot be read; check the path and its permissions",
                        path.display()
                    )
                })?;
                slo::parse(&path.display().to_string(), &text)
            }
            None => slo::parse(slo::SHIPPED_FILE, slo::SHIPPED),
        };
        slos.context("the objectives' file does not check out")
    }

    /// The patient journeys: the configured file's, or the shipped ones.
    pub fn journeys(&self) -> anyhow::Result<Vec<journey::Journey>> {
        use anyhow::Context;
        let journeys = match &self.journeys_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "the journeys' file {} (`insights.journeys_file`) cannot be read; check the path and its permissions",
                        path.display()
                    )
                })?;
                journey::parse(&path.display().to_string(), &text)
            }
            None => journey::parse(journey::SHIPPED_FILE, journey::SHIPPED),
        };
        journeys.context("the journeys' file does not check out")
    }
}
