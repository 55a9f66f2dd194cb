//! Starts the Vitals single-page app in the browser.

mod access;
mod api;
mod app;
mod components;
mod format;
mod pages;
mod refresh;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
