//! What the power-cut tests share: a token whose flash loses power at a chosen operation, the
//! state a host can observe of a flash image, the aged stores the commands run on, the
//! commands themselves, and a flash that logs its operations.

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use ukey_firmware::flash::{PowerCutFlash, RamFlash};
use ukey_firmware::{Card, ManagementKeyAlgorithm, OpenError, Profile};

use super::{
    DEFAULT_MGMT, FLASH_LEN, TestCard, Token, apdu, authenticate, authenticate_default, card_with,
    generate, get_data, h, padded, put_data, send, verify,
};

/// A whole flash image.
pub type Image = Box<[u8; FLASH_LEN]>;
/// A token whose flash can lose power, and logs what it does.
pub type CutCard = Card<PowerCutFlash<OperationLog>, ChaCha20Rng>;
/// A command (or several) sent to such a token.
pub type Operation = fn(&mut CutCard);
/// What [`observe`] sees: each answer, data and status word.
pub type Observation = Vec<(Vec<u8>, u16)>;

/// The AES-128 management key SET MANAGEMENT KEY installs.
pub const NEW_AES_KEY: [u8; 16] = [0x42; 16];

/// The PINs a command under test may leave: the default, CHANGE REFERENCE DATA's, RESET
/// RETRY COUNTER's.
const PINS: [&[u8]; 3] = [b"123456", b"7654321", b"246810"];

/// The profile of every power-cut token.
pub fn profile() -> Profile {
    Profile::standard(77)
}

/// The RNG every power-cut token opens with, so a command draws the same keys every run.
pub fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(5)
}

