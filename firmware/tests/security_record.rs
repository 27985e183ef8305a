//! A damaged or lost security record (PIN, PUK, counters, management key): never silently an
//! older PIN, never factory secrets beside the holder's keys, and always reported.
//! docs/reliability.md, "Damaged or lost security record".

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use support::*;
use ukey_firmware::{Card, Damage, Opened, Profile, SecurityRecord};

type Image = Box<[u8; FLASH_LEN]>;

/// A token made by the code before the record was kept twice: PIN changed to `24680135`
/// and one wrong try spent, an SM2 key in 9A, a certificate for it.
const V1_IMAGE: &[u8; FLASH_LEN] = include_bytes!("images/v1-pin-changed-key-9a.img");

const NEW_PIN: &[u8] = b"24680135";

fn profile() -> Profile {
    Profile::standard(0x0001_0001)
}

/// Plugs `image` in; gives the token and what opening reported.
fn open(image: &[u8; FLASH_LEN]) -> (Box<TestCard>, Opened) {
    let mut card = Box::new(Card::new());
    let opened = card
        .load(
            Flash::from_bytes(image),
            ChaCha20Rng::seed_from_u64(3),
            &profile(),
        )
        .expect("the token opens");
    (card, opened)
}

fn image_of(card: Box<TestCard>) -> Image {
    Box::new(*card.into_flash().expect("a loaded token").as_bytes())
}

fn change_pin(card: &mut TestCard, old: &[u8], new: &[u8]) -> u16 {
    send(
        card,
        &apdu(0, 0x24, 0, 0x80, &[padded(old), padded(new)].concat()),
    )
    .1
}

fn metadata(card: &mut TestCard, reference: u8) -> u16 {
    send(card, &apdu(0, 0xF7, 0, reference, &[])).1
}

/// Where the items of security records start: a header whose length is a security
/// record's (key and a version-1 or version-2 value) before a key `0002`, `0003` or `0004`
/// and the matching version.
fn security_items(image: &[u8]) -> Vec<usize> {
    (0..image.len() - 12)
        .step_by(4)
        .filter(|&at| {
            let len = u16::from_le_bytes([image[at + 4], image[at + 5]]);
            matches!(
                (len, &image[at + 8..at + 11]),
                (140, [2, 0, 1]) | (144, [3 | 4, 0, 2])
            )
        })
        .collect()
}

/// Flips one bit inside the data of the item at `item` (in a PIN salt).
fn damage(image: &mut [u8], item: usize) {
    image[item + 8 + 12] ^= 0x10;
}

/// A token with a key in 9A and the PIN changed from the default to [`NEW_PIN`]; gives the
/// image after the change and where the security records the change wrote start, oldest
/// first (CHANGE REFERENCE DATA stores the lowered counter, then the new PIN: two
/// generations of two copies; the code before wrote one record each time).
fn token_with_changed_pin() -> (Image, Vec<usize>) {
    let mut c = card_with(&profile(), 4);
    authenticate_default(&mut *c);
    generate(&mut *c, 0x9A, 0x11);
    let before = image_of(c);
    let (mut c, _) = open(&before);
    assert_eq!(change_pin(&mut c, b"123456", NEW_PIN), 0x9000);
    let after = image_of(c);
    let written = security_items(&after[..])
        .into_iter()
        .filter(|&at| before[at..at + 160] != after[at..at + 160])
        .collect();
    (after, written)
}

#[test]
fn a_version_1_image_opens_unchanged_and_keeps_working() {
    let (c, opened) = open(V1_IMAGE);
    assert_eq!(opened, Opened::Existing(Damage::NONE));
    assert_eq!(
        image_of(c).as_slice(),
        V1_IMAGE.as_slice(),
        "opening wrote nothing"
    );
    let (mut c, _) = open(V1_IMAGE);
    assert_eq!(send(&mut *c, &apdu(0, 0x20, 0, 0x80, &[])).1, 0x63C2);
    assert_eq!(metadata(&mut c, 0x9A), 0x9000);
    assert_eq!(get_data(&mut *c, &h("5FC105")).0, 0x9000);
    assert_eq!(verify(&mut *c, b"123456"), 0x63C1, "not the factory PIN");
    assert_eq!(verify(&mut *c, NEW_PIN), 0x9000);
    // Those changes wrote copies of the new version, which the next open reads.
    let image = image_of(c);
    let (mut c, opened) = open(&image);
    assert_eq!(opened, Opened::Existing(Damage::NONE));
    assert_eq!(send(&mut *c, &apdu(0, 0x20, 0, 0x80, &[])).1, 0x63C3);
    assert_eq!(verify(&mut *c, NEW_PIN), 0x9000);
    assert_eq!(metadata(&mut c, 0x9A), 0x9000);
}

