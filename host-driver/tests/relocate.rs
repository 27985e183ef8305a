//! MOVE KEY and DELETE KEY through the typed API, against the real applet through pcscd:
//! the key moves with its metadata, the certificate object stays (or moves with
//! `move_slot`), an occupied destination
//! and an empty source are refused in the user's words. One test in this file, since it
//! sets the process's `PCSCLITE_CSOCK_NAME` for the PC/SC client library.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use ukey_host::{Algorithm, Error, KeyPolicy, ManagementKey, ObjectId, Selector, Slot, Token};
use ukey_sim::{Testbed, TokenOptions};

#[test]
fn a_key_moves_and_is_deleted_its_certificate_stays() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    // SAFETY: the only test of this binary, before any other thread reads the environment.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
    let mut token = Token::open(&Selector::Reader(bed.reader(0).unwrap())).unwrap();
    let key = ManagementKey::default();

    let public = token
        .generate(
            &key,
            Slot::Authentication,
            Algorithm::P256,
            KeyPolicy::default(),
        )
        .unwrap();
    token
        .generate(&key, Slot::Signature, Algorithm::Sm2, KeyPolicy::default())
        .unwrap();
    let certificate = [0x70, 0x01, 0x30, 0x71, 0x01, 0x00, 0xFE, 0x00];
    token
        .put_data(&key, ObjectId::CERT_9A, &certificate)
        .unwrap();
    let before = token.key_metadata(Slot::Authentication).unwrap().unwrap();

    let refused = token.move_key(&key, Slot::Authentication, Slot::Signature);
    assert!(
        matches!(&refused, Err(Error::InvalidInput { message }) if message.contains("already holds a key")),
        "{refused:?}"
    );
    let refused = token.move_key(&key, Slot::KeyManagement, Slot::CardAuthentication);
    assert!(
        matches!(&refused, Err(Error::InvalidInput { message }) if message.contains("holds no key")),
        "{refused:?}"
    );

    token
        .move_key(&key, Slot::Authentication, Slot::KeyManagement)
        .unwrap();
    assert_eq!(token.key_metadata(Slot::Authentication).unwrap(), None);
    let moved = token.key_metadata(Slot::KeyManagement).unwrap().unwrap();
    assert_eq!(moved, before);
    assert_eq!(moved.public_key, public);
    assert_eq!(token.get_data(ObjectId::CERT_9A).unwrap(), certificate);

    // move_slot carries the certificate object along, replacing the destination's.
    let other = [0x70, 0x01, 0x31, 0x71, 0x01, 0x00, 0xFE, 0x00];
    token.put_data(&key, ObjectId::CERT_9D, &other).unwrap();
    token
        .move_slot(&key, Slot::KeyManagement, Slot::CardAuthentication)
        .unwrap();
    assert_eq!(token.get_data(ObjectId::CERT_9E).unwrap(), other);
    assert!(token.get_data(ObjectId::CERT_9D).is_err());
    token
        .move_slot(&key, Slot::CardAuthentication, Slot::Authentication)
        .unwrap();
    assert_eq!(
        token.certificate(Slot::Authentication).unwrap(),
        Some(vec![0x31])
    );
    assert!(token.get_data(ObjectId::CERT_9E).is_err());
    token
        .move_key(&key, Slot::Authentication, Slot::KeyManagement)
        .unwrap();
    token
        .put_data(&key, ObjectId::CERT_9D, &certificate)
        .unwrap();

    token.delete_key(&key, Slot::KeyManagement).unwrap();
    assert_eq!(token.get_data(ObjectId::CERT_9D).unwrap(), certificate);
    assert_eq!(token.key_metadata(Slot::KeyManagement).unwrap(), None);
    assert!(token.delete_key(&key, Slot::KeyManagement).is_err());
    assert!(matches!(
        token.delete_key(
            &ManagementKey::from_hex("00112233445566778899AABBCCDDEEFF", None).unwrap(),
            Slot::Signature
        ),
        Err(Error::WrongManagementKey)
    ));
    assert!(token.key_metadata(Slot::Signature).unwrap().is_some());
}
