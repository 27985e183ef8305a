//! Sixteen tokens in one reader of the driver, pcscd's limit, all connected at once by one
//! client through a real (private) pcscd, each with its own state. Needs root.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure stops the test where it happens"
)]

#[path = "support/apdu.rs"]
mod apdu;
#[path = "support/pcscd.rs"]
mod pcscd;

use std::ffi::CString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use apdu::Exchange;
use pcsc::{Context, Protocols, Scope, ShareMode};
use pcscd::DriverPcscd;
use ukey_ifd::config::MAX_SLOTS;
use ukey_ifd::{ReaderConfig, reader_conf};

#[test]
fn sixteen_slots_of_one_reader_serve_one_client_at_once() {
    let dir = tempfile::Builder::new()
        .prefix("ukey-ifd-")
        .tempdir()
        .unwrap();
    let images: Vec<PathBuf> = (0..MAX_SLOTS)
        .map(|slot| PathBuf::from(format!("token{slot}.img")))
        .collect();
    let pcscd = DriverPcscd::with_reader(
        dir.path(),
        "ukey IFD",
        &ReaderConfig::with_images(&images, None),
    );
    // SAFETY: set before this process's first PC/SC call, in the only test of this binary.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", pcscd.socket()) };
    let context = Context::establish(Scope::User).unwrap();
    let names: Vec<CString> = (0..MAX_SLOTS)
        .map(|slot| CString::new(reader_conf::reader_name("ukey IFD", 0, slot)).unwrap())
        .collect();

    // Connect to every slot once pcscd has powered its card (a moment after it lists it).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut cards: Vec<pcsc::Card> = names
        .iter()
        .map(|name| {
            loop {
                match context.connect(name, ShareMode::Shared, Protocols::T1) {
                    Ok(card) => break card,
                    Err(error) => {
                        assert!(
                            Instant::now() < deadline,
                            "{name:?}: {error}; pcscd's log:\n{}",
                            pcscd.log()
                        );
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        })
        .collect();

    // Verify the PIN on the even slots only: each token keeps its own security state.
    for (slot, card) in cards.iter_mut().enumerate() {
        card.ok(apdu::SELECT);
        if slot % 2 == 0 {
            card.ok(&apdu::verify(apdu::DEFAULT_PIN));
        }
    }
    for (slot, card) in cards.iter_mut().enumerate() {
        let verified = card.sw(apdu::PIN_STATUS) == [0x90, 0x00];
        assert_eq!(verified, slot % 2 == 0, "slot {slot}");
    }
    assert!((0..MAX_SLOTS).all(|slot| dir.path().join(format!("token{slot}.img")).exists()));
}
