//! Pure translation of Prometheus' (and AMP's) JSON answers and error bodies into Vitals' types.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use vitals_api::{Labels, MetricQueryResponse, ResultType, Series};

use super::Upstream;
use crate::sources::SourceError;
use crate::sources::prometheus_json::{InstantSample, RangeSeries, Sample};

#[cfg(test)]
mod tests;

/// Longest reason taken from an error answer: a proxy's error page can be long.
const MAX_REASON_CHARS: usize = 300;

/// What Prometheus knows about a metric from its targets' `# HELP`/`# TYPE`/`# UNIT` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, `histogram`, `summary`, `info`, `stateset` or `unknown`.
    #[serde(rename = "type")]
    pub metric_type: String,
    pub help: String,
    pub unit: String,
}

/// Every Prometheus answer: `{"status", "data", "errorType", "error", "warnings", "infos"}`.
#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    /// Newer Prometheus versions (and AMP) add PromQL hints here.
    #[serde(default)]
    infos: Vec<String>,
}

/// The `data` of `query` and `query_range`.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Matrix(Vec<RangeSeries>),
    Vector(Vec<InstantSample>),
    Scalar(Sample),
    String(IgnoredAny),
}

/// The answer of `query_range` (`step_seconds` > 0) or `query` (0).
pub(super) fn query_answer(
    upstream: Upstream,
    body: &[u8],
    step_seconds: f64,
) -> Result<MetricQueryResponse, SourceError> {
    let (data, mut warnings) = success::<QueryData>(upstream, body)?;
    let mut skipped_histograms = false;
    let (result_type, series) = match data {
        QueryData::Matrix(matrix) => {
            let series = matrix
                .into_iter()
                .filter_map(|range| {
                    skipped_histograms |= range.histograms.is_some();
                    (!range.values.is_empty()).then(|| range.into_series())
                })
                .collect();
            (ResultType::Matrix, series)
        }
        QueryData::Vector(vector) => {
            let series = vector
                .into_iter()
                .filter_map(|sample| {
                    skipped_histograms |= sample.histogram.is_some();
                    sample.into_series()
                })
                .collect();
            (ResultType::Vector, series)
        }
        QueryData::Scalar(Sample(point)) => (
            ResultType::Scalar,
            vec![Series {
                labels: Labels::new(),
                points: vec![point],
            }],
        ),
        QueryData::String(_) => {
            return Err(upstream.bad_query(
                "a string literal is not a query result Vitals can show; query a metric".to_owned(),
            ));
        }
    };
    if skipped_histograms {
        warnings.push(
            "some series hold native histogram samples, which Vitals does not show; \
             query them with histogram_quantile() or histogram_count()"
                .to_owned(),
        );
    }
    Ok(MetricQueryResponse {
        result_type,
        series,
        step_seconds,
        warnings,
    })
}

/// The answer of `labels` and `label/<name>/values`.
pub(super) fn name_list(upstream: Upstream, body: &[u8]) -> Result<Vec<String>, SourceError> {
    success(upstream, body).map(|(names, _)| names)
}

/// The answer of `series`: one label set per series.
pub(super) fn series_list(upstream: Upstream, body: &[u8]) -> Result<Vec<Labels>, SourceError> {
    success(upstream, body).map(|(series, _)| series)
}

/// The answer of `metadata`: each metric with what its targets say about it.
pub(super) fn metadata(
    upstream: Upstream,
    body: &[u8],
) -> Result<BTreeMap<String, Vec<MetricMetadata>>, SourceError> {
    success(upstream, body).map(|(metadata, _)| metadata)
}

/// The `data` of a `"status": "success"` answer, with its warnings and infos.
fn success<T: DeserializeOwned>(upstream: Upstream, body: &[u8]) -> Result<(T, Vec<String>), SourceError> {
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(|error| {
        upstream.unavailable(format!(
            "its answer is not the Prometheus API's JSON ({error}); \
             check that VITALS_PROMETHEUS_URL points at the Prometheus root or the AMP workspace"
        ))
    })?;
    let Envelope {
        status,
        data,
        error_type,
        error,
        mut warnings,
        infos,
    } = envelope;
    if status != "success" {
        let reason = error.unwrap_or_else(|| format!("it answered with status {status:?}"));
        return Err(upstream.unavailable(match error_type {
            Some(error_type) => format!("{error_type}: {}", shorten(&reason)),
            None => shorten(&reason),
        }));
    }
    let data = data.ok_or_else(|| upstream.unavailable("its answer has no data".to_owned()))?;
    warnings.extend(infos);
    Ok((data, warnings))
}

/// What a non-2xx answer means for the person who sent the query.
pub(super) fn error_for_status(
    upstream: Upstream,
    endpoint: &str,
    status: StatusCode,
    location: Option<&str>,
    body: &[u8],
) -> SourceError {
    let code = status.as_u16();
    if status.is_redirection() {
        // The target can carry a signed query string; the path is enough to fix the setting.
        let target = location.map(|location| location.split(['?', '#']).next().unwrap_or_default());
        return upstream.unavailable(format!(
            "{endpoint} answered with a redirect (HTTP {code}){}, which Vitals does not follow; \
             set VITALS_PROMETHEUS_URL to the address that answers itself",
            target.map(|target| format!(" to {target}")).unwrap_or_default()
        ));
    }
    let reason = error_reason(body);
    let detail = reason
        .as_deref()
        .map(|reason| format!(": {reason}"))
        .unwrap_or_default();
    match (code, upstream) {
        (400 | 422, _) => {
            upstream.bad_query(reason.unwrap_or_else(|| format!("{endpoint} answered HTTP {code}")))
        }
        (403, Upstream::Amp) => upstream.unavailable(format!(
            "AMP refused the request (HTTP 403){detail}; the AWS identity Vitals runs as needs the IAM \
             permission aps:QueryMetrics (and aps:GetLabels, aps:GetSeries, aps:GetMetricMetadata) on \
             this workspace, and VITALS_AMP_REGION must be the workspace's region"
        )),
        (401 | 403, Upstream::Prometheus) => upstream.unavailable(format!(
            "{endpoint} refused the request (HTTP {code}){detail}; Vitals sends Prometheus no credentials: \
             for an AMP workspace set VITALS_AMP_REGION so requests are SigV4-signed"
        )),
        (404, _) => upstream.unavailable(format!(
            "{endpoint} was not found (HTTP 404){detail}; set VITALS_PROMETHEUS_URL to the Prometheus root \
             (http://prometheus:9090) or the AMP workspace URL (…/workspaces/ws-…)"
        )),
        (429, _) => upstream.unavailable(format!(
            "{endpoint} is throttling requests (HTTP 429){detail}; wait a moment and try again"
        )),
        _ => upstream.unavailable(format!("{endpoint} answered HTTP {code}{detail}")),
    }
}

/// The reason of an error answer: Prometheus' `error`, AWS's `message`, or the first line of the text.
fn error_reason(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
    }
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(
            ErrorBody {
                error: Some(text), ..
            }
            | ErrorBody {
                message: Some(text), ..
            },
        ) => text,
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    // AWS's signature-mismatch message goes on with the canonical request it expected, which
    // holds the session token: only its first line is safe to show and to log.
    let first_line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    Some(shorten(first_line))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
