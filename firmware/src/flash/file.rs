//! The flash of a simulated token, kept in an image file.
//!
//! Image layout (all numbers little-endian):
//!
//! ```text
//! offset  size  field
//!      0     8  magic "UKEYFLSH"
//!      8     4  format version (1)
//!     12     4  page size (4096)
//!     16     4  page count
//!     20     4  CRC-32 (IEEE) of bytes 0..20
//!     24     …  the pages, page count × page size bytes
//! ```

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

use super::{PAGE_SIZE, READ_SIZE, WRITE_SIZE, erase_image, read_image, write_image};

mod new_image;

pub use new_image::NewImage;

const MAGIC: [u8; 8] = *b"UKEYFLSH";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 24;
/// Bytes covered by the header checksum: everything before it.
const CHECKED_LEN: usize = 20;
/// Most pages an image can hold: flash offsets (and the end of an erase) are `u32`, and the
/// image must fit in memory.
const MAX_PAGES: u32 = {
    let by_offset = u32::MAX / PAGE_SIZE as u32;
    let by_memory = usize::MAX / PAGE_SIZE;
    if by_memory < by_offset as usize {
        by_memory as u32
    } else {
        by_offset
    }
};

/// What went wrong with an image file, and which one.
#[derive(Debug)]
pub struct ImageError {
    path: PathBuf,
    kind: ImageErrorKind,
}

/// Why an image file could not be created, opened or synced.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImageErrorKind {
    /// `create` found a file already there.
    AlreadyExists,
    /// Another process (or another `FileFlash` in this one) holds the image.
    Locked,
    /// The file does not start with the ukey image magic.
    NotAnImage,
    /// The image was written in another format version.
    UnsupportedVersion(u32),
    /// The header checksum does not match: the header is damaged.
    CorruptHeader,
    /// The header is intact but describes a flash this build cannot simulate.
    UnsupportedGeometry {
        /// Page size recorded in the header.
        page_size: u32,
        /// Page count recorded in the header.
        pages: u32,
    },
    /// The file is shorter than its header says.
    Truncated {
        /// Bytes a complete image has at least.
        expected: u64,
        /// Bytes the file has.
        found: u64,
    },
    /// The file is longer than its header says.
    TrailingBytes {
        /// Bytes the image should have.
        expected: u64,
        /// Bytes the file has.
        found: u64,
    },
    /// `create` was asked for no pages or more than an image can hold.
    PageCount(u32),
    /// The operating system refused a file operation.
    Io(io::Error),
}

impl ImageError {
    fn new(path: &Path, kind: ImageErrorKind) -> Self {
        Self {
            path: path.to_path_buf(),
            kind,
        }
    }

    /// Why it failed.
    pub fn kind(&self) -> &ImageErrorKind {
        &self.kind
    }

    /// The image file concerned.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ImageErrorKind::AlreadyExists => write!(
                f,
                "{path} already exists; open it instead, or move it away to start a blank token"
            ),
            ImageErrorKind::Locked => write!(
                f,
                "{path} is in use by another process (another simulator?); stop that process \
                 or give this one its own image file"
            ),
            ImageErrorKind::NotAnImage => write!(
                f,
                "{path} is not a ukey flash image (wrong magic); check the path, or give a new \
                 file name to start a blank token"
            ),
            ImageErrorKind::UnsupportedVersion(version) => write!(
                f,
                "{path} is a ukey flash image of format version {version}, but this build reads \
                 version {VERSION}; use the ukey release that wrote it"
            ),
            ImageErrorKind::CorruptHeader => write!(
                f,
                "{path} has a damaged header (checksum mismatch); restore it from a backup, or \
                 move it away to start a blank token"
            ),
            ImageErrorKind::UnsupportedGeometry { page_size, pages } => write!(
                f,
                "{path} describes {pages} pages of {page_size} bytes, but this build simulates \
                 1 to {MAX_PAGES} pages of {PAGE_SIZE} bytes; use the ukey release that wrote it"
            ),
            ImageErrorKind::Truncated { expected, found } => write!(
                f,
                "{path} is truncated ({found} bytes, a complete image has at least {expected}); \
                 restore it from a backup, or move it away to start a blank token"
            ),
            ImageErrorKind::TrailingBytes { expected, found } => write!(
                f,
                "{path} has {found} bytes where its header promises {expected}; it was changed \
                 by something else: restore it from a backup, or move it away to start a blank \
                 token"
            ),
            ImageErrorKind::PageCount(pages) => write!(
                f,
                "cannot make {path} with {pages} pages; choose 1 to {MAX_PAGES}"
            ),
            ImageErrorKind::Io(error) => write!(f, "{path}: {error}"),
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ImageErrorKind::Io(error) => Some(error),
            _ => None,
        }
    }
}

/// Why a [`FileFlash`] read, write or erase failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFlashError {
    /// The request was misaligned or out of bounds.
    Nor(NorFlashErrorKind),
    /// Writing through to the image file failed; the file may lag behind the flash.
    Io(io::ErrorKind),
}

impl NorFlashError for FileFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Nor(kind) => *kind,
            Self::Io(_) => NorFlashErrorKind::Other,
        }
    }
}

impl fmt::Display for FileFlashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nor(kind) => write!(f, "{kind}"),
            Self::Io(kind) => write!(f, "writing the flash image file failed: {kind}"),
        }
    }
}

impl std::error::Error for FileFlashError {}

