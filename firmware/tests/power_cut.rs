//! Power cut at every flash operation of every state-changing command: after a replug the
//! token opens, and its state is the one before the command or the one after it.
//!
//! VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER store the lowered counter before
//! they compare, so a cut between that write and the result may also leave the state of a
//! *wrong* attempt ("try spent") — never a counter higher than it should be. That third
//! state is computed by running the command with a wrong secret.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use support::*;
use ukey_firmware::flash::{PowerCutFlash, RamFlash};
use ukey_firmware::{Card, ManagementKeyAlgorithm, Profile};

type Image = Box<[u8; FLASH_LEN]>;
/// A token whose flash can lose power.
type CutCard = Card<PowerCutFlash<RamFlash<FLASH_LEN>>, ChaCha20Rng>;
/// A command (or several) sent to such a token.
type Operation = fn(&mut CutCard);
type Observation = Vec<(Vec<u8>, u16)>;

const NEW_AES_KEY: [u8; 16] = [0x42; 16];

fn profile() -> Profile {
    Profile::standard(77)
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(5)
}

/// Everything a host can see of the stored state, without changing it.
fn observe(image: &Image) -> Observation {
    let mut c = Box::new(
        Card::open(RamFlash::from_bytes(image), rng(), &profile())
            .expect("token opens after the cut"),
    );
    let mut seen = Vec::new();
    for reference in [0x80, 0x81, 0x9B, 0x9A, 0x9C, 0x9D, 0x9E] {
        seen.push(send(&mut c, &apdu(0, 0xF7, 0, reference, &[])));
    }
    for tag in ["5FC105", "5FC10A", "5FFF02"] {
        seen.push(get_data(&mut c, &h(tag)).swap());
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
    seen
}

trait Swap {
    fn swap(self) -> (Vec<u8>, u16);
}
impl Swap for (u16, Vec<u8>) {
    fn swap(self) -> (Vec<u8>, u16) {
        (self.1, self.0)
    }
}

/// Runs `op` on a token holding `image` whose flash loses power at operation `cut`;
/// returns the image the cut left and how many flash operations ran.
fn run(image: &Image, cut: Option<u32>, op: Operation) -> (Image, u32) {
    let flash = PowerCutFlash::new(RamFlash::from_bytes(image), cut);
    let mut c = Box::new(Card::open(flash, rng(), &profile()).expect("open"));
    op(&mut c);
    let flash = c.into_flash().expect("a loaded token");
    let ops = flash.operations();
    (Box::new(*flash.into_inner().as_bytes()), ops)
}

/// Checks `op` against cuts at every one of its flash operations, on a thread with room
/// for the debug build's copies of the 64 KiB flash.
fn every_cut(
    name: &'static str,
    prepare: fn(&mut TestCard),
    op: Operation,
    wrong: Option<Operation>,
) {
    let worker = std::thread::Builder::new().stack_size(256 << 20);
    let handle = worker
        .spawn(move || every_cut_here(name, prepare, op, wrong))
        .expect("thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

fn every_cut_here(
    name: &'static str,
    prepare: fn(&mut TestCard),
    op: Operation,
    wrong: Option<Operation>,
) {
    let mut c = card_with(&profile(), 2);
    prepare(&mut c);
    let before: Image = Box::new(*c.into_flash().expect("a loaded token").as_bytes());
    let (after_image, total) = run(&before, None, op);
    let (states, names) = {
        let mut s = vec![observe(&before), observe(&after_image)];
        let mut n = vec!["before", "after"];
        if let Some(wrong) = wrong {
            s.push(observe(&run(&before, None, wrong).0));
            n.push("try spent");
        }
        (s, n)
    };
    assert_ne!(
        states[0], states[1],
        "{name}: the command must change something"
    );
    assert!(total >= 1, "{name}: the command must write");
    eprintln!("{name}: {total} flash operations, each cut in turn");
    for cut in 0..total {
        let (image, _) = run(&before, Some(cut), op);
        let seen = observe(&image);
        assert!(
            states.contains(&seen),
            "{name}: cut at flash operation {cut} of {total} left a state that is none of {names:?}: {seen:02X?}"
        );
    }
}

/// Rewrites objects until the store has cycled through its pages, so the command under test
/// meets a store that must collect garbage (erase a page, move live records) to make room.
fn worn(c: &mut TestCard) {
    authenticate_default(c);
    for i in 0..40u8 {
        let filler = vec![i; 1500 + usize::from(i) * 13];
        assert_eq!(put_data(c, &h("5FC10B"), &filler), 0x9000);
        assert_eq!(
            put_data(c, &h("5FFF02"), format!("holder {i}").as_bytes()),
            0x9000
        );
    }
    c.reset();
}

fn with_keys_and_certificate(c: &mut TestCard) {
    worn(c);
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
}

fn blocked(c: &mut TestCard) {
    with_keys_and_certificate(c);
    for _ in 0..3 {
        verify(c, b"999999");
    }
    let data = [padded(b"99999999"), padded(b"111111")].concat();
    for _ in 0..3 {
        send(c, &apdu(0, 0x2C, 0, 0x80, &data));
    }
}

macro_rules! op {
    (|$c:ident| $body:expr) => {{
        fn op($c: &mut CutCard) {
            $body;
        }
        op
    }};
}

fn send_any(c: &mut CutCard, a: &[u8]) -> u16 {
    let r = c.process(a);
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

#[test]
fn generate_replacing_a_key() {
    every_cut(
        "GENERATE",
        with_keys_and_certificate,
        op!(|c| {
            expect_auth(c);
            send_any(c, &apdu(0, 0x47, 0, 0x9A, &h("AC03800154")));
        }),
        None,
    );
}

/// Mutual authentication on a card under test, with the default key.
fn expect_auth(c: &mut CutCard) {
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

#[test]
fn put_data_replacing_a_certificate() {
    every_cut(
        "PUT DATA",
        with_keys_and_certificate,
        op!(|c| {
            expect_auth(c);
            let value = [&h("70 82 0500")[..], &[0xCD; 1280], &h("71 01 00 FE 00")].concat();
            let data = [&h("5C 03 5FC105 53 82 0509")[..], &value].concat();
            for (i, part) in data.chunks(255).enumerate() {
                let cla = if (i + 1) * 255 < data.len() { 0x10 } else { 0 };
                send_any(c, &apdu(cla, 0xDB, 0x3F, 0xFF, part));
            }
        }),
        None,
    );
}

#[test]
fn verify_wrong_and_right() {
    every_cut(
        "VERIFY wrong",
        worn,
        op!(|c| send_any(c, &apdu(0, 0x20, 0, 0x80, &padded(b"000000")))),
        None,
    );
    every_cut(
        "VERIFY right",
        |c| {
            worn(c);
            assert_eq!(verify(c, b"000000"), 0x63C2);
        },
        op!(|c| send_any(c, &apdu(0, 0x20, 0, 0x80, &padded(b"123456")))),
        Some(op!(|c| send_any(
            c,
            &apdu(0, 0x20, 0, 0x80, &padded(b"000000"))
        ))),
    );
}

#[test]
fn change_reference_data() {
    every_cut(
        "CHANGE REFERENCE DATA",
        worn,
        op!(|c| send_any(
            c,
            &apdu(
                0,
                0x24,
                0,
                0x80,
                &[padded(b"123456"), padded(b"7654321")].concat()
            )
        )),
        Some(op!(|c| send_any(
            c,
            &apdu(
                0,
                0x24,
                0,
                0x80,
                &[padded(b"000000"), padded(b"7654321")].concat()
            )
        ))),
    );
}

#[test]
fn reset_retry_counter() {
    every_cut(
        "RESET RETRY COUNTER",
        |c| {
            worn(c);
            for _ in 0..3 {
                verify(c, b"000000");
            }
        },
        op!(|c| send_any(
            c,
            &apdu(
                0,
                0x2C,
                0,
                0x80,
                &[padded(b"12345678"), padded(b"246810")].concat()
            )
        )),
        Some(op!(|c| send_any(
            c,
            &apdu(
                0,
                0x2C,
                0,
                0x80,
                &[padded(b"00000000"), padded(b"246810")].concat()
            )
        ))),
    );
}

#[test]
fn set_management_key() {
    every_cut(
        "SET MANAGEMENT KEY",
        worn,
        op!(|c| {
            expect_auth(c);
            send_any(
                c,
                &apdu(
                    0,
                    0xFF,
                    0xFF,
                    0xFF,
                    &[&[0x08, 0x9B, 16][..], &NEW_AES_KEY].concat(),
                ),
            );
        }),
        None,
    );
}

#[test]
fn reset_to_factory_state() {
    every_cut(
        "RESET",
        blocked,
        op!(|c| send_any(c, &h("00 FB 00 00"))),
        None,
    );
}

/// A flash that notes which of its operations are erases, numbered as [`PowerCutFlash`]
/// numbers them.
struct EraseLog {
    inner: RamFlash<FLASH_LEN>,
    operations: u32,
    erases: Vec<u32>,
}

impl embedded_storage::nor_flash::ErrorType for EraseLog {
    type Error = embedded_storage::nor_flash::NorFlashErrorKind;
}

impl embedded_storage::nor_flash::ReadNorFlash for EraseLog {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.inner.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl embedded_storage::nor_flash::NorFlash for EraseLog {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = 4096;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.erases.push(self.operations);
        self.operations += 1;
        self.inner.erase(from, to)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.operations += 1;
        self.inner.write(offset, bytes)
    }
}

impl embedded_storage::nor_flash::MultiwriteNorFlash for EraseLog {}

/// The filler object the garbage-collection case rewrites, and the value of its `round`.
const FILLER: &str = "5FC10B";
const GC_ROUNDS: u8 = 16;

fn filler(round: u8) -> Vec<u8> {
    vec![0xF0 ^ round; 1900 + usize::from(round) * 17]
}

/// Rewrites the filler object [`GC_ROUNDS`] times, without management-key checks of the
/// answers (after a cut every command fails).
fn rewrite_fillers<T: Token + ?Sized>(c: &mut T) {
    authenticate_default(c);
    for round in 0..GC_ROUNDS {
        put_data(c, &h(FILLER), &filler(round));
    }
}

/// A flash a case can take its image from.
trait IntoImage {
    fn into_image(self) -> Vec<u8>;
}

impl IntoImage for PowerCutFlash<RamFlash<FLASH_LEN>> {
    fn into_image(self) -> Vec<u8> {
        self.into_inner().as_bytes().to_vec()
    }
}

impl IntoImage for EraseLog {
    fn into_image(self) -> Vec<u8> {
        self.inner.as_bytes().to_vec()
    }
}

impl<F> Token for Card<F, ChaCha20Rng>
where
    F: embedded_storage::nor_flash::MultiwriteNorFlash + IntoImage,
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

#[test]
fn a_torn_erase_during_garbage_collection_loses_nothing() {
    let worker = std::thread::Builder::new().stack_size(256 << 20);
    let handle = worker.spawn(torn_erases_here).expect("thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

fn torn_erases_here() {
    let mut c = card_with(&profile(), 2);
    with_keys_and_certificate(&mut c);
    let aged: Image = Box::new(*c.into_flash().expect("a loaded token").as_bytes());

    let log = EraseLog {
        inner: RamFlash::from_bytes(&aged),
        operations: 0,
        erases: Vec::new(),
    };
    let mut c = Box::new(Card::open(log, rng(), &profile()).expect("open"));
    rewrite_fillers(&mut *c);
    let erases = c.into_flash().expect("a loaded token").erases;
    assert!(
        erases.len() >= 4,
        "only {} erases: no garbage collection",
        erases.len()
    );

    let others = observe(&aged);
    let (_, aged_filler) = get_data(&mut *reopen(&aged, &profile(), 5), &h(FILLER));
    let (mut tears, mut failures) = (0, Vec::new());
    for &erase in &erases {
        for erased in (0..=4096).step_by(256).map(|at: u32| at.clamp(4, 4092)) {
            let flash =
                PowerCutFlash::new(RamFlash::from_bytes(&aged), Some(erase)).erase_stops_at(erased);
            let mut c = Box::new(Card::open(flash, rng(), &profile()).expect("open"));
            rewrite_fillers(&mut *c);
            let image: Image = Box::new(
                *c.into_flash()
                    .expect("a loaded token")
                    .into_inner()
                    .as_bytes(),
            );
            tears += 1;
            let place = format!("erase at flash operation {erase}, torn after {erased} bytes");
            let Ok(mut c) = Card::open(RamFlash::from_bytes(&image), rng(), &profile()) else {
                failures.push(format!("{place}: the token does not open"));
                continue;
            };
            let (sw, value) = get_data(&mut c, &h(FILLER));
            let committed =
                value == aged_filler || (0..GC_ROUNDS).any(|round| value.ends_with(&filler(round)));
            if sw != 0x9000 || !committed {
                failures.push(format!("{place}: the filler object is lost ({sw:04X})"));
            }
            if observe(&image) != others {
                failures.push(format!("{place}: keys, PIN or objects changed"));
            }
        }
    }
    eprintln!(
        "{tears} torn erases at {} erases, {} failed",
        erases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
