//! Keeps a resource current by fetching it again at a steady pace.

use std::time::Duration;

use leptos::prelude::*;

/// How often live panels ask the server again.
pub const LIVE_REFRESH: Duration = Duration::from_secs(15);

/// Refetches `resource` every `period` while the page is visible, until the
/// calling component goes away.
pub fn refresh_every<T: 'static>(resource: LocalResource<T>, period: Duration) {
    let tick = move || {
        // A hidden tab has no reader; it catches up at the next tick once shown.
        if !document().hidden() {
            resource.refetch();
        }
    };
    match set_interval_with_handle(tick, period) {
        Ok(handle) => on_cleanup(move || handle.clear()),
        Err(error) => leptos::logging::warn!("live refresh is off: the browser refused a timer ({error:?})"),
    }
}
