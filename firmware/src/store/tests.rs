//! The store's own tests: values stored, replaced and removed, a full flash, the geometry,
//! the audit against sequential-storage, garbage flash, and power cuts against a model.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sequential_storage::cache::Cache;

use super::*;
use crate::flash::{PowerCutFlash, RamFlash};

const SMALL: usize = 4 * PAGE_SIZE;
const LARGE: usize = 8 * PAGE_SIZE;

fn blank<const N: usize>() -> Store<RamFlash<N>> {
    Store::open(RamFlash::new()).unwrap()
}

fn reopen<const N: usize>(store: Store<RamFlash<N>>) -> Store<RamFlash<N>> {
    let image = *store.into_flash().as_bytes();
    Store::open(RamFlash::from_bytes(&image)).unwrap()
}

/// `len` bytes that differ with `seed`, so a value can never pass for another.
fn value(seed: u8, len: usize) -> std::vec::Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn keys<F: NorFlash + MultiwriteNorFlash>(store: &mut Store<F>) -> std::vec::Vec<u16> {
    let mut keys = Vec::new();
    store.keys(&mut keys).unwrap();
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys
}

#[test]
fn store_fetch_replace_remove() {
    let mut store = blank::<LARGE>();
    assert_eq!(store.fetch(1), Ok(None));
    store.store(1, b"one").unwrap();
    assert_eq!(store.fetch(1), Ok(Some(&b"one"[..])));
    store.store(1, b"uno").unwrap();
    store.store(2, b"two").unwrap();
    assert_eq!(store.fetch(1), Ok(Some(&b"uno"[..])));
    store.remove(1).unwrap();
    assert_eq!(store.fetch(1), Ok(None));
    assert_eq!(store.fetch(2), Ok(Some(&b"two"[..])));
    store.remove(1).unwrap();
    store.remove(7).unwrap();
    store.store(3, b"").unwrap();
    assert_eq!(store.fetch(3), Ok(Some(&b""[..])));
    store.store(1, b"back").unwrap();
    assert_eq!(keys(&mut store), [1, 2, 3]);
}

#[test]
fn the_largest_value_fits() {
    const { assert!(Store::<RamFlash<SMALL>>::MAX_VALUE >= 3400) };
    let mut store = blank::<SMALL>();
    let largest = value(1, Store::<RamFlash<SMALL>>::MAX_VALUE);
    let too_big = value(2, Store::<RamFlash<SMALL>>::MAX_VALUE + 1);
    store.store(9, &largest).unwrap();
    assert_eq!(store.store(9, &too_big), Err(StoreError::TooBig));
    assert_eq!(store.fetch(9), Ok(Some(&largest[..])));
    store.store(9, &value(3, 3400)).unwrap();
    store.store(9, &largest).unwrap();
    let mut store = reopen(store);
    assert_eq!(store.fetch(9), Ok(Some(&largest[..])));
}

