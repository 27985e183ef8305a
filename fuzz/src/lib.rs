//! What the fuzz targets share: a token over RAM flash with known private keys, the input
//! format of the APDU targets, the card's readable state, and the invariants every answer
//! must keep.
//!
//! An APDU target's input is a sequence of steps: a big-endian `u16` length and that many
//! bytes of command APDU (cut short at the end of the input), or the length `FFFF` alone for
//! a warm reset. `scripts/fuzz-seeds.sh` writes the conformance cases' APDUs in this format.

use std::cell::Cell;
use std::rc::Rc;

use aes::cipher::{BlockCipherDecrypt, KeyInit};
use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use ukey_card_edge::ObjectId;
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};
use ukey_firmware::{Card, ManagementKey, ManagementKeyAlgorithm, Profile};

mod tracked;
pub use tracked::TrackedFlash;

/// Flash of a fuzzed token: 8 pages, twice the store's minimum, so garbage collection runs
/// within a few commands.
pub const FLASH_LEN: usize = 8 * PAGE_SIZE;
/// The image a fuzzed token starts from.
pub type Flash = RamFlash<FLASH_LEN>;
/// A fuzzed token.
pub type FuzzCard = Card<TrackedFlash, ChaCha20Rng>;
/// A token over any flash, with the targets' RNG.
pub type AnyCard<F> = Card<F, ChaCha20Rng>;

/// The RNG of a fuzzed token: seeded, so a run is reproducible.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The step length that stands for a warm reset.
const RESET_STEP: u16 = 0xFFFF;

/// Private scalars imported into slots 9A, 9C, 9D, 9E (SM2 in 9C only: loading an SM2 key
/// inverts a scalar, the dearest step of opening a token, which every run does twice): random
/// bytes no input can guess, so finding one in an answer is a leak, never a coincidence.
pub const SCALARS: [[u8; 32]; 4] = [
    *b"\x4b\x91\x0e\xd3\x27\x6a\xc8\x15\x9f\x02\x7d\xe4\x33\xb8\x5c\x61\xa0\x1f\x86\xcd\x59\x2e\x74\xbb\x08\xf3\x6d\x92\x47\xe1\x3a\xc5",
    *b"\x2d\x7f\x13\xa8\x5e\xc4\x09\x96\xe2\x3b\x71\x0d\xaf\x48\xd5\x62\x1c\x87\xf0\x35\x9b\x4e\xd8\x26\x6a\xb3\x14\xc9\x50\x0f\x7e\xe7",
    *b"\x61\x08\xdc\x3f\x95\x2a\xe7\x4c\xb1\x76\x13\x88\x0e\xd9\x5a\x27\xc3\x6f\x04\xab\x38\xf5\x92\x1d\x7b\xe0\x49\xb6\x2c\x85\xd1\x03",
    *b"\x19\xe6\x4a\xb7\x20\x8d\x53\xfc\x6e\x01\xc8\x95\x37\xda\x0b\x74\xa9\x5f\x12\xed\x86\x3c\xf1\x48\x9e\x27\xb0\x63\xd4\x0a\x7c\x58",
];

/// Slot references and algorithm identifiers of [`SCALARS`].
const KEY_SLOTS: [(u8, u8); 4] = [(0x9A, 0x11), (0x9C, 0x54), (0x9D, 0x11), (0x9E, 0x11)];

/// A certificate-shaped object stored in slot 9A's certificate object.
const CERTIFICATE: &[u8] = b"\x70\x08fuzzcert\x71\x01\x00\xfe\x00";

/// The secrets of the token the unauthenticated target talks to: a PIN, a PUK and an
/// AES-256 management key that appear nowhere in the seeds.
pub fn secret_profile() -> Profile {
    let key = b"\xc7\x2e\x91\x5a\x0d\xb4\x68\xf3\x3c\x87\x1e\xa5\x52\xe9\x06\x7b\xd0\x4f\x95\x28\xbc\x63\x1a\xf7\x8e\x35\xc2\x09\x74\xab\x5d\xe0";
    Profile {
        pin: heapless::Vec::from_slice(b"40719263").unwrap_or_default(),
        puk: heapless::Vec::from_slice(b"83620517").unwrap_or_default(),
        management_key: ManagementKey::new(ManagementKeyAlgorithm::Aes256, key)
            .unwrap_or_else(ManagementKey::piv_default),
        ..Profile::standard(0x5EC2_E7ED)
    }
}

/// The flash image of a token made from `profile`, with [`SCALARS`] imported and a
/// certificate stored: what every run of a target starts from.
pub fn made_token<const N: usize>(profile: &Profile) -> RamFlash<N> {
    let mut card = open(&RamFlash::<N>::new(), profile);
    for ((slot, algorithm), scalar) in KEY_SLOTS.iter().zip(&SCALARS) {
        card.import_key(*slot, *algorithm, scalar, 0)
            .expect("import a fixed key");
    }
    card.put_object(ObjectId::CERT_9A.0, CERTIFICATE)
        .expect("store a certificate");
    card.into_flash().expect("a loaded token")
}

