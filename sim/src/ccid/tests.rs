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

/// The fuzzing finding of issue 17 (fuzz/regressions/ccid_packets/dwlength-beyond-the-data):
/// an XfrBlock, sequence 3, whose dwLength of 35 exceeds the 10 data bytes sent.
const DWLENGTH_BEYOND_THE_DATA: [u8; 20] = [
    0x6F, 0x23, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, //
    0x03, 0x08, 0x00, 0x0E, 0x6F, 0x04, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn an_xfr_block_short_of_its_declared_data_fails_and_the_device_goes_on() -> crate::error::Result<()>
{
    let mut link = CcidLink::start(Fragile, CcidOptions::default())?;
    link.power_on()?;
    let answer = link.exchange_raw(&DWLENGTH_BEYOND_THE_DATA)?;
    // usbd-ccid's failed slot status for sequence 3: bmCommandStatus 1, "not supported".
    assert_eq!(
        answer.get(6..9),
        Some(&[0x03, 0x40, 0x00][..]),
        "{answer:02X?}"
    );
    assert_eq!(link.transmit(&[0x00, 0x01, 0x00, 0x00])?, [0x90, 0x00]);
    assert!(link.into_applet().is_ok());
    Ok(())
}

/// The fuzzing finding's whole input, in its step format (a 2-byte big-endian length, then
/// the message), run as the fuzz target runs it: no panic, the applet kept.
#[test]
fn the_fuzzing_regression_input_keeps_the_applet() -> crate::error::Result<()> {
    let mut input: &[u8] =
        include_bytes!("../../../fuzz/regressions/ccid_packets/dwlength-beyond-the-data");
    let mut link = CcidLink::start(Fragile, CcidOptions::default())?;
    link.power_on()?;
    while let Some((len, rest)) = input.split_first_chunk::<2>() {
        let (message, rest) = rest.split_at(usize::from(u16::from_be_bytes(*len)).min(rest.len()));
        if link.exchange_raw(message).is_err() {
            break;
        }
        input = rest;
    }
    assert!(link.into_applet().is_ok());
    Ok(())
}
