//! The session as the app knows it: who is logged in, when that ends, and the way back after logging in.
//!
//! The server holds the session (an HttpOnly cookie the app never reads);
//! this module keeps the last `GET /api/v1/session` answer in a context,
//! checks it again every minute while the page is visible, and ends it in
//! the app when the server or the clock says it has ended.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use vitals_api::SessionInfo;

use crate::api::{self, ApiError};
use crate::refresh::every_while_visible;

/// How often the app asks the server about the session while the page is visible.
const CHECK_EVERY: Duration = Duration::from_secs(60);
/// How long before the session ends the app warns about it.
const WARN_BEFORE_MS: i64 = 2 * 60 * 1000;
/// How often the app looks at the clock against the session's end.
const CLOCK_TICK: Duration = Duration::from_secs(1);
/// The server's idle limit unless configured otherwise, and its longest
/// setting: used only to guess the server's time when this browser's clock
/// contradicts the session the server has just confirmed.
const DEFAULT_IDLE_MS: i64 = 15 * 60 * 1000;
const LONGEST_IDLE_MS: i64 = 240 * 60 * 1000;

/// Where the app stands with the server's session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// The first `GET /api/v1/session` has not answered yet.
    Checking,
    /// The first check could not reach the server; the sentence says why.
    Unreachable(String),
    LoggedOut(LoggedOut),
    LoggedIn(SessionInfo),
}

/// Why nobody is logged in, which the login page tells the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedOut {
    /// Nobody has logged in yet.
    NotYet,
    /// The session ended by itself (idle or absolute limit) or on the server.
    Ended,
    /// The person pressed "Log out".
    ByChoice,
}

/// The session context: [`provide_session`] creates it once, [`use_session`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    state: RwSignal<SessionState>,
    /// The server's clock minus this browser's, in milliseconds (see [`server_clock_offset_ms`]).
    server_offset_ms: RwSignal<i64>,
    /// This browser's clock, read every [`CLOCK_TICK`] while logged in.
    now_ms: RwSignal<i64>,
    expiry: Memo<ExpiryWarning>,
}

impl Session {
    pub fn state(self) -> ReadSignal<SessionState> {
        self.state.read_only()
    }

    /// Whether the session ends soon, or has ended, by this browser's clock corrected to the server's.
    pub fn expiry(self) -> Memo<ExpiryWarning> {
        self.expiry
    }

    /// Takes a session the server has just confirmed (a login, a check).
    pub fn logged_in(self, info: SessionInfo) {
        let now = local_now_ms();
        self.server_offset_ms
            .set(server_clock_offset_ms(now, info.idle_expires_at));
        self.now_ms.set(now);
        self.state.set(SessionState::LoggedIn(info));
    }

    /// Ends the session in the app; the pages behind login then send the person to the login page.
    pub fn end(self, why: LoggedOut) {
        self.state.set(SessionState::LoggedOut(why));
    }

    /// Asks the server about the session, on the page's own schedule (not activity), and keeps the answer.
    pub async fn check(self) {
        self.keep(api::session_check().await);
    }

    /// The person asked to stay logged in: a session check that restarts the idle timer.
    pub async fn renew(self) {
        self.keep(api::session().await);
    }

    fn keep(self, answer: Result<vitals_api::SessionInfo, ApiError>) {
        let current = self.state.with_untracked(|state| match state {
            SessionState::LoggedIn(_) => Current::LoggedIn,
            SessionState::LoggedOut(_) => Current::LoggedOut,
            SessionState::Checking | SessionState::Unreachable(_) => Current::Unknown,
        });
        match (answer, current) {
            // An answer that crossed a logout on the way must not log the person back in.
            (_, Current::LoggedOut) => {}
            (Ok(info), _) => self.logged_in(info),
            (Err(ApiError::Unauthorized { .. }), Current::LoggedIn) => self.end(LoggedOut::Ended),
            (Err(ApiError::Unauthorized { code, .. }), Current::Unknown) => {
                self.end(if code == "session_expired" {
                    LoggedOut::Ended
                } else {
                    LoggedOut::NotYet
                })
            }
            // A network blip does not end a session the server may still hold.
            (Err(_), Current::LoggedIn) => {}
            (Err(error), Current::Unknown) => self.state.set(SessionState::Unreachable(error.to_string())),
        }
    }
}

