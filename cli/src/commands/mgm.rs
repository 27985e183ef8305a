//! `ukey mgm change`: a new management key, shown once or kept on the token under the PIN.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use ukey_host::{ManagementKey, ManagementKeyAlgorithm, ObjectId};

use crate::context::KeySource;
use crate::error::Error;
use crate::{CmdResult, Ctx, Failure, secret};

/// Change the management key, which guards key generation, certificates and settings.
#[derive(Subcommand, Debug)]
pub(crate) enum MgmCmd {
    /// Set a new management key: random unless --new gives one.
    Change(ChangeArgs),
}

/// Arguments of `mgm change`.
#[derive(Args, Debug)]
pub(crate) struct ChangeArgs {
    /// The new key's algorithm: 3des, aes128, aes192 or aes256.
    #[arg(long, default_value = "aes192")]
    alg: ManagementKeyAlgorithm,
    /// Keep the new random key on the token under the PIN (as ykman's --protect): later
    /// commands then need only the PIN.
    #[arg(long, conflicts_with_all = ["new", "out"])]
    protect: bool,
    /// The new key in hex, instead of a random one.
    #[arg(long, value_name = "HEX")]
    new: Option<String>,
    /// Write the new key (hex) to this file instead of showing it.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// The PIN, for --protect (asked without echo when not given).
    #[arg(long)]
    pin: Option<String>,
}

#[derive(Serialize)]
struct Changed {
    algorithm: ManagementKeyAlgorithm,
    protected: bool,
    /// The new key, when neither kept on the token nor written to a file.
    key: Option<String>,
}

impl MgmCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let MgmCmd::Change(args) = self;
        // The file is made before the key changes, so that a key is never set that could
        // not be written down.
        let mut out = args.out.as_deref().map(KeyFile::create).transpose()?;
        let mut token = ctx.open()?;
        let (current, source) = ctx.management_key(&mut token)?;
        let changed = if args.protect {
            let pin = secret(args.pin.as_deref(), "PIN: ")?;
            token.protect_management_key(&current, args.alg, &pin)?;
            Changed {
                algorithm: args.alg,
                protected: true,
                key: None,
            }
        } else {
            let new = match &args.new {
                Some(hex) => ManagementKey::from_hex(hex, Some(args.alg))?,
                None => ManagementKey::random(args.alg)?,
            };
            if new.is_default() {
                return Err(Error::Usage(
                    "the new management key is the well-known default; choose another".into(),
                )
                .into());
            }
            token.set_management_key(&current, &new)?;
            if source == KeySource::Protected {
                token.put_data(&new, ObjectId::PRINTED, &[])?;
            }
            let key = match out.as_mut() {
                Some(file) => {
                    file.write(&new)?;
                    None
                }
                None => Some(new.to_hex().to_string()),
            };
            Changed {
                algorithm: args.alg,
                protected: false,
                key,
            }
        };
        if let Some(file) = out {
            file.keep();
        }
        ctx.print(&changed, |c| match (&c.key, c.protected, &args.out) {
            (_, true, _) => format!(
                "New {} management key set and kept on the token under the PIN.",
                c.algorithm
            ),
            (Some(key), _, _) => format!(
                "New {} management key: {key}\nKeep it safe: without it no key or certificate \
                 can be changed (give it in UKEY_MANAGEMENT_KEY or --management-key-file).",
                c.algorithm
            ),
            (None, _, Some(out)) => format!(
                "New {} management key written to {}.",
                c.algorithm,
                out.display()
            ),
            (None, _, None) => String::new(),
        });
        Ok(())
    }
}

/// A new file, only its owner may read, for a new key; removed again unless kept.
struct KeyFile {
    path: PathBuf,
    file: Option<File>,
}

impl KeyFile {
    /// Makes the file; an existing file is left alone, since it may hold the only copy of
    /// another key.
    fn create(path: &Path) -> Result<Self, Failure> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| file_error(path, source))?;
        Ok(Self {
            path: path.to_owned(),
            file: Some(file),
        })
    }

    /// Writes `key` in hex.
    fn write(&mut self, key: &ManagementKey) -> Result<(), Failure> {
        let line = format!("{}\n", key.to_hex().as_str());
        match self.file.as_mut() {
            Some(file) => file
                .write_all(line.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|source| file_error(&self.path, source)),
            None => Ok(()),
        }
    }

    /// Keeps the file.
    fn keep(mut self) {
        self.file = None;
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn file_error(path: &Path, source: std::io::Error) -> Failure {
    Error::File {
        path: path.to_owned(),
        source,
    }
    .into()
}
