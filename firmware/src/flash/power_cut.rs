//! A flash wrapper that cuts the power in the middle of a chosen operation.

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
    check_erase, check_write,
};

use super::PAGE_SIZE;

/// Most bytes a torn erase keeps of the page where it stops: a whole ukey page.
const KEPT_TAIL: usize = PAGE_SIZE;

/// Why a [`PowerCutFlash`] refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerCutError<E> {
    /// The wrapped flash refused it.
    Flash(E),
    /// The power was cut: during this operation (which was torn) or before it.
    PowerCut,
}

impl<E: NorFlashError> NorFlashError for PowerCutError<E> {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Flash(error) => error.kind(),
            Self::PowerCut => NorFlashErrorKind::Other,
        }
    }
}

/// Wraps a flash and cuts its power in the middle of one chosen write or erase, to test that
/// stored data survives a token pulled out at any instant.
///
/// Writes and erases are numbered from 0. Operation number `cut_after` is torn: a write stores
/// only its first half (rounded down to whole words), or the first bytes chosen with
/// [`write_stops_at`](Self::write_stops_at); an erase erases only the first half of its
/// range, or the first bytes chosen with [`erase_stops_at`](Self::erase_stops_at). That
/// operation and every later read, write or erase then fail with
/// [`PowerCutError::PowerCut`]. [`into_inner`](Self::into_inner) gives the flash back as the
/// cut left it, ready to be "plugged in again".
#[derive(Debug)]
pub struct PowerCutFlash<F> {
    inner: F,
    cut_after: Option<u32>,
    operations: u32,
    cut: bool,
    erase_stop: Option<u32>,
    write_stop: Option<u32>,
}

impl<F: NorFlash> PowerCutFlash<F> {
    /// Wraps `inner`; the power is cut during operation number `cut_after`, or never if `None`.
    pub const fn new(inner: F, cut_after: Option<u32>) -> Self {
        Self {
            inner,
            cut_after,
            operations: 0,
            cut: false,
            erase_stop: None,
            write_stop: None,
        }
    }

    /// A torn erase stops after the first `erased` bytes of its range (rounded down to whole
    /// words, at most the range) rather than half way: to tear an erase at any point.
    pub const fn erase_stops_at(mut self, erased: u32) -> Self {
        self.erase_stop = Some(erased);
        self
    }

    /// A torn write stores its first `kept` bytes (rounded down to whole words, at most the
    /// whole write) rather than half: to tear a write at any word.
    pub const fn write_stops_at(mut self, kept: u32) -> Self {
        self.write_stop = Some(kept);
        self
    }

    /// How many writes and erases reached the flash so far, the torn one included.
    pub const fn operations(&self) -> u32 {
        self.operations
    }

    /// The wrapped flash, in the state the cut (if any) left it.
    pub fn into_inner(self) -> F {
        self.inner
    }

    /// Counts an operation and tells whether it is the torn one; refuses it if the power is
    /// already off.
    fn start_operation(&mut self) -> Result<bool, PowerCutError<F::Error>> {
        if self.cut {
            return Err(PowerCutError::PowerCut);
        }
        let torn = self.cut_after == Some(self.operations);
        self.operations = self.operations.saturating_add(1);
        self.cut = torn;
        Ok(torn)
    }

    /// Erases the first half of `from..to` (or its first [`erase_stops_at`](Self::erase_stops_at)
    /// bytes) only: whole pages below the stop are erased, and the page holding the stop is
    /// erased and then given back its tail (at most [`KEPT_TAIL`] bytes), read before the erase.
    fn tear_erase(&mut self, from: u32, to: u32) -> Result<(), F::Error> {
        let page = F::ERASE_SIZE as u32;
        let word = F::WRITE_SIZE.max(F::READ_SIZE) as u32;
        let erased = self.erase_stop.unwrap_or((to - from) / 2).min(to - from);
        let middle = from + erased / word * word;
        let whole_pages_end = from + (middle - from) / page * page;
        if whole_pages_end > from {
            self.inner.erase(from, whole_pages_end)?;
        }
        if middle > whole_pages_end {
            let page_end = whole_pages_end + page;
            let kept_from = middle.max(page_end.saturating_sub(KEPT_TAIL as u32));
            let mut tail = [0; KEPT_TAIL];
            let tail = &mut tail[..(page_end - kept_from) as usize];
            self.inner.read(kept_from, tail)?;
            self.inner.erase(whole_pages_end, page_end)?;
            self.inner.write(kept_from, tail)?;
        }
        Ok(())
    }
}

impl<F: NorFlash> ErrorType for PowerCutFlash<F> {
    type Error = PowerCutError<F::Error>;
}

impl<F: NorFlash> ReadNorFlash for PowerCutFlash<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        if self.cut {
            return Err(PowerCutError::PowerCut);
        }
        self.inner.read(offset, bytes).map_err(PowerCutError::Flash)
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl<F: NorFlash> NorFlash for PowerCutFlash<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        if !self.start_operation()? {
            return self.inner.erase(from, to).map_err(PowerCutError::Flash);
        }
        if check_erase(&self.inner, from, to).is_ok() {
            self.tear_erase(from, to).map_err(PowerCutError::Flash)?;
        }
        Err(PowerCutError::PowerCut)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        if !self.start_operation()? {
            return self
                .inner
                .write(offset, bytes)
                .map_err(PowerCutError::Flash);
        }
        let stop = self.write_stop.map_or(bytes.len() / 2, |kept| {
            usize::try_from(kept).map_or(bytes.len(), |kept| kept.min(bytes.len()))
        });
        let kept = stop / F::WRITE_SIZE * F::WRITE_SIZE;
        if kept > 0 && check_write(&self.inner, offset, bytes.len()).is_ok() {
            self.inner
                .write(offset, &bytes[..kept])
                .map_err(PowerCutError::Flash)?;
        }
        Err(PowerCutError::PowerCut)
    }
}

