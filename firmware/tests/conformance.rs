//! The card edge, byte for byte: every command with its exact status words, signatures
//! checked by the real `openssl` command. In process by default; with `UKEY_CONFORMANCE=qemu`
//! the same cases run on the applet on the QEMU Cortex-M4 board, over its UART; with
//! `UKEY_TEST_READER=<part of a reader's name>`, on the token in that reader through the
//! system's pcscd, reset to factory state before each case (its content is erased). On a
//! reader, the cases that choose a profile or read the flash image are skipped, each with a
//! line saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use support::openssl::{sha256, sm2_e, verifies};
use support::*;
use ukey_firmware::{ManagementKeyAlgorithm, Profile};

const P256: u8 = 0x11;
const SM2: u8 = 0x54;

#[test]
fn select_answers_the_application_property_template() {
    let mut c = token();
    let apt = h(
        "61 26 4F 06 000010000100 79 07 4F 05 A000000308 50 08 756B657920504956 AC 09 80 01 11 80 01 54 06 01 00",
    );
    assert_eq!(expect(&mut c, &h("00A4040005A000000308"), 0x9000), apt);
    assert_eq!(
        expect(&mut c, &h("00A404000BA000000308000010000100"), 0x9000),
        apt
    );
    assert_eq!(
        expect(&mut c, &h("00A404000BA000000308000010000100 00"), 0x9000),
        apt
    );
    expect(&mut c, &h("00A4040006D27600012401"), 0x6A82);
    expect(&mut c, &h("00A4040004A0000003"), 0x6A82);
    expect(&mut c, &h("00A4000002 3F00"), 0x6A86);
    // P2 0C: no response data; an unknown AID is not found, as with P2 00.
    expect(&mut c, &h("00A4040C06D27600012401"), 0x6A82);
    expect(&mut c, &h("00A4040C04A0000003"), 0x6A82);
    assert_eq!(expect(&mut c, &h("00A4040C05A000000308"), 0x9000), []);
}

#[test]
fn selecting_piv_forgets_the_pin_as_a_yubikey() {
    let mut c = token();
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    expect(&mut c, &h("00 20 00 80"), 0x9000);
    // libykpiv's tries count: re-SELECT, then an empty VERIFY.
    select(&mut c);
    expect(&mut c, &h("00 20 00 80"), 0x63C3);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    expect(&mut c, &h("00A4040C05A000000308"), 0x9000);
    expect(&mut c, &h("00 20 00 80"), 0x63C3);
    // A SELECT of another application leaves the PIN as it was.
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    expect(&mut c, &h("00A4040006D27600012401"), 0x6A82);
    expect(&mut c, &h("00 20 00 80"), 0x9000);
    // The management key's authentication is not the PIN's: it stays.
    authenticate_default(&mut c);
    select(&mut c);
    generate(&mut c, 0x9A, P256);
}

#[test]
fn unknown_instructions_classes_and_lengths() {
    let mut c = token();
    expect(&mut c, &h("00 99 00 00"), 0x6D00);
    expect(&mut c, &h("80 FD 00 00"), 0x6E00);
    expect(&mut c, &h("00 FD 00"), 0x6700);
    expect(&mut c, &h("00 20 00 80 09 3132333435363738"), 0x6700);
    expect(&mut c, &h("00 FD 01 00"), 0x6A86);
    assert_eq!(expect(&mut c, &h("00 FD 00 00"), 0x9000), [5, 7, 0]);
    let serial = expect(&mut c, &h("00 F8 00 00"), 0x9000);
    if on_reader() {
        assert_eq!(serial.len(), 4, "GET SERIAL: 4 bytes");
        support::reader::report_skip(
            "GET SERIAL's value",
            "a reader's token has a serial number of its own; only its length is checked",
        );
    } else {
        assert_eq!(serial, [0x12, 0x34, 0x56, 0x78]);
    }
}

#[test]
fn pin_counts_down_blocks_and_the_puk_unblocks() {
    let mut c = token();
    expect(&mut c, &h("00 20 00 80"), 0x63C3);
    assert_eq!(verify(&mut c, b"654321"), 0x63C2);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    expect(&mut c, &h("00 20 00 80"), 0x9000);
    expect(&mut c, &h("00 20 FF 80"), 0x9000);
    expect(&mut c, &h("00 20 00 80"), 0x63C3);
    for left in [0x63C2, 0x63C1, 0x63C0] {
        assert_eq!(verify(&mut c, b"000000"), left);
    }
    assert_eq!(verify(&mut c, b"123456"), 0x6983);
    expect(&mut c, &h("00 20 00 80"), 0x6983);
    // Eight bytes that are no valid PIN are a wrong PIN like any other; here it is blocked.
    expect(
        &mut c,
        &apdu(0, 0x20, 0, 0x80, b"12345\xFF\xFF\xFF"),
        0x6983,
    );
    // Wrong PUK costs a PUK try; the right one sets a new PIN and restores both counters.
    let mut data = padded(b"87654321");
    data.extend(padded(b"111111"));
    expect(&mut c, &apdu(0, 0x2C, 0, 0x80, &data), 0x63C2);
    let mut data = padded(b"12345678");
    data.extend(padded(b"111111"));
    expect(&mut c, &apdu(0, 0x2C, 0, 0x80, &data), 0x9000);
    assert_eq!(verify(&mut c, b"123456"), 0x63C2);
    assert_eq!(verify(&mut c, b"111111"), 0x9000);
    let meta = expect(&mut c, &h("00 F7 00 81"), 0x9000);
    assert_eq!(meta, h("01 01 FF 05 01 01 06 02 03 03"));
}

#[test]
fn eight_bytes_that_are_no_pin_are_a_wrong_try_as_ykman_resets() {
    let mut c = token();
    // ykman's `piv reset`: VERIFY with eight FF until blocked, then RESET RETRY COUNTER with
    // sixteen FF until the PUK is blocked, then RESET.
    for left in [0x63C2, 0x63C1, 0x63C0] {
        expect(&mut c, &apdu(0, 0x20, 0, 0x80, &[0xFF; 8]), left);
    }
    expect(&mut c, &apdu(0, 0x20, 0, 0x80, &[0xFF; 8]), 0x6983);
    for left in [0x63C2, 0x63C1, 0x63C0] {
        expect(&mut c, &apdu(0, 0x2C, 0, 0x80, &[0xFF; 16]), left);
    }
    expect(&mut c, &h("00 FB 00 00"), 0x9000);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    // Other malformed eight bytes count too; a wrong length is still no try.
    assert_eq!(verify(&mut c, b"12345"), 0x63C2);
    expect(&mut c, &apdu(0, 0x20, 0, 0x80, b"\xFF123456\xFF"), 0x63C1);
    expect(&mut c, &apdu(0, 0x20, 0, 0x80, b"1234567"), 0x6A80);
    assert_eq!(tries_left(&mut c), 1);
    // The right old value with a malformed new one changes nothing and costs nothing.
    let mut data = padded(b"123456");
    data.extend([0xFF; 8]);
    expect(&mut c, &apdu(0, 0x24, 0, 0x80, &data), 0x6A80);
    assert_eq!(tries_left(&mut c), 3);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
}