/// The NOR flash of a simulated token, kept in an image file so the token keeps its data
/// between runs.
///
/// The bytes live in memory; every write and erase is written through to the file at once
/// (so a killed simulator loses nothing the token had written), and [`flush`](Self::flush)
/// makes it durable. The file is locked for as long as the `FileFlash` lives, so two
/// simulators cannot share one token. A new image is made aside and takes its name only once
/// it is complete ([`NewImage`]).
#[derive(Debug)]
pub struct FileFlash {
    file: File,
    path: PathBuf,
    bytes: Vec<u8>,
}

impl FileFlash {
    /// Opens the image at `path` after checking its header and size; a file that is not a
    /// complete, intact ukey image is refused with the reason and left untouched.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ImageError> {
        let path = path.as_ref();
        let io_error = |error| ImageError::new(path, ImageErrorKind::Io(error));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_error)?;
        lock(&file, path)?;
        let found = file.metadata().map_err(io_error)?.len();

        let mut header = [0; HEADER_LEN];
        let available = &mut header[..found.min(HEADER_LEN as u64) as usize];
        file.read_exact_at(available, 0).map_err(io_error)?;
        let pages = check_header(available, found).map_err(|kind| ImageError::new(path, kind))?;

        let mut bytes = vec![0; pages as usize * PAGE_SIZE];
        file.read_exact_at(&mut bytes, HEADER_LEN as u64)
            .map_err(io_error)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// The flash's bytes, as the file holds them after its header.
    pub fn contents(&self) -> &[u8] {
        &self.bytes
    }

    /// Makes every write and erase so far durable on disk (`fsync` of the data).
    pub fn flush(&mut self) -> Result<(), ImageError> {
        self.file
            .sync_data()
            .map_err(|error| ImageError::new(&self.path, ImageErrorKind::Io(error)))
    }

    /// Writes bytes of the in-memory flash through to the file.
    fn write_through(&self, range: std::ops::Range<usize>) -> Result<(), FileFlashError> {
        self.file
            .write_all_at(
                &self.bytes[range.clone()],
                (HEADER_LEN + range.start) as u64,
            )
            .map_err(|error| FileFlashError::Io(error.kind()))
    }
}

/// Takes the exclusive advisory lock that keeps a second process off the image.
///
/// A lock just let go may still be held for a moment by a process this one is starting: a
/// child holds copies of the parent's descriptors between its fork and its exec. So a held
/// lock is tried again for up to [`LOCK_PATIENCE`] before the image is reported locked.
fn lock(file: &File, path: &Path) -> Result<(), ImageError> {
    let deadline = std::time::Instant::now() + LOCK_PATIENCE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(ImageError::new(path, ImageErrorKind::Locked));
            }
            Err(TryLockError::Error(error)) => {
                return Err(ImageError::new(path, ImageErrorKind::Io(error)));
            }
        }
    }
}

/// How long a held image lock is waited for before the image is reported locked.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

/// The header of an image of `pages` pages.
fn header(pages: u32) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
    header[16..20].copy_from_slice(&pages.to_le_bytes());
    let checksum = crc32(&header[..CHECKED_LEN]);
    header[CHECKED_LEN..].copy_from_slice(&checksum.to_le_bytes());
    header
}

/// Checks the start of an image file (`start`, at most a header long) against the file's
/// length `found`; gives the page count.
fn check_header(start: &[u8], found: u64) -> Result<u32, ImageErrorKind> {
    let magic_len = start.len().min(MAGIC.len());
    if start[..magic_len] != MAGIC[..magic_len] {
        return Err(ImageErrorKind::NotAnImage);
    }
    let Ok(header) = <[u8; HEADER_LEN]>::try_from(start) else {
        return Err(ImageErrorKind::Truncated {
            expected: HEADER_LEN as u64,
            found,
        });
    };
    let field = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let (version, page_size, pages, checksum) = (field(8), field(12), field(16), field(20));
    if version != VERSION {
        return Err(ImageErrorKind::UnsupportedVersion(version));
    }
    if checksum != crc32(&header[..CHECKED_LEN]) {
        return Err(ImageErrorKind::CorruptHeader);
    }
    if page_size as usize != PAGE_SIZE || pages == 0 || pages > MAX_PAGES {
        return Err(ImageErrorKind::UnsupportedGeometry { page_size, pages });
    }
    let expected = HEADER_LEN as u64 + u64::from(pages) * PAGE_SIZE as u64;
    if found < expected {
        return Err(ImageErrorKind::Truncated { expected, found });
    }
    if found > expected {
        return Err(ImageErrorKind::TrailingBytes { expected, found });
    }
    Ok(pages)
}

/// CRC-32 as in zlib and PNG (reflected polynomial 0xEDB88320), bit by bit: the header is tiny.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

impl ErrorType for FileFlash {
    type Error = FileFlashError;
}

impl ReadNorFlash for FileFlash {
    const READ_SIZE: usize = READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        read_image(&self.bytes, offset, bytes).map_err(FileFlashError::Nor)
    }

    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl NorFlash for FileFlash {
    const WRITE_SIZE: usize = WRITE_SIZE;
    const ERASE_SIZE: usize = PAGE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let range = erase_image(&mut self.bytes, from, to).map_err(FileFlashError::Nor)?;
        self.write_through(range)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let range = write_image(&mut self.bytes, offset, bytes).map_err(FileFlashError::Nor)?;
        self.write_through(range)
    }
}

impl MultiwriteNorFlash for FileFlash {}

#[cfg(test)]
mod tests;
