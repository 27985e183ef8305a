//! The ukey card edge as numbers: what the token and every host program must agree on, byte
//! for byte. The contract itself is `card-edge.md` (the PIV card edge of NIST SP 800-73-4
//! with SM2 and a few vendor objects); this crate holds its wire values once, for the
//! firmware (`ukey-firmware`) and the host driver (`ukey-host`) alike.
//!
//! The names people write them by (`9c`, `sm2`, `always`) are here too, as `Display` and
//! `FromStr`, so that every host program reads and writes them alike; with the `serde`
//! feature they travel in serde's formats under the same names. What each side does with
//! the values (the token's parsing and policies, the host's typed API and errors) stays in
//! that side's crate. `no_std`, allocation-free, no dependencies by default.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod algorithm;
mod application;
mod instruction;
mod names;
mod object;
mod policy;
mod reference;
#[cfg(test)]
mod round_trips;
#[cfg(feature = "serde")]
mod serde_forms;
mod status;
pub mod tlv;

pub use algorithm::{Algorithm, LEGACY_TRIPLE_DES_ID, ManagementKeyAlgorithm};
pub use application::{PIV_AID, PIV_RID_LEN};
pub use instruction::{CLA_CHAINING, DELETE_KEY_TARGET, Instruction};
pub use names::UnknownName;
pub use object::ObjectId;
pub use policy::{KeyOrigin, POLICY_DEFAULT, PinPolicy, TouchPolicy};
pub use reference::{
    DEFAULT_PIN, DEFAULT_PUK, MANAGEMENT_KEY_REFERENCE, PIN_REFERENCE, PUK_REFERENCE, Slot,
};
pub use status::StatusWord;
