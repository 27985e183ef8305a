//! What the link does when the applet panics or the options are unusable.

use std::time::Duration;

use super::{CcidLink, CcidOptions};
use crate::applet::Applet;
use crate::error::Error;
use crate::link::Link;

/// INS that makes [`Fragile`] panic.
const INS_PANIC: u8 = 0xEE;

/// Answers 90 00, and panics on [`INS_PANIC`].
struct Fragile;

impl Applet for Fragile {
    fn reset(&mut self) {}

    fn process(&mut self, command: &[u8]) -> &[u8] {
        assert_ne!(command.get(1), Some(&INS_PANIC), "the applet panics");
        &[0x90, 0x00]
    }
}

fn is_ccid_error(result: Result<impl Sized, Error>, words: &str) -> bool {
    matches!(result, Err(Error::Ccid(reason)) if reason.contains(words))
}

#[test]
fn a_panicking_applet_is_lost_and_every_later_call_says_so() -> crate::error::Result<()> {
    let mut link = CcidLink::start(Fragile, CcidOptions::default())?;
    link.power_on()?;
    assert_eq!(link.transmit(&[0x00, 0x01, 0x00, 0x00])?, [0x90, 0x00]);
    assert!(is_ccid_error(
        link.transmit(&[0x00, INS_PANIC, 0x00, 0x00]),
        "applet was lost"
    ));
    assert!(is_ccid_error(
        link.transmit(&[0x00, 0x01, 0x00, 0x00]),
        "applet was lost"
    ));
    assert!(is_ccid_error(link.into_applet(), "applet was lost"));
    Ok(())
}

#[test]
fn a_zero_time_extension_period_is_refused() {
    let options = CcidOptions {
        time_extension: Duration::ZERO,
        ..CcidOptions::default()
    };
    assert!(is_ccid_error(
        CcidLink::start(Fragile, options),
        "above zero"
    ));
}
