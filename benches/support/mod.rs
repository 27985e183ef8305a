//! What the benches share: the APDUs they send, the setup of a token that can sign, the
//! ways to reach one (in process, through the emulated CCID link, through a private pcscd),
//! signature checks, and clocks.
#![allow(dead_code)] // Each bench uses its own part of the support.

pub mod apdu;
pub mod check;
pub mod clock;
pub mod stack;
pub mod tokens;
