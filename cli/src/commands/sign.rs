//! `ukey sign`: a detached signature of a file, raw (DER `SEQUENCE { r, s }`, what
//! `openssl pkeyutl -verify` and `openssl dgst -verify` read) or CMS.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use ukey_cert::{CmsOptions, sign_cms_detached};
use ukey_host::{DEFAULT_SIGNER_ID, Error as TokenError, Signer, Slot, Token};

use crate::{CmdResult, Ctx, Failure, read_file, refuse_overwriting, secret, write_out};

/// Sign a file with a key on the token (detached signature).
#[derive(Args, Debug)]
pub(crate) struct SignCmd {
    /// The file to sign.
    file: PathBuf,
    /// The slot whose key signs.
    #[arg(long, default_value = "9c")]
    slot: Slot,
    /// Write a detached CMS signature (DER) with the slot's certificate.
    #[arg(long)]
    cms: bool,
    #[command(flatten)]
    signing: SigningArgs,
    /// Where to write the signature (default: FILE.sig, or FILE.p7s with --cms).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// How to sign with a key on the token: the PIN and the SM2 signer ID.
#[derive(Args, Debug)]
pub(crate) struct SigningArgs {
    /// The PIN (asked without echo when the key needs it and it is not given).
    #[arg(long)]
    pin: Option<String>,
    /// The SM2 signer ID.
    #[arg(long, default_value = DEFAULT_SIGNER_ID)]
    signer_id: String,
}

impl SigningArgs {
    /// A signer for `slot` with the PIN when its key asks for one: from the option, or
    /// asked for.
    pub(crate) fn signer<'t>(
        &self,
        ctx: &Ctx,
        token: &'t mut Token,
        slot: Slot,
    ) -> Result<Signer<'t>, Failure> {
        let mut signer = token.signer(slot)?.with_signer_id(&self.signer_id);
        if signer.needs_pin() {
            let pin = secret(self.pin.as_deref(), "PIN: ")?;
            if pin.is_factory_default() {
                eprintln!(
                    "warning: the PIN is a factory value that anyone may try; change it with \
                     `ukey pin change`"
                );
            }
            signer = signer.with_pin(pin);
        }
        ctx.progress("Signing on the token…");
        Ok(signer)
    }
}

#[derive(Serialize)]
struct Signature {
    file: PathBuf,
    signature_file: PathBuf,
    algorithm: ukey_host::Algorithm,
    format: &'static str,
}

fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(ext);
    PathBuf::from(name)
}

impl SignCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let ext = if self.cms { ".p7s" } else { ".sig" };
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| with_extension(&self.file, ext));
        refuse_overwriting(&out, &[&self.file])?;
        let content = read_file(&self.file)?;
        let mut token = ctx.open()?;
        let certificate = if self.cms {
            Some(
                token
                    .certificate(self.slot)?
                    .ok_or_else(|| TokenError::NotFound {
                        what: format!(
                            "a certificate in slot {} (a CMS signature carries one)",
                            self.slot
                        ),
                    })?,
            )
        } else {
            None
        };
        let mut signer = self.signing.signer(ctx, &mut token, self.slot)?;
        let algorithm = signer.algorithm();
        let (bytes, format) = match &certificate {
            Some(cert) => (
                sign_cms_detached(&content, cert, &mut signer, &CmsOptions::default())?,
                "cms",
            ),
            None => (signer.sign(&content)?, "raw"),
        };
        write_out(Some(&out), &bytes)?;
        let report = Signature {
            file: self.file.clone(),
            signature_file: out,
            algorithm,
            format,
        };
        ctx.print(&report, |r| {
            format!(
                "Signed {} with the {} key in slot {}; signature written to {}.",
                r.file.display(),
                r.algorithm,
                self.slot,
                r.signature_file.display()
            )
        });
        Ok(())
    }
}
