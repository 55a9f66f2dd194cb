//! The engineering area: not built yet.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::area_placeholder::AreaPlaceholder;

/// Placeholder for the engineers' exploration tools.
#[component]
pub fn EngineeringPage() -> impl IntoView {
    view! {
        <AreaPlaceholder
            title="Engineering"
            purpose="Tools for engineers to find out why something is slow or failing, \
                     from the clinic's logs, metrics and traces."
            planned=&[
                "a trace explorer with a waterfall of each request",
                "the live tail of the logs, and query editors that complete labels and functions",
                "metric queries and charts",
                "the service map: which service calls which, and where calls fail",
                "jumping from a log line to its trace and back",
            ]
        >
            <p>
                <A href="/engineering/logs">"Search the logs"</A>
                ": LogQL over a time range, patient details masked, one line revealed with a reason."
            </p>
            <p>
                "Meanwhile, "
                <A href="/status">"Status"</A>
                " shows whether Vitals can reach its logs, metrics and traces."
            </p>
        </AreaPlaceholder>
    }
}
