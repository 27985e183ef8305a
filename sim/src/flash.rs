//! The token's flash: an image file (`--image`), or RAM that is lost at exit.

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use ukey_firmware::flash::{FileFlash, FileFlashError, PAGE_SIZE, RamFlash};

/// Pages of a simulated token's flash: 128 KiB, room for the four certificates of 3,000
/// bytes and more.
pub const PAGES: u32 = 32;

const RAM_BYTES: usize = PAGES as usize * PAGE_SIZE;

/// The flash of a simulated token.
#[derive(Debug)]
pub enum Flash {
    /// Kept in memory only.
    Ram(Box<RamFlash<RAM_BYTES>>),
    /// Kept in an image file.
    File(FileFlash),
}

impl Flash {
    /// A blank flash in memory.
    pub fn ram() -> Self {
        Self::Ram(Box::default())
    }

    /// A copy in memory of `file`'s flash, if it has the simulator's size (images it made
    /// always have): what a trial open writes to instead of the file.
    pub fn ram_copy(file: &FileFlash) -> Option<Self> {
        let bytes = <&[u8; RAM_BYTES]>::try_from(file.contents()).ok()?;
        Some(Self::Ram(Box::new(RamFlash::from_bytes(bytes))))
    }
}

/// An error of either flash.
#[derive(Debug)]
pub enum FlashError {
    /// From the RAM flash.
    Ram(NorFlashErrorKind),
    /// From the image file.
    File(FileFlashError),
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Ram(kind) => *kind,
            Self::File(error) => error.kind(),
        }
    }
}

impl ErrorType for Flash {
    type Error = FlashError;
}

impl ReadNorFlash for Flash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        match self {
            Self::Ram(flash) => flash.read(offset, bytes).map_err(FlashError::Ram),
            Self::File(flash) => flash.read(offset, bytes).map_err(FlashError::File),
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Self::Ram(flash) => flash.capacity(),
            Self::File(flash) => flash.capacity(),
        }
    }
}

impl NorFlash for Flash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        match self {
            Self::Ram(flash) => flash.erase(from, to).map_err(FlashError::Ram),
            Self::File(flash) => flash.erase(from, to).map_err(FlashError::File),
        }
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        match self {
            Self::Ram(flash) => flash.write(offset, bytes).map_err(FlashError::Ram),
            Self::File(flash) => flash.write(offset, bytes).map_err(FlashError::File),
        }
    }
}

impl MultiwriteNorFlash for Flash {}

const _: () = {
    assert!(<RamFlash<RAM_BYTES> as ReadNorFlash>::READ_SIZE == <Flash as ReadNorFlash>::READ_SIZE);
    assert!(<FileFlash as ReadNorFlash>::READ_SIZE == <Flash as ReadNorFlash>::READ_SIZE);
    assert!(<RamFlash<RAM_BYTES> as NorFlash>::WRITE_SIZE == <Flash as NorFlash>::WRITE_SIZE);
    assert!(<FileFlash as NorFlash>::WRITE_SIZE == <Flash as NorFlash>::WRITE_SIZE);
    assert!(<RamFlash<RAM_BYTES> as NorFlash>::ERASE_SIZE == <Flash as NorFlash>::ERASE_SIZE);
    assert!(<FileFlash as NorFlash>::ERASE_SIZE == <Flash as NorFlash>::ERASE_SIZE);
};
