//! Keeps things current by running them again at a steady pace while the page is visible.

use std::time::Duration;

use leptos::prelude::*;

/// How often live panels ask the server again.
pub const LIVE_REFRESH: Duration = Duration::from_secs(15);

/// Refetches `resource` every `period` while the page is visible, until the
/// calling component goes away.
pub fn refresh_every<T: 'static>(resource: LocalResource<T>, period: Duration) {
    every_while_visible(period, move || resource.refetch());
}

/// Runs `tick` every `period` while the page is visible, until the calling
/// component (or the app, when called there) goes away.
pub fn every_while_visible(period: Duration, tick: impl Fn() + 'static) {
    let tick = move || {
        // A hidden tab has no reader; it catches up at the next tick once shown.
        if !document().hidden() {
            tick();
        }
    };
    match set_interval_with_handle(tick, period) {
        Ok(handle) => on_cleanup(move || handle.clear()),
        Err(error) => leptos::logging::warn!("a timer is off: the browser refused it ({error:?})"),
    }
}
