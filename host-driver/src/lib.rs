//! ukey-host: the host side of ukey tokens over PC/SC.
//!
//! [`Token`] speaks the ukey card edge (the PIV card edge of NIST SP 800-73-4 with SM2 as
//! algorithm 54): PINs, keys, signatures, certificates and the vendor objects. [`readers`]
//! and [`Token::open`] find tokens. The [`x509`] module reads certificates, builds
//! certificate requests signed on the token, runs a small local test CA, and makes detached
//! CMS signatures; [`uscc`] checks Chinese unified social credit codes.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apdu;
mod error;
mod keys;
mod piv;
mod readers;
mod tlv;
mod token;
pub mod transport;
pub mod uscc;
pub mod x509;

pub use error::{Error, Result};
pub use keys::{DEFAULT_SIGNER_ID, PublicKey, sm2_z};
pub use piv::{
    Algorithm, KeyOrigin, KeyPolicy, ManagementKey, ManagementKeyAlgorithm, ObjectId, Pin,
    PinPolicy, Slot, TouchPolicy, Version,
};
pub use readers::{ReaderInfo, Selector, TokenSummary, readers};
pub use token::{
    ApplicationInfo, DeviceInfo, KeyMetadata, ManagementKeyMetadata, PinStatus, RetryMetadata,
    SecretState, Signer, SlotStatus, Status, Token,
};
