//! `ukey key generate`: a new key pair made on the token; `ukey key move` and `ukey key
//! delete`: a key moved to another slot with its certificate, or erased.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Subcommand};
use serde::Serialize;
use ukey_host::{Algorithm, KeyPolicy, PinPolicy, Slot, Token, TouchPolicy};

use crate::error::Error;
use crate::{CmdResult, Ctx, write_out};

/// Manage keys on the token.
#[derive(Subcommand, Debug)]
pub(crate) enum KeyCmd {
    /// Generate a key pair in a slot; the private key never leaves the token.
    Generate(GenerateArgs),
    /// Move a key, and its certificate, into an empty slot.
    Move(MoveArgs),
    /// Delete the key in a slot, for good; its certificate stays.
    Delete(DeleteArgs),
}

/// A policy option: a policy's name, or `default` to leave the choice to the token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Choice<T>(Option<T>);

impl<T: FromStr> FromStr for Choice<T> {
    type Err = T::Err;

    fn from_str(text: &str) -> Result<Self, T::Err> {
        if text.trim().eq_ignore_ascii_case("default") {
            Ok(Self(None))
        } else {
            text.parse().map(|policy| Self(Some(policy)))
        }
    }
}

/// Arguments of `key generate`.
#[derive(Args, Debug)]
pub(crate) struct GenerateArgs {
    /// The slot: 9a, 9c, 9d or 9e.
    #[arg(long)]
    slot: Slot,
    /// The algorithm: sm2 or p256.
    #[arg(long)]
    alg: Algorithm,
    /// When the key asks for the PIN: never, once, always, or default (the slot's).
    #[arg(long, default_value = "default")]
    pin_policy: Choice<PinPolicy>,
    /// When the key asks for a touch: never, always, cached, or default (the token's).
    #[arg(long, default_value = "default")]
    touch_policy: Choice<TouchPolicy>,
    /// Write the public key (PEM) to this file instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Replace a key already in the slot (it is lost for good, with any use of its
    /// certificate).
    #[arg(long)]
    force: bool,
}

/// Arguments of `key move`.
#[derive(Args, Debug)]
pub(crate) struct MoveArgs {
    /// The slot the key is in: 9a, 9c, 9d or 9e.
    from: Slot,
    /// The slot to move it to; it must hold no key.
    to: Slot,
    /// Replace a certificate already in the destination slot (it is lost).
    #[arg(long)]
    force: bool,
}

/// Arguments of `key delete`.
#[derive(Args, Debug)]
pub(crate) struct DeleteArgs {
    /// The slot: 9a, 9c, 9d or 9e.
    slot: Slot,
    /// Delete it: the key is lost for good.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct Moved {
    from: Slot,
    to: Slot,
    certificate_moved: bool,
}

#[derive(Serialize)]
struct KeyDeleted {
    slot: Slot,
    certificate_kept: bool,
}

#[derive(Serialize)]
struct Generated {
    slot: Slot,
    algorithm: Algorithm,
    public_key: String,
}

impl KeyCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        match self {
            KeyCmd::Generate(args) => generate(ctx, args),
            KeyCmd::Move(args) => move_key(ctx, args),
            KeyCmd::Delete(args) => delete_key(ctx, args),
        }
    }
}

/// `key generate`: a new key pair, refused over a key unless `--force`.
fn generate(ctx: &Ctx, args: &GenerateArgs) -> CmdResult {
    let mut token = ctx.open()?;
    let (key, _) = ctx.management_key(&mut token)?;
    if !args.force {
        refuse_replacing(&mut token, args.slot)?;
    }
    let policy = KeyPolicy {
        pin: args.pin_policy.0,
        touch: args.touch_policy.0,
    };
    ctx.progress(&format!(
        "Generating a {} key in slot {} on the token…",
        args.alg, args.slot
    ));
    let public = token.generate(&key, args.slot, args.alg, policy)?;
    let pem = public.to_pem()?;
    if let Some(path) = &args.out {
        write_out(Some(path), pem.as_bytes())?;
    }
    let generated = Generated {
        slot: args.slot,
        algorithm: args.alg,
        public_key: pem,
    };
    ctx.print(&generated, |g| match &args.out {
        Some(path) => format!(
            "New {} key in slot {}; public key written to {}.",
            g.algorithm,
            g.slot,
            path.display()
        ),
        None => g.public_key.clone(),
    });
    Ok(())
}

/// `key move`: the token moves the key; its certificate follows. A certificate in the
/// destination would be lost, so it takes `--force`.
fn move_key(ctx: &Ctx, args: &MoveArgs) -> CmdResult {
    let mut token = ctx.open()?;
    let (from, to) = (args.from, args.to);
    if from == to {
        return Err(Error::Usage("a key moves to another slot".into()).into());
    }
    if token.key_metadata(from)?.is_none() {
        return Err(Error::Usage(format!("slot {from} holds no key")).into());
    }
    if token.key_metadata(to)?.is_some() {
        return Err(Error::Usage(format!(
            "slot {to} already holds a key; delete it first (ukey key delete {to})"
        ))
        .into());
    }
    if !args.force && token.certificate(to)?.is_some() {
        return Err(Error::Usage(format!(
            "slot {to} holds a certificate, which the move replaces for good              (--force moves anyway)"
        ))
        .into());
    }
    let certificate_moved = token.certificate(from)?.is_some();
    let (key, _) = ctx.management_key(&mut token)?;
    token.move_slot(&key, from, to)?;
    let moved = Moved {
        from,
        to,
        certificate_moved,
    };
    ctx.print(&moved, |m| {
        let with = if m.certificate_moved {
            " with its certificate"
        } else {
            ""
        };
        format!("Moved the key in slot {}{with} to slot {}.", m.from, m.to)
    });
    Ok(())
}

/// `key delete`: the key is lost for good, so it always takes `--force`; the certificate
/// stays (`ukey cert delete` removes it).
fn delete_key(ctx: &Ctx, args: &DeleteArgs) -> CmdResult {
    let mut token = ctx.open()?;
    let slot = args.slot;
    if token.key_metadata(slot)?.is_none() {
        return Err(Error::Usage(format!("slot {slot} holds no key")).into());
    }
    if !args.force {
        return Err(Error::Usage(format!(
            "deleting the key in slot {slot} loses it for good (--force deletes it)"
        ))
        .into());
    }
    let certificate_kept = token.certificate(slot)?.is_some();
    let (key, _) = ctx.management_key(&mut token)?;
    token.delete_key(&key, slot)?;
    let deleted = KeyDeleted {
        slot,
        certificate_kept,
    };
    ctx.print(&deleted, |d| {
        if d.certificate_kept {
            format!(
                "Deleted the key in slot {0}; its certificate stays (ukey cert delete --slot {0} \
                 removes it).",
                d.slot
            )
        } else {
            format!("Deleted the key in slot {}.", d.slot)
        }
    });
    Ok(())
}

/// Refuses to generate over a key in `slot`: the old key would be lost for good, and a
/// certificate issued for it left useless.
fn refuse_replacing(token: &mut Token, slot: Slot) -> CmdResult {
    if token.key_metadata(slot)?.is_none() {
        return Ok(());
    }
    let certificate = if token.certificate(slot)?.is_some() {
        " and the certificate issued for it would no longer match"
    } else {
        ""
    };
    Err(Error::Usage(format!(
        "slot {slot} already holds a key; a new one replaces it for good{certificate} \
         (--force replaces it anyway)"
    ))
    .into())
}
