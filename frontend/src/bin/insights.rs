//! Starts the insights area in the browser: the clinic's goals, what went wrong when one was
//! missed, and the patient journey.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(vitals_frontend::app::InsightsApp);
}
