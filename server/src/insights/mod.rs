//! What the server reads out of the telemetry for people: log patterns and the sentences told of them.

pub mod patterns;
