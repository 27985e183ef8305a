//! The conformance cases' transport to a token in a real reader (a board plugged in, or
//! anything the system's pcscd shows as a reader), chosen with `UKEY_TEST_READER=<a part
//! of the reader's name>`. The PC/SC client library reaches the pcscd that
//! `PCSCLITE_CSOCK_NAME` names, else the default socket.
//!
//! Each case's token is the reader's token reset to factory state through the card edge
//! (the PIN and PUK blocked with wrong tries, then RESET `00 FB 00 00`), which erases its
//! keys and certificates. The cases take turns with it.

use std::ffi::CString;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pcsc::{Card, Context, Disposition, Protocols, Scope, ShareMode};

/// The environment variable naming the reader.
pub const READER_ENV: &str = "UKEY_TEST_READER";

/// The most tries a PIN or PUK can have (card edge: 1 to 15).
const MOST_TRIES: usize = 15;

/// The one token in the reader: the cases of this test binary take turns with it.
static TURN: Mutex<()> = Mutex::new(());

/// The part of a reader's name given in `UKEY_TEST_READER`, if it is set.
pub fn chosen() -> Option<String> {
    std::env::var(READER_ENV)
        .ok()
        .filter(|name| !name.trim().is_empty())
}

/// Says on the terminal, past the test harness's capture, that `case` does not run on a
/// reader and why.
pub fn report_skip(case: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "skipped on the reader: {case}: {why} (only the in-process card or the QEMU board can)"
    );
}

/// The token in the reader, in factory state, held for one case.
pub struct ReaderToken {
    card: Card,
    _turn: MutexGuard<'static, ()>,
}

impl ReaderToken {
    /// Waits for this case's turn, connects to the one reader whose name contains `part`,
    /// and resets its token to factory state.
    pub fn connect(part: &str) -> Self {
        // A case that failed left the token in some state; this one resets it anyway.
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let context = Context::establish(Scope::User).unwrap_or_else(|e| {
            panic!("no pcscd to reach ({e}): start pcscd, or set PCSCLITE_CSOCK_NAME")
        });
        let name = find(&context, part);
        let card = context
            .connect(&name, ShareMode::Exclusive, Protocols::ANY)
            .unwrap_or_else(|e| panic!("connecting to {name:?}: {e} (is the token in?)"));
        let mut token = Self { card, _turn: turn };
        token.factory_reset();
        token
    }

    /// PIN and PUK blocked, RESET, then a warm reset: the token as a new one powers on.
    fn factory_reset(&mut self) {
        use super::{Token, apdu, expect, h, padded, send};
        // The blocking and RESET below are any PIV card's reset (a YubiKey's among them):
        // they go only to a token whose SELECT answer has ukey's label (card-edge.md).
        let (selected, sw) = send(self, &h("00A4040005A000000308"));
        let label = b"\x50\x08ukey PIV";
        assert!(
            sw == 0x9000 && selected.windows(label.len()).any(|window| window == label),
            "the token in the reader does not answer SELECT as a ukey token (label \"ukey PIV\"): \
             refusing to erase it; set {READER_ENV} to the ukey token's reader"
        );
        let block = |token: &mut Self, command: &[u8], what: &str| {
            let blocked = (0..MOST_TRIES).any(|_| send(token, command).1 == 0x6983);
            assert!(
                blocked,
                "the {what} is not blocked after {MOST_TRIES} wrong tries"
            );
        };
        block(self, &apdu(0, 0x20, 0, 0x80, &padded(b"00000000")), "PIN");
        let wrong_puk = [padded(b"00000000"), padded(b"000000")].concat();
        block(self, &apdu(0, 0x2C, 0, 0x80, &wrong_puk), "PUK");
        expect(self, &h("00 FB 00 00"), 0x9000);
        expect(self, &h("00 20 00 80"), 0x63C3);
        self.reset();
    }
}

/// The name of the one reader whose name contains `part`.
fn find(context: &Context, part: &str) -> CString {
    let readers = context
        .list_readers_owned()
        .unwrap_or_else(|e| panic!("listing the readers: {e}"));
    let names: Vec<String> = readers
        .iter()
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let matching: Vec<&CString> = readers
        .iter()
        .filter(|name| name.to_string_lossy().contains(part))
        .collect();
    match matching.as_slice() {
        [name] => (*name).clone(),
        [] => panic!(
            "no reader whose name contains {part:?}; pcscd lists {names:?}. Plug the token in, \
             or set {READER_ENV} to a part of one of those names"
        ),
        several => panic!(
            "several readers' names contain {part:?}: {several:?}; set {READER_ENV} to a part \
             only one has"
        ),
    }
}

impl super::Token for ReaderToken {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut buffer = vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        match self.card.transmit(apdu, &mut buffer) {
            Ok(response) => response.to_vec(),
            Err(e) => panic!("APDU {} through the reader: {e}", hex::encode(apdu)),
        }
    }

    fn reset(&mut self) {
        self.card
            .reconnect(ShareMode::Exclusive, Protocols::ANY, Disposition::ResetCard)
            .unwrap_or_else(|e| panic!("warm reset through the reader: {e}"));
    }

    fn into_image(self: Box<Self>) -> Vec<u8> {
        panic!("a real reader's token has no flash image to read: this case skips on a reader")
    }
}
