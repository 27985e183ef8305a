//! A fuzzed token's flash: RAM flash that notes whether it was written to or erased, so a
//! run whose commands changed nothing skips the replug check. Such a run's flash is still
//! the start image, and reopening that gives the start token, which opened once already:
//! checking it again costs half of a run and finds nothing.

use std::cell::Cell;
use std::rc::Rc;

use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use ukey_firmware::flash::RamFlash;

use crate::FLASH_LEN;

/// RAM flash that sets a shared flag on every write and erase.
pub struct TrackedFlash {
    ram: RamFlash<FLASH_LEN>,
    written: Rc<Cell<bool>>,
}

impl TrackedFlash {
    /// A copy of `image`, and the flag that tells whether the copy was changed since.
    pub fn new(image: &RamFlash<FLASH_LEN>) -> (Self, Rc<Cell<bool>>) {
        let written = Rc::new(Cell::new(false));
        let flash = Self {
            ram: image.clone(),
            written: Rc::clone(&written),
        };
        (flash, written)
    }
}

impl ErrorType for TrackedFlash {
    type Error = <RamFlash<FLASH_LEN> as ErrorType>::Error;
}

impl ReadNorFlash for TrackedFlash {
    const READ_SIZE: usize = RamFlash::<FLASH_LEN>::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.ram.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.ram.capacity()
    }
}

impl NorFlash for TrackedFlash {
    const WRITE_SIZE: usize = RamFlash::<FLASH_LEN>::WRITE_SIZE;
    const ERASE_SIZE: usize = RamFlash::<FLASH_LEN>::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.written.set(true);
        self.ram.erase(from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.written.set(true);
        self.ram.write(offset, bytes)
    }
}

impl MultiwriteNorFlash for TrackedFlash {}
