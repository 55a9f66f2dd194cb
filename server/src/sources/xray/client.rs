//! The thin adapter over `aws-sdk-xray`: one call per method, bounded pagination, and SDK errors as `SourceError`s.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_xray::Client;
use aws_sdk_xray::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_xray::primitives::DateTime;
use aws_sdk_xray::types::{Service, TraceSummary as XRaySummary};

use super::SOURCE_NAME;
use crate::sources::{SourceError, TimeRange};

/// X-Ray answers GetTraceSummaries for at most this much time per call.
const MAX_WINDOW_MS: i64 = 6 * 3_600_000;
/// Pages fetched for one answer at most, whatever X-Ray keeps offering.
const MAX_PAGES: usize = 200;

/// The IAM actions the read side needs, named when X-Ray says access is denied.
const READ_PERMISSIONS: &str = "xray:GetTraceSummaries, xray:BatchGetTraces and xray:GetServiceGraph";

/// An X-Ray client and the timeout its config gave every call.
#[derive(Debug, Clone)]
pub(crate) struct XRayClient {
    client: Client,
    timeout: Duration,
}

impl XRayClient {
    pub(crate) fn new(client: Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    /// Summaries in the range, the newest six-hour window first, until at
    /// least `enough` were seen or there are no more.
    pub(crate) async fn trace_summaries(
        &self,
        range: TimeRange,
        filter: Option<&str>,
        enough: usize,
    ) -> Result<Vec<XRaySummary>, SourceError> {
        let mut summaries = Vec::new();
        let mut pages = 0;
        for window in windows_newest_first(range) {
            let mut next_token = None;
            loop {
                let page = self
                    .client
                    .get_trace_summaries()
                    .start_time(DateTime::from_millis(window.start_ms))
                    .end_time(DateTime::from_millis(window.end_ms))
                    .set_filter_expression(filter.map(str::to_owned))
                    .set_next_token(next_token.take())
                    .send()
                    .await
                    .map_err(|error| self.source_error(error))?;
                pages += 1;
                summaries.extend_from_slice(page.trace_summaries());
                next_token = page.next_token().map(str::to_owned);
                if summaries.len() >= enough || pages >= MAX_PAGES {
                    return Ok(summaries);
                }
                if next_token.is_none() {
                    break;
                }
            }
        }
        Ok(summaries)
    }

    /// The segment documents of each trace X-Ray has among `ids` (X-Ray
    /// form), by trace id; ids it does not know are left out.
    pub(crate) async fn batch_get_traces(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, SourceError> {
        let mut traces: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut next_token = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .batch_get_traces()
                .set_trace_ids(Some(ids.to_vec()))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.source_error(error))?;
            for trace in page.traces() {
                let Some(id) = trace.id() else { continue };
                traces.entry(id.to_owned()).or_default().extend(
                    trace
                        .segments()
                        .iter()
                        .filter_map(|s| s.document())
                        .map(str::to_owned),
                );
            }
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        Ok(traces)
    }

    /// GetServiceGraph's services over the range, every page.
    pub(crate) async fn service_graph(&self, range: TimeRange) -> Result<Vec<Service>, SourceError> {
        let mut services = Vec::new();
        let mut next_token = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .get_service_graph()
                .start_time(DateTime::from_millis(range.start_ms))
                .end_time(DateTime::from_millis(range.end_ms))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.source_error(error))?;
            services.extend_from_slice(page.services());
            next_token = page.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        Ok(services)
    }

    fn source_error<E>(&self, error: SdkError<E>) -> SourceError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let timeout = SourceError::Timeout {
            source_name: SOURCE_NAME,
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
        };
        match &error {
            SdkError::TimeoutError(_) => timeout,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => timeout,
            SdkError::DispatchFailure(_) => unavailable(format!(
                "X-Ray could not be reached ({}); check the network path and VITALS_XRAY_ENDPOINT if it is set",
                DisplayErrorContext(&error)
            )),
            SdkError::ServiceError(_) => service_error(error.code(), error.message()),
            _ => unavailable(format!(
                "the call to X-Ray failed ({}); check the AWS credentials and region the server runs with",
                DisplayErrorContext(&error)
            )),
        }
    }
}

