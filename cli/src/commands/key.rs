//! `ukey key`: a key pair generated on the token (here), imported from a file
//! ([`import`]), moved to another slot or deleted ([`relocate`]).

mod import;
mod relocate;

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Subcommand};
use serde::Serialize;
use ukey_host::{Algorithm, KeyPolicy, ManagementKey, PinPolicy, Slot, Token, TouchPolicy};

use crate::error::Error;
use crate::{CmdResult, Ctx, Failure, write_out};

/// Manage keys on the token.
#[derive(Subcommand, Debug)]
pub(crate) enum KeyCmd {
    /// Generate a key pair in a slot; the private key never leaves the token.
    Generate(GenerateArgs),
    /// Import a P-256 or SM2 private key from a file (PKCS#8 or SEC1, PEM or DER) into a
    /// slot, for example the encryption key a CA made for a dual certificate.
    Import(import::ImportArgs),
    /// Move a key, and its certificate, into an empty slot.
    Move(relocate::MoveArgs),
    /// Delete the key in a slot, for good; its certificate stays.
    Delete(relocate::DeleteArgs),
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
            KeyCmd::Import(args) => args.run(ctx),
            KeyCmd::Move(args) => relocate::move_key(ctx, args),
            KeyCmd::Delete(args) => relocate::delete_key(ctx, args),
        }
    }
}

/// `key generate`: a new key pair, refused over a key unless `--force`.
fn generate(ctx: &Ctx, args: &GenerateArgs) -> CmdResult {
    let (mut token, key) = open_for_new_key(ctx, args.slot, args.force)?;
    let policy = key_policy(args.pin_policy, args.touch_policy);
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

/// The token and its management key, ready for a new key, generated or imported, in
/// `slot`; unless `force`, refused when the slot holds a key already.
fn open_for_new_key(ctx: &Ctx, slot: Slot, force: bool) -> Result<(Token, ManagementKey), Failure> {
    let mut token = ctx.open()?;
    let (key, _) = ctx.management_key(&mut token)?;
    if !force {
        refuse_replacing(&mut token, slot)?;
    }
    Ok((token, key))
}

/// The policies a new key gets from the `--pin-policy` and `--touch-policy` options.
fn key_policy(pin: Choice<PinPolicy>, touch: Choice<TouchPolicy>) -> KeyPolicy {
    KeyPolicy {
        pin: pin.0,
        touch: touch.0,
    }
}

/// Refuses to put a new key, generated or imported, over a key in `slot`: the old key would
/// be lost for good, and a certificate issued for it left useless.
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
