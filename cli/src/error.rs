//! What can go wrong in a `ukey` command: the driver's errors, the certificate crate's, a
//! wrong use of the command line, or a file.

use std::path::PathBuf;

/// A command's error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The token, or a key's own check.
    #[error(transparent)]
    Token(#[from] ukey_host::Error),
    /// A certificate, request, signature or the test CA.
    #[error(transparent)]
    Cert(ukey_cert::Error),
    /// The command line asks for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// A file given as a private key holds none the token takes.
    #[error("{}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What it holds instead, as the driver read it.
        #[source]
        source: ukey_host::Error,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// The certificate crate's errors, with the driver's among them taken out as
/// [`Error::Token`], so that each maps to its exit code in one place.
impl From<ukey_cert::Error> for Error {
    fn from(error: ukey_cert::Error) -> Self {
        match error {
            ukey_cert::Error::Host(error) => Self::Token(error),
            other => Self::Cert(other),
        }
    }
}
