//! Why the demo clinic could not answer: the query is outside its subset, or the thing asked for does not exist.

/// What the demo clinic answers instead of data. The server's adapter turns it into a
/// source error naming the demo clinic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    /// The query is wrong or outside the demo's LogQL, PromQL or X-Ray filter subset; the
    /// reason says which part and what to write instead.
    #[error("{0}")]
    BadQuery(String),
    /// Nothing by that name exists in the simulation (a trace id, say).
    #[error("{0} was not found")]
    NotFound(String),
}

/// A bad-query error with `reason`, as every parser and evaluator of the crate reports one.
pub(crate) fn bad_query(reason: impl Into<String>) -> DemoError {
    DemoError::BadQuery(reason.into())
}
