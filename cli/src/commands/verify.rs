//! `ukey verify`: checks a detached signature of a file, raw or CMS.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use ukey_cert::{
    CertificateInfo, certificate_public_key, der_or_pem, read_der_or_pem, verify_cms_detached,
    verify_issued_by,
};
use ukey_host::{DEFAULT_SIGNER_ID, Error as TokenError, PublicKey, Slot};

use super::info::certificate_text;
use crate::error::Error;
use crate::{CmdResult, Ctx, Failure, read_file};

/// Check a detached signature of a file.
#[derive(Args, Debug)]
pub(crate) struct VerifyCmd {
    /// The signed file.
    file: PathBuf,
    /// The signature (default: FILE.sig, or FILE.p7s with --cms).
    #[arg(long)]
    signature: Option<PathBuf>,
    /// The signature is detached CMS (it carries the signer's certificate).
    #[arg(long)]
    cms: bool,
    /// With --cms: also check that the signer's certificate was issued by this CA.
    #[arg(long, value_name = "CA_CERT")]
    ca: Option<PathBuf>,
    /// The signer's certificate (raw signatures).
    #[arg(long, conflicts_with_all = ["pubkey", "slot"])]
    cert: Option<PathBuf>,
    /// The signer's public key, PEM or DER SubjectPublicKeyInfo (raw signatures).
    #[arg(long, conflicts_with = "slot")]
    pubkey: Option<PathBuf>,
    /// Take the public key from this slot of the token (raw signatures).
    #[arg(long)]
    slot: Option<Slot>,
    /// The SM2 signer ID.
    #[arg(long, default_value = DEFAULT_SIGNER_ID)]
    signer_id: String,
}

#[derive(Serialize)]
struct Verified {
    valid: bool,
    algorithm: ukey_host::Algorithm,
    signer: Option<CertificateInfo>,
}

impl VerifyCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let content = read_file(&self.file)?;
        let default_ext = if self.cms { ".p7s" } else { ".sig" };
        let sig_path = self.signature.clone().unwrap_or_else(|| {
            let mut name = self.file.as_os_str().to_owned();
            name.push(default_ext);
            PathBuf::from(name)
        });
        let signature = read_file(&sig_path)?;
        let (public_key, cert_der) = if self.cms {
            let cert = verify_cms_detached(&content, &der_or_pem(&signature)?)?;
            if let Some(ca) = &self.ca {
                let ca_der = read_der_or_pem(ca)?;
                naming(ca, certificate_public_key(&ca_der))?;
                verify_issued_by(&cert, &ca_der)?;
            }
            (certificate_public_key(&cert)?, Some(cert))
        } else {
            let (key, cert) = self.raw_key(ctx)?;
            key.verify(&content, &signature, &self.signer_id)?;
            (key, cert)
        };
        let report = Verified {
            valid: true,
            algorithm: public_key.algorithm(),
            signer: cert_der
                .as_deref()
                .map(CertificateInfo::from_der)
                .transpose()?,
        };
        ctx.print(&report, |r| {
            let mut out = format!("Signature OK ({}).\n", r.algorithm);
            if let Some(c) = &r.signer {
                out.push_str("Signer:\n");
                out.push_str(&certificate_text(c, "  "));
            }
            out
        });
        Ok(())
    }

    fn raw_key(&self, ctx: &Ctx) -> Result<(PublicKey, Option<Vec<u8>>), Failure> {
        if let Some(path) = &self.cert {
            let der = read_der_or_pem(path)?;
            return Ok((naming(path, certificate_public_key(&der))?, Some(der)));
        }
        if let Some(path) = &self.pubkey {
            let der = read_der_or_pem(path)?;
            return Ok((naming(path, PublicKey::from_spki_der(&der))?, None));
        }
        let Some(slot) = self.slot else {
            return Err(Error::Usage(
                "say whose signature it is: --cert, --pubkey or --slot (or use --cms)".into(),
            )
            .into());
        };
        let mut token = ctx.open()?;
        let meta = token
            .key_metadata(slot)?
            .ok_or_else(|| TokenError::NotFound {
                what: format!("a key in slot {slot}"),
            })?;
        let cert = token.certificate(slot)?;
        Ok((meta.public_key, cert))
    }
}

/// A file given on the command line that does not hold what it should: the error names it.
fn naming<T, E: std::fmt::Display>(path: &Path, read: Result<T, E>) -> Result<T, Failure> {
    read.map_err(|error| Failure::from(Error::Usage(format!("{}: {error}", path.display()))))
}
