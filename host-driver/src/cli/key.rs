//! `ukey key generate`: a new key pair made on the token.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use ukey_host::{Algorithm, KeyPolicy, PinPolicy, Slot, TouchPolicy};

use super::{CmdResult, Ctx, write_out};

/// Manage keys on the token.
#[derive(Subcommand, Debug)]
pub(crate) enum KeyCmd {
    /// Generate a key pair in a slot; the private key never leaves the token.
    Generate(GenerateArgs),
}

/// PIN policy choices.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PinPolicyArg {
    /// The slot's default.
    Default,
    /// Never ask.
    Never,
    /// Once per session.
    Once,
    /// Before every use.
    Always,
}

/// Touch policy choices.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum TouchPolicyArg {
    /// The token's default.
    Default,
    /// Never.
    Never,
    /// Before every use.
    Always,
    /// Once, then for 15 seconds.
    Cached,
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
    /// When the key asks for the PIN.
    #[arg(long, value_enum, default_value = "default")]
    pin_policy: PinPolicyArg,
    /// When the key asks for a touch.
    #[arg(long, value_enum, default_value = "default")]
    touch_policy: TouchPolicyArg,
    /// Write the public key (PEM) to this file instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Generated {
    slot: Slot,
    algorithm: Algorithm,
    public_key: String,
}

impl KeyCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let KeyCmd::Generate(args) = self;
        let key = ctx.management_key()?;
        let mut token = ctx.open()?;
        let policy = KeyPolicy {
            pin: match args.pin_policy {
                PinPolicyArg::Default => PinPolicy::Default,
                PinPolicyArg::Never => PinPolicy::Never,
                PinPolicyArg::Once => PinPolicy::Once,
                PinPolicyArg::Always => PinPolicy::Always,
            },
            touch: match args.touch_policy {
                TouchPolicyArg::Default => TouchPolicy::Default,
                TouchPolicyArg::Never => TouchPolicy::Never,
                TouchPolicyArg::Always => TouchPolicy::Always,
                TouchPolicyArg::Cached => TouchPolicy::Cached,
            },
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
}
