//! Erases a power cut interrupted: recognised when the store is opened, and finished before
//! sequential-storage works on the flash.
//!
//! sequential-storage marks a page's start (its first word) before it writes any record to
//! it, and its end (its last word) when the page is full; an erase sets both back to `0xFF`.
//! A page whose start is not marked therefore holds no live record. When it still holds
//! other bytes, an erase of it was cut short: the page it was erasing had either been copied
//! to a fresh page by garbage collection, or was being refilled by a repair that starts again.
//! sequential-storage repairs the first kind itself, but only by writing; a page left with
//! its end unmarked it takes for erased and writes into, so its records fail their checks.
//! Finishing the erase is what the interrupted operation was doing anyway.

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash,
};

use super::{MAX_WORD, StoreError, is_erased};

/// Fewest cleared bits that make a page's start marker count as written: half a byte, the
/// rule sequential-storage 8 reads its markers by, so the two always agree.
const HALF_MARKER_BITS: u32 = 4;

/// Whether the page marker read at `at` is written, as sequential-storage reads it.
pub(super) fn marker_written<F: ReadNorFlash>(flash: &mut F, at: u32) -> Result<bool, F::Error> {
    let mut marker = [0u8; MAX_WORD];
    let marker = &mut marker[..F::READ_SIZE.min(MAX_WORD)];
    flash.read(at, marker)?;
    let cleared: u32 = marker.iter().map(|byte| byte.count_zeros()).sum();
    Ok(cleared >= HALF_MARKER_BITS)
}

/// Whether the page starting at `page` has no start marker: it holds no live record.
fn start_unmarked<F: ReadNorFlash>(flash: &mut F, page: u32) -> Result<bool, F::Error> {
    Ok(!marker_written(flash, page)?)
}

/// Erases every page whose erase a power cut interrupted (no start marker, yet not erased);
/// gives how many it erased. Pages with a start marker, which may hold live records, are
/// never erased.
pub(super) fn finish_erases<F: NorFlash>(flash: &mut F) -> Result<u32, StoreError> {
    let mut finished = 0;
    let mut page = 0usize;
    while page < flash.capacity() {
        let from = u32::try_from(page).map_err(|_| StoreError::Geometry)?;
        let to = u32::try_from(page + F::ERASE_SIZE).map_err(|_| StoreError::Geometry)?;
        if start_unmarked(flash, from).map_err(|_| StoreError::Flash)?
            && !is_erased(flash, page..page + F::ERASE_SIZE)?
        {
            flash.erase(from, to).map_err(|_| StoreError::Flash)?;
            finished += 1;
        }
        page += F::ERASE_SIZE;
    }
    Ok(finished)
}

/// A flash seen as it will be once [`finish_erases`] has run: pages without a start marker
/// read as erased. It reads and never writes or erases, so a flash that turns out not to be
/// a store is left exactly as it was.
pub(super) struct Settled<'a, F>(pub(super) &'a mut F);

impl<F: NorFlash> ErrorType for Settled<'_, F> {
    type Error = NorFlashErrorKind;
}

impl<F: NorFlash> ReadNorFlash for Settled<'_, F> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        use embedded_storage::nor_flash::NorFlashError;
        let page_size = F::ERASE_SIZE as u32;
        let mut at = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let page = at / page_size * page_size;
            let in_page = usize::try_from(page + page_size - at).unwrap_or(usize::MAX);
            let (part, tail) = rest.split_at_mut(in_page.min(rest.len()));
            if start_unmarked(self.0, page).map_err(|e| e.kind())? {
                part.fill(0xFF);
            } else {
                self.0.read(at, part).map_err(|e| e.kind())?;
            }
            at += part.len() as u32;
            rest = tail;
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> NorFlash for Settled<'_, F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, _from: u32, _to: u32) -> Result<(), Self::Error> {
        Err(NorFlashErrorKind::Other)
    }

    fn write(&mut self, _offset: u32, _bytes: &[u8]) -> Result<(), Self::Error> {
        Err(NorFlashErrorKind::Other)
    }
}

impl<F: NorFlash> MultiwriteNorFlash for Settled<'_, F> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::{PAGE_SIZE, RamFlash};

    const PAGE: u32 = PAGE_SIZE as u32;

    /// Page 0: a live page (start marked, records); page 1: an erase torn half way (start
    /// gone, tail kept); page 2: erased; page 3: a live page with a flipped bit in its
    /// marker.
    fn flash() -> RamFlash<{ 4 * PAGE_SIZE }> {
        let mut flash = RamFlash::new();
        flash.write(0, &[0; 64]).unwrap();
        flash.write(PAGE + PAGE / 2, &[0x5A; 64]).unwrap();
        flash.write(PAGE - 4, &[0; 4]).unwrap();
        flash.write(3 * PAGE, &[0x01, 0, 0, 0, 7, 7, 7, 7]).unwrap();
        flash
    }

    #[test]
    fn only_a_page_without_its_start_marker_is_erased() {
        let mut flash = flash();
        let before = flash.clone();
        assert_eq!(finish_erases(&mut flash), Ok(1));
        let (bytes, old) = (flash.as_bytes(), before.as_bytes());
        let page = |n: usize| n * PAGE_SIZE..(n + 1) * PAGE_SIZE;
        assert!(bytes[page(1)].iter().all(|&b| b == 0xFF));
        for live in [0, 2, 3] {
            assert_eq!(bytes[page(live)], old[page(live)], "page {live}");
        }
        assert_eq!(finish_erases(&mut flash), Ok(0), "nothing left to finish");
    }

    #[test]
    fn the_settled_view_reads_what_finishing_will_leave() {
        let mut flash = flash();
        let mut seen = [0u8; 4 * PAGE_SIZE];
        Settled(&mut flash).read(0, &mut seen[..100]).unwrap();
        Settled(&mut flash).read(100, &mut seen[100..]).unwrap();
        assert_eq!(
            Settled(&mut flash).write(0, &[0; 4]),
            Err(NorFlashErrorKind::Other)
        );
        assert_eq!(
            Settled(&mut flash).erase(0, PAGE),
            Err(NorFlashErrorKind::Other)
        );
        finish_erases(&mut flash).unwrap();
        assert_eq!(&seen[..], flash.as_bytes());
    }
}