/// The PIN's tries left, from GET METADATA.
fn tries_left(c: &mut Box<dyn Token>) -> u8 {
    expect(c.as_mut(), &h("00 F7 00 80"), 0x9000)[9]
}

#[test]
fn change_reference_data_for_pin_and_puk() {
    let mut c = token();
    assert_eq!(
        expect(&mut c, &h("00 F7 00 80"), 0x9000),
        h("01 01 FF 05 01 01 06 02 03 03")
    );
    let mut data = padded(b"000000");
    data.extend(padded(b"24681357"));
    expect(&mut c, &apdu(0, 0x24, 0, 0x80, &data), 0x63C2);
    let mut data = padded(b"123456");
    data.extend(padded(b"24681357"));
    expect(&mut c, &apdu(0, 0x24, 0, 0x80, &data), 0x9000);
    assert_eq!(
        expect(&mut c, &h("00 F7 00 80"), 0x9000),
        h("01 01 FF 05 01 00 06 02 03 03")
    );
    assert_eq!(verify(&mut c, b"24681357"), 0x9000);
    let mut data = padded(b"12345678");
    data.extend(padded(b"87654321"));
    expect(&mut c, &apdu(0, 0x24, 0, 0x81, &data), 0x9000);
    let mut bad_new = padded(b"87654321");
    bad_new.extend(padded(b"123"));
    expect(&mut c, &apdu(0, 0x24, 0, 0x81, &bad_new), 0x6A80);
    expect(&mut c, &apdu(0, 0x24, 0, 0x9B, &data), 0x6A86);
}

#[test]
fn reset_only_when_pin_and_puk_are_blocked() {
    let mut c = token();
    authenticate_default(&mut c);
    generate(&mut c, 0x9A, P256);
    assert_eq!(
        put_data(&mut c, &h("5FC105"), &h("70 03 010203 71 01 00 FE 00")),
        0x9000
    );
    expect(&mut c, &h("00 FB 00 00"), 0x6985);
    for _ in 0..3 {
        verify(&mut c, b"999999");
    }
    expect(&mut c, &h("00 FB 00 00"), 0x6985);
    let mut data = padded(b"99999999");
    data.extend(padded(b"111111"));
    for _ in 0..3 {
        send(&mut c, &apdu(0, 0x2C, 0, 0x80, &data));
    }
    expect(&mut c, &h("00 FB 00 00"), 0x9000);
    expect(&mut c, &h("00 F7 00 9A"), 0x6A88);
    assert_eq!(get_data(&mut c, &h("5FC105")).0, 0x6A82);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    assert_eq!(
        expect(&mut c, &h("00 F7 00 9B"), 0x9000),
        h("01 01 03 02 02 00 01 05 01 01")
    );
}

