//! The flashes fuzzing found opening mishandled (`fuzz/regressions/store_open/`), replayed
//! as ordinary tests so CI needs no fuzzer: a refused flash is refused again, and a flash
//! that opened opens again and reads the same. (A refused flash may have been written to:
//! opening's writes, a repair or a garbage collection, may meet the damage only after they
//! began. The simulator opens a copy first, so a refused image file stays as it was:
//! `sim/tests/image.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use support::*;
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};
use ukey_firmware::{Card, Profile};

/// The fuzz target's flash: four pages, the store's minimum.
const STORE_LEN: usize = 4 * PAGE_SIZE;

/// A token over the fuzz target's flash.
type SmallCard<'a> = Card<&'a mut RamFlash<STORE_LEN>, ChaCha20Rng>;

/// One command's answer: data and status word.
fn exchange(card: &mut SmallCard<'_>, command: &[u8]) -> (Vec<u8>, u16) {
    let answer = card.process(command).to_vec();
    let (data, sw) = answer.split_at(answer.len().saturating_sub(2));
    let sw = match sw {
        [sw1, sw2] => u16::from_be_bytes([*sw1, *sw2]),
        _ => 0,
    };
    (data.to_vec(), sw)
}

/// What a host reads of a token: metadata of every reference, and the objects.
fn readable(card: &mut SmallCard<'_>) -> Vec<(Vec<u8>, u16)> {
    let mut seen = vec![exchange(card, &apdu(0, 0xA4, 4, 0, &h("A000000308")))];
    for reference in [0x80, 0x81, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E] {
        seen.push(exchange(card, &apdu(0, 0xF7, 0, reference, &[])));
    }
    for tag in ["5FC105", "5FC10A", "5FC10B", "5FC101", "5FFF02"] {
        let mut data = h("5C03");
        data.extend_from_slice(&h(tag));
        seen.push(exchange(card, &apdu(0, 0xCB, 0x3F, 0xFF, &data)));
    }
    seen
}

/// Replays `name`; when it is refused, it must be refused again, and with
/// `untouched_if_refused` be left exactly as it was.
fn replay(name: &str, untouched_if_refused: bool) {
    let path = format!(
        "{}/../fuzz/regressions/store_open/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let input = std::fs::read(&path).expect("the regression input");
    let mut image = Box::new([0xFFu8; STORE_LEN]);
    let len = input.len().min(STORE_LEN);
    image[..len].copy_from_slice(&input[..len]);
    let mut flash = RamFlash::<STORE_LEN>::from_bytes(&image);
    let profile = Profile::standard(0x0017_0000);
    let first = match Card::open(&mut flash, ChaCha20Rng::seed_from_u64(1), &profile) {
        Ok(mut card) => readable(&mut card),
        Err(error) => {
            assert!(
                !untouched_if_refused || flash.as_bytes() == &*image,
                "{name}: refused ({error:?}) but written to"
            );
            let again = Card::open(&mut flash, ChaCha20Rng::seed_from_u64(2), &profile);
            assert!(again.is_err(), "{name}: refused ({error:?}), then opened");
            return;
        }
    };
    let mut card = Card::open(&mut flash, ChaCha20Rng::seed_from_u64(2), &profile)
        .unwrap_or_else(|error| panic!("{name}: opened once, then refused: {error:?}"));
    assert_eq!(
        readable(&mut card),
        first,
        "{name}: reads differently when reopened"
    );
}

#[test]
fn a_flash_that_opened_opens_again() {
    replay("opens-once-then-never", true);
    replay("opens-once-after-a-repair-then-never", true);
}

#[test]
fn records_after_an_erased_gap_stay_as_they_were() {
    replay("records-lost-on-second-open", true);
}

#[test]
fn a_refused_flash_is_refused_again_and_untouched_unless_repaired() {
    replay("refused-flash-written-to", true);
    replay("refused-after-finishing-an-erase", true);
    replay("refused-after-repairing-a-migration", false);
    replay("opens-once-after-a-repair-drops-a-record", false);
    replay("refused-after-a-collection-meets-damage", false);
}
