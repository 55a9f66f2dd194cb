//! The HTTP surface: which path goes to which handler.

pub mod audit;
pub mod dashboards;
pub mod embed;
pub mod engineering;
pub mod explanations;
pub mod gate;
pub mod health;
pub mod journeys;
pub mod links;
pub mod notices;
pub mod openapi;
pub mod reveal;
pub mod session;
pub mod slos;
pub mod status;
pub mod tail;
pub mod traces;
