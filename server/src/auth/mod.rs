//! Who a request comes from: identity providers, sessions, roles and the audit trail.

pub mod audit;
pub mod identity;
pub mod limits;
pub mod session;