/// What [`Session::check`] needs to know about the state before its answer.
#[derive(Clone, Copy)]
enum Current {
    LoggedIn,
    LoggedOut,
    Unknown,
}

/// Creates the session context, checks the session with the server, and
/// keeps watching it for as long as the app runs.
pub fn provide_session() -> Session {
    let state = RwSignal::new(SessionState::Checking);
    let server_offset_ms = RwSignal::new(0);
    let now_ms = RwSignal::new(local_now_ms());
    let expiry = Memo::new(move |_| {
        state.with(|state| match state {
            SessionState::LoggedIn(info) => expiry_warning(
                now_ms.get() + server_offset_ms.get(),
                info.idle_expires_at,
                info.expires_at,
            ),
            _ => ExpiryWarning::Nothing,
        })
    });
    let session = Session {
        state,
        server_offset_ms,
        now_ms,
        expiry,
    };
    provide_context(session);

    let is_logged_in = move || state.with_untracked(|state| matches!(state, SessionState::LoggedIn(_)));
    api::on_session_end(Callback::new(move |()| {
        if is_logged_in() {
            session.end(LoggedOut::Ended);
        }
    }));
    Effect::new(move |_| {
        if expiry.get() == ExpiryWarning::Expired {
            session.end(LoggedOut::Ended);
            // The server has ended it too unless the clocks disagree; make sure,
            // so that a reload cannot bring back a session the page has left.
            spawn_local(async {
                let _ = api::logout().await;
            });
        }
    });
    every_while_visible(CLOCK_TICK, move || {
        if is_logged_in() {
            now_ms.set(local_now_ms());
        }
    });
    every_while_visible(CHECK_EVERY, move || {
        if is_logged_in() {
            spawn_local(session.check());
        }
    });
    spawn_local(session.check());
    session
}

/// The session context [`provide_session`] created.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

fn local_now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// How far the server's clock is ahead of this browser's, from a session the
/// server confirmed at `local_now_ms`.
///
/// Trusted as equal (0) when the session's end lies ahead within the longest
/// idle limit, as it must for a live session. Otherwise this browser's clock
/// is off (or the server runs on a fixed test clock), and the server's time
/// is taken to be the session's end minus the default idle limit.
pub fn server_clock_offset_ms(local_now_ms: i64, idle_expires_at: i64) -> i64 {
    let left = idle_expires_at - local_now_ms;
    if left > 0 && left <= LONGEST_IDLE_MS {
        0
    } else {
        idle_expires_at - DEFAULT_IDLE_MS - local_now_ms
    }
}

/// Whether to warn that the session ends soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryWarning {
    /// The end is more than [`WARN_BEFORE_MS`] away (or nobody is logged in).
    Nothing,
    /// The session ends in `seconds_left`; `renewable` when it is the idle
    /// limit, which any activity pushes back, rather than the absolute one.
    Warn {
        seconds_left: i64,
        renewable: bool,
    },
    Expired,
}

/// Whether the session ends soon at `now_ms`, given its idle end and its absolute end.
pub fn expiry_warning(now_ms: i64, idle_expires_at: i64, expires_at: i64) -> ExpiryWarning {
    let left_ms = idle_expires_at.min(expires_at) - now_ms;
    if left_ms <= 0 {
        ExpiryWarning::Expired
    } else if left_ms <= WARN_BEFORE_MS {
        ExpiryWarning::Warn {
            seconds_left: (left_ms + 999) / 1000,
            renewable: idle_expires_at < expires_at,
        }
    } else {
        ExpiryWarning::Nothing
    }
}

/// The page to return to after logging in, if `next` is one: a path on this
/// site, never another origin.
///
/// Refused: anything not starting with one `/` (`https://…`, `//evil`), any
/// backslash (browsers read `/\evil` as `//evil`), control characters (the
/// URL parser drops tabs and newlines, so `/\t/evil` becomes `//evil`), and
/// the login page itself.
pub fn safe_next_path(next: &str) -> Option<&str> {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && path != "/login";
    safe.then_some(next)
}

