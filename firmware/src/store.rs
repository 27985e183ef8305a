//! The power-fail-safe record store: byte-string values under `u16` keys, kept in NOR flash by
//! sequential-storage's map (card-edge.md, "Storage rules").
//!
//! Every `store` appends a new record (header with CRC, key, value) and leaves the old one in
//! place until garbage collection has copied what is still live to a fresh page, so a power cut
//! at any instant leaves the old value or the new one; a record torn by the cut fails its CRC
//! and is skipped. `remove` marks a key's records erased oldest first, so a cut leaves the old
//! value or none. The store keeps one page erased for garbage collection.
//!
//! sequential-storage is async; its futures only await the flash, which here is blocking, so
//! they finish on their first poll and [`block_on`] just runs them.

use embassy_futures::block_on;
use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use embedded_storage_async::nor_flash as async_nor;
use heapless::Vec;
use sequential_storage::cache::key_pointers::ArrayKeyPointers;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{Key, MapConfig, MapStorage, SerializationError, Value};

use crate::flash::PAGE_SIZE;

mod audit;
mod interrupted;

pub(crate) use audit::Seen;
use interrupted::Settled;

/// Bytes of a serialized key.
const KEY_LEN: usize = 2;

/// The widest flash word sequential-storage supports (STM32 internal flash, 256 bits).
const MAX_WORD: usize = 32;

/// The record buffer: a 4 KiB page less its two state markers and a record header, each
/// counted as the widest word, so a record that fills it fits a page on any supported flash.
const BUFFER_LEN: usize = PAGE_SIZE - 3 * MAX_WORD;

/// Largest value, in bytes: a record (key and value) that fills the buffer.
const MAX_VALUE: usize = BUFFER_LEN - KEY_LEN;

/// Fewest pages the store accepts: room for a few certificates beside the page kept erased.
const MIN_PAGES: usize = 4;

/// Most distinct keys [`Store::keys`] and [`Store::usage`] can account for.
const MAX_KEYS: usize = 64;

/// Keys whose latest record address is cached: 8 bytes of RAM each. The cache is
/// most-recently-used first, so the hot records (PIN counters, state) stay found in one read
/// and the rest only cost a scan.
const CACHED_KEYS: usize = 32;

/// Why the store could not do what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// The flash is too small, not a whole number of pages, or its pages cannot hold a
    /// largest value.
    Geometry,
    /// The value is longer than [`Store::MAX_VALUE`] (from `keys` and `usage`: over 64 keys).
    TooBig,
    /// The flash has no room for the value, even after garbage collection; nothing changed.
    Full,
    /// The flash holds records the store cannot make sense of, even after trying to repair.
    Corrupted,
    /// The flash driver reported an error (on a token: the power went, or the part failed).
    Flash,
}

impl<E> From<sequential_storage::Error<E>> for StoreError {
    fn from(error: sequential_storage::Error<E>) -> Self {
        match error {
            sequential_storage::Error::Storage { .. } => Self::Flash,
            sequential_storage::Error::FullStorage => Self::Full,
            sequential_storage::Error::ItemTooBig => Self::TooBig,
            // Corrupted, a logic bug, a record longer than the buffer or shorter than a key:
            // all come from flash contents the store did not write.
            _ => Self::Corrupted,
        }
    }
}

/// Numbered records in a NOR flash, safe against power cuts.
///
/// RAM: the flash driver plus 4,268 bytes (the 4,000-byte record buffer, a 256-byte cache of
/// [`CACHED_KEYS`] record addresses, the flash range and a flag); checked by a test.
pub(crate) struct Store<F: NorFlash + MultiwriteNorFlash> {
    map: MapStorage<RecordKey, Blocking<F>, RecordCache>,
    buffer: Buffer,
}

/// The cache: record addresses by key only. Page states and pointers are not cached: reading
/// them costs two bytes and a header walk per page, while their caches either cost RAM per
/// page at compile time or guess.
type RecordCache = Cache<Uncached, Uncached, ArrayKeyPointers<RecordKey, CACHED_KEYS>, RecordKey>;

/// What a flash holds, as [`Store::inspect`] sees it without writing anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contents {
    /// Every byte erased: a new part, ready to be made into a token.
    Blank,
    /// A store holding the record that was looked for.
    Found,
    /// A store whose first record a power cut interrupted (a new token that lost power
    /// while it was first made): one page written, not one whole record in it. Nothing is
    /// there to lose, so [`Store::clear`] it and make the token anew.
    FirstWriteCut,
    /// Neither: another program's data, damage (such as bytes past a page's last record,
    /// which the next write would go over), or a store without that record.
    Foreign,
}

