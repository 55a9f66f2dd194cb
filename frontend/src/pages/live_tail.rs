//! The live tail: a log query followed over a WebSocket, newest lines first, in a buffer that
//! keeps the latest few thousand and lets the oldest go; paused, the page stops moving while
//! new lines wait; the rate of arriving lines is shown.

use std::collections::VecDeque;

use leptos::prelude::*;
use vitals_api::{LogLine, TailMessage};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::api::percent_encode;
use crate::components::masked::marked;
use crate::components::virtual_list::VirtualList;
use crate::format::{group_thousands, local_time_precise};

/// Lines the tail keeps; older ones go as new ones come.
pub const BUFFER_LINES: usize = 2_000;
/// How often the status line is brought up to date.
const TICK: std::time::Duration = std::time::Duration::from_secs(2);
/// Ticks between two [`MEMORY_MARK`]s: one every ten seconds.
const TICKS_PER_MEMORY_MARK: u32 = 5;
/// The mark the bench reads a tail's memory from: `detail.bytes` held by the page, `detail.lines` kept.
pub const MEMORY_MARK: &str = "vitals:tail-memory";

/// The window over which the rate is counted, in milliseconds.
const RATE_WINDOW_MS: f64 = 10_000.0;
const ROW_HEIGHT: f64 = 28.0;

/// The lines followed so far, newest first, at most [`BUFFER_LINES`]; and, while paused, those
/// that arrived since (also at most that many), shown when the tail resumes.
#[derive(Debug, Default)]
pub struct TailBuffer {
    shown: VecDeque<LogLine>,
    waiting: VecDeque<LogLine>,
    paused: bool,
    /// Lines let go to keep within the buffer.
    pub dropped: u64,
    /// When each recent batch arrived (ms) and how many lines it had, for the rate.
    arrivals: VecDeque<(f64, usize)>,
}