#[test]
fn management_key_mutual_and_external_authentication() {
    let mut c = token();
    authenticate_default(&mut c);
    for (alg, len) in [
        (ManagementKeyAlgorithm::Aes128, 16),
        (ManagementKeyAlgorithm::Aes192, 24),
        (ManagementKeyAlgorithm::Aes256, 32),
        (ManagementKeyAlgorithm::TripleDes, 24),
    ] {
        let key: Vec<u8> = (0..len as u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        let mut data = vec![alg.id(), 0x9B, len as u8];
        data.extend_from_slice(&key);
        expect(&mut c, &apdu(0, 0xFF, 0xFF, 0xFF, &data), 0x9000);
        c.reset();
        assert_eq!(authenticate(&mut c, alg, &key), 0x9000, "{alg:?}");
        let meta = expect(&mut c, &h("00 F7 00 9B"), 0x9000);
        assert_eq!(meta[2], alg.id());
        // External authentication: the card's challenge, encrypted by the host.
        let challenge = expect(
            &mut c,
            &apdu(0, 0x87, alg.id(), 0x9B, &h("7C028100")),
            0x9000,
        );
        let n = alg.block_len();
        let mut response = challenge[4..].to_vec();
        block_cipher(alg, &key, &mut response, true);
        let mut data = vec![0x7C, n as u8 + 2, 0x82, n as u8];
        data.extend_from_slice(&response);
        expect(&mut c, &apdu(0, 0x87, alg.id(), 0x9B, &data), 0x9000);
    }
}

#[test]
fn a_wrong_management_answer_authenticates_nothing() {
    let mut c = token();
    let alg = ManagementKeyAlgorithm::TripleDes;
    // Mutual: a witness decrypted with the wrong key.
    assert_eq!(authenticate(&mut c, alg, &[9u8; 24]), 0x6982);
    expect(&mut c, &apdu(0, 0x47, 0, 0x9A, &h("AC03800111")), 0x6982);
    // External: a wrong response, then the right one to a stale challenge.
    let challenge = expect(&mut c, &apdu(0, 0x87, 3, 0x9B, &h("7C028100")), 0x9000);
    expect(
        &mut c,
        &apdu(0, 0x87, 3, 0x9B, &h("7C0A82080000000000000000")),
        0x6982,
    );
    let mut response = challenge[4..].to_vec();
    block_cipher(alg, &DEFAULT_MGMT, &mut response, true);
    let mut data = h("7C0A8208");
    data.extend_from_slice(&response);
    expect(&mut c, &apdu(0, 0x87, 3, 0x9B, &data), 0x6982);
    expect(
        &mut c,
        &apdu(0, 0xDB, 0x3F, 0xFF, &h("5C035FFF02 5303 414243")),
        0x6982,
    );
    // Nothing in flight: an answer without a question.
    expect(
        &mut c,
        &apdu(0, 0x87, 3, 0x9B, &h("7C0A80080000000000000000")),
        0x6982,
    );
    // The wrong algorithm for the stored key.
    expect(&mut c, &apdu(0, 0x87, 0x08, 0x9B, &h("7C028000")), 0x6A86);
}

/// Issue 17 (3): a host challenge is encrypted only after the witness is proven, so no one
/// without the management key gets `E(K, C)` from the card.
#[test]
fn the_management_key_is_no_encryption_oracle() {
    let mut c = token();
    // A host challenge on its own ("internal" form).
    let internal = h("7C0C 8108 0102030405060708 8200");
    assert_eq!(
        send(&mut c, &apdu(0, 0x87, 3, 0x9B, &internal)),
        (vec![], 0x6A80)
    );
    // Inside a mutual exchange whose witness is not proven.
    expect(&mut c, &apdu(0, 0x87, 3, 0x9B, &h("7C028000")), 0x9000);
    let mutual = h("7C14 8008 0000000000000000 8108 0102030405060708");
    assert_eq!(
        send(&mut c, &apdu(0, 0x87, 3, 0x9B, &mutual)),
        (vec![], 0x6982)
    );
    // The key's holder still authenticates, with or without SP 800-73-4's `82 00`.
    authenticate_default(&mut c);
    let alg = ManagementKeyAlgorithm::TripleDes;
    let witness = expect(&mut c, &apdu(0, 0x87, 3, 0x9B, &h("7C028000")), 0x9000);
    let mut plain = witness[4..].to_vec();
    block_cipher(alg, &DEFAULT_MGMT, &mut plain, false);
    let mut proof = h("7C16 8008");
    proof.extend_from_slice(&plain);
    proof.extend_from_slice(&h("8108 0707070707070707 8200"));
    let answer = expect(&mut c, &apdu(0, 0x87, 3, 0x9B, &proof), 0x9000);
    let mut expected = vec![7; 8];
    block_cipher(alg, &DEFAULT_MGMT, &mut expected, true);
    assert_eq!(answer[4..], expected[..]);
    expect(
        &mut c,
        &apdu(0, 0xDB, 0x3F, 0xFF, &h("5C035FFF02 5303 414243")),
        0x9000,
    );
}

/// Issue 17 (3): two tokens sharing a key cannot be made to vouch for each other: B will
/// not encrypt A's external-authentication challenge for someone without the key.
#[test]
fn two_tokens_sharing_a_management_key_cannot_be_relayed() {
    if skipped_on_reader(
        "two_tokens_sharing_a_management_key_cannot_be_relayed",
        "needs two tokens at once",
    ) {
        return;
    }
    let key = [0x5Au8; 16];
    let mut set_key = h("08 9B 10");
    set_key.extend_from_slice(&key);
    let mut a = token_with(&Profile::standard(1), 1);
    let mut b = token_with(&Profile::standard(2), 2);
    for card in [&mut a, &mut b] {
        authenticate_default(card.as_mut());
        expect(card.as_mut(), &apdu(0, 0xFF, 0xFF, 0xFF, &set_key), 0x9000);
        card.reset();
    }
    let challenge = expect(a.as_mut(), &apdu(0, 0x87, 8, 0x9B, &h("7C028100")), 0x9000);
    let c = &challenge[4..];
    let mut internal = h("7C14 8110");
    internal.extend_from_slice(c);
    internal.extend_from_slice(&h("8200"));
    assert_eq!(
        send(b.as_mut(), &apdu(0, 0x87, 8, 0x9B, &internal)),
        (vec![], 0x6A80)
    );
    expect(b.as_mut(), &apdu(0, 0x87, 8, 0x9B, &h("7C028000")), 0x9000);
    let mut mutual = h("7C24 8010");
    mutual.extend_from_slice(&[0; 16]);
    mutual.extend_from_slice(&h("8110"));
    mutual.extend_from_slice(c);
    assert_eq!(
        send(b.as_mut(), &apdu(0, 0x87, 8, 0x9B, &mutual)),
        (vec![], 0x6982)
    );
    expect(
        a.as_mut(),
        &apdu(0, 0xDB, 0x3F, 0xFF, &h("5C035FFF02 5303 414243")),
        0x6982,
    );
    assert_eq!(
        authenticate(b.as_mut(), ManagementKeyAlgorithm::Aes128, &key),
        0x9000
    );
}

#[test]
fn generate_and_sign_with_both_algorithms_verified_by_openssl() {
    let mut c = token();
    authenticate_default(&mut c);
    let msg = b"ukey signs this with the national algorithm and with NIST P-256";
    for (slot, alg) in [(0x9A, P256), (0x9C, SM2), (0x9D, SM2), (0x9E, P256)] {
        let point = generate(&mut c, slot, alg);
        let digest = if alg == P256 {
            sha256(msg)
        } else {
            sm2_e(&point, msg)
        };
        assert_eq!(verify(&mut c, b"123456"), 0x9000);
        let (sw, sig) = sign(&mut c, slot, alg, &digest);
        assert_eq!(sw, 0x9000, "slot {slot:02X}");
        assert!(
            verifies(alg, &point, msg, &sig),
            "openssl rejected slot {slot:02X} alg {alg:02X}"
        );
        assert!(
            !verifies(alg, &point, b"another message", &sig),
            "openssl must reject a forgery"
        );
        let meta = expect(&mut c, &apdu(0, 0xF7, 0, slot, &[]), 0x9000);
        assert_eq!(
            meta[..10],
            [0x01, 0x01, alg, 0x02, 0x02, meta[5], 0x01, 0x03, 0x01, 0x01]
        );
        assert_eq!(meta[10..14], [0x04, 0x43, 0x86, 0x41]);
        assert_eq!(meta[14..], point[..]);
    }
    // The wrong algorithm for the slot's key, a digest of the wrong length for SM2.
    assert_eq!(sign(&mut c, 0x9A, SM2, &[1; 32]).0, 0x6A80);
    assert_eq!(sign(&mut c, 0x9D, SM2, &[1; 20]).0, 0x6A80);
}

#[test]
fn pin_policy_decides_who_may_sign() {
    let mut c = token();
    authenticate_default(&mut c);
    generate(&mut c, 0x9C, P256);
    generate(&mut c, 0x9A, P256);
    generate(&mut c, 0x9E, SM2);
    let d = [7u8; 32];
    assert_eq!(sign(&mut c, 0x9E, SM2, &d).0, 0x9000, "9E: never");
    assert_eq!(sign(&mut c, 0x9A, P256, &d).0, 0x6982);
    assert_eq!(sign(&mut c, 0x9C, P256, &d).0, 0x6982);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    assert_eq!(
        sign(&mut c, 0x9C, P256, &d).0,
        0x9000,
        "9C: PIN just verified"
    );
    assert_eq!(
        sign(&mut c, 0x9C, P256, &d).0,
        0x6982,
        "9C: PIN before every signature"
    );
    assert_eq!(
        sign(&mut c, 0x9A, P256, &d).0,
        0x9000,
        "9A: once per session"
    );
    assert_eq!(sign(&mut c, 0x9A, P256, &d).0, 0x9000);
    c.reset();
    assert_eq!(
        sign(&mut c, 0x9A, P256, &d).0,
        0x6982,
        "reset forgets the PIN"
    );
    // A policy given at generation.
    authenticate_default(&mut c);
    expect(
        &mut c,
        &apdu(0, 0x47, 0, 0x9D, &h("AC06 800111 AA0101")),
        0x9000,
    );
    assert_eq!(sign(&mut c, 0x9D, P256, &d).0, 0x9000);
    expect(
        &mut c,
        &apdu(0, 0x47, 0, 0x9D, &h("AC06 800111 AB0102")),
        0x6A80,
    );
    expect(&mut c, &apdu(0, 0x47, 0, 0x9D, &h("AC03 800107")), 0x6A80);
    expect(&mut c, &apdu(0, 0x47, 0, 0x9B, &h("AC03 800111")), 0x6A86);
    expect(&mut c, &h("00 F7 00 9C"), 0x9000);
    expect(&mut c, &h("00 F7 00 82"), 0x6A88);
}

/// A peer key pair made on the host: its scalar and uncompressed public point.
fn peer_key(alg: u8, seed: u64) -> (Vec<u8>, Vec<u8>) {
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    if alg == P256 {
        use p256::elliptic_curve::Generate;
        use p256::elliptic_curve::sec1::ToSec1Point;
        let secret = p256::SecretKey::generate_from_rng(&mut rng);
        let point = secret.public_key().to_sec1_point(false);
        (secret.to_bytes().to_vec(), point.as_bytes().to_vec())
    } else {
        use sm2::elliptic_curve::Generate;
        use sm2::elliptic_curve::sec1::ToSec1Point;
        let secret = sm2::SecretKey::generate_from_rng(&mut rng);
        let point = secret.public_key().to_sec1_point(false);
        (secret.to_bytes().to_vec(), point.as_bytes().to_vec())
    }
}

/// What the host computes with the p256/sm2 crates: the peer scalar times the card's point,
/// in the card edge's form (P-256 the shared `x`, SM2 the whole shared point).
fn host_shared(alg: u8, peer_secret: &[u8], card_point: &[u8]) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    if alg == P256 {
        let d = p256::NonZeroScalar::try_from(peer_secret).unwrap();
        let q = p256::PublicKey::from_sec1_bytes(card_point).unwrap();
        let shared = (q.to_projective() * *d).to_affine().to_sec1_point(false);
        shared.as_bytes()[1..33].to_vec()
    } else {
        let d = sm2::NonZeroScalar::try_from(peer_secret).unwrap();
        let q = sm2::PublicKey::from_sec1_bytes(card_point).unwrap();
        let shared = (q.to_projective() * *d).to_affine().to_sec1_point(false);
        shared.as_bytes().to_vec()
    }
}

