//! What the tests run against: a simulated token on each link, or the token in a reader of
//! the system's pcscd when `UKEY_TEST_READER` names one (a board, for hardware bring-up).

use std::fmt;

use ukey_sim::LinkKind;

use super::LINKS;

/// The environment variable that points the suite at a reader of the system's pcscd: its
/// name, or a part of the name that only that reader's has.
pub const READER_ENV: &str = "UKEY_TEST_READER";

/// One token to run a test against.
#[derive(Clone, Debug)]
pub enum Target {
    /// A fresh simulated token on this link, alone in a private pcscd.
    Simulated(LinkKind),
    /// The token in the reader whose name contains this text, on the system's pcscd (the
    /// one `PCSCLITE_CSOCK_NAME` points at, else the default socket). Each session resets
    /// it to factory state first: whatever it held is erased.
    Reader(String),
}

/// The targets each test runs on: the reader named by `UKEY_TEST_READER` alone, once; else
/// a simulated token on every link of [`LINKS`].
pub fn targets() -> Vec<Target> {
    match std::env::var(READER_ENV) {
        Ok(reader) if !reader.trim().is_empty() => vec![Target::Reader(reader)],
        _ => LINKS.iter().copied().map(Target::Simulated).collect(),
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Simulated(link) => write!(f, "{link:?} link"),
            Self::Reader(reader) => write!(f, "reader {reader:?}"),
        }
    }
}
