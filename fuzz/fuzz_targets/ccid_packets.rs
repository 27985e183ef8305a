//! Raw CCID messages, in the APDU targets' step format (a reset step powers the slot on),
//! to the simulator's emulated USB CCID device: usb-device, usbd-ccid and the device loop,
//! over a stand-in applet that echoes each command.
//! Invariants: no panic anywhere in the device (libFuzzer's panic hook aborts even inside
//! the link's own `catch_unwind`); the device never loses its applet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ukey_fuzz::{Echo, Step, steps};
use ukey_sim::{CcidLink, CcidOptions, Link};

fuzz_target!(|input: &[u8]| {
    let mut link = CcidLink::start(Echo::default(), CcidOptions::default())
        .expect("the emulated device enumerates");
    for step in steps(input) {
        let exchanged = match step {
            Step::Reset => link.power_on().map(drop),
            Step::Apdu(message) => link.exchange_raw(message).map(drop),
        };
        if exchanged.is_err() {
            break;
        }
    }
    assert!(link.into_applet().is_ok(), "the device lost its applet");
});