#[test]
fn a_damaged_newest_record_neither_brings_the_old_pin_back_nor_goes_unreported() {
    let (after, written) = token_with_changed_pin();
    // The newest state's first copy: the write that made the change.
    let newest = written[written.len().saturating_sub(2)];
    let mut damaged = after.clone();
    damage(&mut damaged[..], newest);
    let (mut c, opened) = open(&damaged);
    assert_eq!(
        verify(&mut *c, b"123456"),
        0x63C2,
        "the old PIN must not work again"
    );
    assert_eq!(verify(&mut *c, NEW_PIN), 0x9000);
    assert_eq!(
        opened,
        Opened::Existing(Damage {
            failed_records: 1,
            security: SecurityRecord::FromTwin
        })
    );
    // The damaged copy was rewritten from its twin: the next open finds both.
    let (_, opened) = open(&image_of(c));
    assert_eq!(
        opened,
        Opened::Existing(Damage {
            failed_records: 1,
            security: SecurityRecord::Intact
        })
    );
}

#[test]
fn both_copies_damaged_is_reported_as_a_rollback() {
    let (after, written) = token_with_changed_pin();
    assert_eq!(written.len(), 4);
    let mut damaged = after.clone();
    for &item in &written[2..] {
        damage(&mut damaged[..], item);
    }
    let (mut c, opened) = open(&damaged);
    assert_eq!(
        opened,
        Opened::Existing(Damage {
            failed_records: 2,
            security: SecurityRecord::RolledBack
        })
    );
    assert_eq!(
        verify(&mut *c, b"123456"),
        0x9000,
        "the state before the change"
    );
}

#[test]
fn a_lost_record_beside_keys_comes_back_blocked_and_only_reset_recovers() {
    for (name, image) in [
        ("current", token_with_changed_pin().0),
        ("version 1", Box::new(*V1_IMAGE)),
    ] {
        let mut damaged = image.clone();
        let items = security_items(&image[..]);
        assert!(!items.is_empty(), "{name}: no security record found");
        for item in items {
            damage(&mut damaged[..], item);
        }
        let (mut c, opened) = open(&damaged);
        let Opened::Existing(report) = opened else {
            panic!("{name}: {opened:?}")
        };
        assert_eq!(report.security, SecurityRecord::Lost, "{name}");
        for pin in [&b"123456"[..], NEW_PIN] {
            assert_eq!(verify(&mut *c, pin), 0x6983, "{name}: PIN blocked");
        }
        assert_eq!(
            send(&mut *c, &apdu(0, 0x20, 0, 0x80, &[])).1,
            0x6983,
            "{name}"
        );
        let puk_change = [padded(b"12345678"), padded(b"87654321")].concat();
        assert_eq!(
            send(&mut *c, &apdu(0, 0x24, 0, 0x81, &puk_change)).1,
            0x6983,
            "{name}"
        );
        let puk_reset = [padded(b"12345678"), padded(b"123456")].concat();
        assert_eq!(
            send(&mut *c, &apdu(0, 0x2C, 0, 0x80, &puk_reset)).1,
            0x6983,
            "{name}"
        );
        let witness = send(&mut *c, &h("00 87 03 9B 04 7C028000"));
        assert_eq!(witness.1, 0x9000, "{name}");
        let answer = [&h("7C 0A 80 08")[..], &[0; 8]].concat();
        assert_eq!(
            send(&mut *c, &apdu(0, 0x87, 3, 0x9B, &answer)).1,
            0x6982,
            "{name}"
        );
        assert_eq!(metadata(&mut c, 0x9A), 0x9000, "{name}: the key is kept");
        // Reopened, it stays blocked, with the same unknown management key.
        let (mut c, opened) = open(&image_of(c));
        assert!(matches!(opened, Opened::Existing(_)), "{name}");
        assert_eq!(verify(&mut *c, b"123456"), 0x6983, "{name}");
        assert_eq!(send(&mut *c, &h("00 FB 00 00")).1, 0x9000, "{name}: RESET");
        assert_eq!(
            verify(&mut *c, b"123456"),
            0x9000,
            "{name}: factory PIN after RESET"
        );
        assert_ne!(
            metadata(&mut c, 0x9A),
            0x9000,
            "{name}: RESET wiped the key"
        );
    }
}

#[test]
fn a_fresh_flash_gets_factory_secrets() {
    let mut c = card_with(&profile(), 6);
    assert_eq!(verify(&mut *c, b"123456"), 0x9000);
    authenticate_default(&mut *c);
    let (_, opened) = open(&image_of(c));
    assert_eq!(opened, Opened::Existing(Damage::NONE));
}
