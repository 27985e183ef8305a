//! The record store's flash: the nRF52840's internal flash as the NVMC programs it, behind
//! `embedded_storage::nor_flash::{NorFlash, MultiwriteNorFlash}`.
//!
//! The NVMC (nRF52840 product specification v1.7, section 4.3 "NVMC") programs one aligned
//! 32-bit word at a time, only clearing bits (an erased bit is 1; a write of 1 leaves a bit as
//! it is), erases 4 KiB pages to all ones, and allows a word to be written at most
//! `n_WRITE` = 2 times between two erases of its page. `MultiwriteNorFlash` promises the store
//! that it may write a word again to clear more bits; the 2-writes limit makes that promise
//! bounded, so this adapter keeps it honest:
//!
//! - a word whose write would change nothing (every bit to clear is already 0) is not
//!   programmed at all, so writes of `0xFF` padding or of the unchanged half of a rewritten
//!   header cost no write;
//! - sequential-storage (8.0) writes each word once when it appends a record or a page marker,
//!   and once more only when it marks a *present* record erased (its header's CRC word goes
//!   to 0): at most 2 programs of any word between erases, which `tests/store_traffic.rs`
//!   checks under real applet traffic against a model that refuses a third.
//!
//! Every write is read back: a word that does not hold `old AND new` afterwards (worn or
//! failing flash) is an error, and the store treats it as a failed write.

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash,
};

/// The NVMC's erase unit, which is also the store's page: 4 KiB.
pub const PAGE_SIZE: usize = 4096;

/// The NVMC's program unit: one aligned 32-bit word.
pub const WORD_SIZE: usize = 4;

/// How many times the nRF52840 lets a word be written between two erases of its page
/// (`n_WRITE`, product specification section 4.3.9).
pub const MAX_WRITES_PER_ERASE: u32 = 2;

/// The raw operations of the chip's flash controller over one region, addressed from the
/// region's start. Implemented by the board over the NVMC registers, and by test models.
/// Offsets are checked by [`StoreFlash`] before any call.
pub trait Nvm {
    /// Size of the region in bytes: a whole number of pages.
    fn capacity(&self) -> usize;
    /// Copies bytes from `offset` into `bytes`.
    fn read(&self, offset: usize, bytes: &mut [u8]);
    /// Reads the aligned word at `offset` (little-endian, as the CPU sees it).
    fn read_word(&self, offset: usize) -> u32;
    /// Programs the aligned word at `offset`: the word becomes `old AND value`.
    fn program_word(&mut self, offset: usize, value: u32);
    /// Erases the page starting at `offset` to all ones.
    fn erase_page(&mut self, offset: usize);
}

/// The store's flash over a region of the chip's flash.
#[derive(Debug)]
pub struct StoreFlash<N: Nvm> {
    nvm: N,
}

impl<N: Nvm> StoreFlash<N> {
    /// The adapter over `nvm`; `None` unless the region is a non-empty whole number of pages.
    pub fn new(nvm: N) -> Option<Self> {
        let capacity = nvm.capacity();
        (capacity > 0 && capacity.is_multiple_of(PAGE_SIZE)).then_some(Self { nvm })
    }

    /// Gives the region back.
    pub fn into_inner(self) -> N {
        self.nvm
    }

    /// The byte range `offset..offset + len`, if it lies in the region and is aligned to
    /// `align`.
    fn span(
        &self,
        offset: u32,
        len: usize,
        align: usize,
    ) -> Result<(usize, usize), NorFlashErrorKind> {
        let start = usize::try_from(offset).map_err(|_| NorFlashErrorKind::OutOfBounds)?;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.nvm.capacity())
            .ok_or(NorFlashErrorKind::OutOfBounds)?;
        if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(NorFlashErrorKind::NotAligned);
        }
        Ok((start, end))
    }
}

impl<N: Nvm> ErrorType for StoreFlash<N> {
    type Error = NorFlashErrorKind;
}

impl<N: Nvm> ReadNorFlash for StoreFlash<N> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let (start, _) = self.span(offset, bytes.len(), 1)?;
        self.nvm.read(start, bytes);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.nvm.capacity()
    }
}

impl<N: Nvm> NorFlash for StoreFlash<N> {
    const WRITE_SIZE: usize = WORD_SIZE;
    const ERASE_SIZE: usize = PAGE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = to.checked_sub(from).ok_or(NorFlashErrorKind::OutOfBounds)?;
        let len = usize::try_from(len).map_err(|_| NorFlashErrorKind::OutOfBounds)?;
        let (start, end) = self.span(from, len, PAGE_SIZE)?;
        for page in (start..end).step_by(PAGE_SIZE) {
            self.nvm.erase_page(page);
            if !(page..page + PAGE_SIZE)
                .step_by(WORD_SIZE)
                .all(|word| self.nvm.read_word(word) == u32::MAX)
            {
                return Err(NorFlashErrorKind::Other);
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let (start, _) = self.span(offset, bytes.len(), WORD_SIZE)?;
        for (at, word) in (start..)
            .step_by(WORD_SIZE)
            .zip(bytes.chunks_exact(WORD_SIZE))
        {
            let new = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            let old = self.nvm.read_word(at);
            let expected = old & new;
            if expected == old {
                continue;
            }
            self.nvm.program_word(at, new);
            if self.nvm.read_word(at) != expected {
                return Err(NorFlashErrorKind::Other);
            }
        }
        Ok(())
    }
}

/// Writing a word again clears further bits, as the NVMC does, within its `n_WRITE` = 2
/// (see the module documentation for why the store stays within it).
impl<N: Nvm> MultiwriteNorFlash for StoreFlash<N> {}
