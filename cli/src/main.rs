//! `ukey`: the certificate assistant for ukey tokens. See `ukey --help`.

mod args;
mod commands;
mod context;
mod error;
mod failure;
mod files;
mod prompt;

use context::Ctx;
use failure::{CmdResult, Failure};
use files::{read_file, refuse_overwriting, write_out};
use prompt::{new_secret, secret};

fn main() -> std::process::ExitCode {
    args::run()
}
