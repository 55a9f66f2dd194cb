//! Reusable pieces of the interface, one file each.

pub mod area_placeholder;
pub mod error_message;
pub mod require_session;
pub mod session_banner;
pub mod skeleton;
pub mod sparkline;
pub mod stat_card;
pub mod top_bar;
