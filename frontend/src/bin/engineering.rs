//! Starts the engineering area in the browser: the tools engineers explore logs, metrics and
//! traces with.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(vitals_frontend::app::EngineeringApp);
}
