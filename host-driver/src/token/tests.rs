//! Each test is a conversation with the token as card-edge.md writes it.

use p256::ecdsa::signature::hazmat::PrehashSigner;

use super::*;
use crate::keys::DEFAULT_SIGNER_ID;
use crate::keys::PublicKey;
use crate::piv::{
    KeyPolicy, ManagementKey, ManagementKeyAlgorithm, Pin, PinPolicy, Slot, TouchPolicy,
};
use crate::transport::script::{Script, Step, hex};

const SELECT: &str = "00A40400 05 A000000308 00";
const SELECTED: &str = "61 26 4F06000010000100 7907 4F05A000000308 5008756B657920504956 \
                        AC09 800111 800154 060100 9000";

fn token(
    steps: &[(&str, &str)],
) -> (
    Token,
    std::sync::Arc<std::sync::Mutex<crate::transport::script::Log>>,
) {
    let (script, log) = Script::new(steps);
    (Token::with_transport(Box::new(script)), log)
}

fn done(
    log: &std::sync::Arc<std::sync::Mutex<crate::transport::script::Log>>,
    transactions: usize,
) {
    let log = log.lock().unwrap();
    assert!(log.steps.is_empty(), "{} steps not played", log.steps.len());
    assert_eq!(log.transactions, transactions);
}

#[test]
fn select_reads_the_property_template() {
    let (mut t, log) = token(&[(SELECT, SELECTED)]);
    let app = t.application().unwrap();
    assert_eq!(app.label.as_deref(), Some("ukey PIV"));
    assert_eq!(app.algorithms, [Algorithm::P256, Algorithm::Sm2]);
    done(&log, 1);
}

#[test]
fn a_lost_connection_at_select_is_reconnected_once() {
    let (script, log) = Script::from_steps(vec![
        Step::Lost,
        Step::Exact(hex(SELECT), hex(SELECTED)),
        Step::Exact(hex("00FD000000"), hex("050400 9000")),
        Step::Lost,
        Step::Lost,
    ]);
    let mut t = Token::with_transport(Box::new(script));
    assert_eq!(t.version().unwrap().to_string(), "5.4.0");
    assert!(matches!(t.version(), Err(Error::CardReset)));
    let log = log.lock().unwrap();
    assert_eq!((log.transactions, log.reconnects), (4, 2));
}

