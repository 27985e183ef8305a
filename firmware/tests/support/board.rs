//! The conformance cases' transport to the applet on the QEMU board (firmware/boards/
//! mps2-an386): the host side of the board's UART framing is ukey-sim's own file, included
//! here as it is, so the firmware's tests need no dependency on ukey-sim.

#[path = "../../../sim/src/qemu/board.rs"]
mod link;

use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use ukey_firmware::{ATR, Profile};

use link::Board;

/// The board image: `$UKEY_QEMU_KERNEL`, or the board's release build in this source tree.
fn kernel() -> PathBuf {
    std::env::var_os("UKEY_QEMU_KERNEL").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("boards/mps2-an386/target/thumbv7em-none-eabihf/release/ukey-board-mps2")
        },
        PathBuf::from,
    )
}

/// The applet on a QEMU board of its own.
pub struct BoardToken {
    board: Board,
}

impl BoardToken {
    /// Boots a board, loads `image` if given, sends `profile` and a seed from `seed`, powers
    /// the card on.
    pub fn start(profile: &Profile, image: Option<&[u8]>, seed: u64) -> Self {
        let mut board = Self::boot(profile, image, seed);
        assert_eq!(board.power_on().expect("power on"), ATR);
        Self { board }
    }

    /// As [`super::open_refused`], on the board.
    pub fn open_refused(image: &[u8]) -> Option<Vec<u8>> {
        let mut board = Self::boot(&Profile::standard(1), Some(image), 1);
        match board.power_on() {
            Ok(_) => None,
            Err(error) => {
                assert!(error.to_string().contains("[08]"), "{error}");
                Some(board.dump().expect("dump"))
            }
        }
    }

    fn boot(profile: &Profile, image: Option<&[u8]>, seed: u64) -> Board {
        let mut board = Board::start(&kernel()).expect("QEMU board");
        if let Some(image) = image {
            board.load(image).expect("load the store");
        }
        board.profile(profile).expect("profile");
        let mut bytes = [0u8; 32];
        ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
        board.seed(&bytes).expect("seed");
        board
    }
}

impl super::Token for BoardToken {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.board.apdu(apdu).expect("APDU over the board's UART")
    }

    fn reset(&mut self) {
        assert_eq!(self.board.reset().expect("reset"), ATR);
    }

    fn into_image(self: Box<Self>) -> Vec<u8> {
        let mut board = self.board;
        let image = board.dump().expect("dump");
        board.quit().expect("quit");
        image
    }
}
