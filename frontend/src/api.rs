//! The one HTTP client of the app: every call to the Vitals server goes through here.

use std::fmt;

use gloo_net::http::Request;
use leptos::prelude::{LocalStorage, StoredValue, WithValue, on_cleanup};
use serde::de::DeserializeOwned;
use vitals_api::{ErrorBody, PanelData, Readiness};
use web_sys::{AbortController, AbortSignal};

/// Why a call to the server did not give the app what it asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an answer: the network or the server is down.
    Network,
    /// The server answered with an error status; `message` is for people.
    Server { status: u16, message: String },
    /// The answer arrived but is not what this version of the app expects.
    Decode(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network => f.write_str(
                "the Vitals server could not be reached; check the network connection, then try again",
            ),
            Self::Server { message, .. } => f.write_str(message),
            Self::Decode(detail) => write!(
                f,
                "the server's answer could not be read ({detail}); reload the page to get the current version of Vitals",
            ),
        }
    }
}

impl std::error::Error for ApiError {}

/// `GET /api/v1/dashboards/{dashboard}/panels/{panel}`: a panel's number, sentence and chart.
pub async fn panel(dashboard: &str, panel: &str) -> Result<PanelData, ApiError> {
    let url = format!(
        "/api/v1/dashboards/{}/panels/{}",
        path_segment(dashboard),
        path_segment(panel)
    );
    let (status, body) = get(&url).await?;
    decode(status, &body)
}

/// `GET /readyz`: whether each source behind the server can answer.
///
/// A degraded server answers 503 with the same body, which is exactly what
/// the status page wants to show, so that answer counts as a success here.
pub async fn readiness() -> Result<Readiness, ApiError> {
    let (status, body) = get("/readyz").await?;
    if status == 503
        && let Ok(readiness) = serde_json::from_str::<Readiness>(&body)
    {
        return Ok(readiness);
    }
    decode(status, &body)
}

/// Sends a GET and returns the status and body text.
///
/// The request is aborted when the reactive owner that started it is cleaned
/// up: when a resource runs again or its page goes away, its old request
/// stops using the network.
async fn get(url: &str) -> Result<(u16, String), ApiError> {
    let signal = abort_on_cleanup();
    let response = Request::get(url)
        .header("Accept", "application/json")
        .abort_signal(signal.as_ref())
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    let body = response.text().await.map_err(|_| ApiError::Network)?;
    Ok((response.status(), body))
}

/// An abort signal fired by the cleanup of the current reactive owner.
fn abort_on_cleanup() -> Option<AbortSignal> {
    let controller = AbortController::new().ok()?;
    let signal = controller.signal();
    // The controller is a JS object (not `Send`); the owner's arena keeps it
    // until the cleanup below has run.
    let controller = StoredValue::<_, LocalStorage>::new_local(controller);
    on_cleanup(move || {
        controller.try_with_value(AbortController::abort);
    });
    Some(signal)
}

/// Reads an answer: the expected type on success, the server's error sentence otherwise.
fn decode<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, ApiError> {
    if (200..300).contains(&status) {
        return serde_json::from_str(body).map_err(|error| ApiError::Decode(error.to_string()));
    }
    let message = match serde_json::from_str::<ErrorBody>(body) {
        Ok(error_body) => error_body.error.message,
        Err(_) => {
            format!("the Vitals server answered with an error (status {status}); try again in a moment")
        }
    };
    Err(ApiError::Server { status, message })
}

/// Percent-encodes anything outside the unreserved URL characters.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_api::{Health, Unit};

    #[test]
    fn successful_answer_is_decoded_into_the_contract_type() {
        let body = r#"{"id":"registrations","title":"Registrations","value":42.0,"unit":"count",
            "health":"good","sentence":"42 patients registered in the last hour.",
            "series":[[1700000000000,3.0]],"as_of":1700000000000,"generated_at":1700000005000}"#;
        let panel: PanelData = decode(200, body).unwrap();
        assert_eq!(panel.unit, Unit::Count);
        assert_eq!(panel.health, Health::Good);
        assert_eq!(panel.value, Some(42.0));
    }

    #[test]
    fn server_error_carries_the_servers_sentence() {
        let body = r#"{"error":{"code":"not_found","message":"there is no panel named nope"}}"#;
        let error = decode::<PanelData>(404, body).unwrap_err();
        assert_eq!(
            error,
            ApiError::Server {
                status: 404,
                message: "there is no panel named nope".into()
            }
        );
        assert_eq!(error.to_string(), "there is no panel named nope");
    }

    #[test]
    fn error_without_json_body_still_reads_as_a_sentence() {
        let error = decode::<PanelData>(502, "<html>Bad Gateway</html>").unwrap_err();
        assert!(error.to_string().contains("status 502"), "{error}");
    }

    #[test]
    fn unexpected_success_body_is_a_decode_error() {
        let error = decode::<PanelData>(200, r#"{"id":"x"}"#).unwrap_err();
        assert!(matches!(error, ApiError::Decode(_)));
        assert!(
            error
                .to_string()
                .starts_with("the server's answer could not be read")
        );
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("clinic-now"), "clinic-now");
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
    }
}
