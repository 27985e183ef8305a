//! `ukey-sim`: a virtual ukey token in a vpcd reader of pcscd. See `ukey-sim --help`.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}
