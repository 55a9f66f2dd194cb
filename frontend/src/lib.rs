//! The Vitals single-page apps: the portal (home, dashboards, status, admin) and the
//! engineering area, built as two WebAssembly apps from this one library, so the business
//! views a clinic's staff open stay small however much the engineers' tools grow. Both share
//! the session, the top bar and every control; a link from one app to the other loads the
//! other's page.

pub mod access;
pub mod api;
pub mod app;
pub mod components;
pub mod format;
pub mod pages;
pub mod perf;
pub mod refresh;
pub mod session;