#[test]
fn key_agreement_equals_the_hosts_ecdh_on_both_curves() {
    let mut c = token();
    authenticate_default(&mut c);
    for (round, (slot, alg)) in [(0x9D, P256), (0x9A, SM2), (0x9E, P256), (0x9D, SM2)]
        .into_iter()
        .enumerate()
    {
        let card_point = generate(&mut c, slot, alg);
        let (peer_secret, peer_point) = peer_key(alg, round as u64);
        assert_eq!(verify(&mut c, b"123456"), 0x9000);
        let (sw, shared) = agree(&mut c, slot, alg, &peer_point);
        assert_eq!(sw, 0x9000, "slot {slot:02X} alg {alg:02X}");
        assert_eq!(shared.len(), if alg == P256 { 32 } else { 65 });
        assert_eq!(shared, host_shared(alg, &peer_secret, &card_point));
    }
}

#[test]
fn key_agreement_refuses_points_off_the_curve() {
    let mut c = token();
    authenticate_default(&mut c);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    let (_, p256_peer) = peer_key(P256, 1);
    assert_eq!(agree(&mut c, 0x9D, P256, &p256_peer).0, 0x6A88, "no key");
    generate(&mut c, 0x9D, P256);
    generate(&mut c, 0x9A, SM2);
    let (_, sm2_peer) = peer_key(SM2, 2);
    for (slot, alg, good) in [(0x9D, P256, &p256_peer), (0x9A, SM2, &sm2_peer)] {
        let mut off_curve = good.clone();
        off_curve[64] ^= 1;
        let mut compressed = vec![0x02 | (good[64] & 1)];
        compressed.extend_from_slice(&good[1..33]);
        let mut hybrid = good.clone();
        hybrid[0] = 0x06 | (good[64] & 1);
        let mut beyond_p = good.clone();
        beyond_p[1..33].fill(0xFF);
        let bad: [&[u8]; 8] = [
            &off_curve,
            &beyond_p,
            &good[..64],
            &compressed,
            &hybrid,
            &[0x00],
            &[],
            &[[0x04].as_slice(), &[0; 64]].concat(),
        ];
        for point in bad {
            assert_eq!(
                agree(&mut c, slot, alg, point).0,
                0x6A80,
                "slot {slot:02X}: {}",
                hex::encode(point)
            );
        }
        assert_eq!(agree(&mut c, slot, alg, good).0, 0x9000);
    }
    // The other curve's point is no point of this one; the wrong algorithm for the slot.
    assert_eq!(agree(&mut c, 0x9D, P256, &sm2_peer).0, 0x6A80);
    assert_eq!(agree(&mut c, 0x9A, SM2, &p256_peer).0, 0x6A80);
    assert_eq!(agree(&mut c, 0x9D, SM2, &sm2_peer).0, 0x6A80);
    // Both a digest and a point, or neither 81 nor 85.
    let both = h(&format!("7C47 8200 8101AA 8541{}", hex::encode(&p256_peer)));
    expect(&mut c, &apdu(0, 0x87, P256, 0x9D, &both), 0x6A80);
    expect(&mut c, &apdu(0, 0x87, P256, 0x9D, &h("7C02 8200")), 0x6A80);
}

#[test]
fn pin_policy_decides_who_may_agree() {
    let mut c = token();
    authenticate_default(&mut c);
    let (_, peer) = peer_key(P256, 3);
    for slot in [0x9A, 0x9C, 0x9D, 0x9E] {
        generate(&mut c, slot, P256);
    }
    assert_eq!(agree(&mut c, 0x9E, P256, &peer).0, 0x9000, "9E: never");
    for slot in [0x9A, 0x9C, 0x9D] {
        assert_eq!(agree(&mut c, slot, P256, &peer).0, 0x6982, "{slot:02X}");
    }
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    assert_eq!(
        agree(&mut c, 0x9C, P256, &peer).0,
        0x9000,
        "9C: PIN just given"
    );
    assert_eq!(agree(&mut c, 0x9C, P256, &peer).0, 0x6982, "9C: every time");
    assert_eq!(agree(&mut c, 0x9D, P256, &peer).0, 0x9000, "9D: once");
    assert_eq!(agree(&mut c, 0x9D, P256, &peer).0, 0x9000);
    c.reset();
    assert_eq!(
        agree(&mut c, 0x9D, P256, &peer).0,
        0x6982,
        "reset forgets the PIN"
    );
    // A refused point costs no PIN-always use.
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    assert_eq!(agree(&mut c, 0x9C, P256, &peer[..64]).0, 0x6A80);
    assert_eq!(agree(&mut c, 0x9C, P256, &peer).0, 0x9000);
}

/// A private scalar made on the host, and its uncompressed public point as the host's curve
/// crates compute it.
fn host_key(alg: u8, seed: u64) -> (Vec<u8>, Vec<u8>) {
    peer_key(alg, 100 + seed)
}

