//! The engineering area's front page: its tools, each a sentence on what it answers.

use leptos::prelude::*;
use leptos_router::components::A;

/// The engineers' tools.
#[component]
pub fn EngineeringPage() -> impl IntoView {
    crate::pages::set_page_title("Engineering");
    view! {
        <section class="area" aria-labelledby="area-heading">
            <h1 id="area-heading">"Engineering"</h1>
            <p class="lead">
                "Tools for engineers to find out why something is slow or failing, from the clinic's logs, metrics and traces."
            </p>
            <ul class="tool-list">
                <li>
                    <A href="/engineering/map">"The service map"</A>
                    ": which service calls which, and where calls fail; a call opens its traces."
                </li>
                <li>
                    <A href="/engineering/traces">"Search traces"</A>
                    ": by service, outcome, duration and path; each trace as a waterfall, from \"logins are failing\" to the failing call."
                </li>
                <li>
                    <A href="/engineering/metrics">"Query the metrics"</A>
                    ": PromQL with names and functions completed, charted or as a table, over a range or at one instant."
                </li>
                <li>
                    <A href="/engineering/logs">"Search the logs"</A>
                    ": LogQL with labels and values completed, the volume by level, patient details masked and revealed with a reason, or followed live; a line's trace id opens its trace."
                </li>
                <li>
                    <A href="/engineering/sources">"Data sources"</A>
                    ": whether Vitals can reach its logs, metrics and traces."
                </li>
            </ul>
        </section>
    }
}
