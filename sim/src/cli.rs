//! The command line: a token in a vpcd reader by default, `pcscd` for a private pcscd.
//!
//! Exit codes: 0 when stopped by SIGINT/SIGTERM or done, 1 on an error (the message is on
//! stderr), 2 on a usage error.

mod making;
mod pcscd;
mod ready;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A virtual ukey USB token on the real PC/SC stack.
#[derive(Debug, Parser)]
#[command(name = "ukey-sim", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: run::RunCmd,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts a private pcscd with vpcd readers on ports of its own, in the foreground.
    Pcscd(pcscd::PcscdCmd),
}

impl Cli {
    /// Runs the command; errors go to stderr.
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            Some(Command::Pcscd(command)) => command.run(),
            None => self.run.run(),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("ukey-sim: error: {error}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Stops `control` on the first SIGINT or SIGTERM.
fn stop_on_signal(stop: impl FnOnce() + Send + 'static) -> ukey_sim::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|error| ukey_sim::Error::io("installing signal handlers", error))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                stop();
            }
        })
        .map_err(|error| ukey_sim::Error::io("starting the signal thread", error))?;
    Ok(())
}
