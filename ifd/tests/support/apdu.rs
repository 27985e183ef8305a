//! The APDUs the tests send, as the card edge (`shared/design/card-edge.md`, SP 800-73-4)
//! writes them, over any way of sending one command and getting its response.
#![allow(dead_code)] // Shared by several test binaries, each using a part.
#![allow(
    clippy::unwrap_used,
    reason = "test support: a failure stops the test where it happens"
)]

use des::TdesEde3;
use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};

/// SELECT of the PIV application by its 5-byte AID, as yubico-piv-tool sends it.
pub const SELECT: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
/// GET VERSION: the cheapest command the applet parses and dispatches.
pub const GET_VERSION: &[u8] = &[0x00, 0xFD, 0x00, 0x00];
/// VERIFY without data: asks whether the PIN is verified (`90 00`) or how many tries are
/// left (`63 Cx`).
pub const PIN_STATUS: &[u8] = &[0x00, 0x20, 0x00, 0x80];
/// The default PIN.
pub const DEFAULT_PIN: &[u8] = b"123456";
/// The digest the tests sign.
pub const DIGEST: [u8; 32] = [0xA5; 32];

/// The PIV default management key (3DES).
const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// Something that sends one command APDU and returns the response: data, then SW1 SW2.
pub trait Exchange {
    /// Sends `apdu`.
    fn send(&mut self, apdu: &[u8]) -> Vec<u8>;

    /// Sends `apdu`, checks the answer is `90 00`, and returns its data.
    fn ok(&mut self, apdu: &[u8]) -> Vec<u8> {
        let response = self.send(apdu);
        match response.as_slice() {
            [data @ .., 0x90, 0x00] => data.to_vec(),
            _ => panic!("{apdu:02X?} answered {response:02X?}"),
        }
    }

    /// The status word of the answer to `apdu`.
    fn sw(&mut self, apdu: &[u8]) -> [u8; 2] {
        let response = self.send(apdu);
        let [.., sw1, sw2] = response.as_slice() else {
            panic!("{apdu:02X?} answered {response:02X?}");
        };
        [*sw1, *sw2]
    }
}

impl Exchange for pcsc::Card {
    fn send(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        pcsc::Card::transmit(self, apdu, &mut buffer)
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|error| panic!("SCardTransmit of {apdu:02X?}: {error}"))
    }
}

/// VERIFY with `pin`, padded with `FF` to 8 bytes.
pub fn verify(pin: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x20, 0x00, 0x80, 0x08];
    apdu.extend_from_slice(&padded(pin));
    apdu
}

/// CHANGE REFERENCE DATA of the PIN from `old` to `new`.
pub fn change_pin(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x24, 0x00, 0x80, 0x10];
    apdu.extend_from_slice(&padded(old));
    apdu.extend_from_slice(&padded(new));
    apdu
}

fn padded(pin: &[u8]) -> [u8; 8] {
    let mut block = [0xFF; 8];
    block[..pin.len()].copy_from_slice(pin);
    block
}

/// Mutual authentication with the default 3DES management key (SP 800-73-4 part 2,
/// 3.2.4): decrypt the card's witness, send it back with a challenge, check the card's
/// encryption of the challenge.
pub fn authenticate(card: &mut impl Exchange) {
    let cipher = TdesEde3::new_from_slice(&DEFAULT_MANAGEMENT_KEY).unwrap();
    let witness = card.ok(&[0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00]);
    let [0x7C, 0x0A, 0x80, 0x08, block @ ..] = witness.as_slice() else {
        panic!("the witness is {witness:02X?}");
    };
    let mut block = des::cipher::Block::<TdesEde3>::try_from(block).unwrap();
    cipher.decrypt_block(&mut block);
    let challenge = [0x5A; 8];
    let mut apdu = vec![0x00, 0x87, 0x03, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08];
    apdu.extend_from_slice(&block);
    apdu.extend_from_slice(&[0x81, 0x08]);
    apdu.extend_from_slice(&challenge);
    let answer = card.ok(&apdu);
    let mut expected = des::cipher::Block::<TdesEde3>::from(challenge);
    cipher.encrypt_block(&mut expected);
    assert_eq!(
        answer[4..],
        expected[..],
        "the card's answer to the challenge"
    );
}

/// GENERATE ASYMMETRIC KEY PAIR, P-256 (`11`), in slot 9A (SP 800-73-4 part 2, 3.3.2);
/// returns the public key.
pub fn generate_p256(card: &mut impl Exchange) -> VerifyingKey {
    let answer = card.ok(&[0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11]);
    let [0x7F, 0x49, 0x43, 0x86, 0x41, point @ ..] = answer.as_slice() else {
        panic!("GENERATE answered {answer:02X?}");
    };
    VerifyingKey::from_sec1_bytes(point).unwrap()
}

/// GENERAL AUTHENTICATE asking the P-256 key in 9A to sign [`DIGEST`]:
/// `00 87 11 9A 26 7C 24 82 00 81 20 <digest>`.
pub fn sign_p256() -> Vec<u8> {
    let mut apdu = vec![
        0x00, 0x87, 0x11, 0x9A, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20,
    ];
    apdu.extend_from_slice(&DIGEST);
    apdu
}

/// Checks the answer to [`sign_p256`] is a valid signature of [`DIGEST`] by `key`.
pub fn check_signature(key: &VerifyingKey, answer: &[u8]) {
    let [0x7C, _, 0x82, _, der @ ..] = answer else {
        panic!("not a signature template: {answer:02X?}");
    };
    let signature = Signature::from_der(der).unwrap();
    key.verify_prehash(&DIGEST, &signature).unwrap();
}
