//! `ukey cert import|export|delete`: certificates in the token's slots.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;
use ukey_cert::{CertificateInfo, certificate_public_key, read_der_or_pem, to_pem};
use ukey_host::{Error as TokenError, PublicKey, Slot, Token};

use super::info::certificate_text;
use crate::error::Error;
use crate::{CmdResult, Ctx, Failure, write_out};

/// Put a certificate on the token or take a copy of one.
#[derive(Subcommand, Debug)]
pub(crate) enum CertCmd {
    /// Store a certificate (PEM or DER) in a slot.
    Import(ImportArgs),
    /// Write the certificate of a slot (PEM, or DER with --der).
    Export(ExportArgs),
    /// Remove the certificate of a slot (the key stays).
    Delete(DeleteArgs),
}

/// Arguments of `cert delete`.
#[derive(Args, Debug)]
pub(crate) struct DeleteArgs {
    /// The slot.
    #[arg(long)]
    slot: Slot,
    /// Delete it even if it is still the certificate of the slot's key.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct Deleted {
    slot: Slot,
    certificate: Option<CertificateInfo>,
}

/// Arguments of `cert import`.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// The slot.
    #[arg(long)]
    slot: Slot,
    /// The certificate file.
    file: PathBuf,
    /// Store it even if it is not for the key in the slot.
    #[arg(long)]
    force: bool,
}

/// Arguments of `cert export`.
#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// The slot.
    #[arg(long)]
    slot: Slot,
    /// Write DER instead of PEM.
    #[arg(long)]
    der: bool,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Imported {
    slot: Slot,
    certificate: CertificateInfo,
}

#[derive(Serialize)]
struct Exported {
    slot: Slot,
    certificate: CertificateInfo,
    pem: String,
}

impl CertCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        match self {
            CertCmd::Import(args) => {
                let der = read_der_or_pem(&args.file)?;
                let info = CertificateInfo::from_der(&der)?;
                let cert_key = certificate_public_key(&der)?;
                let mut token = ctx.open()?;
                let (key, _) = ctx.management_key(&mut token)?;
                if !args.force {
                    match token.key_metadata(args.slot)? {
                        Some(meta) if meta.public_key == cert_key => {}
                        Some(_) => {
                            return Err(Error::Usage(format!(
                                    "this certificate is not for the key in slot {}; applications could not use it (--force stores it anyway)",
                                    args.slot
                                ))
                            .into());
                        }
                        None => {
                            return Err(Error::Usage(format!(
                                    "slot {} has no key for this certificate (--force stores it anyway)",
                                    args.slot
                                ))
                            .into());
                        }
                    }
                    refuse_replacing_valid(&mut token, args.slot, &der, &cert_key)?;
                }
                ctx.progress("Writing the certificate to the token…");
                token.import_certificate(&key, args.slot, &der)?;
                let out = Imported {
                    slot: args.slot,
                    certificate: info,
                };
                ctx.print(&out, |o| {
                    format!(
                        "Certificate stored in slot {}:\n{}",
                        o.slot,
                        certificate_text(&o.certificate, "  ")
                    )
                });
                Ok(())
            }
            CertCmd::Export(args) => {
                let mut token = ctx.open()?;
                let der = stored_certificate(&mut token, args.slot)?;
                let bytes = if args.der {
                    der.clone()
                } else {
                    to_pem("CERTIFICATE", &der)?.into_bytes()
                };
                if ctx.json {
                    if let Some(path) = &args.out {
                        write_out(Some(path), &bytes)?;
                    }
                    let out = Exported {
                        slot: args.slot,
                        certificate: CertificateInfo::from_der(&der)?,
                        pem: to_pem("CERTIFICATE", &der)?,
                    };
                    ctx.print(&out, |_| String::new());
                } else {
                    write_out(args.out.as_deref(), &bytes)?;
                }
                Ok(())
            }
            CertCmd::Delete(args) => {
                let mut token = ctx.open()?;
                let der = stored_certificate(&mut token, args.slot)?;
                if !args.force {
                    refuse_deleting_valid(&mut token, args.slot, &der)?;
                }
                let (key, _) = ctx.management_key(&mut token)?;
                token.delete_certificate(&key, args.slot)?;
                let out = Deleted {
                    slot: args.slot,
                    certificate: CertificateInfo::from_der(&der).ok(),
                };
                ctx.print(&out, |d| match &d.certificate {
                    Some(c) => format!(
                        "Deleted the certificate of {} from slot {}.",
                        c.subject, d.slot
                    ),
                    None => format!("Deleted the certificate from slot {}.", d.slot),
                });
                Ok(())
            }
        }
    }
}

/// The certificate stored in `slot`; none is [`TokenError::NotFound`].
fn stored_certificate(token: &mut Token, slot: Slot) -> Result<Vec<u8>, Failure> {
    token.certificate(slot)?.ok_or_else(|| {
        TokenError::NotFound {
            what: format!("a certificate in slot {slot}"),
        }
        .into()
    })
}

/// Refuses to delete the certificate `der` of `slot` while it is the certificate of the
/// slot's key: applications could no longer use the key.
fn refuse_deleting_valid(token: &mut Token, slot: Slot, der: &[u8]) -> CmdResult {
    let key = token.key_metadata(slot)?.map(|meta| meta.public_key);
    if key.is_none() || certificate_public_key(der).ok() != key {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "the certificate in slot {slot} is the one of its key; applications could no longer use \
         the key without it (--force deletes it anyway)"
    ))
    .into())
}

/// Refuses to write over a different certificate in `slot` that is still for the slot's key
/// (`key`): it would be lost. A certificate left over from a replaced key may go.
fn refuse_replacing_valid(token: &mut Token, slot: Slot, new: &[u8], key: &PublicKey) -> CmdResult {
    let Some(old) = token.certificate(slot)? else {
        return Ok(());
    };
    if old == new || certificate_public_key(&old).ok().as_ref() != Some(key) {
        return Ok(());
    }
    let holder = CertificateInfo::from_der(&old)
        .map(|info| format!(" ({}, valid until {})", info.subject, info.not_after))
        .unwrap_or_default();
    Err(Error::Usage(format!(
        "slot {slot} already holds a certificate for its key{holder}; --force replaces it"
    ))
    .into())
}
