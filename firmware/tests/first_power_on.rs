//! A power cut while a blank flash is first made into a token (the first power-on of a new
//! board) must not brick it: at the next power-on the token opens, as the new token it was
//! being made into, at a cut in any of the first power-on's flash operations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use support::*;
use ukey_firmware::flash::{PowerCutFlash, RamFlash};
use ukey_firmware::{Card, Profile};

fn profile() -> Profile {
    Profile::standard(31)
}

/// PIN, PUK and management key metadata, the one key slot's and the label: what a new
/// token shows.
fn observe(flash: RamFlash<FLASH_LEN>) -> Vec<(Vec<u8>, u16)> {
    let opened = Card::open(flash, ChaCha20Rng::seed_from_u64(1), &profile());
    let Ok(card) = opened else {
        return vec![(b"does not open".to_vec(), 0)];
    };
    let mut card = Box::new(card);
    let mut seen: Vec<_> = [0x80, 0x81, 0x9B, 0x9A]
        .into_iter()
        .map(|reference| send(&mut card, &apdu(0, 0xF7, 0, reference, &[])))
        .collect();
    seen.push(send(
        &mut card,
        &apdu(0, 0x20, 0, 0x80, &h("313233343536FFFF")),
    ));
    seen
}

fn first_power_on_cut_everywhere() {
    let blank = || RamFlash::<FLASH_LEN>::new();
    let whole = PowerCutFlash::new(blank(), None);
    let card = Card::open(whole, ChaCha20Rng::seed_from_u64(1), &profile()).expect("open");
    let flash = card.into_flash().expect("a loaded token");
    let total = flash.operations();
    let new_token = observe(flash.into_inner());
    assert!(total >= 1, "making a token writes");
    eprintln!("first power-on: {total} flash operations, each cut in turn");
    let mut failures = Vec::new();
    for cut in 0..total {
        let mut flash = blank();
        // The cut makes opening fail (the token lost power while it was made); the flash is
        // borrowed so that it can be powered on again.
        let _ = Card::open(
            PowerCutFlash::new(&mut flash, Some(cut)),
            ChaCha20Rng::seed_from_u64(1),
            &profile(),
        );
        if observe(flash) != new_token {
            failures.push(cut);
        }
    }
    assert!(
        failures.is_empty(),
        "cuts at flash operations {failures:?} of {total} leave no new token"
    );
}

#[test]
fn a_cut_during_the_first_power_on_leaves_a_new_token() {
    let worker = std::thread::Builder::new().stack_size(64 << 20);
    worker
        .spawn(first_power_on_cut_everywhere)
        .expect("thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

#[test]
fn another_programs_data_in_the_first_page_is_still_refused_and_left_alone() {
    let mut image = Box::new([0xFFu8; FLASH_LEN]);
    for (at, byte) in image[..600].iter_mut().enumerate() {
        *byte = (at as u8).wrapping_mul(31) ^ 0x5A;
    }
    let mut flash = RamFlash::<FLASH_LEN>::from_bytes(&image);
    let opened = Card::open(&mut flash, ChaCha20Rng::seed_from_u64(1), &profile());
    assert!(opened.is_err(), "a flash that is no token's is refused");
    assert_eq!(flash.as_bytes(), &*image, "and not written to");
}
