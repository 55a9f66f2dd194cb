//! The pages of the portal, one file each.

pub mod admin;
pub mod dashboard;
pub mod dashboards;
pub mod embed_tokens;
pub mod engineering;
pub mod explanations;
pub mod goals;
pub mod home;
pub mod journey;
pub mod live_tail;
pub mod log_patterns;
pub mod login;
pub mod logs;
pub mod metrics;
pub mod no_access;
pub mod not_found;
pub mod notices;
pub mod share_links;
pub mod short_link;
pub mod sources;
pub mod status;
pub mod traces;

/// Names the browser tab (and what history and screen readers announce) after the page.
pub fn set_page_title(page: &str) {
    leptos::prelude::document().set_title(&format!("{page} · Vitals"));
}
