//! The applet's record store: 64 KiB of the board's flash region (section `.store`, see
//! memory.x), shipped erased, behind the `NorFlash` traits. The host may load an image into it
//! before the card is opened (`L` frames) and read it back at any time (`D` frames), which is
//! how `ukey-sim --link qemu --image` keeps a token across QEMU runs.

use core::sync::atomic::{AtomicU16, Ordering};

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash,
};
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};

/// Size of the record store: 16 pages of 4 KiB, the `STORE` region of memory.x.
pub const STORE_BYTES: usize = 16 * PAGE_SIZE;

/// Pages the card wrote or erased since the host last asked (`C`): bit n for page n.
static CHANGED: AtomicU16 = AtomicU16::new(0);

/// Bits of the pages that `len` bytes from `offset` touch.
fn pages(offset: u32, len: usize) -> u16 {
    let first = offset as usize / PAGE_SIZE;
    let last = (offset as usize + len.max(1) - 1) / PAGE_SIZE;
    (first..=last.min(15)).fold(0, |bits, page| bits | 1 << page)
}

/// The pages changed since the previous call (bit n for page n), so the host reads back only
/// those to keep its image file up to date.
pub fn take_changed() -> u16 {
    CHANGED.swap(0, Ordering::Relaxed)
}

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

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        with_store(|flash| flash.erase(from, to))?;
        let len = to.saturating_sub(from) as usize;
        CHANGED.fetch_or(pages(from, len), Ordering::Relaxed);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        with_store(|flash| flash.write(offset, bytes))?;
        CHANGED.fetch_or(pages(offset, bytes.len()), Ordering::Relaxed);
        Ok(())
    }
}

impl MultiwriteNorFlash for Store {}