#[test]
fn a_card_without_piv_is_named() {
    let (mut t, _log) = token(&[(SELECT, "6A82")]);
    match t.version() {
        Err(Error::NotPiv { reader }) => assert_eq!(reader, "Scripted Reader 00 00"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn version_and_serial() {
    let (mut t, log) = token(&[
        (SELECT, SELECTED),
        ("00FD000000", "050701 9000"),
        (SELECT, SELECTED),
        ("00F8000000", "00BC614E 9000"),
    ]);
    assert_eq!(t.version().unwrap().to_string(), "5.7.1");
    assert_eq!(t.serial().unwrap(), 12_345_678);
    done(&log, 2);
}

#[test]
fn pin_answers_in_users_words() {
    let (mut t, log) = token(&[
        (SELECT, SELECTED),
        ("00200080 08 313233343536FFFF", "63C2"),
        (SELECT, SELECTED),
        ("00200080", "63C2"),
        (SELECT, SELECTED),
        ("00200080 08 3132333435363738", "6983"),
        (SELECT, SELECTED),
        ("002C0080 10 3837363534333231 313131313131FFFF", "63C0"),
        (SELECT, SELECTED),
        ("00240081 10 3132333435363738 3837363534333231", "63C1"),
        (SELECT, SELECTED),
        ("00200080 08 313233343536FFFF", "9000"),
    ]);
    let pin = Pin::new("123456").unwrap();
    assert!(matches!(
        t.verify_pin(&pin),
        Err(Error::WrongPin { tries: 2 })
    ));
    assert_eq!(t.pin_status().unwrap(), PinStatus::TriesLeft(2));
    assert!(matches!(
        t.verify_pin(&Pin::new("12345678").unwrap()),
        Err(Error::PinBlocked)
    ));
    assert!(matches!(
        t.unblock_pin(&Pin::new("87654321").unwrap(), &Pin::new("111111").unwrap()),
        Err(Error::PukBlocked)
    ));
    assert!(matches!(
        t.change_puk(
            &Pin::new("12345678").unwrap(),
            &Pin::new("87654321").unwrap()
        ),
        Err(Error::WrongPuk { tries: 1 })
    ));
    t.verify_pin(&pin).unwrap();
    done(&log, 6);
    assert!(Pin::new("12345").is_err() && Pin::new("123456789").is_err());
}

#[test]
fn metadata_of_pin_and_empty_slot() {
    let (mut t, log) = token(&[
        (SELECT, SELECTED),
        ("00F7008000", "0101FF 0202 0000 050101 06020302 9000"),
        (SELECT, SELECTED),
        ("00F7009A00", "6A88"),
    ]);
    let m = t.pin_metadata().unwrap();
    assert_eq!(
        m,
        RetryMetadata {
            is_default: true,
            total: 3,
            left: 2
        }
    );
    assert_eq!(t.key_metadata(Slot::Authentication).unwrap(), None);
    done(&log, 2);
}

#[test]
fn certificates_are_read_and_written_through_put_data() {
    let cert = vec![0x30; 1200];
    let mut object = tlv::encode(0x70, &cert);
    object.extend_from_slice(&[0x71, 0x01, 0x00, 0xFE, 0x00]);
    let mut get_answer = tlv::encode(0x53, &object);
    get_answer.extend_from_slice(&[0x90, 0x00]);
    let mut put = tlv::encode(0x5C, &[0x5F, 0xC1, 0x0A]);
    tlv::write(&mut put, 0x53, &object);
    let mut steps = vec![
        Step::Exact(hex(SELECT), hex(SELECTED)),
        Step::Exact(hex("00CB3FFF 05 5C035FC10A 00"), get_answer),
        Step::Exact(hex(SELECT), hex(SELECTED)),
        Step::Exact(hex("00F7009B00"), hex("010103 050101 9000")),
    ];
    steps.extend(management_auth(ManagementKey::default()));
    for (i, chunk) in put.chunks(255).enumerate() {
        let last = (i + 1) * 255 >= put.len();
        let mut apdu = vec![
            if last { 0x00 } else { 0x10 },
            0xDB,
            0x3F,
            0xFF,
            chunk.len() as u8,
        ];
        apdu.extend_from_slice(chunk);
        steps.push(Step::Exact(apdu, hex("9000")));
    }
    let (script, log) = Script::from_steps(steps);
    let mut t = Token::with_transport(Box::new(script));
    assert_eq!(t.certificate(Slot::Signature).unwrap(), Some(cert.clone()));
    t.import_certificate(&ManagementKey::default(), Slot::Signature, &cert)
        .unwrap();
    done(&log, 2);
}

/// The two GENERAL AUTHENTICATE steps of mutual authentication, played by a token
/// holding `key`.
fn management_auth(key: ManagementKey) -> Vec<Step> {
    let n = key.algorithm().block_len();
    let alg = key.algorithm().id();
    let witness = vec![0x5A; n];
    let mut encrypted = witness.clone();
    key.crypt(&mut encrypted, true).unwrap();
    let mut first = tlv::encode(0x7C, &tlv::encode(0x80, &encrypted));
    first.extend_from_slice(&[0x90, 0x00]);
    vec![
        Step::Exact(
            [
                vec![0x00, 0x87, alg, 0x9B, 0x04],
                hex("7C028000"),
                vec![0x00],
            ]
            .concat(),
            first,
        ),
        Step::Respond(Box::new(move |cmd| {
            assert_eq!(&cmd[..4], [0x00, 0x87, alg, 0x9B]);
            let data = &cmd[5..cmd.len() - 1];
            let inner = tlv::require(data, 0x7C).unwrap();
            if tlv::require(inner, 0x80).unwrap() != witness.as_slice() {
                return hex("6982");
            }
            let mut challenge = tlv::require(inner, 0x81).unwrap().to_vec();
            key.crypt(&mut challenge, true).unwrap();
            let mut out = tlv::encode(0x7C, &tlv::encode(0x82, &challenge));
            out.extend_from_slice(&[0x90, 0x00]);
            out
        })),
    ]
}

#[test]
fn mutual_authentication_3des_and_aes() {
    for (token_key, host_key, meta) in [
        (
            ManagementKey::default(),
            ManagementKey::default(),
            "010103 050101 9000",
        ),
        (
            ManagementKey::from_hex(&"11".repeat(16), None).unwrap(),
            ManagementKey::from_hex(&"11".repeat(16), None).unwrap(),
            "",
        ),
        (
            ManagementKey::from_hex(&"22".repeat(24), Some(ManagementKeyAlgorithm::Aes192))
                .unwrap(),
            ManagementKey::from_hex(&"22".repeat(24), None).unwrap(),
            "01010A 050100 9000",
        ),
    ] {
        let mut steps = vec![Step::Exact(hex(SELECT), hex(SELECTED))];
        if !meta.is_empty() {
            steps.push(Step::Exact(hex("00F7009B00"), hex(meta)));
        }
        steps.extend(management_auth(token_key));
        let (script, log) = Script::from_steps(steps);
        let mut t = Token::with_transport(Box::new(script));
        t.authenticate(&host_key).unwrap();
        done(&log, 1);
    }
}

#[test]
fn a_wrong_management_key_is_reported() {
    let mut steps = vec![
        Step::Exact(hex(SELECT), hex(SELECTED)),
        Step::Exact(hex("00F7009B00"), hex("010103 050100 9000")),
    ];
    steps.extend(management_auth(
        ManagementKey::from_hex(&"33".repeat(24), None).unwrap(),
    ));
    let (script, _log) = Script::from_steps(steps);
    let mut t = Token::with_transport(Box::new(script));
    assert!(matches!(
        t.authenticate(&ManagementKey::default()),
        Err(Error::WrongManagementKey)
    ));
}

/// A key in slot 9C as GET METADATA answers it, with PIN policy `policy`; its secret, the
/// digest of `message` and a signature of it.
fn sm2_key_in_9c(policy: u8, message: &[u8]) -> (Vec<u8>, [u8; 32], Vec<u8>) {
    let secret = sm2::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let public = PublicKey::Sm2(secret.public_key());
    let e = public.digest(message, DEFAULT_SIGNER_ID).unwrap();
    let signer = sm2::dsa::SigningKey::new(DEFAULT_SIGNER_ID, &secret).unwrap();
    let sig: sm2::dsa::Signature = signer.sign_prehash(&e).unwrap();
    let mut meta = hex("010154 0202");
    meta.extend_from_slice(&[policy, 0x01]);
    meta.extend_from_slice(&hex("030101"));
    let mut inner = Vec::new();
    tlv::write(&mut inner, 0x86, &public.to_sec1());
    tlv::write(&mut meta, 0x04, &inner);
    meta.extend_from_slice(&[0x90, 0x00]);
    (meta, e, sig.to_der().as_bytes().to_vec())
}

/// GENERAL AUTHENTICATE of `e` with the 9C SM2 key, and the token's answer `signature`.
fn sign_9c(e: &[u8; 32], signature: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut command = hex("00875 49C 26 7C24 8200 8120");
    command.extend_from_slice(e);
    command.push(0x00);
    let mut answer = tlv::encode(0x7C, &tlv::encode(0x82, signature));
    answer.extend_from_slice(&[0x90, 0x00]);
    (command, answer)
}

#[test]
fn a_signer_reads_the_key_once_and_signs_in_one_transaction_each() {
    let message = b"contract text";
    let (meta, e, signature) = sm2_key_in_9c(0x03, message);
    let verify = (hex("00200080 08 313233343536FFFF"), hex("9000"));
    let mut steps = vec![(hex(SELECT), hex(SELECTED)), (hex("00F7009C00"), meta)];
    for _ in 0..2 {
        steps.extend([
            (hex(SELECT), hex(SELECTED)),
            verify.clone(),
            sign_9c(&e, &signature),
        ]);
    }
    let (script, log) = Script::from_bytes(steps);
    let mut t = Token::with_transport(Box::new(script));
    let mut signer = t
        .signer(Slot::Signature)
        .unwrap()
        .with_pin(Pin::new("123456").unwrap());
    assert!(signer.needs_pin());
    assert_eq!(signer.sign(message).unwrap(), signature);
    assert_eq!(signer.sign_digest(&e).unwrap(), signature);
    done(&log, 3);
}

#[test]
fn a_key_that_never_asks_for_the_pin_gets_no_verify() {
    let message = b"contract text";
    let (meta, e, signature) = sm2_key_in_9c(0x01, message);
    let (script, log) = Script::from_bytes(vec![
        (hex(SELECT), hex(SELECTED)),
        (hex("00F7009C00"), meta),
        (hex(SELECT), hex(SELECTED)),
        sign_9c(&e, &signature),
    ]);
    let mut t = Token::with_transport(Box::new(script));
    let mut signer = t
        .signer(Slot::Signature)
        .unwrap()
        .with_pin(Pin::new("123456").unwrap());
    assert!(!signer.needs_pin());
    assert_eq!(signer.sign(message).unwrap(), signature);
    done(&log, 2);
}

#[test]
fn a_signature_the_key_does_not_verify_is_refused() {
    let (meta, e, mut signature) = sm2_key_in_9c(0x01, b"contract text");
    signature[10] ^= 1;
    let (script, _log) = Script::from_bytes(vec![
        (hex(SELECT), hex(SELECTED)),
        (hex("00F7009C00"), meta),
        (hex(SELECT), hex(SELECTED)),
        sign_9c(&e, &signature),
    ]);
    let mut t = Token::with_transport(Box::new(script));
    let mut signer = t.signer(Slot::Signature).unwrap();
    assert!(matches!(
        signer.sign(b"contract text"),
        Err(Error::BadResponse { .. })
    ));
}

#[test]
fn generate_p256_with_policies() {
    let secret = p256::SecretKey::from_slice(&[9u8; 32]).unwrap();
    let point = PublicKey::P256(secret.public_key()).to_sec1();
    let mut answer = tlv::encode(0x7F49, &tlv::encode(0x86, &point));
    answer.extend_from_slice(&[0x90, 0x00]);
    let mut steps = vec![
        Step::Exact(hex(SELECT), hex(SELECTED)),
        Step::Exact(hex("00F7009B00"), hex("6A88")),
    ];
    steps.extend(management_auth(ManagementKey::default()));
    steps.push(Step::Exact(
        hex("0047009A 0B AC09 800111 AA0103 AB0102 00"),
        answer,
    ));
    let (script, log) = Script::from_steps(steps);
    let mut t = Token::with_transport(Box::new(script));
    let policy = KeyPolicy {
        pin: Some(PinPolicy::Always),
        touch: Some(TouchPolicy::Always),
    };
    let pk = t
        .generate(
            &ManagementKey::default(),
            Slot::Authentication,
            Algorithm::P256,
            policy,
        )
        .unwrap();
    assert_eq!(pk, PublicKey::P256(secret.public_key()));
    done(&log, 1);
}

#[test]
fn device_info_and_label() {
    let (mut t, _log) = token(&[
        (SELECT, SELECTED),
        (
            "00CB3FFF 05 5C035FFF01 00",
            "53 16 0104756B6579 0204756B6579 06080000100000000800 9000",
        ),
        (SELECT, SELECTED),
        ("00CB3FFF 05 5C035FFF02 00", "6A82"),
    ]);
    let info = t.device_info().unwrap();
    assert_eq!(info.manufacturer.as_deref(), Some("ukey"));
    assert_eq!(info.storage_total, Some(4096));
    assert_eq!(info.storage_free, Some(2048));
    assert_eq!(t.label().unwrap(), None);
}

#[test]
fn status_is_one_transaction_and_what_is_missing_is_none() {
    let mut steps: Vec<(String, &str)> = vec![
        (SELECT.into(), SELECTED),
        ("00200080".into(), "63C3"),
        ("00F7008000".into(), "0101FF 050100 06020303 9000"),
        ("00F7008100".into(), "6A88"),
    ];
    for (reference, object) in [
        ("9A", "5FC105"),
        ("9C", "5FC10A"),
        ("9D", "5FC10B"),
        ("9E", "5FC101"),
    ] {
        steps.push((format!("00F700{reference}00"), "6A88"));
        steps.push((format!("00CB3FFF 05 5C03{object} 00"), "6A82"));
    }
    for (command, response) in [
        ("00F8000000", "00BC614E 9000"),
        ("00FD000000", "050400 9000"),
        ("00CB3FFF 05 5C035FFF01 00", "6A82"),
        ("00CB3FFF 05 5C035FFF02 00", "53 04 6C616F77 9000"),
        ("00F7009B00", "010103 050101 9000"),
    ] {
        steps.push((command.into(), response));
    }
    let steps: Vec<(&str, &str)> = steps.iter().map(|(c, r)| (c.as_str(), *r)).collect();
    let (mut t, log) = token(&steps);
    let status = t.status().unwrap();
    done(&log, 1);
    assert_eq!(status.application.label.as_deref(), Some("ukey PIV"));
    assert_eq!((status.serial, status.device), (Some(12_345_678), None));
    assert_eq!(status.label.as_deref(), Some("laow"));
    assert_eq!(
        (
            status.pin.tries_left,
            status.pin.is_default,
            status.pin.verified
        ),
        (Some(3), Some(false), false)
    );
    assert_eq!(status.puk, None);
    assert!(status.management_key.is_some_and(|m| m.is_default));
    assert!(
        status
            .slots
            .iter()
            .all(|s| s.key.is_none() && s.certificate.is_none())
    );
}

#[test]
fn agreement_sends_the_peer_point_after_the_pin_in_one_transaction() {
    let peer = PublicKey::P256(
        p256::SecretKey::from_slice(&[9u8; 32])
            .unwrap()
            .public_key(),
    );
    let point = peer.to_sec1();
    let mut command = hex("00871 19D 47 7C45 8200 8541");
    command.extend_from_slice(&point);
    command.push(0x00);
    let shared = [0x5A; 32];
    let mut answer = tlv::encode(0x7C, &tlv::encode(0x82, &shared));
    answer.extend_from_slice(&[0x90, 0x00]);
    let (script, log) = Script::from_bytes(vec![
        (hex(SELECT), hex(SELECTED)),
        (hex("00200080 08 313233343536FFFF"), hex("9000")),
        (command.clone(), answer),
        (hex(SELECT), hex(SELECTED)),
        (command, hex("6A88")),
    ]);
    let mut t = Token::with_transport(Box::new(script));
    let pin = Pin::new("123456").unwrap();
    let secret = t.agree(Slot::KeyManagement, &peer, Some(&pin)).unwrap();
    assert_eq!(secret.as_slice(), shared);
    assert!(matches!(
        t.agree(Slot::KeyManagement, &peer, None),
        Err(Error::NotFound { .. })
    ));
    done(&log, 2);
}

#[test]
fn import_sends_the_scalar_and_policies_then_checks_the_stored_public_key() {
    let secret = sm2::SecretKey::from_slice(&[0x33; 32]).unwrap();
    let point = PublicKey::Sm2(secret.public_key()).to_sec1();
    let metadata = |point: &[u8]| {
        let mut answer = hex("010154 02020101 030102");
        answer.extend(tlv::encode(0x04, &tlv::encode(0x86, point)));
        answer.extend_from_slice(&[0x90, 0x00]);
        answer
    };
    let import = format!("00FE549D 28 0620{} AA0101 AB0101", "33".repeat(32));
    let mut steps = vec![
        Step::Exact(hex(SELECT), hex(SELECTED)),
        Step::Exact(hex("00F7009B00"), hex("6A88")),
    ];
    steps.extend(management_auth(ManagementKey::default()));
    steps.push(Step::Exact(hex(&import), hex("9000")));
    steps.push(Step::Exact(hex("00F7009D00"), metadata(&point)));
    // The same again, but the token reports another key in the slot.
    steps.push(Step::Exact(hex(SELECT), hex(SELECTED)));
    steps.push(Step::Exact(hex("00F7009B00"), hex("6A88")));
    steps.extend(management_auth(ManagementKey::default()));
    steps.push(Step::Exact(hex(&import), hex("9000")));
    let other = sm2::SecretKey::from_slice(&[0x44; 32]).unwrap();
    let other = PublicKey::Sm2(other.public_key()).to_sec1();
    steps.push(Step::Exact(hex("00F7009D00"), metadata(&other)));
    let (script, log) = Script::from_steps(steps);
    let mut t = Token::with_transport(Box::new(script));
    let key = crate::PrivateKey::Sm2(secret.clone());
    let policy = KeyPolicy {
        pin: Some(PinPolicy::Never),
        touch: Some(TouchPolicy::Never),
    };
    let public = t
        .import_key(&ManagementKey::default(), Slot::KeyManagement, &key, policy)
        .unwrap();
    assert_eq!(public, PublicKey::Sm2(secret.public_key()));
    let error = t
        .import_key(&ManagementKey::default(), Slot::KeyManagement, &key, policy)
        .unwrap_err();
    assert!(error.to_string().contains("another public key"), "{error}");
    done(&log, 2);
}
