//! The APDUs the benches send, as the card edge (`shared/design/card-edge.md`) writes them,
//! and the setup a signing bench needs: a key of each curve and the PIN verified.

use des::TdesEde3;
use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

/// SELECT of the PIV application by its 5-byte AID, as yubico-piv-tool sends it.
pub const SELECT: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
/// GET VERSION: no command data, a 3-byte answer; the cheapest command the applet parses
/// and dispatches.
pub const GET_VERSION: &[u8] = &[0x00, 0xFD, 0x00, 0x00];
/// VERIFY with the default PIN `123456`, padded with `FF` to 8 bytes.
pub const VERIFY_PIN: &[u8] = &[
    0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
];

/// The PIV default management key (3DES).
const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];
/// Algorithm id of 3DES in GENERAL AUTHENTICATE.
const TRIPLE_DES: u8 = 0x03;
/// The digest every signing bench signs: any 32 bytes do.
pub const DIGEST: [u8; 32] = [0xA5; 32];

/// The signing algorithms of the card edge, each in a slot whose PIN policy is "once per
/// session", so that a verified PIN covers every signature of a bench.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// ECDSA over NIST P-256 (algorithm `11`), in slot 9A.
    P256,
    /// SM2 (algorithm `54`), in slot 9D.
    Sm2,
}

impl Curve {
    /// Both curves, in the order the benches report them.
    pub const ALL: [Curve; 2] = [Curve::P256, Curve::Sm2];

    /// The algorithm id in APDUs.
    pub fn id(self) -> u8 {
        match self {
            Curve::P256 => 0x11,
            Curve::Sm2 => 0x54,
        }
    }

    /// The curve's place in [`Curve::ALL`] and in [`Publics`].
    pub fn index(self) -> usize {
        match self {
            Curve::P256 => 0,
            Curve::Sm2 => 1,
        }
    }

    /// The key slot holding this curve's bench key.
    pub fn slot(self) -> u8 {
        match self {
            Curve::P256 => 0x9A,
            Curve::Sm2 => 0x9D,
        }
    }

    /// A short name for bench ids and reports.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "p256",
            Curve::Sm2 => "sm2",
        }
    }
}

/// GENERAL AUTHENTICATE asking the key of `curve` to sign [`DIGEST`]:
/// `00 87 alg slot 26 7C 24 82 00 81 20 <digest>`.
pub fn sign(curve: Curve) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x87, curve.id(), curve.slot(), 0x26];
    apdu.extend_from_slice(&[0x7C, 0x24, 0x82, 0x00, 0x81, 0x20]);
    apdu.extend_from_slice(&DIGEST);
    apdu
}

/// The DER signature in a GENERAL AUTHENTICATE answer `7C L 82 L <DER> 90 00`.
pub fn signature_of(response: &[u8]) -> Result<&[u8], String> {
    let data = ok_data(response)?;
    match data {
        [0x7C, outer, 0x82, inner, der @ ..]
            if usize::from(*outer) == der.len() + 2 && usize::from(*inner) == der.len() =>
        {
            Ok(der)
        }
        _ => Err(format!("not a signature template: {}", hex(response))),
    }
}

/// Whether `response` ends with `90 00`.
pub fn is_ok(response: &[u8]) -> bool {
    response.ends_with(&[0x90, 0x00])
}

/// The data of a `90 00` response, or an error naming the status word.
pub fn ok_data(response: &[u8]) -> Result<&[u8], String> {
    match response {
        [data @ .., 0x90, 0x00] => Ok(data),
        _ => Err(format!("the token answered {}", hex(response))),
    }
}

/// The public points of a bench token's keys, in the order of [`Curve::ALL`].
pub type Publics = [[u8; 65]; 2];

/// Something that carries one command APDU to a token and brings back its response.
pub trait Transmit {
    /// Sends `apdu`; the response is data then SW1 SW2.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String>;

    /// Sends `apdu` and returns the data of its `90 00` answer.
    fn expect_ok(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String> {
        let response = self.transmit(apdu)?;
        ok_data(&response)
            .map(<[u8]>::to_vec)
            .map_err(|e| format!("{} to {}", e, hex(apdu)))
    }
}

/// Makes a freshly opened token ready for the signing benches: selects PIV, authenticates
/// with the default management key, generates a key of each curve in its slot and verifies
/// the PIN. Returns the public points, in the order of [`Curve::ALL`].
pub fn provision(token: &mut dyn Transmit) -> Result<Publics, String> {
    token.expect_ok(SELECT)?;
    authenticate(token)?;
    let mut publics: Publics = [[0u8; 65]; 2];
    for (curve, public) in Curve::ALL.into_iter().zip(&mut publics) {
        let generate = [
            0x00,
            0x47,
            0x00,
            curve.slot(),
            0x05,
            0xAC,
            0x03,
            0x80,
            0x01,
            curve.id(),
        ];
        let answer = token.expect_ok(&generate)?;
        match answer.as_slice() {
            [0x7F, 0x49, 0x43, 0x86, 0x41, point @ ..] if point.len() == 65 => {
                public.copy_from_slice(point)
            }
            _ => return Err(format!("GENERATE answered {}", hex(&answer))),
        }
    }
    token.expect_ok(VERIFY_PIN)?;
    Ok(publics)
}

/// Mutual authentication with the default 3DES management key (SP 800-73-4 part 2, 3.2.4,
/// as yubico-piv-tool runs it): decrypt the card's witness, send it back with a challenge,
/// check the card's encryption of the challenge.
fn authenticate(token: &mut dyn Transmit) -> Result<(), String> {
    let cipher = TdesEde3::new_from_slice(&DEFAULT_MANAGEMENT_KEY)
        .map_err(|_| "the default management key has the wrong length".to_string())?;
    let witness = token.expect_ok(&[0x00, 0x87, TRIPLE_DES, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00])?;
    let mut block = match witness.as_slice() {
        [0x7C, 0x0A, 0x80, 0x08, block @ ..] if block.len() == 8 => {
            des::cipher::Block::<TdesEde3>::try_from(block)
                .map_err(|_| "a witness of the wrong length".to_string())?
        }
        _ => return Err(format!("the witness is {}", hex(&witness))),
    };
    cipher.decrypt_block(&mut block);
    let challenge = [0x5A; 8];
    let mut apdu = vec![0x00, 0x87, TRIPLE_DES, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08];
    apdu.extend_from_slice(&block);
    apdu.extend_from_slice(&[0x81, 0x08]);
    apdu.extend_from_slice(&challenge);
    let answer = token.expect_ok(&apdu)?;
    let mut expected = des::cipher::Block::<TdesEde3>::from(challenge);
    cipher.encrypt_block(&mut expected);
    match answer.as_slice() {
        [0x7C, 0x0A, 0x82, 0x08, response @ ..] if response == expected.as_slice() => Ok(()),
        _ => Err(format!(
            "the card's answer to the challenge is {}",
            hex(&answer)
        )),
    }
}

/// Bytes in hex, for error messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