impl TailBuffer {
    /// A batch arriving, oldest line first, at `now` (ms).
    pub fn arrive(&mut self, lines: Vec<LogLine>, now: f64) {
        self.arrivals.push_back((now, lines.len()));
        while self
            .arrivals
            .front()
            .is_some_and(|(at, _)| now - at > RATE_WINDOW_MS)
        {
            self.arrivals.pop_front();
        }
        let into = if self.paused {
            &mut self.waiting
        } else {
            &mut self.shown
        };
        for line in lines {
            into.push_front(line);
        }
        let over = into.len().saturating_sub(BUFFER_LINES);
        into.truncate(BUFFER_LINES);
        self.dropped += over as u64;
    }

    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Shows what waited while paused, newest first, within the buffer.
    pub fn resume(&mut self) {
        self.paused = false;
        while let Some(line) = self.waiting.pop_back() {
            self.shown.push_front(line);
        }
        let over = self.shown.len().saturating_sub(BUFFER_LINES);
        self.shown.truncate(BUFFER_LINES);
        self.dropped += over as u64;
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn shown(&self) -> &VecDeque<LogLine> {
        &self.shown
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Lines per second over the last ten seconds, as of `now` (ms).
    pub fn rate(&self, now: f64) -> f64 {
        let recent: usize = self
            .arrivals
            .iter()
            .filter(|(at, _)| now - at <= RATE_WINDOW_MS)
            .map(|(_, lines)| lines)
            .sum();
        recent as f64 / (RATE_WINDOW_MS / 1_000.0)
    }
}

/// Where the tail stands.
#[derive(Debug, Clone, PartialEq)]
enum Link {
    Connecting,
    Following,
    Ended(String),
}

/// The WebSocket address of the tail of `query`, on the page's own host.
fn tail_address(query: &str) -> Option<String> {
    let location = leptos::prelude::window().location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!(
        "{scheme}://{}/api/v1/logs/tail?query={}&from=now-1m&limit=500",
        location.host().ok()?,
        percent_encode(query)
    ))
}

#[component]
pub fn LiveTail(query: String) -> impl IntoView {
    let buffer = StoredValue::new_local(TailBuffer::default());
    let version = RwSignal::new(0_u64);
    let (link, set_link) = signal(Link::Connecting);
    let (now, set_now) = signal(js_sys::Date::now());
    let socket = tail_address(&query).and_then(|address| WebSocket::new(&address).ok());
    match &socket {
        Some(socket) => {
            let on_open = Closure::<dyn FnMut()>::new(move || set_link.set(Link::Following));
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<TailMessage>(&text) {
                    Ok(TailMessage::Lines { lines }) => {
                        let at = js_sys::Date::now();
                        buffer.update_value(|buffer| buffer.arrive(lines, at));
                        set_now.set(at);
                        version.update(|version| *version += 1);
                    }
                    Ok(TailMessage::Error { error }) => set_link.set(Link::Ended(error.message)),
                    Err(error) => set_link.set(Link::Ended(format!(
                        "the server sent a message this page cannot read ({error}); reload the page"
                    ))),
                }
            });
            let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                set_link.update(|link| {
                    if !matches!(link, Link::Ended(_)) {
                        *link = Link::Ended(if event.reason().is_empty() {
                            "the live tail stopped: the connection closed. Start it again to go on."
                                .to_owned()
                        } else {
                            event.reason()
                        });
                    }
                });
            });
            socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            // The socket holds the handlers for as long as it lives; it closes with the page.
            on_open.forget();
            on_message.forget();
            on_close.forget();
        }
        None => set_link.set(Link::Ended(
            "the live tail could not be opened from this page".to_owned(),
        )),
    }
    let socket = StoredValue::new_local(socket);
    on_cleanup(move || {
        socket.with_value(|socket| {
            if let Some(socket) = socket {
                socket.set_onclose(None);
                let _ = socket.close();
            }
        });
    });
    // The rate falls back to nothing when lines stop coming; every few ticks the page notes
    // the memory it holds, for the bench to see that a long tail stays within its bounds.
    let ticks = std::cell::Cell::new(0_u32);
    let ticker = set_interval_with_handle(
        move || {
            set_now.set(js_sys::Date::now());
            ticks.set(ticks.get() + 1);
            if ticks.get().is_multiple_of(TICKS_PER_MEMORY_MARK) {
                let kept = buffer.with_value(|buffer| buffer.shown().len() + buffer.waiting());
                crate::perf::mark_with(
                    MEMORY_MARK,
                    &[("bytes", crate::perf::memory_in_use()), ("lines", kept as f64)],
                );
            }
        },
        TICK,
    )
    .ok();
    on_cleanup(move || {
        if let Some(ticker) = ticker {
            ticker.clear();
        }
    });

    let count = Signal::derive(move || {
        version.track();
        buffer.with_value(|buffer| buffer.shown().len())
    });
    let row = Callback::new(move |index: usize| {
        version.track();
        buffer.with_value(|buffer| {
            let Some(line) = buffer.shown().get(index) else {
                return ().into_any();
            };
            let service = line.labels.get("service").cloned().unwrap_or_default();
            view! {
                <div class="log-row" data-testid="tail-row">
                    <span class="log-time">{local_time_precise(line.time.div_euclid(1_000_000))}</span>
                    <span class="log-service">{service}</span>
                    <span class="log-text">{marked(&line.line)}</span>
                </div>
            }
            .into_any()
        })
    });
    let toggle = move |_| {
        buffer.update_value(|buffer| {
            if buffer.is_paused() {
                buffer.resume();
            } else {
                buffer.pause();
            }
        });
        version.update(|version| *version += 1);
    };
    let status = move || {
        version.track();
        let (shown, waiting, dropped, paused, rate) = buffer.with_value(|buffer| {
            (
                buffer.shown().len(),
                buffer.waiting(),
                buffer.dropped,
                buffer.is_paused(),
                buffer.rate(now.get()),
            )
        });
        let rate = crate::format::decimal(rate, 1);
        let kept = format!(
            "{} lines shown, newest first{}",
            group_thousands(shown as i64),
            if dropped > 0 {
                format!(
                    "; the oldest {} let go to keep the latest {}",
                    group_thousands(dropped as i64),
                    group_thousands(BUFFER_LINES as i64)
                )
            } else {
                String::new()
            }
        );
        match link.get() {
            Link::Connecting => "● Connecting…".to_owned(),
            Link::Ended(why) => format!("■ Stopped: {}", crate::format::as_sentence(&why)),
            Link::Following if paused => format!(
                "❚❚ Paused · {} new lines waiting · {rate} lines/s · {kept}",
                group_thousands(waiting as i64)
            ),
            Link::Following => format!("● Live · {rate} lines/s · {kept}"),
        }
    };
    view! {
        <div class="list-head">
            <p class="list-summary" role="status" data-testid="tail-status">{status}</p>
            <button type="button" class="button-quiet" on:click=toggle data-testid="tail-pause">
                {move || {
                    version.track();
                    if buffer.with_value(TailBuffer::is_paused) { "Resume" } else { "Pause" }
                }}
            </button>
        </div>
        <div class="log-explorer live">
            <VirtualList count row_height=Signal::derive(|| ROW_HEIGHT) row label="Live log lines" test_id="tail-list" />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(from: i64, count: i64) -> Vec<LogLine> {
        (from..from + count)
            .map(|time| LogLine {
                time,
                labels: Default::default(),
                line: format!("line {time}"),
                fields: Default::default(),
                reveal_ref: None,
            })
            .collect()
    }

    #[test]
    fn the_buffer_keeps_the_newest_lines_first_and_lets_the_oldest_go() {
        let mut buffer = TailBuffer::default();
        buffer.arrive(lines(0, 3), 0.0);
        assert_eq!(
            buffer.shown().iter().map(|line| line.time).collect::<Vec<_>>(),
            [2, 1, 0]
        );
        buffer.arrive(lines(3, BUFFER_LINES as i64), 1_000.0);
        assert_eq!(buffer.shown().len(), BUFFER_LINES);
        assert_eq!(
            buffer.shown()[0].time,
            BUFFER_LINES as i64 + 2,
            "the newest first"
        );
        assert_eq!(buffer.dropped, 3);
    }

    #[test]
    fn paused_lines_wait_and_resume_in_order() {
        let mut buffer = TailBuffer::default();
        buffer.arrive(lines(0, 2), 0.0);
        buffer.pause();
        buffer.arrive(lines(2, 3), 500.0);
        assert_eq!(buffer.shown().len(), 2, "the page stands still while paused");
        assert_eq!(buffer.waiting(), 3);
        buffer.resume();
        assert_eq!(
            buffer.shown().iter().map(|line| line.time).collect::<Vec<_>>(),
            [4, 3, 2, 1, 0]
        );
        assert_eq!(buffer.waiting(), 0);
    }

    #[test]
    fn the_rate_counts_the_last_ten_seconds() {
        let mut buffer = TailBuffer::default();
        buffer.arrive(lines(0, 50), 0.0);
        buffer.arrive(lines(50, 30), 9_000.0);
        assert_eq!(buffer.rate(9_000.0), 8.0);
        assert_eq!(buffer.rate(15_000.0), 3.0, "the first batch is out of the window");
        assert_eq!(buffer.rate(30_000.0), 0.0);
    }
}
