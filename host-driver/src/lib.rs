//! ukey-host: the driver of ukey tokens over PC/SC.
//!
//! [`Token`] speaks the ukey card edge (the PIV card edge of NIST SP 800-73-4 with SM2 as
//! algorithm 54) as operations: the PIN and PUK, administration with the management key,
//! data objects and certificates, key generation and import ([`PrivateKey`]), a [`Signer`]
//! per slot, and one
//! [`status`](Token::status) of the whole token. [`readers`] and [`Token::open`] find
//! tokens, [`wait_for_token`] waits for one; [`transport`] is how APDUs reach them, and
//! [`Recording`](transport::Recording) shows what each call costs. Certificates, requests and CMS are `ukey-cert`'s; the
//! command line is `ukey-cli`'s. With the `serde` feature, the reports serialise.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apdu;
mod error;
mod keys;
mod piv;
mod private_key;
mod readers;
mod tlv;
mod token;
pub mod transport;
mod wait;

pub use error::{Error, Result};
pub use keys::{DEFAULT_SIGNER_ID, PublicKey, sm2_z};
pub use piv::{
    Algorithm, KeyOrigin, KeyPolicy, ManagementKey, ManagementKeyAlgorithm, ObjectId, Pin,
    PinPolicy, Slot, TouchPolicy, Version,
};
pub use private_key::PrivateKey;
pub use readers::{ReaderInfo, Selector, TokenSummary, readers};
pub use token::{
    ApplicationInfo, DeviceInfo, KeyMetadata, ManagementKeyMetadata, PinStatus, RetryMetadata,
    SecretState, Signer, SlotStatus, Status, Token,
};
pub use wait::wait_for_token;
