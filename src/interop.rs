//! The interop suite's harness: the clients people use with a PIV token (pcsc-tools,
//! OpenSC and its PKCS#11 module, yubico-piv-tool, OpenSSL, `ukey`) against a simulated
//! ukey token in a private pcscd, on every link.
//!
//! A [`Session`] is one fresh token alone in a private pcscd. Each client invocation is a
//! step ([`Session::run`]); a failing step ([`Failure`]) names the client,
//! the link and the step, and shows the client's output with the APDUs the token saw
//! during that step, as `ukey-sim -v` prints them.

mod certify;
mod exchange;
mod failure;
mod openssl;
mod pem;
mod raw;
mod scratch;
mod session;
mod step;

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

/// The links each client is run on: straight to the applet, through the emulated USB CCID
/// device, and on the QEMU Cortex-M4 board (whose image `scripts/test.sh` builds first). A
/// new link is added here, and every interop test runs on it.
pub const LINKS: &[LinkKind] = &[LinkKind::Direct, LinkKind::Ccid, LinkKind::Qemu];

/// OpenSC's PKCS#11 module (Debian package opensc-pkcs11), in the multiarch directory.
pub fn opensc_pkcs11() -> String {
    format!(
        "/usr/lib/{}-linux-gnu/opensc-pkcs11.so",
        std::env::consts::ARCH
    )
}
