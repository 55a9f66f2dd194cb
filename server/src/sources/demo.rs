//! The demo clinic as a source: the `vitals-demo` simulation behind the log, metric and trace
//! traits, run off the async workers, its live tail following the server's clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use vitals_api::clock::Clock;
use vitals_api::{Backend, LogQueryResponse, MetricQueryResponse, ServiceMap, Trace, TraceSummary};
use vitals_demo::{DemoClinic, DemoConfig, DemoError, TailBatch};
use vitals_trace::SpanTable;

use super::{LogQuery, LogSource, LogTail, MetricSource, SourceError, TimeRange, TraceQuery, TraceSource};

/// How errors name this source to the people who read them.
const SOURCE_NAME: &str = "the demo clinic";
/// How often the live tail looks for new lines; Loki pushes about as often.
const TAIL_POLL: Duration = Duration::from_secs(1);

/// The demo clinic and the clock its live tail follows.
#[derive(Clone)]
pub struct DemoSource {
    clinic: DemoClinic,
    clock: Arc<dyn Clock>,
    tail_poll: Duration,
}

impl DemoSource {
    /// The clinic of `config`; "now" for its live tail comes from `clock`.
    pub fn new(config: DemoConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            clinic: DemoClinic::new(config),
            clock,
            tail_poll: TAIL_POLL,
        }
    }

    /// Runs a simulation off the async workers: a month-long query computes for
    /// a tenth of a second or more, which must not stall other requests.
    async fn off_the_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce(&DemoClinic) -> Result<T, DemoError> + Send + 'static,
    ) -> Result<T, SourceError> {
        let clinic = self.clinic.clone();
        match tokio::task::spawn_blocking(move || work(&clinic)).await {
            Ok(answer) => answer.map_err(source_error),
            Err(err) => Err(SourceError::Unavailable {
                source_name: SOURCE_NAME,
                reason: format!("the simulation stopped unexpectedly ({err}); try again"),
            }),
        }
    }

    /// Asks `tail` for new lines every poll, up to the clock's "now"; batches with no line are
    /// not sent.
    fn poll(&self, tail: TailBatch) -> LogTail {
        let (clinic, clock) = (self.clinic.clone(), self.clock.clone());
        let ticker = tokio::time::interval(self.tail_poll);
        let batches = futures::stream::unfold((tail, ticker), move |(mut tail, mut ticker)| {
            let (clinic, clock) = (clinic.clone(), clock.clone());
            async move {
                ticker.tick().await;
                let lines = tail.next(&clinic, clock.now_ms());
                Some((lines, (tail, ticker)))
            }
        });
        Box::pin(
            batches
                .filter(|lines| std::future::ready(!lines.is_empty()))
                .map(Ok),
        )
    }
}

/// The demo's answer in the terms every source uses, naming the demo clinic.
fn source_error(error: DemoError) -> SourceError {
    match error {
        DemoError::BadQuery(reason) => SourceError::BadQuery {
            source_name: SOURCE_NAME,
            reason,
        },
        DemoError::NotFound(what) => SourceError::NotFound {
            source_name: SOURCE_NAME,
            what,
        },
    }
}

#[async_trait]
impl LogSource for DemoSource {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn query(&self, query: &LogQuery) -> Result<LogQueryResponse, SourceError> {
        let query = query.clone();
        self.off_the_runtime(move |clinic| clinic.run_log_query(&query))
            .await
    }

    async fn labels(&self, range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(self.clinic.log_label_names(range))
    }

    async fn label_values(&self, name: &str, range: TimeRange) -> Result<Vec<String>, SourceError> {
        Ok(self.clinic.log_label_values(name, range))
    }