/// The public point of `scalar`, as the host's curve crates compute it.
fn host_point(alg: u8, scalar: &[u8]) -> Vec<u8> {
    if alg == P256 {
        use p256::elliptic_curve::sec1::ToSec1Point;
        let secret = p256::SecretKey::from_slice(scalar).unwrap();
        secret.public_key().to_sec1_point(false).as_bytes().to_vec()
    } else {
        use sm2::elliptic_curve::sec1::ToSec1Point;
        let secret = sm2::SecretKey::from_slice(scalar).unwrap();
        secret.public_key().to_sec1_point(false).as_bytes().to_vec()
    }
}

/// The group orders n (SEC 2 for P-256, GB/T 32918.5 for SM2).
const P256_N: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
const SM2_N: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";

/// `n` less `k`, big-endian, for a small `k`.
fn order_less(n: &str, k: u8) -> Vec<u8> {
    let mut bytes = h(n);
    let last = bytes.len() - 1;
    bytes[last] -= k;
    bytes
}

#[test]
fn imported_keys_sign_under_their_own_public_keys_verified_by_openssl() {
    let mut c = token();
    authenticate_default(&mut c);
    let msg = b"a key made elsewhere, imported, signs as its own public key says";
    for (round, (slot, alg)) in [(0x9A, P256), (0x9C, SM2), (0x9D, P256), (0x9E, SM2)]
        .into_iter()
        .enumerate()
    {
        let (scalar, point) = host_key(alg, round as u64);
        assert_eq!(
            import(&mut c, slot, alg, &scalar, &[]),
            0x9000,
            "{slot:02X}"
        );
        // Metadata: algorithm, the slot's default PIN policy, origin 02 (imported), the point.
        let meta = expect(&mut c, &apdu(0, 0xF7, 0, slot, &[]), 0x9000);
        assert_eq!(meta[..4], [0x01, 0x01, alg, 0x02]);
        assert_eq!(meta[7..10], [0x03, 0x01, 0x02], "origin: imported");
        assert_eq!(meta[10..14], [0x04, 0x43, 0x86, 0x41]);
        assert_eq!(meta[14..], point[..]);
        let digest = if alg == P256 {
            sha256(msg)
        } else {
            sm2_e(&point, msg)
        };
        assert_eq!(verify(&mut c, b"123456"), 0x9000);
        let (sw, sig) = sign(&mut c, slot, alg, &digest);
        assert_eq!(sw, 0x9000, "slot {slot:02X}");
        assert!(
            verifies(alg, &point, msg, &sig),
            "openssl rejected {slot:02X}"
        );
        assert!(!verifies(alg, &point, b"another message", &sig));
    }
    // The edges of the scalar range: 1, and n - 1 for P-256 (SM2's n - 2).
    for (alg, scalar) in [
        (P256, [vec![0; 31], vec![1]].concat()),
        (P256, order_less(P256_N, 1)),
        (SM2, order_less(SM2_N, 2)),
    ] {
        assert_eq!(import(&mut c, 0x9E, alg, &scalar, &[]), 0x9000);
        let meta = expect(&mut c, &h("00 F7 00 9E"), 0x9000);
        assert_eq!(meta[14..], host_point(alg, &scalar)[..]);
        let (sw, sig) = sign(&mut c, 0x9E, alg, &[0x5A; 32]);
        assert_eq!(sw, 0x9000);
        assert!(sig.starts_with(&[0x30]));
    }
}

#[test]
fn import_replaces_a_generated_key_and_takes_the_policies_generate_takes() {
    let mut c = token();
    authenticate_default(&mut c);
    generate(&mut c, 0x9C, P256);
    assert_eq!(expect(&mut c, &h("00 F7 00 9C"), 0x9000)[9], 0x01);
    let (scalar, point) = host_key(SM2, 7);
    // PIN policy never, touch policy never: 9C then signs without the PIN.
    assert_eq!(
        import(&mut c, 0x9C, SM2, &scalar, &h("AA 01 01 AB 01 01")),
        0x9000
    );
    let meta = expect(&mut c, &h("00 F7 00 9C"), 0x9000);
    assert_eq!(meta[..10], h("01 01 54 02 02 01 01 03 01 02")[..]);
    assert_eq!(meta[14..], point[..]);
    assert_eq!(sign(&mut c, 0x9C, SM2, &[1; 32]).0, 0x9000);
    // The default policy bytes (00) are the slot's defaults: 9C's PIN before every use.
    assert_eq!(
        import(&mut c, 0x9C, SM2, &scalar, &h("AA 01 00 AB 01 00")),
        0x9000
    );
    assert_eq!(expect(&mut c, &h("00 F7 00 9C"), 0x9000)[5], 0x03);
    assert_eq!(sign(&mut c, 0x9C, SM2, &[1; 32]).0, 0x6982);
    // A touch policy the token cannot keep, and an unknown PIN policy, answer as GENERATE.
    for policies in ["AB 01 02", "AB 01 03", "AA 01 04", "AA 02 0101", "AB 00"] {
        assert_eq!(
            import(&mut c, 0x9C, P256, &scalar, &h(policies)),
            0x6A80,
            "{policies}"
        );
    }
    assert_eq!(expect(&mut c, &h("00 F7 00 9C"), 0x9000)[14..], point[..]);
}

#[test]
fn import_refuses_bad_scalars_lengths_algorithms_and_the_unauthenticated() {
    let mut c = token();
    let (scalar, point) = host_key(P256, 11);
    // No management key: 69 82, and nothing stored.
    assert_eq!(import(&mut c, 0x9A, P256, &scalar, &[]), 0x6982);
    expect(&mut c, &h("00 F7 00 9A"), 0x6A88);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    assert_eq!(
        import(&mut c, 0x9A, P256, &scalar, &[]),
        0x6982,
        "the PIN is not enough"
    );
    authenticate_default(&mut c);
    assert_eq!(import(&mut c, 0x9A, P256, &scalar, &[]), 0x9000);
    let refused: Vec<(u8, Vec<u8>, &str)> = vec![
        (P256, scalar[1..].to_vec(), "31 bytes"),
        (P256, [&[0][..], &scalar].concat(), "33 bytes"),
        (P256, vec![], "empty"),
        (SM2, vec![0x11; 48], "48 bytes"),
        (P256, vec![0; 32], "zero"),
        (P256, h(P256_N), "P-256 n"),
        (P256, vec![0xFF; 32], "above P-256 n"),
        (SM2, vec![0; 32], "SM2 zero"),
        (SM2, h(SM2_N), "SM2 n"),
        (SM2, order_less(SM2_N, 1), "SM2 n - 1: 1 + d has no inverse"),
        (0x14, vec![0x11; 48], "P-384, not yet"),
        (0x07, vec![0x11; 32], "RSA 2048"),
        (0xE0, vec![0x11; 32], "Ed25519"),
        (0x00, scalar.clone(), "no algorithm"),
    ];
    for (alg, secret, what) in &refused {
        assert_eq!(import(&mut c, 0x9A, *alg, secret, &[]), 0x6A80, "{what}");
    }
    // The data itself: no 06, two of them, another tag, a length cut short.
    let mut twice = vec![0x06, 0x20];
    twice.extend_from_slice(&scalar);
    twice.extend_from_slice(&twice.clone());
    let mut bad_data = vec![
        vec![],
        h("AA 01 01"),
        twice,
        [&h("07 20")[..], &scalar].concat(),
        [&h("06 21")[..], &scalar].concat(),
    ];
    bad_data.push([&h("06 20")[..], &scalar, &h("80 01 11")].concat());
    for data in &bad_data {
        expect(&mut c, &apdu(0, 0xFE, P256, 0x9A, data), 0x6A80);
    }
    // Not a key slot.
    let good = [&h("06 20")[..], &scalar].concat();
    for slot in [0x9B, 0x80, 0x81, 0x00] {
        expect(&mut c, &apdu(0, 0xFE, P256, slot, &good), 0x6A86);
    }
    // Every refusal left the key imported first.
    let meta = expect(&mut c, &h("00 F7 00 9A"), 0x9000);
    assert_eq!(meta[14..], point[..]);
    assert_eq!(meta[9], 0x02);
}