/// The range cut into windows X-Ray accepts, newest first.
fn windows_newest_first(range: TimeRange) -> Vec<TimeRange> {
    let mut windows = Vec::new();
    let mut end = range.end_ms;
    while end > range.start_ms {
        let start = (end - MAX_WINDOW_MS).max(range.start_ms);
        windows.push(TimeRange::new(start, end));
        end = start;
    }
    windows
}

fn unavailable(reason: String) -> SourceError {
    SourceError::Unavailable {
        source_name: SOURCE_NAME,
        reason,
    }
}

/// What an error X-Ray answered means for the person asking.
fn service_error(code: Option<&str>, message: Option<&str>) -> SourceError {
    let said = message.unwrap_or("no message");
    match code.unwrap_or_default() {
        "ThrottledException" | "ThrottlingException" | "TooManyRequestsException" => unavailable(
            "X-Ray is throttling this server's requests; try again in a minute or narrow the time range"
                .into(),
        ),
        "AccessDeniedException" | "AccessDenied" => unavailable(format!(
            "X-Ray denied access ({said}); the server's IAM role needs {READ_PERMISSIONS}"
        )),
        code @ ("UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken") => unavailable(format!(
            "X-Ray refused the server's AWS credentials ({code}: {said}); check the task role or the credentials in the environment"
        )),
        "InvalidRequestException" => SourceError::BadQuery {
            source_name: SOURCE_NAME,
            reason: said.to_owned(),
        },
        "" => unavailable(format!("X-Ray answered with an error ({said})")),
        code => unavailable(format!("X-Ray answered {code} ({said})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_says_to_wait() {
        for code in [
            "ThrottledException",
            "ThrottlingException",
            "TooManyRequestsException",
        ] {
            let error = service_error(Some(code), Some("Rate exceeded")).to_string();
            assert!(error.contains("X-Ray is throttling"), "{error}");
        }
    }

    #[test]
    fn access_denied_names_the_permissions_to_grant() {
        let error = service_error(Some("AccessDeniedException"), Some("not authorized")).to_string();
        for permission in [
            "xray:GetTraceSummaries",
            "xray:BatchGetTraces",
            "xray:GetServiceGraph",
        ] {
            assert!(error.contains(permission), "{error}");
        }
        assert!(matches!(
            service_error(Some("ExpiredTokenException"), None),
            SourceError::Unavailable { .. }
        ));
    }

    #[test]
    fn an_invalid_filter_is_the_users_to_fix_in_x_rays_words() {
        assert_eq!(
            service_error(Some("InvalidRequestException"), Some("Invalid filter expression")),
            SourceError::BadQuery {
                source_name: "X-Ray",
                reason: "Invalid filter expression".into()
            }
        );
    }

    #[test]
    fn other_failures_name_x_ray_and_its_code() {
        let error = service_error(Some("InternalFailure"), Some("Not implemented yet")).to_string();
        assert!(
            error.starts_with("X-Ray is unavailable") && error.contains("InternalFailure"),
            "{error}"
        );
    }

    #[test]
    fn long_ranges_are_cut_into_six_hour_windows_newest_first() {
        let hour = 3_600_000;
        assert_eq!(
            windows_newest_first(TimeRange::new(0, 14 * hour)),
            vec![
                TimeRange::new(8 * hour, 14 * hour),
                TimeRange::new(2 * hour, 8 * hour),
                TimeRange::new(0, 2 * hour),
            ]
        );
        assert_eq!(
            windows_newest_first(TimeRange::new(0, hour)),
            vec![TimeRange::new(0, hour)]
        );
        assert!(windows_newest_first(TimeRange::new(hour, hour)).is_empty());
    }
}
