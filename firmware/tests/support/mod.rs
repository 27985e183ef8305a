//! What the firmware's integration tests share: a token over RAM flash, on the QEMU board
//! or in a real reader ([`Token`], the seam the conformance cases run through), APDU
//! helpers that read like the card edge, and signature checks by the real `openssl`
//! command.
#![allow(dead_code)] // Each test crate uses its own part of the support.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

pub mod board;
pub mod cut;
pub mod openssl;
pub mod reader;

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use ukey_firmware::flash::RamFlash;
use ukey_firmware::{Card, ManagementKeyAlgorithm, Profile};

/// Flash of a test token: 16 pages of 4 KiB.
pub const FLASH_LEN: usize = 16 * 4096;
/// A test token's flash.
pub type Flash = RamFlash<FLASH_LEN>;
/// A test token.
pub type TestCard = Card<Flash, ChaCha20Rng>;

/// The PIV default management key.
pub const DEFAULT_MGMT: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// A token made from `profile` on a blank flash, with a seeded RNG.
pub fn card_with(profile: &Profile, seed: u64) -> Box<TestCard> {
    Box::new(Card::open(Flash::new(), ChaCha20Rng::seed_from_u64(seed), profile).expect("open"))
}

/// A token plugged back in: the flash image `image`, opened with `profile` (which a token
/// already made ignores).
pub fn reopen(image: &[u8; FLASH_LEN], profile: &Profile, seed: u64) -> Box<TestCard> {
    Box::new(
        Card::open(
            Flash::from_bytes(image),
            ChaCha20Rng::seed_from_u64(seed),
            profile,
        )
        .expect("open"),
    )
}

/// A token with the card edge's defaults.
pub fn card() -> Box<TestCard> {
    card_with(&Profile::standard(0x1234_5678), 1)
}

/// What a test talks to: the applet in process, the applet on the QEMU board, or the token
/// in a real reader.
pub trait Token {
    /// Sends one command APDU; the answer is data then SW1 SW2.
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8>;
    /// A warm reset: the security state is forgotten.
    fn reset(&mut self);
    /// Unplugs the token and gives its flash image ([`FLASH_LEN`] bytes).
    fn into_image(self: Box<Self>) -> Vec<u8>;
}

impl Token for TestCard {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        record_fuzz_seed(Some(apdu));
        self.process(apdu).to_vec()
    }

    fn reset(&mut self) {
        record_fuzz_seed(None);
        Card::reset(self);
    }

    fn into_image(self: Box<Self>) -> Vec<u8> {
        self.into_flash()
            .expect("a loaded token")
            .as_bytes()
            .to_vec()
    }
}

/// The environment variable naming a directory where the in-process cases record their
/// APDUs, one file per case, as seeds of the fuzz targets (`fuzz/seeds.sh`).
pub const FUZZ_SEEDS_ENV: &str = "UKEY_FUZZ_SEEDS";

/// Appends one step (an APDU, or `None` for a warm reset) to the running case's seed file
/// in the fuzz targets' input format: a big-endian `u16` length and the APDU, or `FFFF`.
fn record_fuzz_seed(apdu: Option<&[u8]>) {
    use std::io::Write;
    let Some(dir) = std::env::var_os(FUZZ_SEEDS_ENV) else {
        return;
    };
    let case = std::thread::current()
        .name()
        .unwrap_or("main")
        .replace("::", "-");
    let mut step = match apdu {
        Some(apdu) => u16::try_from(apdu.len())
            .expect("APDU length")
            .to_be_bytes()
            .to_vec(),
        None => vec![0xFF, 0xFF],
    };
    step.extend_from_slice(apdu.unwrap_or_default());
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::Path::new(&dir).join(case))
        .expect("seed file");
    file.write_all(&step).expect("seed written");
}

impl<T: Token + ?Sized> Token for Box<T> {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        (**self).transmit(apdu)
    }

    fn reset(&mut self) {
        (**self).reset();
    }

    fn into_image(self: Box<Self>) -> Vec<u8> {
        (*self).into_image()
    }
}

