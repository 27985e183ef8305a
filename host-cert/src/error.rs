//! The crate's error: the driver's errors as they are, and what can be wrong with
//! certificates, requests, signatures and their files, each keeping its cause as `source`.

use std::path::PathBuf;

/// What went wrong, in the words of the person holding the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token, or a key's own check, failed: the driver's error.
    #[error(transparent)]
    Host(#[from] ukey_host::Error),
    /// DER that cannot be read as what it should be.
    #[error("{what}: {source}")]
    Unreadable {
        /// What it should have been ("not a readable X.509 certificate").
        what: &'static str,
        /// The decoder's reason.
        #[source]
        source: der::Error,
    },
    /// ASN.1 data that cannot be encoded or decoded.
    #[error("bad ASN.1 data: {0}")]
    Der(#[from] der::Error),
    /// PEM text that cannot be read or written.
    #[error("{what}: {source}")]
    Pem {
        /// What was being done ("cannot read the PEM text").
        what: &'static str,
        /// The PEM codec's reason.
        #[source]
        source: der::pem::Error,
    },
    /// A certificate, request or signature that is well-formed but not valid.
    #[error("{message}")]
    Invalid {
        /// What is wrong with it.
        message: String,
    },
    /// A value given by the user is not acceptable.
    #[error("{message}")]
    InvalidInput {
        /// Why.
        message: String,
    },
    /// A certificate was not issued by the CA it was checked against: the names, the
    /// algorithms or the signature say so.
    #[error("the certificate was not issued by this CA ({why})")]
    NotIssuedByCa {
        /// What showed it.
        why: &'static str,
    },
    /// A private key file that cannot be read or written.
    #[error("{what}: {source}")]
    PrivateKey {
        /// What was being done.
        what: &'static str,
        /// The PKCS#8 codec's reason.
        #[source]
        source: p256::pkcs8::Error,
    },
    /// A software key failed to sign.
    #[error("software signing failed: {0}")]
    Signing(#[source] p256::ecdsa::Error),
    /// The certificate builder refused.
    #[error("cannot build the certificate: {0}")]
    Builder(#[source] x509_cert::builder::Error),
    /// The system gave no randomness.
    #[error("no randomness from the system: {0}")]
    Random(#[source] getrandom::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
    /// What a named file holds is not what it should be.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        #[source]
        source: Box<Error>,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Builds [`Error::InvalidInput`].
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
        }
    }

    /// Builds [`Error::Invalid`].
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
        }
    }

    /// Builds [`Error::Io`].
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A DER decoding error of something that should have been `what`.
    pub(crate) fn unreadable(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Unreadable { what, source }
    }
}
