//! A failed step, told so that the reader of a CI log can act on it.

use std::fmt;

use super::Session;

/// Why an interop test failed: the client, the link and the step, what was wrong, and the
/// evidence (the client's command line and output, and the APDUs the token saw). Its
/// `Debug` form is that text, so a test returning `Err` prints it whole.
pub struct Failure(String);

impl Failure {
    pub(crate) fn new(text: String) -> Self {
        Self(text)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Turns an error met outside a client's run (a file that cannot be read, output that does
/// not parse) into a [`Failure`] of the session's client at `step`.
pub trait InStep<T> {
    /// The value, or a failure of `step` saying what went wrong.
    fn in_step(self, session: &Session, step: &str) -> Result<T, Failure>;
}

impl<T, E: fmt::Display> InStep<T> for Result<T, E> {
    fn in_step(self, session: &Session, step: &str) -> Result<T, Failure> {
        self.map_err(|error| session.fail(step, error))
    }
}