#[test]
fn an_imported_key_survives_a_replug_as_imported() {
    if skipped_on_reader(
        "an_imported_key_survives_a_replug_as_imported",
        "replugs the token with its flash image",
    ) {
        return;
    }
    let mut c = token();
    authenticate_default(&mut c);
    let (scalar, point) = host_key(SM2, 21);
    assert_eq!(import(&mut c, 0x9D, SM2, &scalar, &h("AA 01 01")), 0x9000);
    let generated = generate(&mut c, 0x9A, P256);
    let image = c.into_image();
    let mut c = replug(&image, &Profile::standard(1), 10);
    let meta = expect(&mut c, &h("00 F7 00 9D"), 0x9000);
    assert_eq!(meta[..10], h("01 01 54 02 02 01 01 03 01 02")[..]);
    assert_eq!(meta[14..], point[..]);
    let meta = expect(&mut c, &h("00 F7 00 9A"), 0x9000);
    assert_eq!((meta[9], &meta[14..]), (0x01, &generated[..]));
    let msg = b"signed after a replug";
    let (sw, sig) = sign(&mut c, 0x9D, SM2, &sm2_e(&point, msg));
    assert_eq!(sw, 0x9000);
    assert!(verifies(SM2, &point, msg, &sig));
}

#[test]
fn a_3000_byte_certificate_through_chaining_and_get_response() {
    let mut c = token();
    authenticate_default(&mut c);
    let cert: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut object = h("70 82 0BB8");
    object.extend_from_slice(&cert);
    object.extend_from_slice(&h("71 01 00 FE 00"));
    assert_eq!(put_data(&mut c, &h("5FC10A"), &object), 0x9000);
    let (sw, got) = get_data(&mut c, &h("5FC10A"));
    assert_eq!(sw, 0x9000);
    assert_eq!(got[..4], h("53 82 0BC1")[..]);
    assert_eq!(got[4..], object[..]);
    // The whole of it at once with an extended Le.
    let mut ext = h("00 CB 3F FF 00 0005 5C035FC10A");
    ext.extend_from_slice(&[0, 0]);
    let (data, sw) = send(&mut c, &ext);
    assert_eq!((sw, data.len()), (0x9000, 4 + object.len()));
    // GET RESPONSE with nothing pending, and a new command dropping what is pending.
    expect(&mut c, &h("00 C0 00 00 00"), 0x6985);
    let (_, sw) = send(&mut c, &apdu(0, 0xCB, 0x3F, 0xFF, &h("5C035FC10A")));
    assert_eq!(sw, 0x6100);
    expect(&mut c, &h("00 FD 00 00"), 0x9000);
    expect(&mut c, &h("00 C0 00 00 00"), 0x6985);
}

#[test]
fn an_object_too_large_or_a_broken_chain_leaves_the_old_one() {
    let mut c = token();
    authenticate_default(&mut c);
    assert_eq!(
        put_data(&mut c, &h("5FC105"), &h("70 02 AABB 71 01 00 FE 00")),
        0x9000
    );
    assert_eq!(put_data(&mut c, &h("5FC105"), &vec![0x42; 3500]), 0x6A84);
    // A chain that is never finished, then another command.
    send(
        &mut c,
        &apdu(0x10, 0xDB, 0x3F, 0xFF, &h("5C035FC105 53820400 0102")),
    );
    expect(&mut c, &h("00 FD 00 00"), 0x9000);
    assert_eq!(
        get_data(&mut c, &h("5FC105")),
        (0x9000, h("53 09 70 02 AABB 71 01 00 FE 00"))
    );
    // A chain longer than the card takes.
    let chunk = vec![0x11u8; 255];
    for _ in 0..13 {
        assert_eq!(
            send(&mut c, &apdu(0x10, 0xDB, 0x3F, 0xFF, &chunk)).1,
            0x9000
        );
    }
    assert_eq!(
        send(&mut c, &apdu(0x10, 0xDB, 0x3F, 0xFF, &chunk)).1,
        0x6A84
    );
    assert_eq!(
        get_data(&mut c, &h("5FC105")),
        (0x9000, h("53 09 70 02 AABB 71 01 00 FE 00"))
    );
    // An empty value deletes.
    assert_eq!(put_data(&mut c, &h("5FC105"), &[]), 0x9000);
    assert_eq!(get_data(&mut c, &h("5FC105")).0, 0x6A82);
}

