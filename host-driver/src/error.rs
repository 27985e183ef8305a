//! The one error type of the driver, in the words a token's user would use.

use ukey_card_edge::tlv::TlvError;
use ukey_card_edge::{Algorithm, StatusWord};

/// What went wrong, said so that the person holding the token can act on it. Failures of
/// the layers below (PC/SC, the TLV codec, the curve arithmetic) keep their cause as
/// `source`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PC/SC service (pcscd) does not answer: it is not running or was restarted.
    #[error("the smart card service (pcscd) is not running or was restarted")]
    PcscdNotRunning,
    /// No smart card reader is connected.
    #[error("no card reader or token is connected")]
    NoReader,
    /// No reader has the given name.
    #[error("no reader named \"{reader}\"")]
    ReaderNotFound {
        /// The name asked for.
        reader: String,
    },
    /// The reader is there but no card or token is seen in it.
    #[error("no card or token is seen in \"{reader}\"")]
    NoCard {
        /// The reader's name.
        reader: String,
    },
    /// No reader holds a ukey (PIV) token.
    #[error("no ukey token is connected")]
    NoToken,
    /// Several tokens are connected and none was named: a command must not pick one of
    /// them by chance.
    #[error("{} ukey tokens are connected: {}", .tokens.len(), .tokens.join("; "))]
    SeveralTokens {
        /// Each token as "reader (serial N)".
        tokens: Vec<String>,
    },
    /// No connected token has this serial number.
    #[error("no connected token has serial {serial}")]
    TokenNotFound {
        /// The serial asked for.
        serial: u32,
    },
    /// No ukey token came within the time given to [`crate::wait_for_token`].
    #[error("no ukey token came within {waited:?}; last seen: {last}")]
    WaitTimedOut {
        /// How long was waited.
        waited: std::time::Duration,
        /// The last problem seen while waiting, or that nothing changed.
        last: String,
    },
    /// A card is present but it has no PIV application.
    #[error("the card in \"{reader}\" is not a ukey token (no PIV application)")]
    NotPiv {
        /// The reader's name.
        reader: String,
    },
    /// The token was removed during the operation.
    #[error("the token was removed")]
    CardRemoved,
    /// The connection to the token was lost in the middle of the operation (it was reset
    /// or pulled out).
    #[error("another program reset the token during the operation; run it again")]
    CardReset,
    /// Another program holds the token exclusively.
    #[error("another program is using the token exclusively")]
    TokenBusy,
    /// The PIN was wrong.
    #[error("wrong PIN; {} left before the PIN is blocked", tries_text(*.tries))]
    WrongPin {
        /// Tries left before the PIN is blocked.
        tries: u8,
    },
    /// The PUK was wrong.
    #[error("wrong PUK; {} left before the PUK is blocked", tries_text(*.tries))]
    WrongPuk {
        /// Tries left before the PUK is blocked.
        tries: u8,
    },
    /// The PIN is blocked: unblock it with the PUK.
    #[error("the PIN is blocked; unblock it with the PUK")]
    PinBlocked,
    /// The PUK is blocked too: only a reset (which erases keys) helps.
    #[error("the PUK is blocked; only a reset, which erases all keys, makes the token usable")]
    PukBlocked,
    /// The token wants the PIN (or the management key) first.
    #[error("the token asks for the PIN or the management key first")]
    NotAuthenticated,
    /// The token rejected the management key.
    #[error("the token rejected the management key")]
    WrongManagementKey,
    /// The token has no such object or key.
    #[error("not found on the token: {what}")]
    NotFound {
        /// What was looked for, e.g. "key in slot 9c".
        what: String,
    },
    /// The token does not do this.
    #[error("the token does not support {what}")]
    NotSupported {
        /// What was asked.
        what: String,
    },
    /// The token refused the command for another reason.
    #[error("the token refused {command} (status {status:04X})")]
    Refused {
        /// The command.
        command: &'static str,
        /// The status word it answered.
        status: u16,
    },
    /// A value given by the user is not acceptable.
    #[error("{message}")]
    InvalidInput {
        /// Why.
        message: String,
    },
    /// The token answered something this program cannot read.
    #[error("the token gave an answer that cannot be read: {message}")]
    BadResponse {
        /// What was wrong with it.
        message: String,
    },
    /// The token's answer is not well-formed BER-TLV.
    #[error("the token gave an answer that cannot be read: {0}")]
    MalformedTlv(#[source] TlvError),
    /// The token gave a public key that is not a point of its algorithm's curve.
    #[error(
        "the token gave an answer that cannot be read: its {algorithm} public key is not a \
         point on the curve"
    )]
    BadPublicKey {
        /// The key's algorithm.
        algorithm: Algorithm,
        /// The curve arithmetic's reason.
        #[source]
        source: p256::elliptic_curve::Error,
    },
    /// A public key given from outside (PEM or DER SubjectPublicKeyInfo) is not one of the
    /// token's algorithms.
    #[error("not a P-256 or SM2 public key (PEM or DER SubjectPublicKeyInfo)")]
    UnsupportedPublicKey(#[source] p256::pkcs8::spki::Error),
    /// A private key given to import is not one the token takes: not a private key, an
    /// encrypted one, or not of P-256 or SM2.
    #[error("{message}")]
    BadPrivateKey {
        /// What the file holds instead, or what to do, in the user's words.
        message: String,
        /// The decoder's reason, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A public key could not be written as SubjectPublicKeyInfo.
    #[error("cannot encode the public key: {0}")]
    KeyEncoding(#[source] p256::pkcs8::spki::Error),
    /// A signature does not match the data and key.
    #[error("the signature does not match")]
    SignatureInvalid,
    /// The system gave no randomness (for a management key challenge).
    #[error("no randomness from the system: {0}")]
    Random(#[source] getrandom::Error),
    /// Another PC/SC failure.
    #[error("smart card service error: {0}")]
    Pcsc(#[source] pcsc::Error),
}

/// "1 try" or "n tries".
fn tries_text(tries: u8) -> String {
    match tries {
        1 => "1 try".to_owned(),
        n => format!("{n} tries"),
    }
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
            other => Self::Pcsc(other),
        }
    }
}