/// Opens the token kept in `image` with a fixed RNG, so a run is reproducible.
pub fn open<const N: usize>(image: &RamFlash<N>, profile: &Profile) -> Box<AnyCard<RamFlash<N>>> {
    let mut card = Box::new(AnyCard::new());
    card.load(image.clone(), rng(17), profile)
        .expect("a token made by made_token opens");
    card
}

/// Opens a copy of `image` as [`open`] does; the flag tells whether the copy was written.
pub fn open_tracked(image: &Flash, profile: &Profile) -> (Box<FuzzCard>, Rc<Cell<bool>>) {
    let (flash, written) = TrackedFlash::new(image);
    let mut card = Box::new(FuzzCard::new());
    card.load(flash, rng(17), profile)
        .expect("a token made by made_token opens");
    (card, written)
}

/// The stand-in applet of the link targets: answers each command with itself and `90 00`,
/// so long commands make long answers.
#[derive(Default)]
pub struct Echo {
    answer: Vec<u8>,
}

impl ukey_sim::Applet for Echo {
    fn reset(&mut self) {}

    fn process(&mut self, command: &[u8]) -> &[u8] {
        self.answer.clear();
        self.answer.extend_from_slice(command);
        self.answer.extend_from_slice(&[0x90, 0x00]);
        &self.answer
    }
}

/// One step of an APDU target's input.
pub enum Step<'a> {
    /// A command APDU.
    Apdu(&'a [u8]),
    /// A warm reset.
    Reset,
}

/// The steps of an APDU target's input.
pub fn steps(mut input: &[u8]) -> impl Iterator<Item = Step<'_>> {
    core::iter::from_fn(move || {
        let (len, rest) = input.split_first_chunk::<2>()?;
        let len = u16::from_be_bytes(*len);
        if len == RESET_STEP {
            input = rest;
            return Some(Step::Reset);
        }
        let (apdu, rest) = rest.split_at(usize::from(len).min(rest.len()));
        input = rest;
        Some(Step::Apdu(apdu))
    })
}

/// Secrets no answer may hold, kept as hashes: libFuzzer records the operands of the
/// comparisons a target makes and splices them into inputs, so comparing answers with the
/// secrets themselves would teach the fuzzer the PIN (it did, within minutes).
pub struct Secrets {
    /// Each secret's length and hash.
    hashes: Vec<(usize, u64)>,
}

impl Secrets {
    /// The secrets `values`.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let hashes = values
            .into_iter()
            .map(|value| (value.len(), window_hash(value)))
            .collect();
        Self { hashes }
    }

    /// Panics if `answer` (to `command`) holds one of the secrets anywhere.
    pub fn assert_absent(&self, answer: &[u8], command: &[u8]) {
        for &(len, hash) in &self.hashes {
            assert!(
                !rolling_hashes(answer, len).any(|h| h == hash),
                "the answer to {command:02X?} holds a secret: {answer:02X?}"
            );
        }
    }
}

/// The multiplier of the polynomial hash of byte windows.
const HASH_BASE: u64 = 0x100_0000_01B3;

/// The polynomial hash of `window`, modulo 2^64.
fn window_hash(window: &[u8]) -> u64 {
    window.iter().fold(0, |h: u64, &b| {
        h.wrapping_mul(HASH_BASE).wrapping_add(u64::from(b) + 1)
    })
}

/// The hash of every `len`-byte window of `bytes`, rolled along in one pass.
fn rolling_hashes(bytes: &[u8], len: usize) -> impl Iterator<Item = u64> + '_ {
    let top = (1..len).fold(1u64, |p, _| p.wrapping_mul(HASH_BASE));
    let mut hash = window_hash(bytes.get(..len).unwrap_or_default());
    let first = (len > 0 && bytes.len() >= len).then_some(hash);
    first.into_iter().chain((len..bytes.len()).map(move |end| {
        let dropped = u64::from(bytes[end - len]) + 1;
        hash = hash
            .wrapping_sub(dropped.wrapping_mul(top))
            .wrapping_mul(HASH_BASE)
            .wrapping_add(u64::from(bytes[end]) + 1);
        hash
    }))
}

/// Sends `command` and follows `61 xx` with GET RESPONSE; the whole data, then SW1 SW2.
pub fn transmit_all<F: NorFlash + MultiwriteNorFlash>(
    card: &mut AnyCard<F>,
    command: &[u8],
) -> Vec<u8> {
    let mut out = card.process(command).to_vec();
    while let [.., 0x61, le] = out[..] {
        out.truncate(out.len() - 2);
        out.extend_from_slice(card.process(&[0, 0xC0, 0, 0, le]));
    }
    out
}

