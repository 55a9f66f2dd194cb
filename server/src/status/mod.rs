//! The clinicians' status page: components as code, judged from the sources, held steady.

pub mod board;
pub mod definition;
pub mod embed_cache;
pub mod embed_page;
pub mod embed_token;
pub mod evaluate;
pub mod history;
pub mod notices;
pub mod rules;
