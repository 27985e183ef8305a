//! `ukey csr`: a certificate request signed by a key on the token.

use std::path::PathBuf;

use clap::Args;
use der::Encode;
use serde::Serialize;
use ukey_cert::{build_csr, parse_name, to_pem};
use ukey_host::Slot;

use super::sign::SigningArgs;
use crate::{CmdResult, Ctx, Failure, write_out};

/// Make a certificate request (PKCS#10) signed by a key on the token.
#[derive(Args, Debug)]
pub(crate) struct CsrCmd {
    /// The slot whose key the request is for.
    #[arg(long)]
    slot: Slot,
    /// The subject, as `CN=Zhang San,O=Example,C=CN` or `/C=CN/O=Example/CN=Zhang San`.
    #[arg(long)]
    subject: String,
    #[command(flatten)]
    signing: SigningArgs,
    /// Write the request (PEM) to this file instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
struct Request {
    slot: Slot,
    subject: String,
    request: String,
}

impl CsrCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let subject = parse_name(&self.subject)?;
        let mut token = ctx.open()?;
        let mut signer = self.signing.signer(ctx, &mut token, self.slot)?;
        let request = build_csr(subject, &mut signer)?;
        let der = request
            .to_der()
            .map_err(|e| Failure::from(ukey_cert::Error::from(e)))?;
        let pem = to_pem("CERTIFICATE REQUEST", &der)?;
        if let Some(path) = &self.out {
            write_out(Some(path), pem.as_bytes())?;
        }
        let out = Request {
            slot: self.slot,
            subject: self.subject.clone(),
            request: pem,
        };
        ctx.print(&out, |r| match &self.out {
            Some(path) => format!("Certificate request written to {}.", path.display()),
            None => r.request.clone(),
        });
        Ok(())
    }
}
