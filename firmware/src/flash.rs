//! NOR flash drivers for the store: a RAM flash for tests, a power-cut injector that tears one
//! operation, and (with the `std` feature) the image file behind a simulated token.
//!
//! All of them follow real NOR rules, the contract of
//! [`embedded_storage::nor_flash::MultiwriteNorFlash`]: an erase sets whole pages to `0xFF`, a
//! write can only clear bits (the flash keeps `old AND new`), reads go anywhere, and every
//! request is checked for alignment and bounds.

mod power_cut;
mod ram;

#[cfg(any(feature = "std", test))]
mod file;

use core::ops::Range;

use embedded_storage::nor_flash::NorFlashErrorKind;

#[cfg(any(feature = "std", test))]
pub use file::{FileFlash, FileFlashError, ImageError, ImageErrorKind, NewImage};
pub use power_cut::{PowerCutError, PowerCutFlash};
pub use ram::RamFlash;

/// Erase granularity of the ukey flashes: 4 KiB, the page of common SPI NOR parts and of the
/// store's layout.
pub const PAGE_SIZE: usize = 4096;

/// Write granularity of the ukey flashes: one 32-bit word, as internal MCU flash programs.
const WRITE_SIZE: usize = 4;

/// Read granularity of the ukey flashes: any byte, as memory-mapped flash reads.
const READ_SIZE: usize = 1;

/// Checks that `len` bytes at `offset` lie inside an image of `capacity` bytes and are aligned
/// to `align`; gives the byte range in the image.
fn span(
    capacity: usize,
    align: usize,
    offset: u32,
    len: usize,
) -> Result<Range<usize>, NorFlashErrorKind> {
    let start = usize::try_from(offset).map_err(|_| NorFlashErrorKind::OutOfBounds)?;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= capacity)
        .ok_or(NorFlashErrorKind::OutOfBounds)?;
    if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
        return Err(NorFlashErrorKind::NotAligned);
    }
    Ok(start..end)
}

/// Reads from a flash image kept in memory.
fn read_image(image: &[u8], offset: u32, bytes: &mut [u8]) -> Result<(), NorFlashErrorKind> {
    let range = span(image.len(), READ_SIZE, offset, bytes.len())?;
    bytes.copy_from_slice(&image[range]);
    Ok(())
}

/// Programs a flash image kept in memory with NOR semantics (each byte becomes `old AND new`);
/// gives the range it changed so a file-backed flash can write it through.
fn write_image(
    image: &mut [u8],
    offset: u32,
    bytes: &[u8],
) -> Result<Range<usize>, NorFlashErrorKind> {
    let range = span(image.len(), WRITE_SIZE, offset, bytes.len())?;
    for (cell, new) in image[range.clone()].iter_mut().zip(bytes) {
        *cell &= new;
    }
    Ok(range)
}

/// Erases whole pages of a flash image kept in memory (`from..to`, page-aligned) to `0xFF`;
/// gives the range it changed.
fn erase_image(image: &mut [u8], from: u32, to: u32) -> Result<Range<usize>, NorFlashErrorKind> {
    let len = to.checked_sub(from).ok_or(NorFlashErrorKind::OutOfBounds)?;
    let len = usize::try_from(len).map_err(|_| NorFlashErrorKind::OutOfBounds)?;
    let range = span(image.len(), PAGE_SIZE, from, len)?;
    image[range.clone()].fill(0xFF);
    Ok(range)
}
