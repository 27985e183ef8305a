//! `ukey wait`: waits until a ukey token is plugged in (in the reader `--reader` names, or
//! with the serial `--serial` gives), prints it as `ukey list` does and exits 0; exits 4
//! when none came in time. What stands in the way meanwhile (no pcscd, no reader) is
//! printed on stderr as it changes.

use std::time::Duration;

use clap::Args;
use ukey_host::wait_for_token;

use crate::commands::list::describe;
use crate::{CmdResult, Ctx};

/// Wait until a ukey token is present.
#[derive(Args, Debug)]
pub(crate) struct WaitCmd {
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
}

impl WaitCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let timeout = Duration::try_from_secs_f64(self.timeout).map_err(|_| {
            ukey_host::Error::InvalidInput {
                message: format!("--timeout {} is not a number of seconds", self.timeout),
            }
        })?;
        let found = wait_for_token(&ctx.selector, timeout, |problem| {
            eprintln!("ukey: still waiting: {problem}");
        })?;
        ctx.print(&found, describe);
        Ok(())
    }
}
