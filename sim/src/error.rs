//! The one error type of the simulator: each variant says what went wrong in words a user
//! can act on.

use std::fmt;
use std::io;

use ukey_firmware::flash::ImageError;

/// Everything that can stop a simulated token.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed; `what` says what the simulator was doing.
    Io {
        /// What was being done, e.g. "connecting to vpcd at 127.0.0.1:35963".
        what: String,
        /// The operating system's answer.
        source: io::Error,
    },
    /// The flash image could not be used; the file was left as it was.
    Image(ImageError),
    /// The token profile is not valid.
    Profile(String),
    /// The firmware refused to open the token's flash.
    Open(String),
    /// The emulated USB CCID device broke the protocol (a bug in the device or the host).
    Ccid(String),
    /// The vpcd peer broke the protocol.
    Vpcd(String),
    /// The private pcscd could not be started or stopped.
    Pcscd(String),
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { what, source } => write!(f, "{what}: {source}"),
            Self::Image(error) => write!(f, "flash image {error}"),
            Self::Profile(reason) => write!(f, "profile: {reason}"),
            Self::Open(reason) => write!(f, "cannot open the token: {reason}"),
            Self::Ccid(reason) => write!(f, "emulated CCID device: {reason}"),
            Self::Vpcd(reason) => write!(f, "vpcd: {reason}"),
            Self::Pcscd(reason) => write!(f, "private pcscd: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Image(error) => Some(error),
            _ => None,
        }
    }
}

/// The simulator's result type.
pub type Result<T> = std::result::Result<T, Error>;
