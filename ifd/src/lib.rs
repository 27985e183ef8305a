//! ukey-ifd: a reader driver for pcsc-lite's pcscd (an IFD handler, `PCSC/ifdhandler.h`)
//! that runs the ukey firmware inside pcscd. No vsmartcard, no TCP: an APDU goes from
//! pcscd's thread straight into the applet.
//!
//! ```text
//! reader.conf:  FRIENDLYNAME "ukey IFD"  DEVICENAME /etc/ukey-ifd/reader.toml  LIBPATH …/libukey_ifd.so
//!   pcscd ─► IFDHCreateChannelByName(LUN, DEVICENAME) ─► driver ─► Reader (config file)
//!         ─► IFDHTransmitToICC(LUN, APDU)            ─► Slot ─► ukey_sim::Token ─► Card
//!   control socket ─► insert/remove ─► Slot ─► IFDHICCPresence, the polling function
//! ```
//!
//! A reader's configuration file ([`ReaderConfig`]) lists its slots and their token images;
//! [`reader_conf::entry`] writes the reader.conf entry that loads the driver for it, and
//! [`ControlClient`] plugs tokens in and pulls them out through the reader's control socket.
#![deny(unsafe_code)]

mod abi;
mod client;
pub mod config;
mod control;
mod driver;
#[allow(unsafe_code)]
pub mod ffi;
pub mod protocol;
mod reader;
pub mod reader_conf;
mod refusal;
mod slot;

pub use abi::*;
pub use client::ControlClient;
pub use config::{ConfigError, ReaderConfig, SlotConfig};
