//! ukey-cert: certificates and signatures in X.509 and CMS for ukey tokens, over the
//! driver `ukey-host`: certificates read as a certificate assistant shows them (holder,
//! validity, renewal), PKCS#10 requests signed on the token, a local test CA, detached CMS
//! signatures, and the Chinese organisation codes found in subjects ([`uscc`]).
//!
//! Signing goes through [`MessageSigner`]: the token's [`Signer`](ukey_host::Signer) or a
//! software key ([`SoftwareKey`], for the test CA). Either way the signer gets the whole
//! message and hashes it as its algorithm wants (SHA-256, or SM3 over Z_A and the message).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod algorithms;
mod ca;
mod cert;
mod cms;
mod csr;
mod error;
mod name;
mod pem;
mod signer;
#[cfg(test)]
mod tests;
pub mod uscc;

pub use algorithms::{ECDSA_WITH_SHA256, SM2_WITH_SM3};
pub use ca::{KeyUse, LocalCa};
pub use cert::{
    CertificateInfo, RENEW_DAYS, Renewal, certificate_public_key, days_until, verify_issued_by,
};
pub use cms::{CmsOptions, sign_cms_detached, verify_cms_detached};
pub use csr::{build_csr, verify_csr};
pub use error::{Error, Result};
pub use name::parse_name;
pub use pem::{der_or_pem, read_der_or_pem, to_pem};
pub use signer::{MessageSigner, SoftwareKey};