#[test]
fn data_objects_and_vendor_objects() {
    if skipped_on_reader(
        "data_objects_and_vendor_objects",
        "needs a token made with the bjca profile and a label of its own",
    ) {
        return;
    }
    let profile = Profile {
        label: heapless::Vec::from_slice("北京某某科技有限公司".as_bytes()).unwrap(),
        ..Profile::bjca(20261125)
    };
    let mut c = token_with(&profile, 3);
    let (sw, chuid) = get_data(&mut c, &h("5FC102"));
    assert_eq!(sw, 0x9000);
    assert_eq!(chuid[..4], h("53 3B 30 19")[..]);
    assert_eq!(
        get_data(&mut c, &h("7E")),
        (
            0x9000,
            h("7E 12 4F 0B A0000003080000100001 00 5F2F 02 4000")
        )
    );
    assert_eq!(get_data(&mut c, &h("5FC107")).0, 0x6A82);
    assert_eq!(
        get_data(&mut c, &h("5FC109")).0,
        0x6982,
        "printed information needs the PIN"
    );
    let (sw, label) = get_data(&mut c, &h("5FFF02"));
    assert_eq!(
        (sw, &label[2..]),
        (0x9000, "北京某某科技有限公司".as_bytes())
    );
    let (sw, info) = get_data(&mut c, &h("5FFF01"));
    assert_eq!(sw, 0x9000);
    assert!(
        info.windows(10)
            .any(|w| w == h("03 08 3230323631313235").as_slice()),
        "serial as text"
    );
    assert_eq!(get_data(&mut c, &h("5FFF03")).0, 0x6A82);
    expect(
        &mut c,
        &apdu(0, 0xCB, 0x3F, 0xFF, &h("5C04 5FC1 0102")),
        0x6A80,
    );
    expect(
        &mut c,
        &apdu(0, 0xCB, 0x3F, 0xFF, &h("5D 03 5FC102")),
        0x6A80,
    );
    authenticate_default(&mut c);
    assert_eq!(put_data(&mut c, &h("5FFF02"), "张三".as_bytes()), 0x9000);
    assert_eq!(get_data(&mut c, &h("5FFF02")).1[2..], *"张三".as_bytes());
    assert_eq!(put_data(&mut c, &h("5FFF02"), &[0xFF, 0xFE]), 0x6A80);
    assert_eq!(put_data(&mut c, &h("5FFF02"), &[b'a'; 33]), 0x6A80);
    assert_eq!(put_data(&mut c, &h("5FFF01"), b"x"), 0x6A81);
    assert_eq!(put_data(&mut c, &h("5FC109"), b"printed"), 0x9000);
    assert_eq!(verify(&mut c, b"12345678"), 0x9000);
    assert_eq!(
        get_data(&mut c, &h("5FC109")),
        (0x9000, h("53 07 7072696E746564"))
    );
    for tag in ["5FC102", "5FC107", "5FC101", "5FC10B", "5FC10C"] {
        assert_eq!(put_data(&mut c, &h(tag), b"\x01\x02"), 0x9000, "{tag}");
        assert_eq!(
            get_data(&mut c, &h(tag)),
            (0x9000, h("53 02 0102")),
            "{tag}"
        );
    }
    // bjca: 10 tries, PIN flagged as default.
    assert_eq!(
        expect(&mut c, &h("00 F7 00 80"), 0x9000),
        h("01 01 FF 05 01 01 06 02 0A 0A")
    );
}

#[test]
fn ykman_admin_data_and_the_pin_protected_printed_information() {
    let mut c = token();
    // 5FFF00: ykman's admin data, an ordinary object (card edge v2, Objects).
    assert_eq!(get_data(&mut c, &h("5FFF00")).0, 0x6A82);
    let admin = h("80 03 81 01 02");
    assert_eq!(put_data(&mut c, &h("5FFF00"), &admin), 0x6982);
    // 5FC109 is written with the management key, read only after the PIN.
    let protected = h("88 1A 89 18 0102030405060708 0102030405060708 0102030405060708");
    assert_eq!(put_data(&mut c, &h("5FC109"), &protected), 0x6982);
    authenticate_default(&mut c);
    assert_eq!(put_data(&mut c, &h("5FFF00"), &admin), 0x9000);
    assert_eq!(put_data(&mut c, &h("5FC109"), &protected), 0x9000);
    c.reset();
    select(&mut c);
    let mut wrapped = h("53 05");
    wrapped.extend(&admin);
    assert_eq!(get_data(&mut c, &h("5FFF00")), (0x9000, wrapped));
    assert_eq!(get_data(&mut c, &h("5FC109")).0, 0x6982);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    let mut wrapped = h("53 1C");
    wrapped.extend(&protected);
    assert_eq!(get_data(&mut c, &h("5FC109")), (0x9000, wrapped));
    // A re-SELECT forgets the PIN, and with it the right to read printed information.
    select(&mut c);
    assert_eq!(get_data(&mut c, &h("5FC109")).0, 0x6982);
    // An empty value deletes the admin data.
    authenticate_default(&mut c);
    assert_eq!(put_data(&mut c, &h("5FFF00"), &[]), 0x9000);
    assert_eq!(get_data(&mut c, &h("5FFF00")).0, 0x6A82);
}

/// The shapes of Yubico's "Get metadata" (tags per reference: PIN and PUK 01 05 06,
/// management key 01 02 05, slot keys 01 02 03 04); no attestation key yet, so F9 as empty.
#[test]
fn metadata_has_a_yubikeys_shapes() {
    let mut c = token();
    assert_eq!(
        expect(&mut c, &h("00 F7 00 80"), 0x9000),
        h("01 01 FF 05 01 01 06 02 03 03")
    );
    assert_eq!(
        expect(&mut c, &h("00 F7 00 81"), 0x9000),
        h("01 01 FF 05 01 01 06 02 03 03")
    );
    assert_eq!(
        expect(&mut c, &h("00 F7 00 9B"), 0x9000),
        h("01 01 03 02 02 00 01 05 01 01")
    );
    expect(&mut c, &h("00 F7 00 F9"), 0x6A88);
    expect(&mut c, &h("00 F7 01 80"), 0x6A86);
    assert_eq!(verify(&mut c, b"654321"), 0x63C2);
    assert_eq!(
        expect(&mut c, &h("00 F7 00 80"), 0x9000),
        h("01 01 FF 05 01 01 06 02 03 02")
    );
    authenticate_default(&mut c);
    let public = generate(&mut c, 0x9E, P256);
    let mut slot = h("01 01 11 02 02 01 01 03 01 01 04 43 86 41");
    slot.extend(&public);
    assert_eq!(expect(&mut c, &h("00 F7 00 9E"), 0x9000), slot);
}

