//! Traces as the trace routes answer them: analysed once (tree, critical path), kept a while per
//! scope, sent whole when small, and as an overview and windows of spans when huge.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use vitals_trace::huge::Analysed;

use crate::settings::InvalidSetting;
use crate::sources::guard::Scope;
use crate::sources::{SourceError, Sources};

/// `[traces]`: how large a trace is sent whole, and how many spans one window holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// A trace with more spans than this is read through its overview and windows.
    #[serde(default = "default_whole_limit")]
    pub whole_limit: u32,
    /// The most spans one window answers.
    #[serde(default = "default_window_limit")]
    pub window_limit: u32,
    /// How many spans of analysed traces the server keeps, across every trace and scope.
    #[serde(default = "default_kept_spans")]
    pub kept_spans: u64,
}

fn default_whole_limit() -> u32 {
    20_000
}

fn default_window_limit() -> u32 {
    5_000
}

fn default_kept_spans() -> u64 {
    4_000_000
}

impl Default for TraceConfig {
    fn default() -> Self {
        Self {
            whole_limit: default_whole_limit(),
            window_limit: default_window_limit(),
            kept_spans: default_kept_spans(),
        }
    }
}

impl TraceConfig {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(100..=1_000_000).contains(&self.whole_limit) {
            return Err(InvalidSetting::new(
                "traces.whole_limit",
                format!(
                    "is {}; write the most spans a trace may have to be sent whole, 100 to 1000000",
                    self.whole_limit
                ),
            ));
        }
        if !(100..=self.whole_limit).contains(&self.window_limit) {
            return Err(InvalidSetting::new(
                "traces.window_limit",
                format!(
                    "is {}; write the most spans one window holds, from 100 up to traces.whole_limit ({})",
                    self.window_limit, self.whole_limit
                ),
            ));
        }
        if self.kept_spans < 1_000_000 {
            return Err(InvalidSetting::new(
                "traces.kept_spans",
                format!(
                    "is {}; write at least 1000000, so that one huge trace can be kept while it is read",
                    self.kept_spans
                ),
            ));
        }
        Ok(())
    }
}

/// Analysed traces, shared by the callers of one scope; a trace being fetched is fetched once
/// however many ask for it meanwhile.
pub struct TraceAnalyses {
    kept: moka::future::Cache<(Scope, String), Arc<Analysed>>,
}

impl std::fmt::Debug for TraceAnalyses {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TraceAnalyses")
            .field("kept", &self.kept.entry_count())
            .finish()
    }
}

/// An analysed trace nobody reads for this long is let go.
const KEPT_IDLE: Duration = Duration::from_secs(10 * 60);

impl TraceAnalyses {
    pub fn new(config: &TraceConfig) -> Self {
        Self {
            kept: moka::future::Cache::builder()
                .max_capacity(config.kept_spans)
                .weigher(|_, trace: &Arc<Analysed>| {
                    u32::try_from(trace.table.len()).unwrap_or(u32::MAX).max(1)
                })
                .time_to_idle(KEPT_IDLE)
                .build(),
        }
    }

    /// The trace `trace_id` (already checked to be a trace id), analysed.
    pub async fn get(
        &self,
        sources: &Sources,
        scope: &Scope,
        trace_id: &str,
    ) -> Result<Arc<Analysed>, SourceError> {
        // Keyed by the id as asked: the answer spells the trace id the way the caller did.
        let key = (scope.clone(), trace_id.to_owned());
        let traces = Arc::clone(&sources.traces);
        let asked = trace_id.to_owned();
        self.kept
            .try_get_with(key, async move {
                let table = traces.trace_table(&asked).await?;
                // Ordering a million spans takes a moment: off the threads that answer requests.
                tokio::task::spawn_blocking(move || Arc::new(Analysed::new(table)))
                    .await
                    .map_err(|error| SourceError::Unavailable {
                        source_name: "Vitals",
                        reason: format!("analysing the trace stopped unexpectedly ({error}); try again"),
                    })
            })
            .await
            .map_err(|error: Arc<SourceError>| SourceError::clone(&error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_their_range_name_the_key() {
        let config = TraceConfig {
            window_limit: 30_000,
            ..TraceConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().key, "traces.window_limit");
        let config = TraceConfig {
            whole_limit: 10,
            ..TraceConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().key, "traces.whole_limit");
        assert!(TraceConfig::default().validate().is_ok());
    }
}
