//! The QEMU board's link: its framing answers every malformed frame with an `E` code and
//! keeps its place; its write-through keeps the host's copy of the store equal to the board's,
//! and a flash operation the host cannot store fails on the board too; `--link qemu` says what
//! is missing when the board image is. (Images on the QEMU link are tested with the others',
//! in image.rs and sigkill.rs.)

use std::io;
use std::sync::{Arc, Mutex};

use ukey_firmware::{ATR, Profile};
use ukey_sim::qemu::{Board, Journal, STORE_BYTES, encode_profile, kernel_path};
use ukey_sim::{LinkKind, Token, TokenOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
const WRONG_PIN: &[u8] = &[
    0x00, 0x20, 0x00, 0x80, 0x08, b'6', b'5', b'4', b'3', b'2', b'1', 0xFF, 0xFF,
];

fn error(code: u8) -> (u8, Vec<u8>) {
    (b'E', vec![code])
}

#[test]
fn the_board_refuses_each_malformed_or_untimely_frame_and_keeps_its_place() -> TestResult {
    let mut board = Board::start(&kernel_path(None))?;
    assert_eq!(
        board.frame(b'A', SELECT_PIV)?,
        error(0x07),
        "APDU before power-on"
    );
    assert_eq!(
        board.frame(b'P', &[])?,
        error(0x05),
        "power-on before a seed"
    );
    assert_eq!(board.frame(b'S', &[0; 8])?, error(0x04), "a short seed");
    assert_eq!(board.frame(b'P', &[1])?, error(0x04), "a payload on P");
    board.send_raw(b"x")?;
    assert_eq!(board.answer()?, error(0x01), "unknown type byte");
    let mut long = vec![b'L', 0x13, 0x88];
    long.extend_from_slice(&[0; 5000]);
    board.send_raw(&long)?;
    assert_eq!(board.answer()?, error(0x02), "payload over the limit");
    long[0] = b'A';
    board.send_raw(&long)?;
    assert_eq!(
        board.answer()?,
        (b'A', vec![0x67, 0x00]),
        "an APDU over the limit gets a status word, even before power-on"
    );
    board.send_raw(&[b'A', 0x00, 0x05, 0x00, 0xA4])?;
    assert_eq!(
        board.answer()?,
        error(0x03),
        "a frame cut short: dropped after 500 ms"
    );

    let mut bad = Profile::standard(7);
    bad.pin_tries = 0;
    let encoded = encode_profile(&bad);
    assert_eq!(
        board.frame(b'F', &encoded)?,
        error(0x09),
        "a profile against the rules"
    );
    assert_eq!(
        board.frame(b'F', &encoded[..5])?,
        error(0x09),
        "a profile cut short"
    );
    board.profile(&Profile::bjca(42))?;
    assert_eq!(
        board.frame(b'L', &[0, 1, 0, 0, 1, 2, 3, 4])?,
        error(0x0A),
        "load past the store"
    );
    assert_eq!(
        board.frame(b'L', &[0, 0, 0, 2, 1, 2, 3, 4])?,
        error(0x0A),
        "unaligned load"
    );
    assert_eq!(
        board.frame(b'D', &[0, 0, 0xFF, 0xFF, 0, 4])?,
        error(0x0A),
        "dump past the store"
    );
    assert_eq!(
        board.frame(b'D', &[0, 0, 0, 0])?,
        error(0x04),
        "dump without a length"
    );

    board.seed(&[0x11; 32])?;
    assert_eq!(board.power_on()?, ATR);
    assert_eq!(
        board.frame(b'F', &encode_profile(&Profile::standard(1)))?,
        error(0x06)
    );
    assert_eq!(board.frame(b'L', &[0, 0, 0, 0, 1, 2, 3, 4])?, error(0x06));
    assert_eq!(
        board.frame(b'J', &[])?,
        error(0x06),
        "write-through after opening"
    );
    board.seed(&[0x22; 64])?;
    assert_eq!(board.reset()?, ATR);
    assert_eq!(board.apdu(SELECT_PIV)?[..2], [0x61, 0x26]);
    assert_eq!(
        board.apdu(&[0x00, 0xF8, 0x00, 0x00])?,
        [0, 0, 0, 42, 0x90, 0x00],
        "bjca serial"
    );
    assert_eq!(board.dump()?.len(), STORE_BYTES);
    board.quit()?;
    Ok(())
}

/// A journal that applies every flash operation to a copy of the store, with NOR rules, and
/// refuses the `refuse_after`-th and later ones.
struct Copy {
    store: Arc<Mutex<Vec<u8>>>,
    operations: Arc<Mutex<usize>>,
    refuse_after: usize,
}

impl Copy {
    fn count(&self) -> io::Result<()> {
        let mut operations = self
            .operations
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        *operations += 1;
        if *operations > self.refuse_after {
            return Err(io::Error::other("the disk is full"));
        }
        Ok(())
    }
}

impl Journal for Copy {
    fn write(&mut self, offset: u32, bytes: &[u8]) -> io::Result<()> {
        self.count()?;
        let mut store = self
            .store
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        for (cell, new) in store[offset as usize..].iter_mut().zip(bytes) {
            *cell &= new;
        }
        Ok(())
    }

    fn erase(&mut self, from: u32, to: u32) -> io::Result<()> {
        self.count()?;
        let mut store = self
            .store
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        store[from as usize..to as usize].fill(0xFF);
        Ok(())
    }
}

#[test]
fn the_write_through_keeps_the_hosts_copy_equal_to_the_boards_store() -> TestResult {
    let store = Arc::new(Mutex::new(vec![0xFF; STORE_BYTES]));
    let operations = Arc::new(Mutex::new(0));
    let mut board = Board::start(&kernel_path(None))?;
    board.journal(Box::new(Copy {
        store: store.clone(),
        operations: operations.clone(),
        refuse_after: usize::MAX,
    }))?;
    board.seed(&[0x33; 32])?;
    assert_eq!(board.power_on()?, ATR);
    assert!(
        *operations.lock().map_err(|_| "poisoned")? > 0,
        "opening a blank store writes it"
    );
    assert_eq!(board.apdu(SELECT_PIV)?[..2], [0x61, 0x26]);
    assert_eq!(board.apdu(WRONG_PIN)?, [0x63, 0xC2]);
    let copy = store.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(board.dump()?, copy, "the host's copy lags behind the board");
    board.quit()?;
    Ok(())
}

#[test]
fn a_write_the_host_cannot_store_fails_on_the_board_too_and_is_reported() -> TestResult {
    let store = Arc::new(Mutex::new(vec![0xFF; STORE_BYTES]));
    let operations = Arc::new(Mutex::new(0));
    let mut board = Board::start(&kernel_path(None))?;
    board.journal(Box::new(Copy {
        store: store.clone(),
        operations: operations.clone(),
        refuse_after: 0,
    }))?;
    board.seed(&[0x44; 32])?;
    let error = board.power_on().expect_err("a blank store cannot be made");
    assert!(error.to_string().contains("the disk is full"), "{error}");
    let copy = store.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(board.dump()?, copy, "the board wrote what the host refused");
    assert!(copy.iter().all(|&byte| byte == 0xFF));
    board.quit()?;
    Ok(())
}

#[test]
fn a_missing_board_image_says_how_to_build_it() {
    let error = Token::open(&TokenOptions {
        link: LinkKind::Qemu,
        kernel: Some("/nonexistent/ukey-board-mps2".into()),
        ..TokenOptions::default()
    })
    .expect_err("no board image");
    let text = error.to_string();
    assert!(
        text.contains("/nonexistent/ukey-board-mps2") && text.contains("cargo build"),
        "{text}"
    );
}
