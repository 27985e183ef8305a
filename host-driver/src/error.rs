//! The one error type of the crate, in the words a token's user would use.

use std::fmt;
use std::path::PathBuf;

use ukey_card_edge::StatusWord;

/// What went wrong, said so that the person holding the token can act on it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The PC/SC service (pcscd) does not answer: it is not running or was restarted.
    PcscdNotRunning,
    /// No smart card reader is connected.
    NoReader,
    /// No reader has the given name.
    ReaderNotFound {
        /// The name asked for.
        reader: String,
    },
    /// The reader is there but no card or token is seen in it.
    NoCard {
        /// The reader's name.
        reader: String,
    },
    /// No reader holds a ukey (PIV) token.
    NoToken,
    /// No connected token has this serial number.
    TokenNotFound {
        /// The serial asked for.
        serial: u32,
    },
    /// A card is present but it has no PIV application.
    NotPiv {
        /// The reader's name.
        reader: String,
    },
    /// The token was removed during the operation.
    CardRemoved,
    /// The connection to the token was lost in the middle of the operation (it was reset
    /// or pulled out).
    CardReset,
    /// Another program holds the token exclusively.
    TokenBusy,
    /// The PIN was wrong.
    WrongPin {
        /// Tries left before the PIN is blocked.
        tries: u8,
    },
    /// The PUK was wrong.
    WrongPuk {
        /// Tries left before the PUK is blocked.
        tries: u8,
    },
    /// The PIN is blocked: unblock it with the PUK.
    PinBlocked,
    /// The PUK is blocked too: only a reset (which erases keys) helps.
    PukBlocked,
    /// The token wants the PIN (or the management key) first.
    NotAuthenticated,
    /// The token rejected the management key.
    WrongManagementKey,
    /// The token has no such object or key.
    NotFound {
        /// What was looked for, e.g. "key in slot 9c".
        what: String,
    },
    /// The token does not do this.
    NotSupported {
        /// What was asked.
        what: String,
    },
    /// The token refused the command for another reason.
    Refused {
        /// The command.
        command: &'static str,
        /// The status word it answered.
        status: u16,
    },
    /// A value given by the user is not acceptable.
    InvalidInput {
        /// Why.
        message: String,
    },
    /// The token answered something this program cannot read.
    BadResponse {
        /// What was wrong with it.
        message: String,
    },
    /// A certificate, request or signature file cannot be read or is not valid.
    BadData {
        /// What was wrong with it.
        message: String,
    },
    /// A signature does not match the data and key.
    SignatureInvalid,
    /// A certificate was not issued by the CA it was checked against.
    NotIssuedByCa,
    /// Another PC/SC failure.
    Pcsc {
        /// The PC/SC layer's description.
        message: String,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
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

    /// Builds [`Error::BadResponse`].
    pub(crate) fn response(message: impl Into<String>) -> Self {
        Self::BadResponse {
            message: message.into(),
        }
    }

    /// Builds [`Error::BadData`].
    pub(crate) fn data(message: impl Into<String>) -> Self {
        Self::BadData {
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

    /// The error a status word means for `command`, outside PIN handling.
    pub(crate) fn from_status(command: &'static str, sw: StatusWord) -> Self {
        match sw {
            StatusWord::SecurityStatusNotSatisfied => Self::NotAuthenticated,
            StatusWord::WrongPin { tries } => Self::WrongPin { tries },
            StatusWord::Blocked => Self::PinBlocked,
            StatusWord::NotFound | StatusWord::ReferenceNotFound => Self::NotFound {
                what: command.to_owned(),
            },
            StatusWord::FunctionNotSupported
            | StatusWord::InsNotSupported
            | StatusWord::ClaNotSupported => Self::NotSupported {
                what: command.to_owned(),
            },
            other => Self::Refused {
                command,
                status: other.into(),
            },
        }
    }

    /// The error a PC/SC failure means.
    pub(crate) fn from_pcsc(err: pcsc::Error) -> Self {
        use pcsc::Error as E;
        match err {
            E::NoService | E::ServiceStopped | E::InvalidHandle | E::Shutdown => {
                Self::PcscdNotRunning
            }
            E::NoReadersAvailable => Self::NoReader,
            E::RemovedCard | E::NoSmartcard => Self::CardRemoved,
            E::ResetCard | E::NotTransacted => Self::CardReset,
            E::SharingViolation => Self::TokenBusy,
            other => Self::Pcsc {
                message: other.to_string(),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PcscdNotRunning => {
                f.write_str("the smart card service (pcscd) is not running or was restarted")
            }
            Self::NoReader => f.write_str("no card reader or token is connected"),
            Self::ReaderNotFound { reader } => write!(f, "no reader named \"{reader}\""),
            Self::NoCard { reader } => write!(f, "no card or token is seen in \"{reader}\""),
            Self::NoToken => f.write_str("no ukey token is connected"),
            Self::TokenNotFound { serial } => {
                write!(f, "no connected token has serial {serial}")
            }
            Self::NotPiv { reader } => write!(
                f,
                "the card in \"{reader}\" is not a ukey token (no PIV application)"
            ),
            Self::CardRemoved => f.write_str("the token was removed"),
            Self::CardReset => {
                f.write_str("another program reset the token during the operation; run it again")
            }
            Self::TokenBusy => f.write_str("another program is using the token exclusively"),
            Self::WrongPin { tries: 1 } => {
                f.write_str("wrong PIN; 1 try left before the PIN is blocked")
            }
            Self::WrongPin { tries } => {
                write!(f, "wrong PIN; {tries} tries left before the PIN is blocked")
            }
            Self::WrongPuk { tries: 1 } => {
                f.write_str("wrong PUK; 1 try left before the PUK is blocked")
            }
            Self::WrongPuk { tries } => {
                write!(f, "wrong PUK; {tries} tries left before the PUK is blocked")
            }
            Self::PinBlocked => f.write_str("the PIN is blocked; unblock it with the PUK"),
            Self::PukBlocked => f.write_str(
                "the PUK is blocked; only a reset, which erases all keys, makes the token usable",
            ),
            Self::NotAuthenticated => {
                f.write_str("the token asks for the PIN or the management key first")
            }
            Self::WrongManagementKey => f.write_str("the token rejected the management key"),
            Self::NotFound { what } => write!(f, "not found on the token: {what}"),
            Self::NotSupported { what } => write!(f, "the token does not support {what}"),
            Self::Refused { command, status } => {
                write!(f, "the token refused {command} (status {status:04X})")
            }
            Self::InvalidInput { message } => f.write_str(message),
            Self::BadResponse { message } => {
                write!(f, "the token gave an answer that cannot be read: {message}")
            }
            Self::BadData { message } => f.write_str(message),
            Self::SignatureInvalid => f.write_str("the signature does not match"),
            Self::NotIssuedByCa => f.write_str("the certificate was not issued by this CA"),
            Self::Pcsc { message } => write!(f, "smart card service error: {message}"),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<der::Error> for Error {
    fn from(err: der::Error) -> Self {
        Self::data(format!("bad ASN.1 data: {err}"))
    }
}
