//! A card built empty and loaded in place, as a microcontroller board keeps it in a `static`:
//! it refuses every command until loaded, a failed load leaves it empty and its flash
//! untouched, and a load replaces whatever token was loaded before.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use support::{FLASH_LEN, Flash, TestCard, h, send};
use ukey_firmware::{Card, Damage, OpenError, Opened, Profile};

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7)
}

#[test]
fn an_empty_card_answers_memory_failure_and_holds_no_flash() {
    let mut card: Box<TestCard> = Box::new(Card::new());
    assert_eq!(
        send(&mut card, &h("00 A4 04 00 05 A0 00 00 03 08")).1,
        0x6581
    );
    assert_eq!(send(&mut card, &h("00 FD 00 00")).1, 0x6581);
    card.reset();
    assert_eq!(send(&mut card, &h("00 FD 00 00")).1, 0x6581);
    assert!(card.into_flash().is_none());
}

#[test]
fn a_loaded_card_works_and_a_failed_load_leaves_it_empty_and_the_flash_untouched() {
    let mut card: Box<TestCard> = Box::new(Card::new());
    card.load(Flash::new(), rng(), &Profile::standard(42))
        .expect("a blank flash becomes a token");
    assert_eq!(
        send(&mut card, &h("00 A4 04 00 05 A0 00 00 03 08")).1,
        0x9000
    );
    assert_eq!(
        send(&mut card, &h("00 20 00 80 08 31 32 33 34 35 36 FF FF")).1,
        0x9000
    );

    let mut foreign = [0u8; FLASH_LEN];
    foreign
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = i as u8);
    let loaded = card.load(Flash::from_bytes(&foreign), rng(), &Profile::standard(42));
    assert_eq!(loaded.err(), Some(OpenError::Corrupted));
    assert_eq!(send(&mut card, &h("00 FD 00 00")).1, 0x6581);
    assert!(card.into_flash().is_none());
}

#[test]
fn loading_again_starts_a_fresh_session_on_the_new_token() {
    let mut card: Box<TestCard> = Box::new(Card::new());
    let made = card.load(Flash::new(), rng(), &Profile::standard(1));
    assert_eq!(made, Ok(Opened::New), "a blank flash becomes a new token");
    assert_eq!(
        send(&mut card, &h("00 20 00 80 08 31 32 33 34 35 36 FF FF")).1,
        0x9000
    );
    assert_eq!(send(&mut card, &h("00 20 00 80")).1, 0x9000);
    let image = *card.into_flash().expect("loaded").as_bytes();

    let mut card: Box<TestCard> = Box::new(Card::new());
    let reloaded = card.load(Flash::from_bytes(&image), rng(), &Profile::standard(1));
    assert_eq!(
        reloaded,
        Ok(Opened::Existing(Damage::NONE)),
        "a token made before"
    );
    card.load(Flash::from_bytes(&image), rng(), &Profile::standard(1))
        .expect("load again");
    // The PIN verified on the first token is not carried over.
    assert_eq!(send(&mut card, &h("00 20 00 80")).1, 0x63C3);
}