    async fn tail(&self, query: &str, start_ns: i64, limit: u32) -> Result<LogTail, SourceError> {
        let tail = self.clinic.follow(query, start_ns, limit).map_err(source_error)?;
        Ok(self.poll(tail))
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

#[async_trait]
impl MetricSource for DemoSource {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn query_range(
        &self,
        query: &str,
        range: TimeRange,
        step_ms: i64,
    ) -> Result<MetricQueryResponse, SourceError> {
        let query = query.to_owned();
        self.off_the_runtime(move |clinic| clinic.promql_range(&query, range.start_ms, range.end_ms, step_ms))
            .await
    }

    async fn query_instant(&self, query: &str, at_ms: i64) -> Result<MetricQueryResponse, SourceError> {
        let query = query.to_owned();
        self.off_the_runtime(move |clinic| clinic.promql_instant(&query, at_ms))
            .await
    }

    async fn metric_names(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.clinic.metric_names())
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

#[async_trait]
impl TraceSource for DemoSource {
    fn backend(&self) -> Backend {
        Backend::Demo
    }

    async fn search(&self, query: &TraceQuery) -> Result<Vec<TraceSummary>, SourceError> {
        let query = query.clone();
        self.off_the_runtime(move |clinic| clinic.search_traces(&query))
            .await
    }

    async fn trace(&self, trace_id: &str) -> Result<Trace, SourceError> {
        self.clinic.trace_by_id(trace_id).map_err(source_error)
    }

    async fn trace_table(&self, trace_id: &str) -> Result<SpanTable, SourceError> {
        let trace_id = trace_id.to_owned();
        self.off_the_runtime(move |clinic| clinic.trace_table_by_id(&trace_id))
            .await
    }

    async fn service_map(&self, range: TimeRange) -> Result<ServiceMap, SourceError> {
        self.off_the_runtime(move |clinic| Ok(clinic.service_map_of(range)))
            .await
    }

    async fn probe(&self) -> Result<(), SourceError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use vitals_api::clock::{FixedClock, ManualClock};
    use vitals_api::{LogLine, LogQueryResponse};

    use super::*;

    /// 2026-11-24 (a Tuesday) 10:20 UTC, in clinic hours.
    const TUESDAY_MORNING: i64 = 1_795_515_600_000;
    const HOUR: i64 = 3_600_000;

    fn source_at(clock: Arc<dyn Clock>) -> DemoSource {
        DemoSource {
            tail_poll: Duration::from_millis(1),
            ..DemoSource::new(DemoConfig::default(), clock)
        }
    }

    /// The next batch of a tail, failing the test when none comes within 10 s.
    async fn next_batch(tail: &mut LogTail) -> Vec<LogLine> {
        tokio::time::timeout(Duration::from_secs(10), tail.next())
            .await
            .expect("a batch within 10 s")
            .expect("the tail goes on")
            .unwrap()
    }

    #[tokio::test]
    async fn tail_follows_the_server_clock_and_sends_each_line_once() {
        let clock = Arc::new(ManualClock::new(TUESDAY_MORNING));
        let source = source_at(clock.clone());
        let start_ns = (TUESDAY_MORNING - 10 * 60_000) * 1_000_000;
        let mut tail = source.tail("{env=\"prod\"}", start_ns, 25).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..2 {
            seen.extend(next_batch(&mut tail).await);
        }
        assert_eq!(seen.len(), 50, "ten busy minutes fill whole batches");
        clock.advance(Duration::from_secs(5 * 60));
        let moved_on = TUESDAY_MORNING * 1_000_000;
        while seen.last().is_none_or(|line| line.time < moved_on) {
            seen.extend(next_batch(&mut tail).await);
        }
        assert!(
            seen.iter()
                .all(|line| line.time < (TUESDAY_MORNING + 5 * 60_000) * 1_000_000),
            "nothing from past the clock"
        );
        let mut keys: Vec<(i64, &str)> = seen.iter().map(|line| (line.time, line.line.as_str())).collect();
        keys.dedup();
        assert_eq!(keys.len(), seen.len(), "no line twice");
    }

    #[tokio::test]
    async fn the_three_traits_answer_from_the_simulation() {
        let source = source_at(Arc::new(FixedClock(TUESDAY_MORNING)));
        let range = TimeRange::new(TUESDAY_MORNING - HOUR, TUESDAY_MORNING);
        assert_eq!(LogSource::backend(&source), Backend::Demo);
        assert!(LogSource::probe(&source).await.is_ok());
        assert!(MetricSource::probe(&source).await.is_ok());
        assert!(TraceSource::probe(&source).await.is_ok());

        let lines = source
            .query(&LogQuery {
                query: r#"{service="records"}"#.into(),
                range,
                limit: 100,
                direction: vitals_api::Direction::Backward,
                step_ms: 60_000,
            })
            .await
            .unwrap();
        assert!(matches!(lines, LogQueryResponse::Streams { lines } if !lines.is_empty()));
        assert!(
            source
                .labels(range)
                .await
                .unwrap()
                .contains(&"service".to_string())
        );
        let matrix = source
            .query_range("sum(rate(appointments_booked_total[5m]))", range, 60_000)
            .await
            .unwrap();
        assert_eq!(matrix.series[0].points.len(), 61);
        let found = source
            .search(&TraceQuery {
                filter: String::new(),
                range,
                limit: 3,
            })
            .await
            .unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(
            source.trace(&found[0].trace_id).await.unwrap().trace_id,
            found[0].trace_id
        );
        assert!(!source.service_map(range).await.unwrap().nodes.is_empty());
    }

    #[tokio::test]
    async fn demo_errors_name_the_demo_clinic() {
        let source = source_at(Arc::new(FixedClock(TUESDAY_MORNING)));
        let Err(SourceError::BadQuery { source_name, reason }) =
            source.query_instant("topk(3, up)", TUESDAY_MORNING).await
        else {
            panic!("topk is outside the demo's PromQL");
        };
        assert_eq!(source_name, "the demo clinic");
        assert!(reason.contains("topk"), "{reason}");
        let unknown = "1-00000000-000000000000000000000000";
        assert!(matches!(
            source.trace(unknown).await,
            Err(SourceError::NotFound {
                source_name: "the demo clinic",
                ..
            })
        ));
        let Err(err) = source.tail("count_over_time({env=\"prod\"}[5m])", 0, 10).await else {
            panic!("a metric query cannot be tailed");
        };
        assert!(err.to_string().contains("live tail follows log lines"), "{err}");
    }
}
