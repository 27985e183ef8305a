//! `--link qemu`: the applet on an emulated Cortex-M4 (QEMU's mps2-an386 board running
//! `firmware/boards/mps2-an386`), reached over the board's UART framing.
//!
//! The board has no entropy source: at every power-on and reset the link mixes 32 bytes
//! from the operating system (or, with `--insecure-seed`, from a ChaCha20 stream of that
//! seed) into the board's DRBG. The board has no power-off either: power-off and reset are
//! a warm reset (`R`), power-on is `P`; each clears the security state.
//!
//! `--image` keeps the board's 64 KiB store in an image file (the format of the other links,
//! 16 pages): loaded into the blank store before the card is opened; then the board's
//! write-through (`J`) sends every flash write and erase the card makes here, where it is
//! written to the file before the board carries it out and the card goes on. So the file is
//! never behind the card: a simulator killed at any instant leaves it as a power cut at a
//! flash-operation boundary leaves a chip, as on the other links. A new image stays aside
//! until the board has made the token in it (its first power-on), then takes its name.
//! Closing the token makes the file durable (fsync). Each flash operation costs a round trip
//! over the UART, whose bytes QEMU moves one at a time: a wrong VERIFY (two writes, 8 and 140
//! bytes) took about four times as long as without an image (9.0 ms against 2.3 ms, one run of
//! `cargo bench -p ukey-sim --bench qemu_image` on a loaded machine).

mod board;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use ukey_firmware::Profile;
use ukey_firmware::flash::{FileFlash, NewImage, PAGE_SIZE};

pub use board::{Board, Journal, STORE_BYTES, encode_profile};

use crate::error::{Error, Result};
use crate::link::Link;

/// Pages of the board's store, and of a `--link qemu` image.
pub const STORE_PAGES: u32 = (STORE_BYTES / PAGE_SIZE) as u32;

/// Where the board image is, relative to the workspace, once built with cargo.
const BOARD_IMAGE: &str =
    "firmware/boards/mps2-an386/target/thumbv7em-none-eabihf/release/ukey-board-mps2";

/// The environment variable that names the board image when no path is given.
pub const KERNEL_ENV: &str = "UKEY_QEMU_KERNEL";

