//! The API error: one variant per kind of failure, each with a status, a stable code and a sentence.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vitals_api::{ErrorBody, ErrorDetail, TextSpan};

use crate::sources::SourceError;
use crate::store::scrub;

/// Everything a handler can answer instead of its data.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong in a way the caller can fix; `code` is stable.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// A query or filter of the request is wrong at `at`.
    #[error("{message}")]
    BadText {
        code: &'static str,
        message: String,
        at: TextSpan,
    },
    #[error("{0}")]
    NotFound(String),
    /// What the path names existed but no longer works (a revoked or expired link); `code` says which.
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A trace with more spans than are sent whole: the message says where to read it instead.
    #[error("{0}")]
    TraceTooLarge(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    /// No session, or it ended: log in (again).
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// Logged in, but without the role this needs, or a request that failed the CSRF checks.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after_seconds: u64,
    },
    /// The session store or audit trail cannot be used; the message says which and what to check.
    #[error("{0}")]
    StoreUnavailable(String),
    /// The audit trail could not store the entry of an access, so the answer is withheld.
    #[error("{0}")]
    AuditUnavailable(String),
    /// A bug: logged in full, answered with a generic sentence.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthenticated {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// The session store failed: the operator sees why in the log, the person a sentence.
    pub fn store(error: crate::store::StoreError) -> Self {
        Self::store_of("sessions", error)
    }

    /// A store failed while reading or writing `what` (sessions, the audit trail, share
    /// links): the operator sees why in the log, the person a sentence naming what failed.
    pub fn store_of(what: &'static str, error: crate::store::StoreError) -> Self {
        tracing::error!(%error, store = what, "a store failed");
        Self::StoreUnavailable(format!(
            "{what} cannot be read or written right now; try again in a moment"
        ))
    }

    /// The audit trail could not store an access: the operator sees why in the log, the person
    /// a refusal, since an answer nobody recorded must not leave the server.
    pub fn audit(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "an access could not be recorded in the audit trail; its answer was withheld");
        Self::AuditUnavailable(
            "this could not be recorded in the audit trail, so the answer is withheld; \
             try again in a moment, and tell an admin if it keeps happening"
                .into(),
        )
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated { code, .. } => (StatusCode::UNAUTHORIZED, code),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            Self::TooManyRequests { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code),
            Self::StoreUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            Self::AuditUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "audit_unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::BadRequest { code, .. } | Self::BadText { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Gone { code, .. } => (StatusCode::GONE, code),
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::TraceTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "trace_too_large"),
            Self::Source(SourceError::BadQuery { .. }) => (StatusCode::BAD_REQUEST, "bad_query"),
            Self::Source(SourceError::NotFound { .. }) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Source(SourceError::Resting { .. }) => (StatusCode::SERVICE_UNAVAILABLE, "source_resting"),
            Self::Source(SourceError::Unavailable { .. }) => {
                (StatusCode::BAD_GATEWAY, "upstream_unavailable")
            }
            Self::Source(SourceError::Timeout { .. }) => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType(
                "this endpoint takes JSON; send the body with content-type: application/json".into(),
            ),
            JsonRejection::BytesRejection(_) => Self::PayloadTooLarge(
                "the request body is too large or could not be read; send a smaller body".into(),
            ),
            other => Self::bad_request(
                "invalid_body",
                format!(
                    "the request body is not valid: {}",
                    lowercase_first(&other.body_text())
                ),
            ),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(
            "invalid_query_string",
            format!(
                "the query string is not valid: {}",
                lowercase_first(&rejection.body_text())
            ),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(
            "invalid_path",
            format!(
                "the path is not valid: {}",
                lowercase_first(&rejection.body_text())
            ),
        )
    }
}

impl From<WebSocketUpgradeRejection> for ApiError {
    fn from(_: WebSocketUpgradeRejection) -> Self {
        Self::bad_request(
            "not_a_websocket",
            "this endpoint streams over a WebSocket; open it with a WebSocket client",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "something went wrong inside Vitals; try again, and tell the platform team if it keeps happening"
                    .to_owned()
            }
            Self::Source(error) => {
                // Which source, the kind and the status only: the reason may echo the query's values.
                if status.is_server_error() {
                    tracing::warn!(
                        source = error.source_name(),
                        code,
                        status = status.as_u16(),
                        "a source could not answer"
                    );
                }
                masked_message(error)
            }
            other => other.to_string(),
        };
        let at = match &self {
            Self::BadText { at, .. } => Some(*at),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                at,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::TooManyRequests {
            retry_after_seconds, ..
        } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
        if let Self::Source(SourceError::Resting {
            retry_after_seconds, ..
        }) = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
        response
    }
}

/// A source's failure as the browser may read it: an upstream's words may echo a
/// query's values or a patient's details, so they are masked as the audit trail masks them.
pub fn masked_message(error: &SourceError) -> String {
    scrub(&error.to_string())
}

/// Messages start lowercase, as every Vitals message does, whatever library produced them.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_failure_maps_to_its_status() {
        let cases = [
            (
                SourceError::BadQuery {
                    source_name: "demo",
                    reason: "x".into(),
                },
                StatusCode::BAD_REQUEST,
            ),
            (
                SourceError::NotFound {
                    source_name: "demo",
                    what: "trace 1".into(),
                },
                StatusCode::NOT_FOUND,
            ),
            (
                SourceError::Unavailable {
                    source_name: "Loki",
                    reason: "refused".into(),
                },
                StatusCode::BAD_GATEWAY,
            ),
            (
                SourceError::Timeout {
                    source_name: "Loki",
                    timeout_ms: 10,
                },
                StatusCode::GATEWAY_TIMEOUT,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).into_response().status(), status);
        }
    }

    #[test]
    fn an_open_breaker_is_a_503_with_retry_after() {
        let response = ApiError::from(SourceError::Resting {
            source_name: "Loki",
            retry_after_seconds: 12,
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "12");
    }

    #[tokio::test]
    async fn upstream_words_reach_the_browser_masked() {
        let response = ApiError::from(SourceError::BadQuery {
            source_name: "Loki",
            reason: r#"parse error near patient_name="Jane Doe" from jane.doe@example.org"#.into(),
        })
        .into_response();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let message = serde_json::from_slice::<ErrorBody>(&body).unwrap().error.message;
        assert_eq!(
            message,
            "Loki cannot run this query: parse error near patient_name=[redacted] from [email]"
        );
    }

    /// What the server logs while `run` runs, as text.
    fn logged_while(run: impl FnOnce()) -> String {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = std::sync::Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || LogBuffer(std::sync::Arc::clone(&writer)))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let logged = buffer.lock().unwrap().clone();
        String::from_utf8(logged).unwrap()
    }

    struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for LogBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_upstream_failure_is_logged_without_its_words() {
        let logged = logged_while(|| {
            let _ = ApiError::from(SourceError::Unavailable {
                source_name: "Loki",
                reason: r#"Loki answered 500: failed on {patient="Jane Doe"}"#.into(),
            })
            .into_response();
        });
        assert!(
            logged.contains("source=\"Loki\"")
                && logged.contains("upstream_unavailable")
                && logged.contains("502"),
            "{logged}"
        );
        assert!(!logged.contains("Jane"), "{logged}");
    }

    #[test]
    fn messages_start_lowercase() {
        assert_eq!(lowercase_first("Expected a value"), "expected a value");
        assert_eq!(lowercase_first(""), "");
    }
}
