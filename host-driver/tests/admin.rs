//! The administrative commands of the typed API against the real applet through pcscd:
//! label and device information, management key change (3DES to AES and back), PIN
//! retries, and reset once PIN and PUK are both blocked. One test in this file, since it
//! sets the process's `PCSCLITE_CSOCK_NAME` for the PC/SC client library.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use ukey_host::{
    Algorithm, Error, KeyPolicy, ManagementKey, ManagementKeyAlgorithm, Pin, Selector, Slot, Token,
};
use ukey_sim::{Testbed, TokenOptions};

#[test]
fn label_management_key_retries_and_reset() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    // SAFETY: the only test of this binary, before any other thread reads the environment.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
    let mut token = Token::open(&Selector::Reader(bed.reader(0).unwrap())).unwrap();
    let default_key = ManagementKey::default();

    let info = token.device_info().unwrap();
    assert!(info.manufacturer.is_some(), "{info:?}");
    token.set_label(&default_key, "张三的证书").unwrap();
    assert_eq!(token.label().unwrap().as_deref(), Some("张三的证书"));
    assert!(token.set_label(&default_key, &"x".repeat(33)).is_err());
    // An object over the token's largest is named as such, not as a full token (issue 17).
    let too_big = token.put_data(&default_key, ukey_host::ObjectId::PRINTED, &[0; 3400]);
    let message = too_big.unwrap_err().to_string();
    assert!(
        message.contains("over the largest data object the token stores"),
        "{message}"
    );

    let aes = ManagementKey::from_hex("00112233445566778899AABBCCDDEEFF", None).unwrap();
    assert_eq!(aes.algorithm(), ManagementKeyAlgorithm::Aes128);
    token.set_management_key(&default_key, &aes).unwrap();
    assert!(matches!(
        token.authenticate(&default_key),
        Err(Error::WrongManagementKey)
    ));
    token.authenticate(&aes).unwrap();
    let meta = token.management_key_metadata().unwrap();
    assert_eq!(meta.algorithm, ManagementKeyAlgorithm::Aes128);
    assert!(!meta.is_default);
    token.set_management_key(&aes, &default_key).unwrap();

    let pin = Pin::new("123456").unwrap();
    token.set_pin_retries(&default_key, &pin, 5, 4).unwrap();
    let meta = token.pin_metadata().unwrap();
    assert_eq!((meta.total, meta.left), (5, 5));
    assert_eq!(token.puk_metadata().unwrap().total, 4);

    token
        .generate(
            &default_key,
            Slot::KeyManagement,
            Algorithm::P256,
            KeyPolicy::default(),
        )
        .unwrap();
    assert!(
        matches!(token.reset(), Err(Error::InvalidInput { .. })),
        "reset needs PIN and PUK blocked"
    );
    let wrong = Pin::new("000000").unwrap();
    let pin_blocked = (0..16).any(|_| matches!(token.verify_pin(&wrong), Err(Error::PinBlocked)));
    let puk_blocked =
        (0..16).any(|_| matches!(token.change_puk(&wrong, &wrong), Err(Error::PukBlocked)));
    assert!(pin_blocked && puk_blocked);
    token.reset().unwrap();
    assert!(token.pin_metadata().unwrap().is_default);
    assert_eq!(token.key_metadata(Slot::KeyManagement).unwrap(), None);
    token.verify_pin(&pin).unwrap();
}
