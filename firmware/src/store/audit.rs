//! A walk over every record in the flash, damaged ones included, oldest first: what
//! sequential-storage's own look-ups skip without a word (a record whose check fails).
//!
//! It reads sequential-storage 8's layout (the crate keeps it private): pages in the order
//! the map fills them, each with a start and an end marker word; in a page, records one
//! after another, each a word-aligned header (data CRC-32 `u32`, length `u16`, CRC-16 of the
//! length `u16`, little-endian) and word-aligned data. A data CRC of 0 marks a removed
//! record. A test checks the walk against the crate's own.

use embedded_storage::nor_flash::NorFlash;

use super::interrupted::marker_written;
use super::{StoreError, word_size};

/// Bytes of a record header before its padding.
const HEADER_LEN: usize = 8;

/// What the walk found at one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A record whose checks pass, under this key.
    Intact(u16),
    /// A record whose check fails; the key its first bytes name, if it has any (a damaged
    /// record's key may be damaged too).
    Damaged(Option<u16>),
}

/// Calls `visit` for every record that is not removed, oldest first; `buffer` holds a
/// record's data while it is checked.
pub(super) fn walk<F: NorFlash>(
    flash: &mut F,
    buffer: &mut [u8],
    mut visit: impl FnMut(Seen),
) -> Result<(), StoreError> {
    let pages = flash.capacity() / F::ERASE_SIZE;
    let first = first_page(flash, pages)?;
    for index in (0..pages).map(|n| (first + n) % pages) {
        walk_page(flash, index, Some((&mut *buffer, &mut visit)))?;
    }
    Ok(())
}

