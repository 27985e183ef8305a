//! `ukey key import`: a key pair made elsewhere, read from a PEM or DER file, put into a
//! slot (for example the encryption key a CA made for a dual certificate).

use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;
use serde::Serialize;
use ukey_host::{Algorithm, PinPolicy, PrivateKey, Slot, TouchPolicy};

use super::{Choice, key_policy, open_for_new_key};
use crate::error::Error;
use crate::{CmdResult, Ctx, read_file};

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
    #[arg(long)]
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

impl ImportArgs {
    pub(super) fn run(&self, ctx: &Ctx) -> CmdResult {
        let bytes = zeroize::Zeroizing::new(read_file(&self.file)?);
        let private_key = PrivateKey::from_file_contents(&bytes, self.alg.0).map_err(|source| {
            Error::KeyFile {
                path: self.file.clone(),
                source,
            }
        })?;
        let (mut token, key) = open_for_new_key(ctx, self.slot, self.force)?;
        let policy = key_policy(self.pin_policy, self.touch_policy);
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
