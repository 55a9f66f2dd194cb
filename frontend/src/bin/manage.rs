//! Starts the notices and admin areas in the browser: where operations tell clinicians what
//! is going on, and admins read the audit trail and manage share and embed links.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(vitals_frontend::app::ManageApp);
}
