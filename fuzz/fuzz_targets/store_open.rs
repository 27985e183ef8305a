//! Opening a token over arbitrary flash contents: the input is the start of a 4-page flash
//! (the store's minimum), the rest erased.
//! Invariants: no panic; a refused flash is refused again; a flash that opened opens again,
//! as an existing token that reads the same (opening never bricks a token).
//!
//! A refused flash may have been written to: opening writes (finishing a cut erase or an
//! interrupted migration, rewriting security copies, collecting garbage to make room) and
//! sequential-storage may meet the damage only then. Opening refuses the shapes it can
//! recognise before writing (`firmware/src/store/audit.rs`); the simulator opens a copy of
//! an image first, so a refused image file stays as it was (`sim/tests/image.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};
use ukey_firmware::{Card, Opened, Profile};
use ukey_fuzz::{readable_state, rng};

/// The smallest flash the store accepts.
const STORE_LEN: usize = 4 * PAGE_SIZE;

fuzz_target!(|input: &[u8]| {
    let mut image = [0xFF; STORE_LEN];
    let len = input.len().min(STORE_LEN);
    image[..len].copy_from_slice(&input[..len]);
    let mut flash = RamFlash::<STORE_LEN>::from_bytes(&image);
    let profile = Profile::standard(0x0017_0000);
    let first = match Card::open(&mut flash, rng(1), &profile) {
        Ok(mut card) => readable_state(&mut card),
        Err(error) => {
            let again = Card::open(&mut flash, rng(2), &profile).map(drop);
            assert!(again.is_err(), "refused ({error:?}), then opened");
            return;
        }
    };
    let mut card = Box::new(Card::new());
    let opened = card.load(&mut flash, rng(2), &profile);
    assert!(
        matches!(opened, Ok(Opened::Existing(_))),
        "a token that opened once does not open again: {opened:?}"
    );
    assert_eq!(
        readable_state(&mut card),
        first,
        "a token reads differently when reopened"
    );
});
