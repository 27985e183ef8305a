//! The `ukey` command line: global options, the subcommands (one file each), output in
//! human words or JSON, and exit codes that scripts can rely on.

mod ca;
mod cert;
mod csr;
mod doctor;
mod info;
mod key;
mod list;
mod pin;
mod sign;
mod verify;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use ukey_host::{Error, ManagementKey, Pin, Selector, Token};

/// Exit codes, as `ukey --help` lists them.
const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   other failure (unreadable file, command refused by the token)
  2   wrong usage or invalid value
  3   the smart card service (pcscd) is not running
  4   no reader, no token, token removed or busy
  5   wrong PIN or PUK (tries are left)
  6   PIN or PUK blocked
  7   PIN or management key needed, or management key wrong
  8   not found on the token (no key or certificate in the slot)
  9   signature does not verify, or its certificate is not from the given CA
  10  `ukey doctor` found a problem";

/// The certificate assistant for ukey (PIV and SM2) tokens.
#[derive(Parser, Debug)]
#[command(name = "ukey", version, after_help = EXIT_CODES)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// Use the token in the reader with this name (or part of it).
    #[arg(long, global = true, conflicts_with = "serial")]
    reader: Option<String>,
    /// Use the token with this serial number.
    #[arg(long, global = true)]
    serial: Option<u32>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// The management key in hex (default: the PIV default key).
    #[arg(long, global = true, value_name = "HEX")]
    management_key: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List readers and the tokens in them.
    List(list::ListCmd),
    /// Show a token: serial, versions, PIN state, keys and certificates.
    Info(info::InfoCmd),
    /// Check the PIN, change it, or unblock it with the PUK.
    #[command(subcommand)]
    Pin(pin::PinCmd),
    /// Manage keys on the token.
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// Make a certificate request (PKCS#10) signed by a key on the token.
    Csr(csr::CsrCmd),
    /// Put a certificate on the token or take a copy of one.
    #[command(subcommand)]
    Cert(cert::CertCmd),
    /// Sign a file with a key on the token (detached signature).
    Sign(sign::SignCmd),
    /// Check a detached signature of a file.
    Verify(verify::VerifyCmd),
    /// A local test CA that turns requests into certificates.
    #[command(subcommand)]
    Ca(ca::CaCmd),
    /// Find out why the token is not working and what to do about it.
    Doctor(doctor::DoctorCmd),
}

/// What every subcommand gets: the global options and helpers around them.
pub(crate) struct Ctx {
    json: bool,
    selector: Selector,
    management_key: Option<String>,
}

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

/// Runs `ukey` and returns its exit code.
pub(crate) fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let selector = match (&args.reader, args.serial) {
        (Some(reader), _) => Selector::Reader(reader.clone()),
        (None, Some(serial)) => Selector::Serial(serial),
        (None, None) => Selector::Any,
    };
    let ctx = Ctx {
        json: args.json,
        selector,
        management_key: args.management_key,
    };
    let result = match &args.command {
        Command::List(cmd) => cmd.run(&ctx),
        Command::Info(cmd) => cmd.run(&ctx),
        Command::Pin(cmd) => cmd.run(&ctx),
        Command::Key(cmd) => cmd.run(&ctx),
        Command::Csr(cmd) => cmd.run(&ctx),
        Command::Cert(cmd) => cmd.run(&ctx),
        Command::Sign(cmd) => cmd.run(&ctx),
        Command::Verify(cmd) => cmd.run(&ctx),
        Command::Ca(cmd) => cmd.run(&ctx),
        Command::Doctor(cmd) => cmd.run(&ctx),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { error, code }) => {
            let remedy = remedy(&error);
            if ctx.json {
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
}

impl Ctx {
    /// Opens the token the global options name.
    pub(crate) fn open(&self) -> Result<Token, Failure> {
        self.progress("Looking for the token…");
        Ok(Token::open(&self.selector)?)
    }

    /// The management key the options give, or the default.
    pub(crate) fn management_key(&self) -> Result<ManagementKey, Failure> {
        Ok(match &self.management_key {
            Some(hex) => ManagementKey::from_hex(hex, None)?,
            None => ManagementKey::default(),
        })
    }

    /// Prints `value` as JSON, or as the text `human` makes of it.
    pub(crate) fn print<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        } else {
            let text = human(value);
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
    }

    /// A line about a step that takes a while, shown on a terminal only.
    pub(crate) fn progress(&self, message: &str) {
        let stderr = std::io::stderr();
        if !self.json && stderr.is_terminal() {
            eprintln!("{message}");
        }
    }
}

/// A PIN or PUK from its option, or asked for without echo.
pub(crate) fn secret(given: Option<&str>, prompt: &str) -> Result<Pin, Failure> {
    match given {
        Some(value) => Ok(Pin::new(value)?),
        None => Ok(Pin::new(&ask(prompt)?)?),
    }
}

/// A new PIN or PUK from its option, or asked for twice without echo.
pub(crate) fn new_secret(given: Option<&str>, what: &str) -> Result<Pin, Failure> {
    if let Some(value) = given {
        return Ok(Pin::new(value)?);
    }
    let first = zeroize::Zeroizing::new(ask(&format!("New {what} (6 to 8 characters): "))?);
    let pin = Pin::new(&first)?;
    let again = zeroize::Zeroizing::new(ask(&format!("New {what} again: "))?);
    if *first != *again {
        return Err(Error::InvalidInput {
            message: format!("the two {what}s differ"),
        }
        .into());
    }
    Ok(pin)
}

fn ask(prompt: &str) -> Result<String, Failure> {
    rpassword::prompt_password(prompt).map_err(|_| {
        Failure::from(Error::InvalidInput {
            message: format!(
                "{} not given and there is no terminal to ask on",
                prompt.trim_end_matches([':', ' '])
            ),
        })
    })
}

/// Refuses an output path that names one of the command's `inputs` (the same file, through
/// any name or link), so that `ukey sign msg.txt -o msg.txt` cannot destroy what it signs.
/// Called before the command does anything.
pub(crate) fn refuse_overwriting(output: &Path, inputs: &[&Path]) -> Result<(), Failure> {
    match inputs.iter().find(|input| same_file(output, input)) {
        Some(input) => Err(Error::InvalidInput {
            message: format!(
                "{} is an input of this command ({}); choose another output file",
                output.display(),
                input.display()
            ),
        }
        .into()),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path`, or to standard output when there is no path.
pub(crate) fn write_out(path: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    match path {
        Some(path) => std::fs::write(path, bytes).map_err(|source| {
            Failure::from(Error::Io {
                path: path.to_owned(),
                source,
            })
        }),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(bytes).map_err(|source| {
                Failure::from(Error::Io {
                    path: "standard output".into(),
                    source,
                })
            })
        }
    }
}

/// Whether two paths name one existing file (same device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Reads a whole file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|source| {
        Failure::from(Error::Io {
            path: path.to_owned(),
            source,
        })
    })
}