/// Whether a page that is being filled holds bytes past its last record: after an erased
/// header, where sequential-storage writes the next record, over whatever is there. No
/// power cut leaves that (a torn record is still a record); only damage does, and opening
/// must refuse it rather than write over it.
pub(super) fn bytes_past_the_end<F: NorFlash>(flash: &mut F) -> Result<bool, StoreError> {
    let page_size = F::ERASE_SIZE;
    for index in 0..flash.capacity() / page_size {
        let (started, full) = page_state(flash, index)?;
        if !started || full {
            continue;
        }
        let records_end = walk_page::<F, fn(Seen)>(flash, index, None)?;
        let page_end = (index + 1) * page_size - word_size::<F>();
        if records_end < page_end && !super::is_erased(flash, records_end..page_end)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether more than one page is being filled (start marked, end not). sequential-storage
/// fills one page at a time, closing it before it starts the next, and no power cut leaves
/// two; its next write would take the second for an interrupted migration and erase the
/// first, records and all. Read it over the flash as finishing the interrupted erases will
/// leave it, so that opening refuses such a flash before its first write.
pub(super) fn several_pages_filling<F: NorFlash>(flash: &mut F) -> Result<bool, StoreError> {
    let mut filling = 0;
    for index in 0..flash.capacity() / F::ERASE_SIZE {
        if page_state(flash, index)? == (true, false) {
            filling += 1;
        }
    }
    Ok(filling > 1)
}

/// Whether a page being filled and followed by a started page holds a record the page after
/// it does not. A power cut in the middle of a migration leaves that shape: sequential-storage
/// copying the next page's live records into the page being filled, so every record there
/// is a copy. Its repair erases the page being filled and copies again; were one of its
/// records no copy (damage, not a migration), the repair would lose it.
pub(super) fn migration_holds_own_records<F: NorFlash>(flash: &mut F) -> Result<bool, StoreError> {
    let pages = flash.capacity() / F::ERASE_SIZE;
    for index in 0..pages {
        let next = (index + 1) % pages;
        if page_state(flash, index)? != (true, false) || !page_state(flash, next)?.0 {
            continue;
        }
        let mut own = false;
        headers(flash, index, |flash, header| {
            if let Header::Record { crc, len, .. } = header
                && crc != 0
                && !own
            {
                let mut copied = false;
                headers(flash, next, |_, other| {
                    copied |= other.same_record(crc, len);
                    Ok(())
                })?;
                own = !copied;
            }
            Ok(())
        })?;
        if own {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A record header as sequential-storage reads it.
#[derive(Clone, Copy)]
enum Header {
    /// One whose length fails its check or runs past the page: sequential-storage steps one
    /// word on and reads again.
    Unreadable,
    /// A record: its data CRC (0 once removed), its length and where its data starts.
    Record {
        crc: u32,
        len: usize,
        data_at: usize,
    },
}

impl Header {
    fn same_record(self, crc: u32, len: usize) -> bool {
        matches!(self, Self::Record { crc: c, len: l, .. } if (c, l) == (crc, len))
    }
}

/// Calls `on` for every header of page `index`, in the order sequential-storage reads
/// them; gives where the records end.
fn headers<F: NorFlash>(
    flash: &mut F,
    index: usize,
    mut on: impl FnMut(&mut F, Header) -> Result<(), StoreError>,
) -> Result<usize, StoreError> {
    let page_size = F::ERASE_SIZE;
    let word = word_size::<F>();
    let header_len = HEADER_LEN.next_multiple_of(word);
    let mut at = index * page_size + word;
    let end = (index + 1) * page_size - word;
    while at + header_len <= end {
        let mut header = [0u8; HEADER_LEN];
        read(flash, at, &mut header)?;
        if header.iter().all(|&b| b == 0xFF) {
            break;
        }
        let [c0, c1, c2, c3, l0, l1, k0, k1] = header;
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        let data_at = at + header_len;
        let next = data_at + len.next_multiple_of(word);
        if crc16(&[l0, l1]) != u16::from_le_bytes([k0, k1]) || next > end {
            on(flash, Header::Unreadable)?;
            at += word;
            continue;
        }
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        on(flash, Header::Record { crc, len, data_at })?;
        at = next;
    }
    Ok(at)
}

/// Walks the records of page `index` as sequential-storage reads them, calling `visit`
/// for each (its data checked in the buffer) when given; gives where the records end.
fn walk_page<F: NorFlash, V: FnMut(Seen)>(
    flash: &mut F,
    index: usize,
    mut check: Option<(&mut [u8], &mut V)>,
) -> Result<usize, StoreError> {
    headers(flash, index, |flash, header| {
        let Some((buffer, visit)) = check.as_mut() else {
            return Ok(());
        };
        let (crc, len, data_at) = match header {
            Header::Unreadable => {
                visit(Seen::Damaged(None));
                return Ok(());
            }
            Header::Record { crc: 0, .. } => return Ok(()),
            Header::Record { crc, len, data_at } => (crc, len, data_at),
        };
        let Some(data) = buffer.get_mut(..len) else {
            visit(Seen::Damaged(None));
            return Ok(());
        };
        read(flash, data_at, data)?;
        let key = match data {
            [low, high, ..] => Some(u16::from_le_bytes([*low, *high])),
            _ => None,
        };
        visit(match key {
            Some(key) if adapted_crc32(data) == crc => Seen::Intact(key),
            _ => Seen::Damaged(key),
        });
        Ok(())
    })
}

fn first_page<F: NorFlash>(flash: &mut F, pages: usize) -> Result<usize, StoreError> {
    const FILLING: (bool, bool) = (true, false);
    const FULL: (bool, bool) = (true, true);
    const ERASED: (bool, bool) = (false, false);
    for index in 0..pages {
        if page_state(flash, index)? == FILLING {
            return Ok((index + 1) % pages);
        }
    }
    for index in 0..pages {
        let previous = (index + pages - 1) % pages;
        if page_state(flash, index)? == ERASED && page_state(flash, previous)? == FULL {
            return Ok(index);
        }
    }
    Ok(0)
}

/// Whether page `index` has its start and its end marker written.
fn page_state<F: NorFlash>(flash: &mut F, index: usize) -> Result<(bool, bool), StoreError> {
    let start = index * F::ERASE_SIZE;
    let end = start + F::ERASE_SIZE - F::READ_SIZE;
    let marked = |flash: &mut F, at: usize| {
        let at = u32::try_from(at).map_err(|_| StoreError::Geometry)?;
        marker_written(flash, at).map_err(|_| StoreError::Flash)
    };
    Ok((marked(flash, start)?, marked(flash, end)?))
}

fn read<F: NorFlash>(flash: &mut F, at: usize, bytes: &mut [u8]) -> Result<(), StoreError> {
    let at = u32::try_from(at).map_err(|_| StoreError::Geometry)?;
    flash.read(at, bytes).map_err(|_| StoreError::Flash)
}

/// sequential-storage's CRC-16 of a record's length (CRC-16F/4.2, never `FFFF`).
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x1A2E
            } else {
                crc >> 1
            };
        }
    }
    match crc ^ 0xFFFF {
        0xFFFF => 0xFFFE,
        other => other,
    }
}

/// sequential-storage's CRC-32 of a record's data (Castagnoli from `EEEEEEEE`, never 0 and
/// never with a first byte of `00` or `FF`).
fn adapted_crc32(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xEEEE_EEEE;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    match !crc {
        0 => 1,
        value if matches!(value.to_le_bytes()[0], 0 | 0xFF) => value ^ 1,
        value => value,
    }
}
