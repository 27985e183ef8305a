//! A subcommand's failure: the error, its exit code (as `ukey --help` lists them) and what
//! to do about it, shown as text or as a JSON object on standard error.

use std::process::ExitCode;

use serde::Serialize;
use ukey_host::Error as TokenError;

use crate::error::Error;

/// A failure of a subcommand with its exit code.
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) code: u8,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = exit_code(&error);
        Self { error, code }
    }
}

impl From<TokenError> for Failure {
    fn from(error: TokenError) -> Self {
        Error::from(error).into()
    }
}

impl From<ukey_cert::Error> for Failure {
    fn from(error: ukey_cert::Error) -> Self {
        Error::from(error).into()
    }
}

/// What a subcommand returns.
pub(crate) type CmdResult = Result<(), Failure>;

/// The exit code of an error.
fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Token(error) => token_exit_code(error),
        Error::Cert(error) => cert_exit_code(error),
        Error::Usage(_) | Error::KeyFile { .. } => 2,
        Error::File { .. } => 1,
    }
}

/// The exit code of a driver error.
fn token_exit_code(error: &TokenError) -> u8 {
    match error {
        TokenError::InvalidInput { .. } | TokenError::SeveralTokens { .. } => 2,
        TokenError::PcscdNotRunning => 3,
        TokenError::NoReader
        | TokenError::ReaderNotFound { .. }
        | TokenError::NoCard { .. }
        | TokenError::NoToken
        | TokenError::TokenNotFound { .. }
        | TokenError::WaitTimedOut { .. }
        | TokenError::NotPiv { .. }
        | TokenError::CardRemoved
        | TokenError::CardReset
        | TokenError::TokenBusy => 4,
        TokenError::WrongPin { .. } | TokenError::WrongPuk { .. } => 5,
        TokenError::PinBlocked | TokenError::PukBlocked => 6,
        TokenError::NotAuthenticated | TokenError::WrongManagementKey => 7,
        TokenError::NotFound { .. } => 8,
        TokenError::SignatureInvalid => 9,
        _ => 1,
    }
}

/// The exit code of a certificate crate error.
fn cert_exit_code(error: &ukey_cert::Error) -> u8 {
    match error {
        ukey_cert::Error::Host(error) => token_exit_code(error),
        ukey_cert::Error::InvalidInput { .. } => 2,
        ukey_cert::Error::NotIssuedByCa { .. } => 9,
        ukey_cert::Error::InFile { source, .. } => cert_exit_code(source),
        _ => 1,
    }
}

/// What to do about an error, when there is something to say.
fn remedy(error: &Error) -> Option<&'static str> {
    let Error::Token(error) = error else {
        return None;
    };
    Some(match error {
        TokenError::PcscdNotRunning => {
            "start it with `sudo systemctl start pcscd` (install it with `sudo apt install pcscd`)"
        }
        TokenError::NoReader => {
            "plug the token in, or try another USB port; `ukey doctor` checks more"
        }
        TokenError::NoCard { .. } => {
            "insert the card the right way round, or plug the token in again"
        }
        TokenError::NoToken | TokenError::NotPiv { .. } => {
            "`ukey list` shows what each reader holds"
        }
        TokenError::PinBlocked => "run `ukey pin unblock`",
        TokenError::SeveralTokens { .. } => "name one with --reader NAME or --serial N",
        TokenError::WrongManagementKey => {
            "give the right key in UKEY_MANAGEMENT_KEY or a file (--management-key-file)"
        }
        TokenError::PukBlocked => "`ukey reset` erases the keys and makes the token usable",
        TokenError::CardRemoved => "plug the token in again and repeat the command",
        _ => return None,
    })
}

/// The JSON form of an error.
#[derive(Serialize)]
struct JsonError<'a> {
    error: String,
    code: u8,
    remedy: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tries_left: Option<u8>,
}

impl Failure {
    /// Shows the failure on standard error, as text or (with `--json`) as a JSON object,
    /// and returns its exit code.
    pub(crate) fn report(self, json: bool) -> ExitCode {
        let Failure { error, code } = self;
        let remedy = remedy(&error);
        if json {
            let tries_left = match error {
                Error::Token(TokenError::WrongPin { tries } | TokenError::WrongPuk { tries }) => {
                    Some(tries)
                }
                _ => None,
            };
            let body = JsonError {
                error: error.to_string(),
                code,
                remedy,
                tries_left,
            };
            eprintln!("{}", serde_json::to_string(&body).unwrap_or_default());
        } else {
            eprintln!("ukey: {error}");
            if let Some(remedy) = remedy {
                eprintln!("      {remedy}");
            }
        }
        ExitCode::from(code)
    }
}
