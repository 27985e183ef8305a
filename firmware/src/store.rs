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
    /// which the next write would go over, or two pages being filled, which the next write
    /// would "repair" by erasing one, or a page being filled as if by an interrupted
    /// migration yet holding records of its own), or a store without that record.
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
            let flash = &mut self.map.flash().0;
            if audit::bytes_past_the_end(flash)?
                || audit::several_pages_filling(&mut Settled(&mut *flash))?
                || audit::migration_holds_own_records(&mut Settled(flash))?
            {
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
mod tests;
