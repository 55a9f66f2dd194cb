//! The shape of a trace, worked out once and read many ways.
//!
//! - [`SpanTable`] holds a trace's spans in columns, with names and ids interned, so that a
//!   trace of a million spans fits in a few tens of megabytes;
//! - [`SpanTree`] orders them as the waterfall shows them (parents before children, siblings by
//!   start) and knows each span's depth and subtree, so collapsing a subtree or cutting a window
//!   is a jump over a range rather than a walk;
//! - [`CriticalPath`] finds the chain of work the trace's duration waited on;
//! - [`huge`] answers the overview and the windows of a trace too large to send whole;
//! - [`compare`] says where two traces of one operation spent their time differently;
//! - [`Waterfall`] keeps the rows a page shows as subtrees fold, finds failed and matching spans
//!   and places each span's bar;
//! - [`map_layout`] places the service map's nodes in columns, callers left of what they call.
//!
//! Nothing here recurses: a trace a million levels deep is walked with loops and explicit stacks.

pub mod compare;
pub mod critical;
pub mod huge;
pub mod map_layout;
pub mod table;
pub mod tree;
pub mod waterfall;

pub use critical::{CriticalPath, Segment};
pub use table::{NO_ATTRIBUTES, NO_PARENT, NewSpan, SpanTable, TableBuilder};
pub use tree::SpanTree;
pub use waterfall::{Bar, Waterfall};