#[test]
fn a_full_flash_refuses_and_keeps_what_it_has() {
    let mut store = blank::<SMALL>();
    let mut stored = 0;
    let full = loop {
        match store.store(stored, &value(stored as u8, 3000)) {
            Ok(()) => stored += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(full, StoreError::Full);
    assert_eq!(
        stored, 3,
        "one 3,000-byte value per page, one page kept erased"
    );
    let mut store = reopen(store);
    for key in 0..stored {
        assert_eq!(store.fetch(key), Ok(Some(&value(key as u8, 3000)[..])));
    }
    assert_eq!(store.fetch(stored), Ok(None));
    // Replacing needs room for the new value too; removing makes room.
    assert_eq!(store.store(0, &value(9, 3000)), Err(StoreError::Full));
    assert_eq!(store.fetch(0), Ok(Some(&value(0, 3000)[..])));
    store.remove(1).unwrap();
    store.store(0, &value(9, 3000)).unwrap();
    assert_eq!(store.fetch(0), Ok(Some(&value(9, 3000)[..])));
    assert_eq!(store.fetch(2), Ok(Some(&value(2, 3000)[..])));
}

#[test]
fn values_survive_reopening() {
    let mut store = blank::<LARGE>();
    for round in 0..40u8 {
        for key in 0..5u16 {
            store
                .store(
                    key,
                    &value(round ^ key as u8, 100 + 37 * usize::from(round)),
                )
                .unwrap();
        }
    }
    store.remove(3).unwrap();
    let mut store = reopen(store);
    for key in 0..5u16 {
        let expected = value(39 ^ key as u8, 100 + 37 * 39);
        let expected = (key != 3).then_some(&expected[..]);
        assert_eq!(store.fetch(key), Ok(expected));
    }
    assert_eq!(keys(&mut store), [0, 1, 2, 4]);
}

#[test]
fn usage_counts_live_values_only() {
    let mut store = blank::<LARGE>();
    let total = 7 * (PAGE_SIZE - 8) as u32;
    assert_eq!(store.usage(), Ok((total, total)));
    store.store(1, &[0; 100]).unwrap();
    store.store(1, &[0; 10]).unwrap();
    store.store(2, &[0; 1]).unwrap();
    store.store(3, &[0; 5]).unwrap();
    store.remove(3).unwrap();
    // Header 8 + key 2 + value, rounded up to 4-byte words.
    assert_eq!(store.usage(), Ok((total, total - (8 + 12) - (8 + 4))));
}

#[test]
fn too_many_keys_for_the_list() {
    let mut store = blank::<LARGE>();
    for key in 0..=MAX_KEYS as u16 {
        store.store(key, &[1]).unwrap();
    }
    let mut keys = Vec::new();
    assert_eq!(store.keys(&mut keys), Err(StoreError::TooBig));
    assert_eq!(store.usage(), Err(StoreError::TooBig));
    store.remove(0).unwrap();
    assert_eq!(store.keys(&mut keys), Ok(()));
    assert_eq!(keys.len(), MAX_KEYS);
}

#[test]
fn the_audit_sees_what_sequential_storage_sees_and_the_damage_it_skips() {
    let mut store = blank::<SMALL>();
    for round in 0..30u8 {
        store
            .store(
                u16::from(round % 3),
                &value(round, 300 + 41 * usize::from(round)),
            )
            .unwrap();
    }
    store.remove(1).unwrap();
    let mut theirs = std::vec::Vec::new();
    store
        .for_each_record(|key, _| {
            theirs.push(Seen::Intact(key));
            Ok(())
        })
        .unwrap();
    let mut ours = std::vec::Vec::new();
    store.audit(|seen| ours.push(seen)).unwrap();
    assert_eq!(ours, theirs, "the same records, oldest first");

    // One flipped bit in the newest record of key 2: sequential-storage falls back to
    // the one before without a word; the audit sees the damage.
    let mut image = *store.into_flash().as_bytes();
    let newest = value(29, 300 + 41 * 29);
    let at = image
        .windows(newest.len())
        .rposition(|window| window == &newest[..])
        .unwrap();
    image[at + 5] ^= 0x04;
    let mut store = Store::open(RamFlash::from_bytes(&image)).unwrap();
    assert_eq!(store.fetch(2), Ok(Some(&value(26, 300 + 41 * 26)[..])));
    let mut seen = std::vec::Vec::new();
    store.audit(|s| seen.push(s)).unwrap();
    assert_eq!(seen.last(), Some(&Seen::Damaged(Some(2))));
    assert_eq!(seen.len(), ours.len());
}

#[test]
fn ram_stays_small() {
    let ram = size_of::<Store<RamFlash<SMALL>>>() - size_of::<RamFlash<SMALL>>();
    assert_eq!(ram, 4268, "update the figure in Store's documentation");
}

/// A flash of any geometry, for `open`'s checks; it is never read or written.
struct Geometry<const ERASE: usize> {
    capacity: usize,
}

impl<const ERASE: usize> ErrorType for Geometry<ERASE> {
    type Error = embedded_storage::nor_flash::NorFlashErrorKind;
}

impl<const ERASE: usize> ReadNorFlash for Geometry<ERASE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, _: u32, _: &mut [u8]) -> Result<(), Self::Error> {
        Err(Self::Error::Other)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<const ERASE: usize> NorFlash for Geometry<ERASE> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, _: u32, _: u32) -> Result<(), Self::Error> {
        Err(Self::Error::Other)
    }

    fn write(&mut self, _: u32, _: &[u8]) -> Result<(), Self::Error> {
        Err(Self::Error::Other)
    }
}

impl<const ERASE: usize> MultiwriteNorFlash for Geometry<ERASE> {}

fn opens<const ERASE: usize>(capacity: usize) -> Result<(), StoreError> {
    Store::open(Geometry::<ERASE> { capacity }).map(drop)
}

#[test]
fn open_checks_the_geometry() {
    assert_eq!(opens::<4096>(4 * 4096), Ok(()));
    assert_eq!(opens::<4096>(3 * 4096), Err(StoreError::Geometry));
    assert_eq!(opens::<4096>(4 * 4096 + 4), Err(StoreError::Geometry));
    assert_eq!(opens::<4096>(0), Err(StoreError::Geometry));
    assert_eq!(opens::<4096>(1 << 33), Err(StoreError::Geometry));
    assert_eq!(opens::<2048>(16 * 2048), Err(StoreError::Geometry));
    assert_eq!(opens::<131072>(4 * 131072), Ok(()));
    assert_eq!(
        Store::open(RamFlash::<{ 3 * PAGE_SIZE }>::new()).err(),
        Some(StoreError::Geometry)
    );
    // The geometry check reads nothing: the flash is untouched.
    assert_eq!(blank::<SMALL>().into_flash(), RamFlash::new());
}

