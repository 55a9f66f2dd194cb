//! Starts the engineering and admin areas in the browser: the tools engineers explore logs,
//! metrics and traces with, and the admins' audit trail, share links and embed links.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(vitals_frontend::app::EngineeringApp);
}
