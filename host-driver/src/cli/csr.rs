//! `ukey csr`: a certificate request signed by a key on the token.

use std::path::PathBuf;

use clap::Args;
use der::Encode;
use serde::Serialize;
use ukey_host::x509::{TokenSigner, build_csr, parse_name, to_pem};
use ukey_host::{DEFAULT_SIGNER_ID, Slot};

use super::sign::signing_pin;
use super::{CmdResult, Ctx, Failure, write_out};

/// Make a certificate request (PKCS#10) signed by a key on the token.
#[derive(Args, Debug)]
pub(crate) struct CsrCmd {
    /// The slot whose key the request is for.
    #[arg(long)]
    slot: Slot,
    /// The subject, as `CN=Zhang San,O=Example,C=CN` or `/C=CN/O=Example/CN=Zhang San`.
    #[arg(long)]
    subject: String,
    /// The PIN (asked without echo when the key needs it and it is not given).
    #[arg(long)]
    pin: Option<String>,
    /// The SM2 signer ID.
    #[arg(long, default_value = DEFAULT_SIGNER_ID)]
    signer_id: String,
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
        let pin = signing_pin(&mut token, self.slot, self.pin.as_deref())?;
        ctx.progress("Signing the request on the token…");
        let mut signer = TokenSigner::new(&mut token, self.slot, pin, &self.signer_id)?;
        let request = build_csr(subject, &mut signer)?;
        let der = request
            .to_der()
            .map_err(|e| Failure::from(ukey_host::Error::from(e)))?;
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
