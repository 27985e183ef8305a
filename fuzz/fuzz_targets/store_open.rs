//! Opening a token over arbitrary flash contents: the input is the start of a 4-page flash
//! (the store's minimum), the rest erased.
//! Invariants: no panic; a refused flash is refused again, and is left as it was unless
//! opening began a repair (sequential-storage finishing what looks like an interrupted
//! migration, before it meets the damage; the simulator opens a copy first, so its image
//! file stays untouched); a flash that opened opens again, as an existing token that reads
//! the same (opening never bricks a token).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};
use ukey_firmware::{Card, Opened, Profile};
use ukey_fuzz::{readable_state, rng};

/// The smallest flash the store accepts.
const STORE_LEN: usize = 4 * PAGE_SIZE;

/// Whether sequential-storage takes `image` for a migration a power cut interrupted: a page
/// being filled (start marked, end not) followed by a page that is not erased. Its repair
/// erases that page and copies the next one's records into it before it can meet damage.
fn began_repair(image: &[u8]) -> bool {
    let marked = |at: usize| {
        image[at..at + 4]
            .iter()
            .map(|b| b.count_zeros())
            .sum::<u32>()
            >= 4
    };
    let pages = image.len() / PAGE_SIZE;
    (0..pages).any(|n| {
        let next = (n + 1) % pages * PAGE_SIZE;
        let filling = marked(n * PAGE_SIZE) && !marked((n + 1) * PAGE_SIZE - 4);
        let next_erased = image[next..next + PAGE_SIZE].iter().all(|&b| b == 0xFF);
        filling && !next_erased
    })
}

fuzz_target!(|input: &[u8]| {
    let mut image = [0xFF; STORE_LEN];
    let len = input.len().min(STORE_LEN);
    image[..len].copy_from_slice(&input[..len]);
    let mut flash = RamFlash::<STORE_LEN>::from_bytes(&image);
    let profile = Profile::standard(0x0017_0000);
    let first = match Card::open(&mut flash, rng(1), &profile) {
        Ok(mut card) => readable_state(&mut card),
        Err(error) => {
            assert!(
                flash.as_bytes() == &image || began_repair(&image),
                "a refused flash was written to: {error:?}"
            );
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
