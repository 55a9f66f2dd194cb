//! Reusable pieces of the interface, one file each.

pub mod area_placeholder;
pub mod chart;
pub mod error_message;
pub mod loaded;
pub mod panel_card;
pub mod require_session;
pub mod session_banner;
pub mod skeleton;
pub mod sparkline;
pub mod time_picker;
pub mod top_bar;
pub mod virtual_list;
