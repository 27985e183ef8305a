//! The command line: global options, the subcommands, and the run that turns a failure
//! into its message and exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ukey_host::Selector;

use crate::Ctx;
use crate::commands::{
    bench, ca, cert, csr, doctor, info, key, list, mgm, pin, reset, sign, verify, wait,
};

/// Exit codes, as `ukey --help` lists them.
const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   other failure (unreadable file, command refused by the token)
  2   wrong usage or invalid value
  3   the smart card service (pcscd) is not running
  4   no reader, no token, token removed or busy, `ukey wait` timed out
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
    /// The management key in hex. Other users may see a command line: prefer
    /// UKEY_MANAGEMENT_KEY, --management-key-file, or a key kept under the PIN.
    #[arg(
        long,
        global = true,
        value_name = "HEX",
        conflicts_with = "management_key_file"
    )]
    management_key: Option<String>,
    /// A file holding the management key in hex.
    #[arg(long, global = true, value_name = "FILE")]
    management_key_file: Option<PathBuf>,
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
    /// Change the management key.
    #[command(subcommand)]
    Mgm(mgm::MgmCmd),
    /// Erase the token back to its factory state (only when PIN and PUK are blocked).
    Reset(reset::ResetCmd),
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
    /// Wait until a ukey token is present (in --reader, or with --serial), then show it.
    Wait(wait::WaitCmd),
    /// Measure a token: round trip, VERIFY and signatures per second, per slot.
    Bench(bench::BenchCmd),
}

/// Runs `ukey` and returns its exit code.
pub(crate) fn run() -> ExitCode {
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
        management_key_file: args.management_key_file,
    };
    let result = match &args.command {
        Command::List(cmd) => cmd.run(&ctx),
        Command::Info(cmd) => cmd.run(&ctx),
        Command::Pin(cmd) => cmd.run(&ctx),
        Command::Key(cmd) => cmd.run(&ctx),
        Command::Mgm(cmd) => cmd.run(&ctx),
        Command::Reset(cmd) => cmd.run(&ctx),
        Command::Csr(cmd) => cmd.run(&ctx),
        Command::Cert(cmd) => cmd.run(&ctx),
        Command::Sign(cmd) => cmd.run(&ctx),
        Command::Verify(cmd) => cmd.run(&ctx),
        Command::Ca(cmd) => cmd.run(&ctx),
        Command::Doctor(cmd) => cmd.run(&ctx),
        Command::Wait(cmd) => cmd.run(&ctx),
        Command::Bench(cmd) => cmd.run(&ctx),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(ctx.json),
    }
}