impl<F: MultiwriteNorFlash> MultiwriteNorFlash for PowerCutFlash<F> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::RamFlash;

    type Flash = RamFlash<{ 2 * PAGE_SIZE }>;
    const PAGE: u32 = PAGE_SIZE as u32;

    #[test]
    fn without_a_cut_it_passes_everything_through() {
        let mut flash = PowerCutFlash::new(Flash::new(), None);
        assert_eq!(flash.write(0, &[1, 2, 3, 4, 5, 6, 7, 8]), Ok(()));
        assert_eq!(flash.erase(PAGE, 2 * PAGE), Ok(()));
        assert_eq!(
            flash.write(1, &[0; 4]),
            Err(PowerCutError::Flash(NorFlashErrorKind::NotAligned))
        );
        assert_eq!(flash.operations(), 3);
        let mut bytes = [0; 8];
        assert_eq!(flash.read(0, &mut bytes), Ok(()));
        assert_eq!(bytes, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(flash.capacity(), 2 * PAGE_SIZE);
    }

    #[test]
    fn a_torn_write_stores_its_first_half_in_whole_words() {
        let mut flash = PowerCutFlash::new(Flash::new(), Some(1));
        assert_eq!(flash.write(0, &[0; 4]), Ok(()));
        assert_eq!(flash.write(16, &[0x11; 12]), Err(PowerCutError::PowerCut));
        assert_eq!(flash.operations(), 2);
        let mut bytes = [0; 4];
        assert_eq!(flash.read(0, &mut bytes), Err(PowerCutError::PowerCut));
        assert_eq!(flash.write(32, &[0; 4]), Err(PowerCutError::PowerCut));
        assert_eq!(flash.erase(0, PAGE), Err(PowerCutError::PowerCut));
        assert_eq!(flash.operations(), 2);
        let image = flash.into_inner();
        assert_eq!(image.as_bytes()[..4], [0; 4]);
        // 12 bytes torn: the first half (6) rounded down to words (4) reached the flash.
        assert_eq!(image.as_bytes()[16..20], [0x11; 4]);
        assert_eq!(image.as_bytes()[20..28], [0xFF; 8]);
    }

    #[test]
    fn a_torn_erase_erases_the_first_half_of_its_range() {
        let mut written = Flash::new();
        assert_eq!(written.write(0, &[0; 2 * PAGE_SIZE]), Ok(()));
        for (to, erased) in [(PAGE, PAGE_SIZE / 2), (2 * PAGE, PAGE_SIZE)] {
            let mut flash = PowerCutFlash::new(written.clone(), Some(0));
            assert_eq!(flash.erase(0, to), Err(PowerCutError::PowerCut));
            let image = flash.into_inner();
            let (first, second) = image.as_bytes().split_at(erased);
            assert!(first.iter().all(|&b| b == 0xFF), "erasing 0..{to}");
            assert!(second.iter().all(|&b| b == 0), "erasing 0..{to}");
        }
    }

    #[test]
    fn a_torn_erase_can_stop_anywhere() {
        let mut written = Flash::new();
        assert_eq!(written.write(0, &[0; 2 * PAGE_SIZE]), Ok(()));
        for (stop, erased) in [
            (0, 0),
            (102, 100),
            (PAGE - 4, PAGE_SIZE - 4),
            (PAGE + 8, PAGE_SIZE + 8),
        ] {
            let mut flash = PowerCutFlash::new(written.clone(), Some(0)).erase_stops_at(stop);
            assert_eq!(flash.erase(0, 2 * PAGE), Err(PowerCutError::PowerCut));
            let image = flash.into_inner();
            let (first, second) = image.as_bytes().split_at(erased);
            assert!(first.iter().all(|&b| b == 0xFF), "stopped at {stop}");
            assert!(second.iter().all(|&b| b == 0), "stopped at {stop}");
        }
    }

    #[test]
    fn a_torn_write_can_stop_at_any_word() {
        for (stop, kept) in [(0, 0), (3, 0), (4, 4), (9, 8), (12, 12), (100, 12)] {
            let mut flash = PowerCutFlash::new(Flash::new(), Some(0)).write_stops_at(stop);
            assert_eq!(flash.write(16, &[0x22; 12]), Err(PowerCutError::PowerCut));
            assert_eq!(flash.operations(), 1);
            let image = flash.into_inner();
            let (stored, rest) = image.as_bytes()[16..].split_at(kept);
            assert!(stored.iter().all(|&b| b == 0x22), "stopped at {stop}");
            assert!(rest.iter().all(|&b| b == 0xFF), "stopped at {stop}");
            assert!(image.as_bytes()[..16].iter().all(|&b| b == 0xFF));
        }
    }

    #[test]
    fn a_cut_write_with_no_whole_word_to_store_changes_nothing() {
        // One word (half a word is no word), then a misaligned request.
        for (offset, len) in [(8, 4), (2, 8)] {
            let mut flash = PowerCutFlash::new(Flash::new(), Some(0));
            assert_eq!(
                flash.write(offset, &vec![0; len]),
                Err(PowerCutError::PowerCut)
            );
            assert_eq!(flash.into_inner(), Flash::new());
        }
    }

    #[test]
    fn errors_map_to_nor_kinds() {
        let cut: PowerCutError<NorFlashErrorKind> = PowerCutError::PowerCut;
        assert_eq!(cut.kind(), NorFlashErrorKind::Other);
        let bounds = PowerCutError::Flash(NorFlashErrorKind::OutOfBounds);
        assert_eq!(bounds.kind(), NorFlashErrorKind::OutOfBounds);
    }
}