#[test]
fn move_key_and_delete_key_as_a_yubikey_5_7() {
    let mut c = token();
    // Management key first, before anything else is looked at.
    expect(&mut c, &h("00 F6 9D 9A"), 0x6982);
    expect(&mut c, &h("00 F6 FF 9A"), 0x6982);
    authenticate_default(&mut c);
    let public = generate(&mut c, 0x9A, P256);
    generate(&mut c, 0x9C, SM2);
    let policy_always = expect(&mut c, &h("00 F7 00 9C"), 0x9000);
    let cert = h("70 03 010203 71 01 00 FE 00");
    assert_eq!(put_data(&mut c, &h("5FC105"), &cert), 0x9000);
    // An empty source; a destination that holds a key; the same slot; no slot at all.
    expect(&mut c, &h("00 F6 9D 9E"), 0x6A88);
    expect(&mut c, &h("00 F6 FF 9E"), 0x6A88);
    expect(&mut c, &h("00 F6 9C 9A"), 0x6A80);
    expect(&mut c, &h("00 F6 9A 9A"), 0x6A80);
    expect(&mut c, &h("00 F6 9B 9A"), 0x6A86);
    expect(&mut c, &h("00 F6 9D 9B"), 0x6A86);
    expect(&mut c, &h("00 F6 9D F9"), 0x6A86);
    // The key moves with its policy and origin; its certificate stays behind.
    let before = expect(&mut c, &h("00 F7 00 9A"), 0x9000);
    expect(&mut c, &h("00 F6 9D 9A"), 0x9000);
    expect(&mut c, &h("00 F7 00 9A"), 0x6A88);
    assert_eq!(expect(&mut c, &h("00 F7 00 9D"), 0x9000), before);
    assert!(before.ends_with(&public), "the public key moved");
    assert_eq!(get_data(&mut c, &h("5FC105")).0, 0x9000);
    assert_eq!(get_data(&mut c, &h("5FC10B")).0, 0x6A82);
    let digest = sha256(b"moved");
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    let (sw, signature) = sign(&mut c, 0x9D, P256, &digest);
    assert_eq!(sw, 0x9000);
    assert!(verifies(P256, &public, b"moved", &signature));
    assert_eq!(sign(&mut c, 0x9A, P256, &digest).0, 0x6A88);
    // It survives a replug where it went; the old slot can take a new key.
    c.reset();
    select(&mut c);
    assert_eq!(expect(&mut c, &h("00 F7 00 9D"), 0x9000), before);
    authenticate_default(&mut c);
    generate(&mut c, 0x9A, SM2);
    // DELETE KEY: the slot is empty, the certificate object stays.
    expect(&mut c, &h("00 F6 FF 9C"), 0x9000);
    expect(&mut c, &h("00 F7 00 9C"), 0x6A88);
    assert_eq!(sign(&mut c, 0x9C, SM2, &digest).0, 0x6A88);
    expect(&mut c, &h("00 F6 FF 9C"), 0x6A88);
    // A key moved into 9C keeps the policy it had (once), not 9C's default (always).
    expect(&mut c, &h("00 F6 9C 9A"), 0x9000);
    let mut moved = expect(&mut c, &h("00 F7 00 9C"), 0x9000);
    moved.truncate(7);
    assert_eq!(moved, h("01 01 54 02 02 02 01"));
    assert_ne!(policy_always[..7], moved[..]);
    c.reset();
    select(&mut c);
    assert_eq!(get_data(&mut c, &h("5FC105")).1[2..], cert[..]);
}

#[test]
fn set_pin_retries_needs_both_and_restores_defaults() {
    let mut c = token();
    expect(&mut c, &h("00 FA 05 06"), 0x6982);
    authenticate_default(&mut c);
    expect(&mut c, &h("00 FA 05 06"), 0x6982);
    let mut data = padded(b"123456");
    data.extend(padded(b"222222"));
    expect(&mut c, &apdu(0, 0x24, 0, 0x80, &data), 0x9000);
    assert_eq!(verify(&mut c, b"222222"), 0x9000);
    expect(&mut c, &h("00 FA 00 06"), 0x6A86);
    expect(&mut c, &h("00 FA 05 10"), 0x6A86);
    expect(&mut c, &h("00 FA 05 06"), 0x9000);
    assert_eq!(
        expect(&mut c, &h("00 F7 00 80"), 0x9000),
        h("01 01 FF 05 01 01 06 02 05 05")
    );
    assert_eq!(
        expect(&mut c, &h("00 F7 00 81"), 0x9000),
        h("01 01 FF 05 01 01 06 02 06 06")
    );
    assert_eq!(verify(&mut c, b"222222"), 0x63C4);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
}

#[test]
fn state_survives_a_replug_and_security_state_does_not() {
    if skipped_on_reader(
        "state_survives_a_replug_and_security_state_does_not",
        "replugs the token with its flash image",
    ) {
        return;
    }
    let mut c = token();
    authenticate_default(&mut c);
    let point = generate(&mut c, 0x9C, SM2);
    assert_eq!(verify(&mut c, b"000000"), 0x63C2);
    let image = c.into_image();
    let mut c = replug(&image, &Profile::bjca(1), 9);
    expect(&mut c, &h("00 20 00 80"), 0x63C2);
    assert_eq!(
        expect(&mut c, &h("00 F8 00 00"), 0x9000),
        [0x12, 0x34, 0x56, 0x78],
        "the token keeps its own profile"
    );
    let meta = expect(&mut c, &h("00 F7 00 9C"), 0x9000);
    assert_eq!(meta[meta.len() - 65..], point[..]);
    assert_eq!(sign(&mut c, 0x9C, SM2, &[1; 32]).0, 0x6982);
    expect(&mut c, &apdu(0, 0x47, 0, 0x9A, &h("AC03800111")), 0x6982);
}

#[test]
fn no_private_key_byte_leaves_the_card() {
    if skipped_on_reader(
        "no_private_key_byte_leaves_the_card",
        "reads the flash image to find the private keys",
    ) {
        return;
    }
    let mut c = token();
    let mut responses = Vec::new();
    let mut run = |c: &mut Box<dyn Token>, a: &[u8]| responses.push(c.transmit(a));
    authenticate_default(&mut c);
    let mut points = Vec::new();
    for (slot, alg) in [(0x9A, P256), (0x9C, SM2), (0x9D, P256), (0x9E, SM2)] {
        points.push(generate(&mut c, slot, alg));
        verify(&mut c, b"123456");
        run(
            &mut c,
            &apdu(
                0,
                0x87,
                alg,
                slot,
                &[&h("7C24 8200 8120")[..], &[3; 32]].concat(),
            ),
        );
        run(&mut c, &apdu(0, 0xF7, 0, slot, &[]));
    }
    for tag in ["5FC102", "5FFF01", "7E", "5FC105"] {
        run(
            &mut c,
            &apdu(
                0,
                0xCB,
                0x3F,
                0xFF,
                &[&[0x5C, (tag.len() / 2) as u8][..], &h(tag)].concat(),
            ),
        );
    }
    run(&mut c, &h("00 F7 00 9B"));
    // The key records hold `secret (32) ‖ public point (65)`: find each secret in the flash.
    let image = c.into_image();
    for point in &points {
        let at = image
            .windows(65)
            .position(|w| w == point.as_slice())
            .expect("key record in flash");
        let secret = &image[at - 32..at];
        for r in &responses {
            assert!(
                !r.windows(8).any(|w| secret.windows(8).any(|s| s == w)),
                "a response carries private key bytes"
            );
        }
    }
    assert_eq!(responses.len(), 13);
}

#[test]
fn a_flash_that_is_not_a_tokens_is_refused_and_left_untouched() {
    if skipped_on_reader(
        "a_flash_that_is_not_a_tokens_is_refused_and_left_untouched",
        "opens a token over a made-up flash image",
    ) {
        return;
    }
    let mut bytes = Box::new([0xFFu8; FLASH_LEN]);
    for (i, b) in bytes.iter_mut().enumerate().take(20_000) {
        *b = (i * 31 % 251) as u8;
    }
    let after = open_refused(&bytes).expect("refused as corrupted");
    assert_eq!(after[..], bytes[..], "a refused flash is not written to");
}
