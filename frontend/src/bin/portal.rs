//! Starts the portal in the browser: home, dashboards, share links and status.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(vitals_frontend::app::PortalApp);
}
