//! A NOR flash in RAM.

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash,
};

use super::{PAGE_SIZE, READ_SIZE, WRITE_SIZE, erase_image, read_image, write_image};

/// `N` bytes of NOR flash in RAM (`N` a whole number of 4 KiB pages): the flash of unit tests,
/// which snapshot it with [`as_bytes`](Self::as_bytes) and plug it back in with
/// [`from_bytes`](Self::from_bytes) to play a power cut and a replug.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RamFlash<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> RamFlash<N> {
    /// A fully erased flash (every byte `0xFF`), as a new part leaves the factory.
    pub const fn new() -> Self {
        const { assert!(N.is_multiple_of(PAGE_SIZE), "RamFlash holds whole pages") };
        Self { bytes: [0xFF; N] }
    }

    /// A flash holding a saved image, as if that image had been unplugged and plugged back.
    pub const fn from_bytes(bytes: &[u8; N]) -> Self {
        const { assert!(N.is_multiple_of(PAGE_SIZE), "RamFlash holds whole pages") };
        Self { bytes: *bytes }
    }

    /// The flash contents, to save an image or inspect what is stored.
    pub const fn as_bytes(&self) -> &[u8; N] {
        &self.bytes
    }
}

impl<const N: usize> Default for RamFlash<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ErrorType for RamFlash<N> {
    type Error = NorFlashErrorKind;
}

impl<const N: usize> ReadNorFlash for RamFlash<N> {
    const READ_SIZE: usize = READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        read_image(&self.bytes, offset, bytes)
    }

    fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> NorFlash for RamFlash<N> {
    const WRITE_SIZE: usize = WRITE_SIZE;
    const ERASE_SIZE: usize = PAGE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        erase_image(&mut self.bytes, from, to).map(drop)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        write_image(&mut self.bytes, offset, bytes).map(drop)
    }
}

impl<const N: usize> MultiwriteNorFlash for RamFlash<N> {}

#[cfg(test)]
mod tests {
    use super::*;

    type Flash = RamFlash<{ 2 * PAGE_SIZE }>;

    fn read(flash: &mut Flash, offset: u32, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        assert_eq!(flash.read(offset, &mut bytes), Ok(()));
        bytes
    }

    #[test]
    fn starts_erased() {
        let mut flash = Flash::new();
        assert_eq!(flash.capacity(), 2 * PAGE_SIZE);
        assert!(flash.as_bytes().iter().all(|&b| b == 0xFF));
        assert_eq!(read(&mut flash, 3, 5), [0xFF; 5]);
    }

    #[test]
    fn write_clears_bits_only() {
        let mut flash = Flash::new();
        assert_eq!(flash.write(8, &[0xF0, 0x0F, 0x55, 0xFF]), Ok(()));
        assert_eq!(read(&mut flash, 8, 4), [0xF0, 0x0F, 0x55, 0xFF]);
        // A second write to the same word keeps old AND new: bits never come back to 1.
        assert_eq!(flash.write(8, &[0x0F, 0xFF, 0xAA, 0x00]), Ok(()));
        assert_eq!(read(&mut flash, 8, 4), [0x00, 0x0F, 0x00, 0x00]);
        assert_eq!(read(&mut flash, 4, 4), [0xFF; 4]);
        assert_eq!(read(&mut flash, 12, 4), [0xFF; 4]);
    }

    #[test]
    fn erase_sets_whole_pages() {
        let mut flash = Flash::new();
        assert_eq!(flash.write(0, &[0; 8]), Ok(()));
        assert_eq!(flash.write(PAGE_SIZE as u32, &[0; 8]), Ok(()));
        assert_eq!(flash.erase(0, PAGE_SIZE as u32), Ok(()));
        assert_eq!(read(&mut flash, 0, 8), [0xFF; 8]);
        assert_eq!(read(&mut flash, PAGE_SIZE as u32, 8), [0; 8]);
        assert_eq!(flash.erase(0, 2 * PAGE_SIZE as u32), Ok(()));
        assert!(flash.as_bytes().iter().all(|&b| b == 0xFF));
        assert_eq!(flash.erase(PAGE_SIZE as u32, PAGE_SIZE as u32), Ok(()));
    }

    #[test]
    fn alignment_and_bounds_are_checked() {
        let mut flash = Flash::new();
        let end = 2 * PAGE_SIZE as u32;
        assert_eq!(flash.write(2, &[0; 4]), Err(NorFlashErrorKind::NotAligned));
        assert_eq!(flash.write(4, &[0; 3]), Err(NorFlashErrorKind::NotAligned));
        assert_eq!(
            flash.write(end - 4, &[0; 8]),
            Err(NorFlashErrorKind::OutOfBounds)
        );
        assert_eq!(
            flash.write(u32::MAX - 3, &[0; 4]),
            Err(NorFlashErrorKind::OutOfBounds)
        );
        assert_eq!(
            flash.erase(1, PAGE_SIZE as u32),
            Err(NorFlashErrorKind::NotAligned)
        );
        assert_eq!(flash.erase(0, 100), Err(NorFlashErrorKind::NotAligned));
        assert_eq!(
            flash.erase(PAGE_SIZE as u32, 0),
            Err(NorFlashErrorKind::OutOfBounds)
        );
        assert_eq!(
            flash.erase(0, end + PAGE_SIZE as u32),
            Err(NorFlashErrorKind::OutOfBounds)
        );
        let mut byte = [0; 1];
        assert_eq!(
            flash.read(end, &mut byte),
            Err(NorFlashErrorKind::OutOfBounds)
        );
        assert_eq!(flash.read(end - 1, &mut byte), Ok(()));
        // A refused request changes nothing.
        assert_eq!(flash, Flash::new());
    }

    #[test]
    fn image_round_trip() {
        let mut flash = Flash::new();
        assert_eq!(flash.write(100, &[1, 2, 3, 4]), Ok(()));
        let image = *flash.as_bytes();
        let mut replugged = Flash::from_bytes(&image);
        assert_eq!(read(&mut replugged, 100, 4), [1, 2, 3, 4]);
        assert_eq!(replugged, flash);
    }
}
