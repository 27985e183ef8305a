//! Why the driver refused a call: the code pcscd gets, and the reason written to pcscd's
//! log (pcscd itself only logs the number).

use std::io::Write;

use crate::abi::ResponseCode;

/// A refused call: an `IFD_*` code and the reason in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// What pcscd is told.
    pub code: ResponseCode,
    /// What the log says.
    pub reason: String,
}

impl Refusal {
    /// A refusal with `code` because of `reason`.
    pub fn new(code: ResponseCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// Writes one line to pcscd's standard error (its log when it runs in the foreground, the
/// journal under systemd). A closed stderr is not an error worth failing a call for.
pub fn log(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "ukey-ifd: {line}");
}
