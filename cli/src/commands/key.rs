//! `ukey key generate`: a new key pair made on the token; `ukey key import`: a key pair made
//! elsewhere, read from a PEM or DER file, put into a slot.

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Subcommand};
use serde::Serialize;
use ukey_host::{Algorithm, KeyPolicy, PinPolicy, PrivateKey, Slot, Token, TouchPolicy};

use crate::error::Error;
use crate::{CmdResult, Ctx, read_file, write_out};

/// Manage keys on the token.
#[derive(Subcommand, Debug)]
pub(crate) enum KeyCmd {
    /// Generate a key pair in a slot; the private key never leaves the token.
    Generate(GenerateArgs),
    /// Import a P-256 or SM2 private key from a file (PKCS#8 or SEC1, PEM or DER) into a
    /// slot, for example the encryption key a CA made for a dual certificate.
    Import(ImportArgs),
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

/// The `--alg` of `key import`: a curve, or `auto` to take it from the file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyAlgorithm(Option<Algorithm>);

impl FromStr for KeyAlgorithm {
    type Err = <Algorithm as FromStr>::Err;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().eq_ignore_ascii_case("auto") {
            Ok(Self(None))
        } else {
            text.parse().map(|algorithm| Self(Some(algorithm)))
        }
    }
}

/// Arguments of `key import`.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// The slot: 9a, 9c, 9d or 9e.
    slot: Slot,
    /// The private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), PEM or DER, not
    /// encrypted.
    file: PathBuf,
    /// The key's curve: p256, sm2, or auto (from the file; a SEC1 key without curve
    /// parameters needs it named).
    #[arg(long, default_value = "auto")]
    alg: KeyAlgorithm,
    /// When the key asks for the PIN: never, once, always, or default (the slot's).
    #[arg(long, default_value = "default")]
    pin_policy: Choice<PinPolicy>,
    /// When the key asks for a touch: never, always, cached, or default (the token's).
    #[arg(long, default_value = "default")]
    touch_policy: Choice<TouchPolicy>,
    /// Replace a key already in the slot (it is lost for good, with any use of its
    /// certificate).
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct Imported {
    slot: Slot,
    algorithm: Algorithm,
    public_key: String,
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
            KeyCmd::Generate(args) => args.run(ctx),
            KeyCmd::Import(args) => args.run(ctx),
        }
    }
}

impl ImportArgs {
    fn run(&self, ctx: &Ctx) -> CmdResult {
        let bytes = zeroize::Zeroizing::new(read_file(&self.file)?);
        let private_key = PrivateKey::from_file_contents(&bytes, self.alg.0).map_err(|source| {
            Error::KeyFile {
                path: self.file.clone(),
                source,
            }
        })?;
        let mut token = ctx.open()?;
        let (key, _) = ctx.management_key(&mut token)?;
        if !self.force {
            refuse_replacing(&mut token, self.slot)?;
        }
        let policy = KeyPolicy {
            pin: self.pin_policy.0,
            touch: self.touch_policy.0,
        };
        ctx.progress(&format!(
            "Importing the {} key into slot {} of the token…",
            private_key.algorithm(),
            self.slot
        ));
        let public = token.import_key(&key, self.slot, &private_key, policy)?;
        let imported = Imported {
            slot: self.slot,
            algorithm: public.algorithm(),
            public_key: public.to_pem()?,
        };
        ctx.print(&imported, |i| {
            format!(
                "Imported the {} key of {} into slot {}.",
                i.algorithm,
                self.file.display(),
                i.slot
            )
        });
        Ok(())
    }
}

impl GenerateArgs {
    fn run(&self, ctx: &Ctx) -> CmdResult {
        let mut token = ctx.open()?;
        let (key, _) = ctx.management_key(&mut token)?;
        if !self.force {
            refuse_replacing(&mut token, self.slot)?;
        }
        let policy = KeyPolicy {
            pin: self.pin_policy.0,
            touch: self.touch_policy.0,
        };
        ctx.progress(&format!(
            "Generating a {} key in slot {} on the token…",
            self.alg, self.slot
        ));
        let public = token.generate(&key, self.slot, self.alg, policy)?;
        let pem = public.to_pem()?;
        if let Some(path) = &self.out {
            write_out(Some(path), pem.as_bytes())?;
        }
        let generated = Generated {
            slot: self.slot,
            algorithm: self.alg,
            public_key: pem,
        };
        ctx.print(&generated, |g| match &self.out {
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
