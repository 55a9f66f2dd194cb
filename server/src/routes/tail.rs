//! `GET /api/v1/logs/tail`: a live log query relayed over a WebSocket, one JSON message per batch, for as long as the session allows.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;
use vitals_api::{BACKGROUND_HEADER, ErrorDetail, Role, TailMessage};

use crate::auth::limits::TailSlot;
use crate::auth::session::{CurrentUser, SessionContext, current_user};
use crate::envelope::same_origin;
use crate::error::{ApiError, masked_message};
use crate::masking::Masker;
use crate::reveal;
use crate::routes::engineering::ApiQuery;
use crate::routes::gate::ScopedSources;
use crate::routes::openapi::{AccessErrors, BadRequest, SourceErrors};
use crate::sources::LogTail;
use crate::timespec::{nanoseconds, parse_time_ms};

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
    State(sessions): State<SessionContext>,
    State(masker): State<Arc<Masker>>,
    ScopedSources(sources): ScopedSources,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<TailParams>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade?;
    check_upgrade_origin(&headers)?;
    if params.query.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty_query",
            "the query is empty; write a log query to follow",
        ));
    }
    let now_ms = sessions.now_ms();
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
    let limits = &sessions.auth.tail_limits;
    let Some(slot) = limits.take(&user.record.user) else {
        return Err(ApiError::TooManyRequests {
            code: "too_many_tails",
            message: format!(
                "you already have {} live tails open; close another tail first",
                limits.per_person
            ),
            // A tail the browser closes gives its place back at once.
            retry_after_seconds: 1,
        });
    };
    let tail = sources
        .logs
        .tail(&params.query, nanoseconds("from", start_ms)?, limit)
        .await?;
    let watch = SessionWatch {
        headers: background_headers(&headers),
        client: user.client,
        opened_at_ms: now_ms,
        sessions,
    };
    Ok(upgrade
        .max_message_size(MAX_INCOMING_BYTES)
        .on_upgrade(move |socket| {
            relay(
                socket,
                tail,
                watch,
                slot,
                Masking {
                    masker,
                    query: params.query,
                },
            )
        }))
}

/// A browser cannot add the CSRF header to a WebSocket upgrade but always names the page's
/// origin; without this check another site could open a tail with the person's cookie.
fn check_upgrade_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    if !headers.contains_key(header::ORIGIN) {
        return Err(ApiError::forbidden(
            "csrf",
            "a live tail must be opened from the Vitals page itself (the Origin header is missing)",
        ));
    }
    same_origin(headers).map_err(|problem| ApiError::forbidden("csrf", problem))
}

/// The upgrade's cookies, marked as the page's own request, so checking the session does
/// not count as the person at work and an unattended tail still lets the session idle out.
fn background_headers(upgrade_headers: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for cookie in upgrade_headers.get_all(header::COOKIE) {
        headers.append(header::COOKIE, cookie.clone());
    }
    headers.insert(BACKGROUND_HEADER, HeaderValue::from_static("1"));
    headers
}

/// What an open tail checks every few seconds: the session it was opened in.
struct SessionWatch {
    sessions: SessionContext,
    headers: HeaderMap,
    client: String,
    opened_at_ms: i64,
}

impl SessionWatch {
    /// Why the tail must close now, if it must: the session ended (logout, idle or absolute
    /// limit), the engineer role was taken away, or the tail has been open too long.
    async fn reason_to_close(&self) -> Option<&'static str> {
        match current_user(&self.sessions, &self.headers, self.client.clone()).await {
            Err(ApiError::Unauthenticated { .. }) => Some("your session ended; log in again"),
            Err(_) => Some("your session could not be checked; reopen the tail"),
            Ok(user) if !user.may(Role::Engineer) => {
                Some("you no longer have the engineer role; ask an admin if you should")
            }
            Ok(_)
                if self.sessions.now_ms() - self.opened_at_ms
                    >= self.sessions.auth.tail_limits.max_open_ms =>
            {
                Some("this tail reached its time limit; reopen it to keep following")
            }
            Ok(_) => None,
        }
    }
}

/// How a tail's lines are masked: by the server's masker, with references to the tail's stream.
struct Masking {
    masker: Arc<Masker>,
    query: String,
}

/// Forwards batches until the browser leaves, the source ends, the browser stops keeping up,
/// or the session no longer allows the tail. `_slot` is given back when it returns.
async fn relay(socket: WebSocket, mut tail: LogTail, watch: SessionWatch, _slot: TailSlot, masking: Masking) {
    let (mut to_browser, mut from_browser) = socket.split();
    let period = watch.sessions.auth.tail_limits.session_check;
    let mut session_check = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    session_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let close = loop {
        tokio::select! {
            _ = session_check.tick() => {
                if let Some(reason) = watch.reason_to_close().await {
                    break Some((close_code::POLICY, reason));
                }
            }
            incoming = from_browser.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            batch = tail.next() => {
                let (message, ending) = match batch {
                    Some(Ok(mut lines)) => {
                        reveal::mask_lines(&masking.masker, &masking.query, &mut lines);
                        (TailMessage::Lines { lines }, None)
                    }
                    Some(Err(error)) => {
                        let message = TailMessage::Error {
                            error: ErrorDetail { code: "tail_ended".into(), message: masked_message(&error), at: None },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_check_carries_the_cookie_as_the_page_own_request() {
        let mut upgrade = HeaderMap::new();
        upgrade.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-vitals=abc; theme=dark"),
        );
        upgrade.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://vitals.internal"),
        );
        let check = background_headers(&upgrade);
        assert_eq!(check[header::COOKIE], "__Host-vitals=abc; theme=dark");
        assert_eq!(
            check[BACKGROUND_HEADER], "1",
            "checking must not keep the session alive"
        );
        assert!(!check.contains_key(header::ORIGIN));
    }

    #[test]
    fn an_upgrade_must_name_this_origin() {
        let upgrade = |origin: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("vitals.internal"));
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
            }
            check_upgrade_origin(&headers)
        };
        assert!(upgrade(Some("https://vitals.internal")).is_ok());
        assert!(upgrade(Some("https://evil.example")).is_err());
        assert!(upgrade(None).is_err());
    }
}