impl<F: NorFlash + MultiwriteNorFlash> Store<F> {
    /// Largest value `store` accepts, in bytes.
    pub(crate) const MAX_VALUE: usize = MAX_VALUE;

    /// Opens the store over the whole flash: at least [`MIN_PAGES`] pages, each big enough for
    /// a largest value; otherwise [`StoreError::Geometry`]. Reads nothing yet: a blank flash is
    /// an empty store, and damage shows (and is repaired where possible) on first use, so
    /// call [`Store::inspect`] first on a flash that may not be a store.
    pub(crate) fn open(flash: F) -> Result<Self, StoreError> {
        let config = MapConfig::try_new(store_range::<F>(flash.capacity())?)
            .map_err(|_| StoreError::Geometry)?;
        let cache = Cache::new(Uncached, Uncached, ArrayKeyPointers::new());
        Ok(Self {
            map: MapStorage::new(Blocking(flash), config, cache),
            buffer: Buffer([0; BUFFER_LEN]),
        })
    }

    /// Looks at the flash without writing to it: is it blank, a store holding `key`, or a
    /// blank flash whose first record, `first_len` bytes, a power cut interrupted?
    ///
    /// The look-up runs over a read-only view, so sequential-storage cannot "repair" (erase
    /// and rewrite) pages of a flash that is not ours; such a flash is reported as
    /// [`Contents::Foreign`] and left exactly as it was. The view shows pages whose erase a
    /// power cut interrupted as erased, as [`Store::finish_interrupted_erases`] will leave
    /// them. It borrows the store's own buffer, so it costs no more RAM than the store.
    pub(crate) fn inspect(&mut self, key: u16, first_len: usize) -> Result<Contents, StoreError> {
        let flash = &mut self.map.flash().0;
        if is_blank(flash)? {
            return Ok(Contents::Blank);
        }
        let range = store_range::<F>(flash.capacity())?;
        let config = MapConfig::try_new(range).map_err(|_| StoreError::Geometry)?;
        let cache = Cache::new(Uncached, Uncached, ArrayKeyPointers::new());
        let mut view =
            MapStorage::<_, _, RecordCache>::new(Blocking(Settled(flash)), config, cache);
        let found = block_on(view.fetch_item::<Record<'_>>(&mut self.buffer.0, &RecordKey(key)))
            .is_ok_and(|record| record.is_some());
        Ok(if found {
            if audit::bytes_past_the_end(&mut self.map.flash().0)? {
                Contents::Foreign
            } else {
                Contents::Found
            }
        } else if self.first_write_cut(first_len)? {
            Contents::FirstWriteCut
        } else {
            Contents::Foreign
        })
    }

    /// Whether the flash holds bytes only where a blank flash's first record of
    /// `first_len` bytes goes (the start of the first page: its marker, a header, the
    /// value) and not one whole record: what a power cut leaves in the middle of that write.
    /// Another program's data is hardly ever so small; anything larger is left alone.
    fn first_write_cut(&mut self, first_len: usize) -> Result<bool, StoreError> {
        let flash = &mut self.map.flash().0;
        let span = (2 * MAX_WORD + first_len.next_multiple_of(MAX_WORD)).min(F::ERASE_SIZE);
        if !is_erased(flash, span..flash.capacity())? {
            return Ok(false);
        }
        let mut whole_record = false;
        let walked = audit::walk(flash, &mut self.buffer.0, |seen| {
            whole_record |= matches!(seen, Seen::Intact(_));
        });
        Ok(walked.is_ok() && !whole_record)
    }

    /// Erases the whole flash: only for [`Contents::FirstWriteCut`], which holds nothing.
    pub(crate) fn clear(&mut self) -> Result<(), StoreError> {
        let flash = &mut self.map.flash().0;
        let end = u32::try_from(flash.capacity()).map_err(|_| StoreError::Geometry)?;
        flash.erase(0, end).map_err(|_| StoreError::Flash)
    }

    /// Finishes every page erase a power cut interrupted (see [`interrupted`]), so that
    /// sequential-storage meets only pages it wrote; gives how many it finished. Call it once
    /// [`Store::inspect`] has found the flash to be a store, before any other use.
    pub(crate) fn finish_interrupted_erases(&mut self) -> Result<u32, StoreError> {
        interrupted::finish_erases(&mut self.map.flash().0)
    }

    /// Calls `visit` for every record in the flash, oldest first, damaged ones included:
    /// what the other look-ups skip silently.
    pub(crate) fn audit(&mut self, visit: impl FnMut(Seen)) -> Result<(), StoreError> {
        audit::walk(&mut self.map.flash().0, &mut self.buffer.0, visit)
    }

    /// The latest value stored under `key`, borrowed from the store's own buffer.
    pub(crate) fn fetch(&mut self, key: u16) -> Result<Option<&[u8]>, StoreError> {
        let buffer = &mut self.buffer.0;
        let record = block_on(self.map.fetch_item::<Record<'_>>(buffer, &RecordKey(key)))?;
        Ok(record.map(|Record(value)| value))
    }

    /// Stores `value` under `key`, replacing the old value atomically: after a power cut at
    /// any instant, fetch gives the old or the new value, never a mix and never none.
    pub(crate) fn store(&mut self, key: u16, value: &[u8]) -> Result<(), StoreError> {
        if value.len() > MAX_VALUE {
            return Err(StoreError::TooBig);
        }
        let buffer = &mut self.buffer.0;
        block_on(self.map.store_item(buffer, &RecordKey(key), &Record(value)))?;
        Ok(())
    }

    /// Removes the value under `key` (nothing to do if there is none); a power cut leaves the
    /// old value or none.
    pub(crate) fn remove(&mut self, key: u16) -> Result<(), StoreError> {
        block_on(self.map.remove_item(&mut self.buffer.0, &RecordKey(key)))?;
        Ok(())
    }

    /// Every key that has a value (for cleaning up stale records), each once, in no
    /// particular order; [`StoreError::TooBig`] if there are more than `out` holds.
    pub(crate) fn keys(&mut self, out: &mut Vec<u16, MAX_KEYS>) -> Result<(), StoreError> {
        out.clear();
        self.for_each_record(|key, _| {
            if !out.contains(&key) {
                out.push(key).map_err(|_| StoreError::TooBig)?;
            }
            Ok(())
        })
    }

    /// Total and roughly free bytes for values (for the device-information object). Each
    /// value also costs about 12 bytes of record overhead, and the end of a page too short
    /// for the next record is lost until garbage collection.
    pub(crate) fn usage(&mut self) -> Result<(u32, u32), StoreError> {
        let mut latest: Vec<(u16, u16), MAX_KEYS> = Vec::new();
        self.for_each_record(|key, len| {
            let len = u16::try_from(len).unwrap_or(u16::MAX);
            match latest.iter_mut().find(|(seen, _)| *seen == key) {
                Some(entry) => entry.1 = len,
                None => latest.push((key, len)).map_err(|_| StoreError::TooBig)?,
            }
            Ok(())
        })?;
        let word = word_size::<F>();
        let used: usize = latest
            .iter()
            .map(|&(_, len)| overhead::<F>() + (KEY_LEN + usize::from(len)).next_multiple_of(word))
            .sum();
        let pages = self.map.flash().0.capacity() / F::ERASE_SIZE;
        let total = (pages - 1) * (F::ERASE_SIZE - 2 * word);
        let free = total.saturating_sub(used);
        Ok((saturate(total), saturate(free)))
    }

    /// Gives the flash back, as when the token is unplugged.
    pub(crate) fn into_flash(self) -> F {
        self.map.destroy().0.0
    }

    /// Calls `visit` with the key and value length of every record that is not erased, oldest
    /// first: a key's last visit is its current value.
    fn for_each_record(
        &mut self,
        mut visit: impl FnMut(u16, usize) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut records = block_on(self.map.fetch_all_items(&mut self.buffer.0))?;
        while let Some((RecordKey(key), Record(value))) =
            block_on(records.next::<Record<'_>>(&mut self.buffer.0))?
        {
            visit(key, value.len())?;
        }
        Ok(())
    }
}

/// The store's byte range over a flash of `capacity` bytes, if the flash has at least
/// [`MIN_PAGES`] whole pages and a page holds a largest value with its overhead.
fn store_range<F: NorFlash + MultiwriteNorFlash>(
    capacity: usize,
) -> Result<core::ops::Range<u32>, StoreError> {
    let whole_pages = capacity.checked_rem(F::ERASE_SIZE) == Some(0);
    let pages = capacity.checked_div(F::ERASE_SIZE).unwrap_or(0);
    let end = u32::try_from(capacity).map_err(|_| StoreError::Geometry)?;
    if !whole_pages || pages < MIN_PAGES {
        return Err(StoreError::Geometry);
    }
    let word = word_size::<F>();
    let record = (KEY_LEN + MAX_VALUE)
        .checked_next_multiple_of(word)
        .ok_or(StoreError::Geometry)?;
    let page_need = 2 * word + overhead::<F>() + record;
    if record > BUFFER_LEN || page_need > F::ERASE_SIZE {
        return Err(StoreError::Geometry);
    }
    Ok(0..end)
}

/// Whether every byte of `flash` is erased (a new part).
fn is_blank<F: ReadNorFlash>(flash: &mut F) -> Result<bool, StoreError> {
    let capacity = flash.capacity();
    is_erased(flash, 0..capacity)
}

/// Whether every byte of `range` is erased, read in small chunks.
fn is_erased<F: ReadNorFlash>(
    flash: &mut F,
    range: core::ops::Range<usize>,
) -> Result<bool, StoreError> {
    let mut chunk = [0u8; 256];
    let mut offset = range.start;
    while offset < range.end {
        let n = chunk.len().min(range.end - offset);
        let at = u32::try_from(offset).map_err(|_| StoreError::Geometry)?;
        flash
            .read(at, &mut chunk[..n])
            .map_err(|_| StoreError::Flash)?;
        if chunk[..n].iter().any(|&b| b != 0xFF) {
            return Ok(false);
        }
        offset += n;
    }
    Ok(true)
}

/// The flash word as sequential-storage counts it: the larger of the read and write sizes.
const fn word_size<F: NorFlash>() -> usize {
    if F::WRITE_SIZE > F::READ_SIZE {
        F::WRITE_SIZE
    } else {
        F::READ_SIZE
    }
}

/// Bytes of a record header on this flash (8, rounded up to a word).
fn overhead<F: NorFlash + MultiwriteNorFlash>() -> usize {
    MapStorage::<RecordKey, Blocking<F>, RecordCache>::item_overhead_size() as usize
}

/// A byte count for the device-information object, which has 32 bits for it.
fn saturate(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Room for one record, word-aligned as some flash drivers want the bytes they program.
#[repr(align(4))]
struct Buffer([u8; BUFFER_LEN]);

/// A record's key: two little-endian bytes at the start of the record.
///
/// It tells sequential-storage that it takes no room (a length of 0), so the whole record,
/// key included, reaches [`Record::deserialize_from`], which checks the length itself.
/// sequential-storage 8.0.2 subtracts a key's length from the record's unchecked when it hands
/// out a value, and so would panic on a record shorter than a key (which it never writes, but
/// a damaged or crafted flash can hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RecordKey(u16);

impl Key for RecordKey {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let bytes = buffer
            .get_mut(..KEY_LEN)
            .ok_or(SerializationError::BufferTooSmall)?;
        bytes.copy_from_slice(&self.0.to_le_bytes());
        Ok(KEY_LEN)
    }

    fn deserialize_from(buffer: &[u8]) -> Result<(Self, usize), SerializationError> {
        match buffer {
            [low, high, ..] => Ok((Self(u16::from_le_bytes([*low, *high])), 0)),
            _ => Err(SerializationError::BufferTooSmall),
        }
    }

    fn get_len(_buffer: &[u8]) -> Result<usize, SerializationError> {
        Ok(0)
    }
}

/// A record's value; deserialized from the whole record, whose key it skips (see
/// [`RecordKey`]).
struct Record<'a>(&'a [u8]);

impl<'a> Value<'a> for Record<'a> {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let bytes = buffer
            .get_mut(..self.0.len())
            .ok_or(SerializationError::BufferTooSmall)?;
        bytes.copy_from_slice(self.0);
        Ok(self.0.len())
    }

    fn deserialize_from(record: &'a [u8]) -> Result<(Self, usize), SerializationError> {
        let value = record
            .get(KEY_LEN..)
            .ok_or(SerializationError::InvalidFormat)?;
        Ok((Self(value), record.len()))
    }
}

/// Presents a blocking flash through the async traits sequential-storage takes; its futures
/// are ready on the first poll.
struct Blocking<F>(F);

impl<F: ErrorType> ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> async_nor::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        ReadNorFlash::read(&mut self.0, offset, bytes)
    }

    fn capacity(&self) -> usize {
        ReadNorFlash::capacity(&self.0)
    }
}

impl<F: NorFlash> async_nor::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        NorFlash::erase(&mut self.0, from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        NorFlash::write(&mut self.0, offset, bytes)
    }
}

impl<F: MultiwriteNorFlash> async_nor::MultiwriteNorFlash for Blocking<F> {}

#[cfg(test)]
mod tests {
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
    fn run_with_cut(
        image: &[u8; SMALL],
        ops: &[Op],
        cut_after: u32,
    ) -> Option<(usize, [u8; SMALL])> {
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
}
