//! ukey-sim: the ukey firmware as a virtual token on the real PC/SC stack.
//!
//! A [`Token`] is the firmware's card over a flash image, reached through a [`Link`]:
//! [`DirectLink`] calls the applet, [`CcidLink`] goes through an emulated USB CCID device
//! (`usb-device` + `usbd-ccid` on a simulated bus), [`qemu::QemuLink`] runs it on the
//! emulated Cortex-M4 board under QEMU. [`vpcd::run`] plays a token in a vpcd
//! reader of pcscd; [`Sim`] does it from a thread; [`Pcscd`] starts a private pcscd; a
//! [`Testbed`] combines them for other crates' tests.
//!
//! ```text
//! Testbed ─► Pcscd (own mount namespace, vpcd readers on ports of its own)
//!        └─► Sim ─► vpcd::run ─► Token ─► DirectLink ─► Card
//!                                      ├► CcidLink ─► USB host ─► SimBus ─► usbd-ccid ─► Card
//!                                      └► QemuLink ─► UART frames ─► qemu-system-arm ─► Card
//! ```
#![forbid(unsafe_code)]

mod applet;
pub mod ccid;
mod control;
mod error;
mod flash;
pub mod identity;
mod link;
pub mod pcscd;
pub mod profile;
pub mod qemu;
mod reprovision;
mod sim;
mod testbed;
mod token;
mod trace;
pub mod vpcd;

pub use applet::Applet;
pub use ccid::{CcidLink, CcidOptions, Descriptors};
pub use control::Control;
pub use error::{Error, Result};
pub use flash::{Flash, FlashError, PAGES};
pub use link::{DirectLink, Link};
pub use pcscd::Pcscd;
pub use reprovision::reprovision;
pub use sim::{Sim, serve};
pub use testbed::Testbed;
pub use token::{LinkKind, SimCard, Token, TokenOptions};
pub use trace::TraceLog;
