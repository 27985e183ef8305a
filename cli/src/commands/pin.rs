//! `ukey pin status|change|unblock`.

use clap::{Args, Subcommand};
use serde::Serialize;
use ukey_host::SecretState;

use crate::error::Error;
use crate::{CmdResult, Ctx, new_secret, secret};

/// Check the PIN, change it, or unblock it with the PUK.
#[derive(Subcommand, Debug)]
pub(crate) enum PinCmd {
    /// Show PIN and PUK tries left and whether they are still the defaults.
    Status(StatusArgs),
    /// Change the PIN (or, with --puk, the PUK).
    Change(ChangeArgs),
    /// Set a new PIN with the PUK, which also unblocks a blocked PIN.
    Unblock(UnblockArgs),
}

/// Arguments of `pin status`.
#[derive(Args, Debug)]
pub(crate) struct StatusArgs {}

/// Arguments of `pin change`.
#[derive(Args, Debug)]
pub(crate) struct ChangeArgs {
    /// Change the PUK instead of the PIN.
    #[arg(long)]
    puk: bool,
    /// The current value (asked without echo when not given).
    #[arg(long)]
    old: Option<String>,
    /// The new value (asked twice without echo when not given).
    #[arg(long)]
    new: Option<String>,
}

/// Arguments of `pin unblock`.
#[derive(Args, Debug)]
pub(crate) struct UnblockArgs {
    /// The PUK (asked without echo when not given).
    #[arg(long = "puk")]
    puk: Option<String>,
    /// The new PIN (asked twice without echo when not given).
    #[arg(long)]
    new: Option<String>,
}

#[derive(Serialize)]
struct Status {
    pin: SecretState,
    puk: Option<SecretState>,
}

#[derive(Serialize)]
struct Done {
    changed: &'static str,
}

fn state_text(what: &str, s: &SecretState) -> String {
    let mut line = match (s.tries_left, s.tries_total) {
        (Some(0), _) => format!("{what}: blocked"),
        (Some(left), Some(total)) => format!("{what}: {left} of {total} tries left"),
        (Some(left), None) => format!("{what}: {left} tries left"),
        _ => format!("{what}: tries unknown"),
    };
    if s.is_default == Some(true) {
        line.push_str(" (still the default: change it before first use)");
    }
    line
}

impl PinCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        match self {
            PinCmd::Status(_) => {
                let (pin, puk) = ctx.open()?.pin_and_puk()?;
                let status = Status { pin, puk };
                ctx.print(&status, |s| {
                    let mut out = state_text("PIN", &s.pin);
                    if let Some(puk) = &s.puk {
                        out.push('\n');
                        out.push_str(&state_text("PUK", puk));
                    }
                    out
                });
            }
            PinCmd::Change(args) => {
                let what = if args.puk { "PUK" } else { "PIN" };
                let mut token = ctx.open()?;
                let old = secret(args.old.as_deref(), &format!("Current {what}: "))?;
                let new = new_secret(args.new.as_deref(), what)?;
                if new == old {
                    return Err(Error::Usage(format!(
                        "the new {what} is the current one; choose another"
                    ))
                    .into());
                }
                if args.puk {
                    token.change_puk(&old, &new)?;
                } else {
                    token.change_pin(&old, &new)?;
                }
                ctx.print(&Done { changed: what }, |_| format!("{what} changed."));
            }
            PinCmd::Unblock(args) => {
                let mut token = ctx.open()?;
                let puk = secret(args.puk.as_deref(), "PUK: ")?;
                let new = new_secret(args.new.as_deref(), "PIN")?;
                token.unblock_pin(&puk, &new)?;
                ctx.print(&Done { changed: "PIN" }, |_| {
                    "PIN set and unblocked.".to_owned()
                });
            }
        }
        Ok(())
    }
}
