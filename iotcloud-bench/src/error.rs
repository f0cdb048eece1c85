//! One error type for the whole command: a message saying which step failed and why.

use std::fmt;

/// A failed step, described for the person running the benchmark.
#[derive(Debug)]
pub struct BenchError(pub String);

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

/// Result of a benchmark step.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Fails with `msg`.
pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(BenchError(msg.into()))
}

/// Names the step an error came from.
pub trait Context<T> {
    /// Turns the error into a [`BenchError`] that starts with `step`.
    fn ctx(self, step: &str) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn ctx(self, step: &str) -> Result<T> {
        self.map_err(|e| BenchError(format!("{step}: {e}")))
    }
}

impl<T> Context<T> for Option<T> {
    fn ctx(self, step: &str) -> Result<T> {
        self.ok_or_else(|| BenchError(step.to_string()))
    }
}