/// The board image to run: `kernel` if given, else `$UKEY_QEMU_KERNEL`, else the release
/// build in this source tree.
pub fn kernel_path(kernel: Option<&Path>) -> PathBuf {
    if let Some(kernel) = kernel {
        return kernel.to_path_buf();
    }
    if let Some(kernel) = std::env::var_os(KERNEL_ENV) {
        return PathBuf::from(kernel);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(BOARD_IMAGE)
}

/// Where the board's DRBG seeds come from.
enum Seeds {
    /// The operating system, at every power-on.
    Os,
    /// `--insecure-seed`: a reproducible stream.
    Insecure(Box<ChaCha20Rng>),
}

impl Seeds {
    /// The next 32-byte seed.
    fn next(&mut self) -> Result<[u8; 32]> {
        let mut seed = [0u8; 32];
        match self {
            Self::Os => getrandom::fill(&mut seed).map_err(|error| {
                Error::io(
                    "seeding the board's DRBG from the operating system",
                    error.into(),
                )
            })?,
            Self::Insecure(stream) => stream.fill_bytes(&mut seed),
        }
        Ok(seed)
    }
}

/// The image file, shared by the link (which makes it durable at close) and the board's
/// journal (which writes to it).
type SharedImage = Arc<Mutex<FileFlash>>;

fn lock(image: &SharedImage) -> MutexGuard<'_, FileFlash> {
    image.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The board's write-through into the image file.
struct ImageJournal(SharedImage);

impl Journal for ImageJournal {
    fn write(&mut self, offset: u32, bytes: &[u8]) -> io::Result<()> {
        lock(&self.0)
            .write(offset, bytes)
            .map_err(|error| io::Error::other(format!("writing the flash image: {error}")))
    }

    fn erase(&mut self, from: u32, to: u32) -> io::Result<()> {
        lock(&self.0)
            .erase(from, to)
            .map_err(|error| io::Error::other(format!("erasing in the flash image: {error}")))
    }
}

/// The applet on the QEMU board; its store optionally kept in an image file.
pub struct QemuLink {
    board: Board,
    seeds: Seeds,
    image: Option<SharedImage>,
    atr: Vec<u8>,
}

impl QemuLink {
    /// Starts QEMU with the board image `kernel`, loads the store from `image` (created blank
    /// on first use), and opens the card with `profile` (which a store already made ignores).
    pub fn start(
        kernel: &Path,
        profile: &Profile,
        image: Option<&Path>,
        seed: Option<u64>,
    ) -> Result<Self> {
        let qemu = |what: &str| {
            let what = what.to_string();
            move |error| Error::io(format!("QEMU board: {what}"), error)
        };
        let (image, new_image) = match image {
            Some(path) => {
                let (image, new_image) = open_image(path)?;
                (Some(image), new_image)
            }
            None => (None, None),
        };
        let mut board = Board::start(kernel).map_err(qemu("starting"))?;
        if let Some(image) = &image {
            let mut bytes = vec![0u8; STORE_BYTES];
            lock(image).read(0, &mut bytes).map_err(flash_error)?;
            board
                .load(&bytes)
                .map_err(qemu("loading the store image"))?;
            board
                .journal(Box::new(ImageJournal(image.clone())))
                .map_err(qemu("turning on the write-through"))?;
        }
        board
            .profile(profile)
            .map_err(qemu("sending the profile"))?;
        let mut seeds = match seed {
            Some(seed) => Seeds::Insecure(Box::new(ChaCha20Rng::seed_from_u64(seed))),
            None => Seeds::Os,
        };
        board.seed(&seeds.next()?).map_err(qemu("seeding"))?;
        let atr = board.power_on().map_err(|error| {
            let place = image
                .as_ref()
                .map(|_| "the image's store")
                .unwrap_or("the store");
            Error::Open(format!("QEMU board, opening {place}: {error}"))
        })?;
        // The board has made the token (its factory records are in the file): the new image
        // takes its name.
        if let Some(new_image) = new_image {
            new_image.publish().map_err(Error::Image)?;
        }
        Ok(Self {
            board,
            seeds,
            image,
            atr,
        })
    }

    /// Ends QEMU and makes the image file durable.
    pub fn close(self) -> Result<()> {
        let quit = self
            .board
            .quit()
            .map_err(|error| Error::io("QEMU board: quitting", error));
        let synced = match &self.image {
            Some(image) => lock(image).flush().map_err(Error::Image),
            None => Ok(()),
        };
        quit.and(synced)
    }

    /// A fresh seed, then a warm reset (`R`): the security state is forgotten.
    fn warm_reset(&mut self) -> Result<Vec<u8>> {
        let seed = self.seeds.next()?;
        self.board
            .seed(&seed)
            .and_then(|()| self.board.reset())
            .map_err(|error| Error::io("QEMU board: reset", error))
    }
}

impl Link for QemuLink {
    fn power_on(&mut self) -> Result<Vec<u8>> {
        let seed = self.seeds.next()?;
        self.atr = self
            .board
            .seed(&seed)
            .and_then(|()| self.board.power_on())
            .map_err(|error| Error::io("QEMU board: power on", error))?;
        Ok(self.atr.clone())
    }

    fn power_off(&mut self) -> Result<()> {
        self.warm_reset().map(drop)
    }

    fn reset(&mut self) -> Result<Vec<u8>> {
        self.atr = self.warm_reset()?;
        Ok(self.atr.clone())
    }

    fn atr(&mut self) -> Result<Vec<u8>> {
        Ok(self.atr.clone())
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        self.board
            .apdu(command)
            .map_err(|error| Error::io("QEMU board: APDU", error))
    }
}

impl std::fmt::Debug for QemuLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QemuLink")
            .field("board", &self.board)
            .finish_non_exhaustive()
    }
}

/// Opens a `--link qemu` image (16 pages, the board's store), or creates a blank one aside, to
/// be published once the board has made the token in it.
fn open_image(path: &Path) -> Result<(SharedImage, Option<NewImage>)> {
    let (image, new_image) = FileFlash::open_or_create(path, STORE_PAGES).map_err(Error::Image)?;
    if image.capacity() != STORE_BYTES {
        return Err(Error::Open(format!(
            "flash image {}: {} pages, but the QEMU board's store holds {STORE_PAGES} (images of \
             the direct and ccid links hold 32 and do not fit it)",
            path.display(),
            image.capacity() / PAGE_SIZE
        )));
    }
    Ok((Arc::new(Mutex::new(image)), new_image))
}

/// A failed read or write of the image file.
fn flash_error(error: ukey_firmware::flash::FileFlashError) -> Error {
    Error::Open(format!("flash image: {error}"))
}
