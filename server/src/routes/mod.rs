//! The HTTP surface: which path goes to which handler.

pub mod dashboards;
pub mod engineering;
pub mod health;
pub mod tail;
