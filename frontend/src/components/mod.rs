//! Reusable pieces of the interface, one file each.

pub mod chart;
pub mod completion;
pub mod drag_select;
pub mod error_message;
pub mod loaded;
pub mod log_volume;
pub mod logql_context;
pub mod masked;
pub mod panel_card;
pub mod query_examples;
pub mod query_syntax;
pub mod require_session;
pub mod session_banner;
pub mod skeleton;
pub mod sparkline;
pub mod time_picker;
pub mod top_bar;
pub mod virtual_list;
pub mod wrong_part;
