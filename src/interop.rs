//! The interop suite's harness: the clients people use with a PIV token (pcsc-tools,
//! OpenSC and its PKCS#11 module, yubico-piv-tool, OpenSSL, `ukey`) against a simulated
//! ukey token in a private pcscd, on every link; or, with `UKEY_TEST_READER` set, against
//! the token in that reader of the system's pcscd ([`targets`]).
//!
//! A [`Session`] is one token in factory state: a fresh simulated one alone in a private
//! pcscd, or the reader's, reset through the card edge. Each client invocation is a step
//! ([`Session::run`]); a failing step ([`Failure`]) names the client, the target and the
//! step, and shows the client's output with the APDUs of that step: as the simulated token
//! saw them (`ukey-sim -v`), or as the clients sent them to a reader (pcsc-lite's spy).

mod certify;
mod exchange;
mod factory;
mod failure;
mod openssl;
mod pem;
mod raw;
mod reader;
mod scratch;
mod session;
mod spy;
mod step;
mod target;

use ukey_sim::LinkKind;

pub use certify::{Certified, certify};
pub use exchange::Exchange;
pub use failure::{Failure, InStep};
pub use openssl::{
    dgst_verify, openssl_engine, private_key_uri, public_key_der, self_signed_certificate,
};
pub use pem::pem_body;
pub use raw::metadata;
pub use session::Session;
pub use step::Ran;
pub use target::{READER_ENV, Target, targets};

/// The links each client is run on: straight to the applet, through the emulated USB CCID
/// device, and on the QEMU Cortex-M4 board (whose image `scripts/test.sh` builds first). A
/// new link is added here, and every interop test runs on it (unless a real reader replaces
/// them all: [`targets`]).
pub const LINKS: &[LinkKind] = &[LinkKind::Direct, LinkKind::Ccid, LinkKind::Qemu];

/// OpenSC's PKCS#11 module (Debian package opensc-pkcs11), in the multiarch directory.
pub fn opensc_pkcs11() -> String {
    format!(
        "/usr/lib/{}-linux-gnu/opensc-pkcs11.so",
        std::env::consts::ARCH
    )
}
