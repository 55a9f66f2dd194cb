//! The clinicians' status page: components as code, judged from the sources, held steady.

pub mod definition;
pub mod history;
pub mod rules;
