//! `ukey reset`: the token back to its factory state, the way out when both the PIN and the
//! PUK are blocked.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use serde::Serialize;

use crate::error::Error;
use crate::{CmdResult, Ctx};

/// Erase every key and certificate and return the token to its factory PIN, PUK and
/// management key. The token allows it only when the PIN and the PUK are both blocked.
#[derive(Args, Debug)]
pub(crate) struct ResetCmd {
    /// Do not ask for confirmation (for scripts).
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct Reset {
    reader: String,
    reset: bool,
}

impl ResetCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let mut token = ctx.open()?;
        let status = token.status()?;
        let puk_blocked = status.puk.as_ref().is_some_and(|puk| puk.is_blocked());
        if !status.pin.is_blocked() || !puk_blocked {
            return Err(Error::Usage(
                "a reset erases every key and certificate, so the token allows it only when \
                 both the PIN and the PUK are blocked; while one of them works, use \
                 `ukey pin unblock` or `ukey pin change` instead"
                    .into(),
            )
            .into());
        }
        if !self.force {
            confirm(&status.reader)?;
        }
        token.reset()?;
        let done = Reset {
            reader: status.reader,
            reset: true,
        };
        ctx.print(&done, |d| {
            format!(
                "The token in {} is reset: no keys or certificates, and its factory PIN, PUK \
                 and management key (123456, 12345678 and the PIV default key, unless its \
                 profile names others). Change them before use.",
                d.reader
            )
        });
        Ok(())
    }
}

/// Asks on the terminal for `RESET` to be typed; without a terminal, asks for `--force`.
fn confirm(reader: &str) -> CmdResult {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Usage(
            "a reset erases every key and certificate; add --force to reset without asking".into(),
        )
        .into());
    }
    eprint!(
        "Every key and certificate on the token in {reader} will be erased. Type RESET to go on: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|source| Error::File {
            path: "standard input".into(),
            source,
        })?;
    if answer.trim() != "RESET" {
        return Err(Error::Usage("not reset: the answer was not RESET".into()).into());
    }
    Ok(())
}
