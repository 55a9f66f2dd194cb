//! The tail side of the Loki source: `/loki/api/v1/tail` over a WebSocket, as a stream of translated lines.

use futures::{Stream, StreamExt};
use reqwest::header;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use vitals_api::LogLine;

use super::http::{LokiHttp, display_path, root_cause};
use super::translate::{error_for_status, tail_frame, unavailable};
use crate::sources::SourceError;

const TAIL: &[&str] = &["loki", "api", "v1", "tail"];

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the tail within the configured timeout and streams each frame's lines, oldest first.
pub(super) async fn open(
    http: &LokiHttp,
    query: &str,
    start_ns: i64,
    limit: u32,
) -> Result<impl Stream<Item = Result<Vec<LogLine>, SourceError>> + Send + use<>, SourceError> {
    let mut url = http.url(TAIL);
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    // http → ws and https → wss stay within the URL standard's special schemes, so this cannot fail.
    let _ = url.set_scheme(scheme);
    url.query_pairs_mut()
        .append_pair("query", query)
        .append_pair("start", &start_ns.to_string())
        .append_pair("limit", &limit.to_string());
    let mut request = url.as_str().into_client_request().map_err(|error| {
        unavailable(format!(
            "the tail request could not be made: {}",
            root_cause(&error)
        ))
    })?;
    request.headers_mut().extend(http.headers().clone());

    let connector = http.tail_tls().map(Connector::Rustls);
    let connecting = tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    let (socket, _) = tokio::time::timeout(http.timeout(), connecting)
        .await
        .map_err(|_| http.timeout_error())?
        .map_err(handshake_error)?;
    Ok(frames(socket))
}

/// Lines per frame until Loki closes the socket; a failure ends the stream after it is told.
fn frames(socket: Socket) -> impl Stream<Item = Result<Vec<LogLine>, SourceError>> + Send {
    futures::stream::unfold(Some(socket), |socket| async move {
        let mut socket = socket?;
        loop {
            let item = match socket.next().await? {
                Ok(Message::Text(text)) => lines_of_frame(text.as_str()),
                Ok(Message::Binary(bytes)) => match std::str::from_utf8(&bytes) {
                    Ok(text) => lines_of_frame(text),
                    Err(_) => Err(unavailable("Loki sent a tail frame that is not text")),
                },
                Ok(Message::Close(frame)) => return closed(frame).map(|error| (Err(error), None)),
                // Pings are answered by the socket itself.
                Ok(_) => continue,
                Err(error) => return Some((Err(unavailable(format!("the tail broke off: {error}"))), None)),
            };
            match item {
                Ok(lines) if lines.is_empty() => continue,
                item => return Some((item, Some(socket))),
            }
        }
    })
}

fn lines_of_frame(text: &str) -> Result<Vec<LogLine>, SourceError> {
    let frame = tail_frame(text)?;
    if frame.dropped_entries > 0 {
        tracing::warn!(
            dropped = frame.dropped_entries,
            "loki dropped tail lines because the tail fell behind; narrow the query to see every line"
        );
    }
    Ok(frame.lines)
}

/// A close other than a normal one is Loki saying why it stopped.
fn closed(frame: Option<CloseFrame>) -> Option<SourceError> {
    let frame = frame?;
    if frame.code == CloseCode::Normal {
        return None;
    }
    let reason = frame.reason.trim();
    let code = u16::from(frame.code);
    Some(unavailable(if reason.is_empty() {
        format!("Loki closed the tail ({code})")
    } else {
        format!("Loki closed the tail ({code}): {reason}")
    }))
}

fn handshake_error(error: tungstenite::Error) -> SourceError {
    match error {
        tungstenite::Error::Http(response) => {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok());
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            error_for_status(&display_path(TAIL), response.status(), location, &body)
        }
        tungstenite::Error::Io(error) => unavailable(format!("could not connect: {error}")),
        other => unavailable(format!("the tail could not be opened: {}", root_cause(&other))),
    }
}
