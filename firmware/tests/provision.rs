//! Personalisation (`Card::import_key`, `Card::put_object`): a key made elsewhere signs like a
//! generated one and says it was imported; every refusal names its reason and changes
//! nothing; RESET wipes personalised content like any other.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use p256::elliptic_curve::sec1::ToSec1Point;
use support::openssl;
use support::{card, get_data, h, send, sign, verify};
use ukey_firmware::{Card, ProvisionError};

const P256: u8 = 0x11;
const SM2: u8 = 0x54;

/// A test scalar (not secret: it is in this file).
const SCALAR: [u8; 32] = [
    0x3a, 0x8b, 0x1c, 0x59, 0x0e, 0x62, 0x7d, 0x44, 0x91, 0x2f, 0xc3, 0x05, 0x7b, 0x16, 0xd8, 0x20,
    0x6e, 0xa1, 0x4f, 0x33, 0x92, 0x07, 0xbb, 0x5c, 0x18, 0xe4, 0x2d, 0x70, 0x66, 0x01, 0x9f, 0xc2,
];

/// The order of P-256: not a valid scalar.
const P256_ORDER: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";

fn metadata(card: &mut support::TestCard, slot: u8) -> Vec<u8> {
    let (data, sw) = send(card, &[0x00, 0xF7, 0x00, slot]);
    assert_eq!(sw, 0x9000);
    data
}

#[test]
fn an_imported_p256_key_has_its_public_point_reports_imported_and_signs() {
    let mut c = card();
    let public = c.import_key(0x9A, P256, &SCALAR, 0).expect("import");
    let scalar = p256::NonZeroScalar::try_from(&SCALAR[..]).expect("a valid scalar");
    let expected = p256::PublicKey::from_secret_scalar(&scalar).to_sec1_point(false);
    assert_eq!(&public[..], expected.as_bytes());

    let meta = metadata(&mut c, 0x9A);
    assert!(
        meta.windows(3).any(|w| w == [0x03, 0x01, 0x02]),
        "origin 02: {meta:02X?}"
    );
    assert!(meta.windows(3).any(|w| w == [0x01, 0x01, P256]));

    let message = b"imported keys sign like generated ones";
    let digest = openssl::sha256(message);
    assert_eq!(
        sign(&mut c, 0x9A, P256, &digest).0,
        0x6982,
        "9A wants the PIN"
    );
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    let (sw, signature) = sign(&mut c, 0x9A, P256, &digest);
    assert_eq!(sw, 0x9000);
    assert!(openssl::verifies(P256, &public, message, &signature));
}

#[test]
fn an_imported_sm2_key_signs_with_its_policy() {
    let mut c = card();
    // PIN policy 01 (never): signs without VERIFY.
    let public = c.import_key(0x9C, SM2, &SCALAR, 0x01).expect("import");
    let message = b"SM2 from a fixture";
    let e = openssl::sm2_e(&public, message);
    let (sw, signature) = sign(&mut c, 0x9C, SM2, &e);
    assert_eq!(sw, 0x9000);
    assert!(openssl::verifies(SM2, &public, message, &signature));
}

#[test]
fn refused_keys_and_objects_change_nothing() {
    let mut c = card();
    c.import_key(0x9E, P256, &SCALAR, 0).expect("import");
    let image = *c.into_flash().expect("loaded").as_bytes();
    let mut c = support::reopen(&image, &ukey_firmware::Profile::standard(1), 1);
    let order = h(P256_ORDER);
    let cases: [(u8, u8, &[u8], u8, ProvisionError); 7] = [
        (0x9B, P256, &SCALAR, 0, ProvisionError::Slot),
        (0x82, P256, &SCALAR, 0, ProvisionError::Slot),
        (0x9E, 0x07, &SCALAR, 0, ProvisionError::Algorithm),
        (0x9E, P256, &[0u8; 32], 0, ProvisionError::Key),
        (0x9E, P256, &order, 0, ProvisionError::Key),
        (0x9E, P256, &SCALAR[..31], 0, ProvisionError::Key),
        (0x9E, P256, &SCALAR, 0x09, ProvisionError::PinPolicy),
    ];
    for (slot, alg, secret, policy, error) in cases {
        assert_eq!(c.import_key(slot, alg, secret, policy), Err(error));
    }
    for (tag, value) in [
        (0x7E, &b"\x4F\x0B"[..]),
        (0x5FFF01, b"\x01"),
        (0x5FC1FF, b"\x01"),
        (0x5FC105, b""),
    ] {
        assert_eq!(c.put_object(tag, value), Err(ProvisionError::Object));
    }
    assert_eq!(
        c.put_object(0x5FC105, &[0x30; 5000]),
        Err(ProvisionError::Full)
    );
    assert_eq!(
        metadata(&mut c, 0x9E)[..],
        metadata(
            &mut support::reopen(&image, &ukey_firmware::Profile::standard(1), 1),
            0x9E
        )[..]
    );
    assert!(
        c.into_flash().expect("loaded").as_bytes() == &image,
        "a refusal wrote to the flash"
    );
}

#[test]
fn objects_are_written_as_put_data_would_and_reset_wipes_everything() {
    let mut c = card();
    let certificate = [
        &[0x70, 0x03, 0x30, 0x01, 0x00][..],
        &[0x71, 0x01, 0x00, 0xFE, 0x00],
    ]
    .concat();
    c.put_object(0x5FC105, &certificate).expect("certificate");
    c.import_key(0x9A, P256, &SCALAR, 0).expect("import");
    let (sw, data) = get_data(&mut c, &[0x5F, 0xC1, 0x05]);
    assert_eq!(sw, 0x9000);
    assert_eq!(data[0], 0x53);
    assert_eq!(&data[2..], &certificate[..]);

    // Block the PIN and PUK, then RESET (card edge: only when both are blocked).
    for _ in 0..3 {
        verify(&mut c, b"000000");
    }
    for _ in 0..3 {
        send(
            &mut c,
            &h("00 2C 00 80 10 3030303030303030 3131313131313131"),
        );
    }
    assert_eq!(send(&mut c, &h("00 FB 00 00")).1, 0x9000);
    assert_eq!(send(&mut c, &[0x00, 0xF7, 0x00, 0x9A]).1, 0x6A88);
    assert_eq!(get_data(&mut c, &[0x5F, 0xC1, 0x05]).0, 0x6A82);
}

#[test]
fn an_empty_card_refuses_personalisation() {
    let mut c: Box<support::TestCard> = Box::new(Card::new());
    assert_eq!(
        c.import_key(0x9A, P256, &SCALAR, 0),
        Err(ProvisionError::NotLoaded)
    );
    assert_eq!(
        c.put_object(0x5FC105, b"\x70\x00"),
        Err(ProvisionError::NotLoaded)
    );
}