/// Runs `work` on a thread with room for the debug build's copies of the 64 KiB flash.
pub fn on_big_stack(work: impl FnOnce() + Send + 'static) {
    let worker = std::thread::Builder::new().stack_size(256 << 20);
    let handle = worker.spawn(work).expect("thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

/// The image of a test token's flash.
pub fn image_of(c: Box<TestCard>) -> Image {
    Box::new(*c.into_flash().expect("a loaded token").as_bytes())
}

/// Everything a host can see of the stored state, without changing it; panics if the token
/// does not open.
pub fn observe(image: &Image) -> Observation {
    try_observe(image).expect("token opens after the cut")
}

/// As [`observe`], or why the token does not open.
pub fn try_observe(image: &Image) -> Result<Observation, OpenError> {
    let mut c = Box::new(Card::open(RamFlash::from_bytes(image), rng(), &profile())?);
    let mut seen = Vec::new();
    for reference in [0x80, 0x81, 0x9B, 0x9A, 0x9C, 0x9D, 0x9E] {
        seen.push(send(&mut c, &apdu(0, 0xF7, 0, reference, &[])));
    }
    for tag in ["5FC105", "5FC10A", "5FFF02"] {
        let (sw, value) = get_data(&mut c, &h(tag));
        seen.push((value, sw));
    }
    for (alg, key) in [
        (ManagementKeyAlgorithm::TripleDes, &DEFAULT_MGMT[..]),
        (ManagementKeyAlgorithm::Aes128, &NEW_AES_KEY[..]),
    ] {
        c.reset();
        let sw = send(&mut c, &apdu(0, 0x87, alg.id(), 0x9B, &h("7C028000"))).1;
        c.reset();
        seen.push((
            vec![],
            if sw == 0x9000 {
                authenticate(&mut c, alg, key)
            } else {
                sw
            },
        ));
    }
    Ok(seen)
}

/// Everything [`observe`] sees, the aging's filler object (which garbage collection moves
/// too), and which PIN verifies: each candidate tried on a token of its own, so a wrong one
/// spends no try of the next.
pub fn observe_everything(image: &Image) -> Result<Observation, OpenError> {
    let mut seen = try_observe(image)?;
    let mut c = Box::new(Card::open(RamFlash::from_bytes(image), rng(), &profile())?);
    let (sw, filler) = get_data(&mut c, &h(AGING_FILLER));
    seen.push((filler, sw));
    for pin in PINS {
        let mut c = Box::new(Card::open(RamFlash::from_bytes(image), rng(), &profile())?);
        seen.push((pin.to_vec(), verify(&mut c, pin)));
    }
    Ok(seen)
}

/// Where a run cuts the power: at flash operation `at`, a torn write keeping `kept` bytes or a
/// torn erase stopping after them (half, if `None`).
#[derive(Clone, Copy, Debug)]
pub struct Cut {
    /// The flash operation that is torn, numbered from 0.
    pub at: u32,
    /// How far the torn operation got, in bytes.
    pub kept: Option<u32>,
}

/// Runs `op` on a token holding `image` whose flash loses power at `cut`; returns the
/// image the cut left and the flash operations that ran (of a run without a cut: all of
/// them, opening included).
pub fn run(image: &Image, cut: Option<Cut>, op: Operation) -> (Image, Vec<FlashOperation>) {
    let mut flash = PowerCutFlash::new(OperationLog::new(image), cut.map(|cut| cut.at));
    if let Some(kept) = cut.and_then(|cut| cut.kept) {
        flash = flash.write_stops_at(kept).erase_stops_at(kept);
    }
    let mut c = Box::new(Card::open(flash, rng(), &profile()).expect("open"));
    op(&mut c);
    let log = c.into_flash().expect("a loaded token").into_inner();
    (Box::new(*log.inner.as_bytes()), log.log)
}

/// The object [`aged`] rewrites.
pub const AGING_FILLER: &str = "5FC10B";

/// Rewrites objects `rounds` times, more than the flash holds at 40, so the command under
/// test meets a store that must collect garbage (erase a page, move live records) to make
/// room.
pub fn aged(c: &mut TestCard, rounds: u8) {
    authenticate_default(c);
    for i in 0..rounds {
        let filler = vec![i; 1500 + usize::from(i) * 13];
        assert_eq!(put_data(c, &h(AGING_FILLER), &filler), 0x9000);
        assert_eq!(
            put_data(c, &h("5FFF02"), format!("holder {i}").as_bytes()),
            0x9000
        );
    }
    c.reset();
}

/// A store written over about once.
pub fn worn(c: &mut TestCard) {
    aged(c, 40);
}

/// A worn store with keys in 9A (P-256) and 9C (SM2) and a certificate in 9A.
pub fn with_keys_and_certificate(c: &mut TestCard) {
    worn(c);
    with_keys_and_certificate_on(c);
}

/// Keys in 9A (P-256) and 9C (SM2) and a certificate in 9A, on the store as it is.
pub fn with_keys_and_certificate_on(c: &mut TestCard) {
    authenticate_default(c);
    generate(c, 0x9A, 0x11);
    generate(c, 0x9C, 0x54);
    assert_eq!(
        put_data(
            c,
            &h("5FC105"),
            &[&h("70 82 0400")[..], &[0xAB; 1024], &h("71 01 00 FE 00")].concat()
        ),
        0x9000
    );
    c.reset();
}

/// Blocks the PIN with three wrong tries.
pub fn block_pin(c: &mut TestCard) {
    for _ in 0..3 {
        verify(c, b"999999");
    }
}

/// Blocks the PIN, then the PUK with three wrong RESET RETRY COUNTERs.
pub fn block_pin_and_puk(c: &mut TestCard) {
    block_pin(c);
    let data = [padded(b"99999999"), padded(b"111111")].concat();
    for _ in 0..3 {
        send(c, &apdu(0, 0x2C, 0, 0x80, &data));
    }
}

/// A token with keys and a certificate whose PIN and PUK are both blocked: RESET may run.
pub fn blocked(c: &mut TestCard) {
    with_keys_and_certificate(c);
    block_pin_and_puk(c);
}

/// A token prepared by `prepare` on a blank flash, as an image.
pub fn prepared(prepare: fn(&mut TestCard)) -> Image {
    let mut c = card_with(&profile(), 2);
    prepare(&mut c);
    image_of(c)
}

/// An [`Operation`] written as a closure body.
#[allow(unused_macros)] // Only the power-cut test crates use it.
macro_rules! op {
    (|$c:ident| $body:expr) => {{
        fn op($c: &mut $crate::support::cut::CutCard) {
            $body;
        }
        op as $crate::support::cut::Operation
    }};
}
#[allow(unused_imports)] // Only the power-cut test crates use it.
pub(crate) use op;

/// Sends `a` and gives its status word, whatever it is (after a cut every command fails).
pub fn send_any(c: &mut CutCard, a: &[u8]) -> u16 {
    let r = c.process(a);
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

/// Mutual authentication on a card under test, with the default key.
pub fn expect_auth(c: &mut CutCard) {
    use aes::cipher::{BlockCipherDecrypt, KeyInit};
    let r = c.process(&h("00 87 03 9B 04 7C028000")).to_vec();
    let mut witness: [u8; 8] = r[4..12].try_into().unwrap();
    des::TdesEde3::new_from_slice(&DEFAULT_MGMT)
        .unwrap()
        .decrypt_block((&mut witness).into());
    let data = [
        &h("7C 14 80 08")[..],
        &witness,
        &h("81 08 0102030405060708"),
    ]
    .concat();
    assert_eq!(send_any(c, &apdu(0, 0x87, 3, 0x9B, &data)), 0x9000);
}

/// PUT DATA of `value` into `tag` on a card under test, chained in 255-byte parts.
pub fn put_any(c: &mut CutCard, tag: &[u8], value: &[u8]) {
    let mut data = [&[0x5C, tag.len() as u8][..], tag, &[0x53]].concat();
    match value.len() {
        0..=0x7F => data.push(value.len() as u8),
        0x80..=0xFF => data.extend_from_slice(&[0x81, value.len() as u8]),
        _ => data.extend_from_slice(&[0x82, (value.len() >> 8) as u8, value.len() as u8]),
    }
    data.extend_from_slice(value);
    for (i, part) in data.chunks(255).enumerate() {
        let cla = if (i + 1) * 255 < data.len() { 0x10 } else { 0 };
        send_any(c, &apdu(cla, 0xDB, 0x3F, 0xFF, part));
    }
}

/// What a flash operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashOperation {
    /// A write of this many bytes.
    Write(u32),
    /// An erase of this many bytes.
    Erase(u32),
}

/// A RAM flash that logs its writes and erases, numbered as [`PowerCutFlash`] numbers them.
pub struct OperationLog {
    /// The flash.
    pub inner: RamFlash<FLASH_LEN>,
    /// Every write and erase, in order.
    pub log: Vec<FlashOperation>,
    /// Where the last write ended.
    pub written_to: u32,
}

impl OperationLog {
    /// Logs operations on a flash holding `image`.
    pub fn new(image: &[u8; FLASH_LEN]) -> Self {
        Self {
            inner: RamFlash::from_bytes(image),
            log: Vec::new(),
            written_to: 0,
        }
    }

    /// The numbers of the erases in the log.
    pub fn erases(&self) -> Vec<u32> {
        (0..)
            .zip(&self.log)
            .filter(|(_, op)| matches!(op, FlashOperation::Erase(_)))
            .map(|(at, _)| at)
            .collect()
    }
}

impl ErrorType for OperationLog {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for OperationLog {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.inner.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl NorFlash for OperationLog {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.log.push(FlashOperation::Erase(to - from));
        self.inner.erase(from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let len = u32::try_from(bytes.len()).expect("a write inside the flash");
        self.log.push(FlashOperation::Write(len));
        self.written_to = offset + len;
        self.inner.write(offset, bytes)
    }
}

impl MultiwriteNorFlash for OperationLog {}

/// A flash a case can take its image from.
pub trait IntoImage {
    /// The flash's bytes.
    fn into_image(self) -> Vec<u8>;
}

impl IntoImage for PowerCutFlash<OperationLog> {
    fn into_image(self) -> Vec<u8> {
        self.into_inner().into_image()
    }
}

impl IntoImage for OperationLog {
    fn into_image(self) -> Vec<u8> {
        self.inner.as_bytes().to_vec()
    }
}

impl<F> Token for Card<F, ChaCha20Rng>
where
    F: MultiwriteNorFlash + IntoImage,
{
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.process(apdu).to_vec()
    }
    fn reset(&mut self) {
        Card::reset(self)
    }
    fn into_image(self: Box<Self>) -> Vec<u8> {
        self.into_flash().expect("a loaded token").into_image()
    }
}