/// Everything a host can read without a secret after a warm reset: every data object the
/// card edge names, each slot's and the management key's metadata, the serial. Left out:
/// PIN and PUK metadata, whose retry counters move with every wrong try, and the device
/// information object, whose store usage moves with every record written.
pub fn readable_state<F: NorFlash + MultiwriteNorFlash>(card: &mut AnyCard<F>) -> Vec<Vec<u8>> {
    card.reset();
    let mut state = vec![transmit_all(
        card,
        b"\x00\xA4\x04\x00\x05\xA0\x00\x00\x03\x08\x00",
    )];
    for object in [
        ObjectId::CHUID,
        ObjectId::CCC,
        ObjectId::CERT_9A,
        ObjectId::CERT_9C,
        ObjectId::CERT_9D,
        ObjectId::CERT_9E,
        ObjectId::PRINTED,
        ObjectId::DISCOVERY,
        ObjectId::KEY_HISTORY,
        ObjectId::LABEL,
        ObjectId::ADMIN_DATA,
    ] {
        let tag = ukey_card_edge::tlv::tag_bytes(object.0);
        let mut command = vec![0x00, 0xCB, 0x3F, 0xFF, tag.len() as u8 + 2, 0x5C];
        command.push(tag.len() as u8);
        command.extend_from_slice(&tag);
        command.push(0x00);
        state.push(transmit_all(card, &command));
    }
    for reference in [0x9A, 0x9B, 0x9C, 0x9D, 0x9E] {
        state.push(transmit_all(card, &[0x00, 0xF7, 0x00, reference, 0x00]));
    }
    state.push(transmit_all(card, b"\x00\xF8\x00\x00\x00"));
    card.reset();
    state
}

/// Unplugs `card` and plugs its flash back in: the token must open, as it was, whatever
/// the commands before did (opening must never brick a token).
pub fn assert_replugs(card: Box<FuzzCard>, before: &[Vec<u8>], profile: &Profile) {
    let flash = card.into_flash().expect("a loaded token");
    let mut again = Box::new(FuzzCard::new());
    let opened = again.load(flash, rng(18), profile);
    assert_eq!(
        opened,
        Ok(ukey_firmware::Opened::Existing(ukey_firmware::Damage::NONE)),
        "a token the commands left behind does not open again"
    );
    assert_eq!(
        readable_state(&mut again),
        before,
        "the token reads differently after a replug"
    );
}

/// Verifies the PIN and authenticates the management key through APDUs, as a host does.
pub fn authenticate(card: &mut FuzzCard, profile: &Profile) {
    let mut verify = vec![0x00, 0x20, 0x00, 0x80, 0x08];
    verify.extend_from_slice(&profile.pin);
    verify.resize(13, 0xFF);
    assert_eq!(card.process(&verify), [0x90, 0x00], "PIN verified");
    let key = &profile.management_key;
    let n = key.algorithm.block_len();
    let id = key.algorithm.id();
    let witness = card
        .process(&[0x00, 0x87, id, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00])
        .to_vec();
    let mut plain = witness[4..4 + n].to_vec();
    decrypt_block(key.algorithm, &key.key, &mut plain);
    let mut command = vec![0x00, 0x87, id, 0x9B, 2 * n as u8 + 6, 0x7C, 2 * n as u8 + 4];
    command.extend_from_slice(&[0x80, n as u8]);
    command.extend_from_slice(&plain);
    command.extend_from_slice(&[0x81, n as u8]);
    command.extend_from_slice(&vec![0x5A; n]);
    let answer = card.process(&command);
    assert_eq!(
        answer[answer.len() - 2..],
        [0x90, 0x00],
        "management key authenticated"
    );
}

/// Decrypts one block with the management key's cipher.
fn decrypt_block(algorithm: ManagementKeyAlgorithm, key: &[u8], block: &mut [u8]) {
    macro_rules! run {
        ($cipher:ty) => {
            <$cipher>::new_from_slice(key)
                .expect("key length")
                .decrypt_block(block.try_into().expect("one block"))
        };
    }
    match algorithm {
        ManagementKeyAlgorithm::TripleDes => run!(des::TdesEde3),
        ManagementKeyAlgorithm::Aes128 => run!(aes::Aes128),
        ManagementKeyAlgorithm::Aes192 => run!(aes::Aes192),
        ManagementKeyAlgorithm::Aes256 => run!(aes::Aes256),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_secret_anywhere_and_only_there() {
        let secrets = Secrets::new([b"secret".as_slice(), &SCALARS[0]]);
        let mut answer = vec![0x90; 40];
        answer.extend_from_slice(&SCALARS[0]);
        answer.extend_from_slice(&[0x90, 0x00]);
        assert!(std::panic::catch_unwind(|| secrets.assert_absent(&answer, &[])).is_err());
        assert!(std::panic::catch_unwind(|| secrets.assert_absent(b"a secret", &[])).is_err());
        assert!(std::panic::catch_unwind(|| secrets.assert_absent(b"secret", &[])).is_err());
        secrets.assert_absent(b"secre", &[]);
        secrets.assert_absent(b"a secreT here", &[]);
        secrets.assert_absent(&answer[..70], &[]);
    }
}