/// The environment variable that runs the conformance cases on the QEMU board:
/// `UKEY_CONFORMANCE=qemu` (the board image from `$UKEY_QEMU_KERNEL`, or the board's release
/// build in this source tree).
pub const TRANSPORT_ENV: &str = "UKEY_CONFORMANCE";

/// Whether the cases run on the QEMU board rather than in process.
fn on_board() -> bool {
    let board = match std::env::var(TRANSPORT_ENV).as_deref() {
        Ok("qemu") => true,
        Ok("" | "in-process") | Err(_) => false,
        Ok(other) => panic!("{TRANSPORT_ENV}={other}: expected `qemu` or `in-process`"),
    };
    assert!(
        !(board && on_reader()),
        "{TRANSPORT_ENV}=qemu and {} are both set: choose one transport",
        reader::READER_ENV
    );
    board
}

/// Whether the cases run on the token in a real reader (`UKEY_TEST_READER` set).
pub fn on_reader() -> bool {
    reader::chosen().is_some()
}

/// Whether `case` is skipped because it needs what only the in-process card or the QEMU
/// board offers (a chosen profile, the flash image); says so when it is.
pub fn skipped_on_reader(case: &str, needs: &str) -> bool {
    let skipped = on_reader();
    if skipped {
        reader::report_skip(case, needs);
    }
    skipped
}

/// Fails a case that asks a real reader for `what` instead of skipping there.
fn refuse_on_reader(what: &str) {
    assert!(
        !on_reader(),
        "{what} cannot be had from a real reader: the case must skip there (skipped_on_reader)"
    );
}

/// A token made from `profile` on a blank flash, with a seeded RNG, on the chosen transport.
/// A real reader's token has the profile it was made with: a case choosing another one
/// skips on a reader ([`skipped_on_reader`]).
pub fn token_with(profile: &Profile, seed: u64) -> Box<dyn Token> {
    refuse_on_reader("a token made with a chosen profile");
    if on_board() {
        Box::new(board::BoardToken::start(profile, None, seed))
    } else {
        card_with(profile, seed)
    }
}

/// A token with the card edge's defaults, on the chosen transport; on a reader, its token
/// reset to factory state.
pub fn token() -> Box<dyn Token> {
    match reader::chosen() {
        Some(part) => Box::new(reader::ReaderToken::connect(&part)),
        None => token_with(&Profile::standard(0x1234_5678), 1),
    }
}

/// A token plugged back in with the flash `image`, on the chosen transport.
pub fn replug(image: &[u8], profile: &Profile, seed: u64) -> Box<dyn Token> {
    refuse_on_reader("a token plugged back in with a flash image");
    if on_board() {
        Box::new(board::BoardToken::start(profile, Some(image), seed))
    } else {
        reopen(
            image.try_into().expect("a whole flash image"),
            profile,
            seed,
        )
    }
}

/// Opens a token over the flash `image`, on the chosen transport: `Some` with the flash
/// afterwards if the card refused it as corrupted, `None` if it opened.
pub fn open_refused(image: &[u8; FLASH_LEN]) -> Option<Vec<u8>> {
    use rand_chacha::rand_core::SeedableRng;
    refuse_on_reader("a token opened over a given flash image");
    if on_board() {
        return board::BoardToken::open_refused(image);
    }
    let mut flash = Flash::from_bytes(image);
    let opened = Card::open(
        &mut flash,
        ChaCha20Rng::seed_from_u64(1),
        &Profile::standard(1),
    );
    matches!(opened, Err(ukey_firmware::OpenError::Corrupted)).then(|| flash.as_bytes().to_vec())
}

/// Parses hex with optional spaces.
pub fn h(text: &str) -> Vec<u8> {
    hex::decode(text.replace(' ', "")).expect("hex")
}

