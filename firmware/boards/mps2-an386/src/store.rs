//! The applet's record store: 64 KiB of the board's flash region (section `.store`, see
//! memory.x), shipped erased, behind the `NorFlash` traits. The host may load an image into it
//! before the card is opened (`L` frames), read it back at any time (`D` frames), and have
//! every write and erase the card makes sent to it first (`J`, see `journal.rs`), which is how
//! `ukey-sim --link qemu --image` keeps a token across QEMU runs and across a killed host.

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash, check_erase,
    check_write,
};
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};

use crate::journal;

/// Size of the record store: 16 pages of 4 KiB, the `STORE` region of memory.x.
pub const STORE_BYTES: usize = 16 * PAGE_SIZE;

/// The store's flash region, shipped erased in the image.
#[unsafe(link_section = ".store")]
static mut STORE: RamFlash<STORE_BYTES> = RamFlash::new();

/// Runs `f` on the store region.
///
/// Every access to [`STORE`] goes through here, and none calls back into it or runs from an
/// interrupt, so the reference `f` gets is the only one while it lives.
#[allow(
    clippy::deref_addrof,
    reason = "clippy's `&mut STORE` is refused by the static_mut_refs lint"
)]
fn with_store<T>(f: impl FnOnce(&mut RamFlash<STORE_BYTES>) -> T) -> T {
    // SAFETY: single core, no interrupt handler touches `STORE`, and `f` cannot reach
    // `with_store` again (it only gets the flash), so no two references to `STORE` coexist.
    f(unsafe { &mut *(&raw mut STORE) })
}

/// The store as the applet reaches it: a handle to the one store region. [`Store::take`]
/// makes the only one, which goes to the card.
pub struct Store(());

impl Store {
    /// The handle for the card. Called once, at boot.
    pub fn take() -> Self {
        Self(())
    }
}

/// Writes `bytes` into the blank store at `offset`, as a programmer writes an image before
/// the chip runs. `None`, and nothing written, unless `offset` and the length are multiples of
/// the write size, the bytes fit, and the area is still erased (each part loaded once).
pub fn load(offset: usize, bytes: &[u8]) -> Option<()> {
    with_store(|flash| {
        let end = offset.checked_add(bytes.len())?;
        if !flash
            .as_bytes()
            .get(offset..end)?
            .iter()
            .all(|&b| b == 0xFF)
        {
            return None;
        }
        flash.write(u32::try_from(offset).ok()?, bytes).ok()
    })
}

/// Copies the store from `offset` into `out`; `None` if out of range.
pub fn dump(offset: usize, out: &mut [u8]) -> Option<()> {
    with_store(|flash| {
        let end = offset.checked_add(out.len())?;
        out.copy_from_slice(flash.as_bytes().get(offset..end)?);
        Some(())
    })
}

impl ErrorType for Store {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for Store {
    const READ_SIZE: usize = <RamFlash<STORE_BYTES> as ReadNorFlash>::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        with_store(|flash| flash.read(offset, bytes))
    }

    fn capacity(&self) -> usize {
        STORE_BYTES
    }
}

impl NorFlash for Store {
    const WRITE_SIZE: usize = <RamFlash<STORE_BYTES> as NorFlash>::WRITE_SIZE;
    const ERASE_SIZE: usize = <RamFlash<STORE_BYTES> as NorFlash>::ERASE_SIZE;

    /// Erases `from..to` once the host has stored the erase (with the write-through on); a
    /// refused one fails as a chip's failed erase, and changes nothing.
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        check_erase(self, from, to)?;
        if !journal::erase(from, to) {
            return Err(NorFlashErrorKind::Other);
        }
        with_store(|flash| flash.erase(from, to))
    }

    /// Programs `bytes` at `offset` once the host has stored the write (with the
    /// write-through on); a refused one fails as a chip's failed write, and changes nothing.
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        check_write(self, offset, bytes.len())?;
        if !journal::write(offset, bytes) {
            return Err(NorFlashErrorKind::Other);
        }
        with_store(|flash| flash.write(offset, bytes))
    }
}

impl MultiwriteNorFlash for Store {}
