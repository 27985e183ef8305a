//! A subcommand's failure: the error, its exit code (as `ukey --help` lists them) and what
//! to do about it, shown as text or as a JSON object on standard error.

use std::process::ExitCode;

use serde::Serialize;
use ukey_host::Error;

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

/// What a subcommand returns.
pub(crate) type CmdResult = Result<(), Failure>;

/// The exit code of an error.
fn exit_code(error: &Error) -> u8 {
    match error {
        Error::InvalidInput { .. } => 2,
        Error::PcscdNotRunning => 3,
        Error::NoReader
        | Error::ReaderNotFound { .. }
        | Error::NoCard { .. }
        | Error::NoToken
        | Error::TokenNotFound { .. }
        | Error::NotPiv { .. }
        | Error::CardRemoved
        | Error::CardReset
        | Error::TokenBusy => 4,
        Error::WrongPin { .. } | Error::WrongPuk { .. } => 5,
        Error::PinBlocked | Error::PukBlocked => 6,
        Error::NotAuthenticated | Error::WrongManagementKey => 7,
        Error::NotFound { .. } => 8,
        Error::SignatureInvalid | Error::NotIssuedByCa => 9,
        _ => 1,
    }
}

/// What to do about an error, when there is something to say.
fn remedy(error: &Error) -> Option<&'static str> {
    Some(match error {
        Error::PcscdNotRunning => {
            "start it with `sudo systemctl start pcscd` (install it with `sudo apt install pcscd`)"
        }
        Error::NoReader => "plug the token in, or try another USB port; `ukey doctor` checks more",
        Error::NoCard { .. } => "insert the card the right way round, or plug the token in again",
        Error::NoToken | Error::NotPiv { .. } => "`ukey list` shows what each reader holds",
        Error::PinBlocked => "run `ukey pin unblock`",
        Error::WrongManagementKey => "give the right key with --management-key",
        Error::CardRemoved => "plug the token in again and repeat the command",
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
                Error::WrongPin { tries } | Error::WrongPuk { tries } => Some(tries),
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
