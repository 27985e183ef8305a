//! `ukey ca init|issue`: a local test CA in a directory.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;
use ukey_cert::{CertificateInfo, KeyUse, LocalCa, parse_name, read_der_or_pem, to_pem};
use ukey_host::Algorithm;

use super::info::certificate_text;
use crate::{CmdResult, Ctx, refuse_overwriting, write_out};

/// A local test CA that turns requests into certificates.
#[derive(Subcommand, Debug)]
pub(crate) enum CaCmd {
    /// Create a CA: a software key and a self-signed certificate in a directory.
    Init(InitArgs),
    /// Issue a certificate for a request (PKCS#10, PEM or DER).
    Issue(IssueArgs),
}

/// Arguments of `ca init`.
#[derive(Args, Debug)]
pub(crate) struct InitArgs {
    /// The directory that keeps the CA (ca.key, ca.crt).
    #[arg(long)]
    dir: PathBuf,
    /// The CA key's algorithm: sm2 or p256.
    #[arg(long, default_value = "p256")]
    alg: Algorithm,
    /// The CA's name.
    #[arg(long, default_value = "CN=ukey test CA,O=ukey,C=CN")]
    subject: String,
    /// Days the CA certificate is valid.
    #[arg(long, default_value_t = 3650)]
    days: u32,
}

/// Arguments of `ca issue`.
#[derive(Args, Debug)]
pub(crate) struct IssueArgs {
    /// The directory that keeps the CA.
    #[arg(long)]
    dir: PathBuf,
    /// The certificate request.
    request: PathBuf,
    /// Days the certificate is valid.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// What the key is for: signing (9A, 9C) or encryption (9D: key agreement, which OpenSC
    /// needs to offer the key for ECDH).
    #[arg(long, default_value = "signing")]
    usage: KeyUse,
    /// Write the certificate (PEM) here instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Created {
    dir: PathBuf,
    certificate: CertificateInfo,
    certificate_file: PathBuf,
}

#[derive(Serialize)]
struct Issued {
    certificate: CertificateInfo,
    pem: String,
}

impl CaCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        match self {
            CaCmd::Init(args) => {
                let subject = parse_name(&args.subject)?;
                let ca = LocalCa::init(&args.dir, args.alg, subject, args.days)?;
                let out = Created {
                    dir: args.dir.clone(),
                    certificate: CertificateInfo::from_der(&ca.certificate_der()?)?,
                    certificate_file: ca.certificate_path(),
                };
                ctx.print(&out, |c| {
                    format!(
                        "Test CA created in {} (certificate: {}).\n{}",
                        c.dir.display(),
                        c.certificate_file.display(),
                        certificate_text(&c.certificate, "  ")
                    )
                });
            }
            CaCmd::Issue(args) => {
                let mut ca = LocalCa::open(&args.dir)?;
                if let Some(path) = &args.out {
                    let [key, certificate] = ca.files();
                    refuse_overwriting(path, &[&args.request, &key, &certificate])?;
                }
                let request = read_der_or_pem(&args.request)?;
                let der = ca.issue(&request, args.days, args.usage)?;
                let pem = to_pem("CERTIFICATE", &der)?;
                if let Some(path) = &args.out {
                    write_out(Some(path), pem.as_bytes())?;
                }
                let out = Issued {
                    certificate: CertificateInfo::from_der(&der)?,
                    pem,
                };
                ctx.print(&out, |i| match &args.out {
                    Some(path) => format!(
                        "Certificate written to {}:\n{}",
                        path.display(),
                        certificate_text(&i.certificate, "  ")
                    ),
                    None => i.pem.clone(),
                });
            }
        }
        Ok(())
    }
}