/// Writes a record sequential-storage never writes itself, `len` < 2 bytes (shorter than a
/// key), as a map with an empty key type would.
fn write_short_record<const N: usize>(flash: RamFlash<N>, len: usize) -> RamFlash<N> {
    let config = MapConfig::<Blocking<RamFlash<N>>>::try_new(0..N as u32).unwrap();
    let mut map = MapStorage::<(), _, _>::new(Blocking(flash), config, Cache::new_uncached());
    let mut buffer = [0; 16];
    block_on(map.store_item(&mut buffer, &(), &&[0x2A; 1][..len])).unwrap();
    map.destroy().0.0
}

#[test]
fn a_record_shorter_than_a_key_does_not_panic() {
    for len in [0, 1] {
        let mut store = blank::<SMALL>();
        store.store(5, b"five").unwrap();
        let flash = write_short_record(store.into_flash(), len);
        let mut store = Store::open(flash).unwrap();
        // The empty record passes for the key read before it (5); the 1-byte one for a
        // key made of its own byte. Either way, an error rather than a panic.
        let expected = if len == 0 {
            Err(StoreError::Corrupted)
        } else {
            Ok(Some(&b"five"[..]))
        };
        assert_eq!(store.fetch(5), expected);
        assert_eq!(store.keys(&mut Vec::new()), Err(StoreError::Corrupted));
        assert_eq!(store.usage().err(), Some(StoreError::Corrupted));
        store.store(6, b"six").unwrap();
        assert_eq!(store.fetch(6), Ok(Some(&b"six"[..])));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever bits a damaged flash has flipped, the store answers or reports an error.
    #[test]
    fn damaged_flash_never_panics(
        flips in proptest::collection::vec((0..SMALL, 0..8u8), 1..40),
        zeroed in proptest::option::of(0..SMALL / 4),
    ) {
        let mut store = blank::<SMALL>();
        for round in 0..12u8 {
            store.store(u16::from(round % 4), &value(round, 700)).unwrap();
        }
        let mut image = *store.into_flash().as_bytes();
        for (at, bit) in flips {
            image[at] ^= 1 << bit;
        }
        if let Some(word) = zeroed {
            image[4 * word..4 * word + 4].fill(0);
        }
        let mut store = Store::open(RamFlash::from_bytes(&image)).unwrap();
        for key in 0..5 {
            let _ = store.fetch(key);
        }
        let _ = store.keys(&mut Vec::new());
        let _ = store.usage();
        let _ = store.store(1, &value(99, 900));
        let _ = store.remove(2);
        let _ = store.fetch(1);
    }
}

#[test]
fn garbage_flash_never_panics() {
    for fill in [0x00, 0x55, 0xA5] {
        let mut store = Store::open(RamFlash::from_bytes(&[fill; SMALL])).unwrap();
        let _ = store.fetch(1);
        let _ = store.store(1, b"x");
        let _ = store.keys(&mut Vec::new());
        let _ = store.usage();
        let _ = store.remove(1);
    }
}

// Power cuts.

type Model = BTreeMap<u16, std::vec::Vec<u8>>;

#[derive(Clone, Debug)]
enum Op {
    Store(u16, std::vec::Vec<u8>),
    Remove(u16),
}

impl Op {
    fn key(&self) -> u16 {
        match self {
            Op::Store(key, _) | Op::Remove(key) => *key,
        }
    }

    fn run<F: NorFlash + MultiwriteNorFlash>(
        &self,
        store: &mut Store<F>,
    ) -> Result<(), StoreError> {
        match self {
            Op::Store(key, value) => store.store(*key, value),
            Op::Remove(key) => store.remove(*key),
        }
    }

    fn apply(&self, model: &mut Model) {
        match self {
            Op::Store(key, value) => {
                model.insert(*key, value.clone());
            }
            Op::Remove(key) => {
                model.remove(key);
            }
        }
    }
}

const A: u16 = 0xA;
const B: u16 = 0xB;
const C: u16 = 0xC;
const D: u16 = 0xD;
const KEYS: [u16; 4] = [A, B, C, D];

/// Store A, replace it with a long value, remove B, then enough replacements of A, C and
/// D to wrap the 4-page flash several times, so garbage collection moves live records.
fn sequence() -> std::vec::Vec<Op> {
    let mut ops = vec![
        Op::Store(A, b"A, first".to_vec()),
        Op::Store(A, value(0xA1, 3000)),
        Op::Remove(B),
    ];
    for round in 0..24u8 {
        let key = KEYS[[0, 2, 3][usize::from(round % 3)]];
        let len = 200 + (usize::from(round) * 577) % 2400;
        ops.push(Op::Store(key, value(round, len)));
    }
    ops
}

/// The flash and model before the sequence: B, C and D hold values.
fn setup() -> ([u8; SMALL], Model) {
    let mut store = blank::<SMALL>();
    let mut model = Model::new();
    for op in [
        Op::Store(B, b"B, to be removed".to_vec()),
        Op::Store(C, value(0xC0, 1500)),
        Op::Store(D, value(0xD0, 20)),
    ] {
        op.run(&mut store).unwrap();
        op.apply(&mut model);
    }
    (*store.into_flash().as_bytes(), model)
}

/// Which value the interrupted operation's key was found with after the cut.
#[derive(Debug, PartialEq)]
enum Found {
    Before,
    After,
}

/// Plugs `image` in again and checks that every key holds its value from `before` or
/// from `after` (they differ at most in the interrupted operation's key), and that the
/// store still takes new values.
fn check_after_cut(image: &[u8; SMALL], before: &Model, after: &Model, cut: &str) -> Found {
    let mut store = Store::open(RamFlash::from_bytes(image)).unwrap();
    let mut found = Found::Before;
    for key in KEYS {
        let value = store
            .fetch(key)
            .unwrap_or_else(|e| panic!("{cut}: fetch {key:X}: {e:?}"));
        let (old, new) = (
            before.get(&key).map(|v| &v[..]),
            after.get(&key).map(|v| &v[..]),
        );
        if value != old {
            assert_eq!(
                value, new,
                "{cut}: key {key:X} holds neither its old nor its new value"
            );
            found = Found::After;
        }
    }
    store
        .store(0xE, b"life goes on")
        .unwrap_or_else(|e| panic!("{cut}: store: {e:?}"));
    assert_eq!(store.fetch(0xE), Ok(Some(&b"life goes on"[..])), "{cut}");
    found
}

/// Runs `ops` on the image with the power cut at operation `cut_after`; gives the
/// interrupted operation's index and the image the cut left, or `None` if all completed.
fn run_with_cut(image: &[u8; SMALL], ops: &[Op], cut_after: u32) -> Option<(usize, [u8; SMALL])> {
    let flash = PowerCutFlash::new(RamFlash::from_bytes(image), Some(cut_after));
    let mut store = Store::open(flash).unwrap();
    let interrupted = ops.iter().position(|op| op.run(&mut store).is_err());
    let flash = store.into_flash();
    match interrupted {
        None => {
            assert!(flash.operations() <= cut_after);
            None
        }
        Some(index) => {
            assert_eq!(
                flash.operations(),
                cut_after + 1,
                "only the cut stops the store"
            );
            Some((index, *flash.into_inner().as_bytes()))
        }
    }
}

#[test]
fn a_power_cut_at_any_instant_keeps_old_or_new() {
    let (start, start_model) = setup();
    let ops = sequence();
    let written: usize = ops
        .iter()
        .map(|op| match op {
            Op::Store(_, value) => value.len(),
            Op::Remove(_) => 0,
        })
        .sum();
    assert!(
        written > 2 * SMALL,
        "garbage collection must run to make room"
    );
    let mut models = vec![start_model];
    for op in &ops {
        let mut next = models[models.len() - 1].clone();
        op.apply(&mut next);
        models.push(next);
    }

    let (mut cuts, mut found_before, mut found_after, mut second_cuts) = (0, 0, 0, 0);
    for cut_after in 0.. {
        let Some((index, image)) = run_with_cut(&start, &ops, cut_after) else {
            break;
        };
        cuts += 1;
        let (before, after) = (&models[index], &models[index + 1]);
        let cut = format!(
            "cut at {cut_after} in op {index} ({:?} {:X})",
            ops[index].key(),
            ops[index].key()
        );
        let found = check_after_cut(&image, before, after, &cut);
        let changed = before.get(&ops[index].key()) != after.get(&ops[index].key());
        match found {
            Found::Before if changed => found_before += 1,
            Found::After => found_after += 1,
            Found::Before => {}
        }

        // Plugged in again, the token retries the operation and the power goes again,
        // at any instant of the retry (and of the repair it may start with).
        for second in 0.. {
            let Some((_, image)) = run_with_cut(&image, &ops[index..=index], second) else {
                break;
            };
            second_cuts += 1;
            check_after_cut(&image, before, after, &format!("{cut}, then at {second}"));
        }
    }
    assert!(cuts > 100, "the sequence has only {cuts} flash operations");
    assert!(
        found_before > 0 && found_after > 0,
        "{found_before} old, {found_after} new"
    );
    assert!(second_cuts > cuts, "{second_cuts} second cuts");
}
