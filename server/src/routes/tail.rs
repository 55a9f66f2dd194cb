//! `GET /api/v1/logs/tail`: a live log query relayed over a WebSocket, one JSON message per batch.

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;
use vitals_api::{ErrorDetail, TailMessage};

use crate::error::ApiError;
use crate::routes::engineering::ApiQuery;
use crate::routes::openapi::{AccessErrors, BadRequest, SourceErrors};
use crate::sources::{LogTail, Sources};
use crate::state::AppState;
use crate::timespec::parse_time_ms;

const DEFAULT_TAIL_LIMIT: u32 = 100;
const MAX_TAIL_LIMIT: u32 = 1_000;
/// A browser that cannot take a batch within this long is too slow to follow the tail;
/// waiting longer would only pile lines up in memory.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Browsers send nothing but control frames on this socket.
const MAX_INCOMING_BYTES: usize = 4 * 1024;

/// `?query=&from=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TailParams {
    /// The log query to follow.
    query: String,
    /// Where to start: RFC 3339 or relative (`now-5m`); now when absent.
    from: Option<String>,
    /// Most lines per message (1 to 1,000; 100 when absent).
    limit: Option<u32>,
}

/// Opens the upstream tail before upgrading, so a wrong query is an ordinary 400.
#[utoipa::path(
    get,
    path = "/logs/tail",
    tag = "logs",
    summary = "Follow a log query live over a WebSocket; a wrong query is a 400 before the upgrade",
    params(TailParams),
    security(("session" = [])),
    responses(
        (status = 101, description = "a WebSocket follows: one JSON `TailMessage` per batch of new lines, oldest first"),
        (status = 400, response = BadRequest),
        AccessErrors,
        SourceErrors,
    )
)]
pub async fn tail_logs(
    State(state): State<AppState>,
    Extension(sources): Extension<Sources>,
    ApiQuery(params): ApiQuery<TailParams>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade?;
    if params.query.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty_query",
            "the query is empty; write a log query to follow",
        ));
    }
    let now_ms = state.now_ms();
    let start_ms = match params.from.as_deref() {
        Some(from) => parse_time_ms("from", from, now_ms)?,
        None => now_ms,
    };
    let limit = match params.limit {
        None => DEFAULT_TAIL_LIMIT,
        Some(limit @ 1..=MAX_TAIL_LIMIT) => limit,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("`limit` is {other}; ask for between 1 and {MAX_TAIL_LIMIT} lines per batch"),
            ));
        }
    };
    let tail = sources
        .logs
        .tail(&params.query, start_ms * 1_000_000, limit)
        .await?;
    Ok(upgrade
        .max_message_size(MAX_INCOMING_BYTES)
        .on_upgrade(move |socket| relay(socket, tail)))
}

/// Forwards batches until the browser leaves, the source ends, or the browser stops keeping up.
async fn relay(socket: WebSocket, mut tail: LogTail) {
    let (mut to_browser, mut from_browser) = socket.split();
    let close = loop {
        tokio::select! {
            incoming = from_browser.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            batch = tail.next() => {
                let (message, ending) = match batch {
                    Some(Ok(lines)) => (TailMessage::Lines { lines }, None),
                    Some(Err(error)) => {
                        let message = TailMessage::Error {
                            error: ErrorDetail { code: "tail_ended".into(), message: error.to_string() },
                        };
                        (message, Some((close_code::ERROR, "the log source ended the tail")))
                    }
                    None => break Some((close_code::NORMAL, "the log source closed the tail")),
                };
                let Ok(text) = serde_json::to_string(&message) else {
                    break Some((close_code::ERROR, "a batch could not be encoded"));
                };
                match tokio::time::timeout(SEND_TIMEOUT, to_browser.send(Message::Text(text.into()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return,
                    Err(_) => break Some((close_code::POLICY, "the browser did not keep up with the tail")),
                }
                if ending.is_some() {
                    break ending;
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(SEND_TIMEOUT, to_browser.send(Message::Close(Some(frame)))).await;
    }
}
