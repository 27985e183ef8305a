//! The chip-independent half of the nRF52840 board, kept apart so it can be tested on the
//! host: the store's flash adapter over the NVMC's word-program/page-erase rules, the watch
//! that turns CCID power commands and USB bus events into `Card::reset`, the CCID framing it
//! follows with its guard against the XfrBlock usbd-ccid panics on, and the TRNG as a
//! `rand_core::CryptoRng`. The binary (`src/main.rs`, feature `board`) gives each of them its
//! hardware.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod flash;
pub mod framing;
pub mod power;
pub mod rng;