/// Sends `apdu` and splits the response into data and status word.
pub fn send<T: Token + ?Sized>(card: &mut T, apdu: &[u8]) -> (Vec<u8>, u16) {
    let r = card.transmit(apdu);
    assert!(r.len() >= 2, "response without status word");
    let (data, sw) = r.split_at(r.len() - 2);
    (data.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

/// Sends `apdu`, asserts the status word, returns the data.
pub fn expect<T: Token + ?Sized>(card: &mut T, apdu: &[u8], sw: u16) -> Vec<u8> {
    let (data, got) = send(card, apdu);
    assert_eq!(
        got,
        sw,
        "APDU {} answered {got:04X}, expected {sw:04X}",
        hex::encode(apdu)
    );
    data
}

/// Sends a command with short Lc (and no Le) built from its parts.
pub fn apdu(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut a = vec![cla, ins, p1, p2];
    if !data.is_empty() {
        a.push(u8::try_from(data.len()).expect("short APDU"));
        a.extend_from_slice(data);
    }
    a
}

/// A PIN or PUK padded with FF to 8 bytes.
pub fn padded(value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    v.resize(8, 0xFF);
    v
}

/// Selects the PIV application.
pub fn select<T: Token + ?Sized>(card: &mut T) {
    expect(card, &h("00A4040005A000000308"), 0x9000);
}

/// Verifies `pin`.
pub fn verify<T: Token + ?Sized>(card: &mut T, pin: &[u8]) -> u16 {
    send(card, &apdu(0, 0x20, 0, 0x80, &padded(pin))).1
}

/// Runs one block of the management key's cipher.
pub fn block_cipher(alg: ManagementKeyAlgorithm, key: &[u8], block: &mut [u8], encrypt: bool) {
    macro_rules! run {
        ($c:ty) => {{
            let c = <$c>::new_from_slice(key).expect("key length");
            if encrypt {
                c.encrypt_block(block.try_into().expect("block"))
            } else {
                c.decrypt_block(block.try_into().expect("block"))
            }
        }};
    }
    match alg {
        ManagementKeyAlgorithm::TripleDes => run!(des::TdesEde3),
        ManagementKeyAlgorithm::Aes128 => run!(aes::Aes128),
        ManagementKeyAlgorithm::Aes192 => run!(aes::Aes192),
        ManagementKeyAlgorithm::Aes256 => run!(aes::Aes256),
    }
}

/// Mutual authentication with the management key, as yubico-piv-tool does it.
pub fn authenticate<T: Token + ?Sized>(
    card: &mut T,
    alg: ManagementKeyAlgorithm,
    key: &[u8],
) -> u16 {
    let witness = expect(card, &apdu(0, 0x87, alg.id(), 0x9B, &h("7C028000")), 0x9000);
    let n = alg.block_len();
    assert_eq!(witness[..4], [0x7C, n as u8 + 2, 0x80, n as u8]);
    let mut plain = witness[4..].to_vec();
    block_cipher(alg, key, &mut plain, false);
    let challenge = vec![0x5A; n];
    let mut data = vec![0x7C, 2 * n as u8 + 4, 0x80, n as u8];
    data.extend_from_slice(&plain);
    data.extend_from_slice(&[0x81, n as u8]);
    data.extend_from_slice(&challenge);
    let (answer, sw) = send(card, &apdu(0, 0x87, alg.id(), 0x9B, &data));
    if sw == 0x9000 {
        let mut expected = challenge;
        block_cipher(alg, key, &mut expected, true);
        assert_eq!(answer[4..], expected[..], "card's answer to our challenge");
    }
    sw
}

/// Authenticates with the default 3DES management key.
pub fn authenticate_default<T: Token + ?Sized>(card: &mut T) {
    assert_eq!(
        authenticate(card, ManagementKeyAlgorithm::TripleDes, &DEFAULT_MGMT),
        0x9000
    );
}

/// Generates a key in `slot`; returns the uncompressed public point.
pub fn generate<T: Token + ?Sized>(card: &mut T, slot: u8, alg: u8) -> Vec<u8> {
    let r = expect(
        card,
        &apdu(0, 0x47, 0, slot, &[0xAC, 3, 0x80, 1, alg]),
        0x9000,
    );
    assert_eq!(r[..5], [0x7F, 0x49, 0x43, 0x86, 0x41]);
    r[5..].to_vec()
}

/// IMPORT ASYMMETRIC KEY of `scalar` (in `06`) into `slot`, followed by `policies` (`AA`
/// and `AB` elements as they travel); returns the status word.
pub fn import<T: Token + ?Sized>(
    card: &mut T,
    slot: u8,
    alg: u8,
    scalar: &[u8],
    policies: &[u8],
) -> u16 {
    let mut data = vec![0x06, scalar.len() as u8];
    data.extend_from_slice(scalar);
    data.extend_from_slice(policies);
    send(card, &apdu(0, 0xFE, alg, slot, &data)).1
}

/// Signs a 32-byte digest with `slot`; returns the status word and the DER signature.
pub fn sign<T: Token + ?Sized>(card: &mut T, slot: u8, alg: u8, digest: &[u8]) -> (u16, Vec<u8>) {
    use_key(card, slot, alg, 0x81, digest)
}

/// Key agreement with `slot` and the peer's point; returns the status word and the shared
/// secret (P-256: `x`; SM2: `04 ‖ x ‖ y`).
pub fn agree<T: Token + ?Sized>(card: &mut T, slot: u8, alg: u8, peer: &[u8]) -> (u16, Vec<u8>) {
    use_key(card, slot, alg, 0x85, peer)
}

/// GENERAL AUTHENTICATE `7C { 82 00, tag input }` with `slot`; returns the status word and
/// the value of the answer's `82`.
fn use_key<T: Token + ?Sized>(
    card: &mut T,
    slot: u8,
    alg: u8,
    tag: u8,
    input: &[u8],
) -> (u16, Vec<u8>) {
    let mut data = vec![
        0x7C,
        input.len() as u8 + 4,
        0x82,
        0x00,
        tag,
        input.len() as u8,
    ];
    data.extend_from_slice(input);
    let (r, sw) = send(card, &apdu(0, 0x87, alg, slot, &data));
    if sw != 0x9000 {
        return (sw, r);
    }
    assert_eq!(r[0], 0x7C);
    assert_eq!(r[2], 0x82);
    assert_eq!(usize::from(r[3]), r.len() - 4);
    (sw, r[4..].to_vec())
}

/// PUT DATA of `object` (given as its tag bytes) with value `value`, chained in 255-byte parts.
pub fn put_data<T: Token + ?Sized>(card: &mut T, tag: &[u8], value: &[u8]) -> u16 {
    let mut data = vec![0x5C, tag.len() as u8];
    data.extend_from_slice(tag);
    data.push(0x53);
    match value.len() {
        0..=0x7F => data.push(value.len() as u8),
        0x80..=0xFF => data.extend_from_slice(&[0x81, value.len() as u8]),
        _ => data.extend_from_slice(&[0x82, (value.len() >> 8) as u8, value.len() as u8]),
    }
    data.extend_from_slice(value);
    let parts: Vec<&[u8]> = data.chunks(255).collect();
    for (i, part) in parts.iter().enumerate() {
        let cla = if i + 1 < parts.len() { 0x10 } else { 0x00 };
        let (_, sw) = send(card, &apdu(cla, 0xDB, 0x3F, 0xFF, part));
        if sw != 0x9000 || i + 1 == parts.len() {
            return sw;
        }
    }
    unreachable!()
}

/// GET DATA of `object`, following 61xx with GET RESPONSE; returns status and the whole answer.
pub fn get_data<T: Token + ?Sized>(card: &mut T, tag: &[u8]) -> (u16, Vec<u8>) {
    let mut data = vec![0x5C, tag.len() as u8];
    data.extend_from_slice(tag);
    let (mut out, mut sw) = send(card, &apdu(0, 0xCB, 0x3F, 0xFF, &data));
    while sw >> 8 == 0x61 {
        let (more, next) = send(card, &[0, 0xC0, 0, 0, sw as u8]);
        out.extend_from_slice(&more);
        sw = next;
    }
    (sw, out)
}