/// The login page's address, with the page to return to afterwards.
pub fn login_path(next: &str) -> String {
    if next == "/" || safe_next_path(next).is_none() {
        "/login".to_owned()
    } else {
        format!("/login?next={}", api::percent_encode(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_515_600_000;
    const MINUTE: i64 = 60_000;

    #[test]
    fn no_warning_while_the_end_is_far() {
        assert_eq!(
            expiry_warning(NOW, NOW + 10 * MINUTE, NOW + 600 * MINUTE),
            ExpiryWarning::Nothing
        );
    }

    #[test]
    fn warning_two_minutes_before_the_idle_end_can_be_renewed() {
        assert_eq!(
            expiry_warning(NOW, NOW + 2 * MINUTE, NOW + 600 * MINUTE),
            ExpiryWarning::Warn {
                seconds_left: 120,
                renewable: true
            }
        );
        assert_eq!(
            expiry_warning(NOW, NOW + 1_500, NOW + 600 * MINUTE),
            ExpiryWarning::Warn {
                seconds_left: 2,
                renewable: true
            }
        );
    }

    #[test]
    fn warning_before_the_absolute_end_cannot_be_renewed() {
        assert_eq!(
            expiry_warning(NOW, NOW + 90_000, NOW + 90_000),
            ExpiryWarning::Warn {
                seconds_left: 90,
                renewable: false
            }
        );
        assert_eq!(
            expiry_warning(NOW, NOW + 10 * MINUTE, NOW + MINUTE),
            ExpiryWarning::Warn {
                seconds_left: 60,
                renewable: false
            }
        );
    }

    #[test]
    fn session_has_expired_at_its_end() {
        assert_eq!(expiry_warning(NOW, NOW, NOW + MINUTE), ExpiryWarning::Expired);
        assert_eq!(
            expiry_warning(NOW, NOW + 5 * MINUTE, NOW - 1),
            ExpiryWarning::Expired
        );
    }

    #[test]
    fn a_plausible_session_end_trusts_this_clock() {
        assert_eq!(server_clock_offset_ms(NOW, NOW + 15 * MINUTE), 0);
        assert_eq!(server_clock_offset_ms(NOW, NOW + 3 * MINUTE), 0);
    }

    #[test]
    fn a_session_end_already_past_on_this_clock_means_the_clock_is_off() {
        let server_now = NOW - 24 * 60 * MINUTE;
        let offset = server_clock_offset_ms(NOW, server_now + 15 * MINUTE);
        assert_eq!(NOW + offset, server_now);
        let far_ahead = NOW + 48 * 60 * MINUTE;
        assert_eq!(
            NOW + server_clock_offset_ms(NOW, far_ahead + 15 * MINUTE),
            far_ahead
        );
    }

    #[test]
    fn next_paths_on_this_site_are_kept() {
        assert_eq!(
            safe_next_path("/engineering/traces?x=1"),
            Some("/engineering/traces?x=1")
        );
        assert_eq!(safe_next_path("/status"), Some("/status"));
        assert_eq!(safe_next_path("/"), Some("/"));
        assert_eq!(safe_next_path("/business#queues"), Some("/business#queues"));
    }

    #[test]
    fn next_paths_leaving_the_site_are_refused() {
        for next in [
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next_path(next), None, "{next:?}");
        }
    }

    #[test]
    fn the_login_page_is_not_a_place_to_return_to() {
        assert_eq!(safe_next_path("/login"), None);
        assert_eq!(safe_next_path("/login?next=/status"), None);
        assert_eq!(safe_next_path("/login-help"), Some("/login-help"));
    }

    #[test]
    fn login_path_returns_nowhere_it_should_not() {
        assert_eq!(login_path("/"), "/login");
        assert_eq!(login_path("/login"), "/login");
        assert_eq!(login_path("https://elsewhere.example/"), "/login");
    }
}

/// What needs the browser's engine; `cargo xtask test` runs these through `wasm-bindgen-test-runner`.
#[cfg(all(test, target_arch = "wasm32"))]
mod in_the_browser_engine {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn login_path_carries_the_page_to_return_to() {
        assert_eq!(
            login_path("/engineering/traces?x=1"),
            "/login?next=%2Fengineering%2Ftraces%3Fx%3D1"
        );
    }
}
