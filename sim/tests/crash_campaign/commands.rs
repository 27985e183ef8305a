//! The state-changing commands the campaign cuts, as APDUs (card-edge.md, "Commands"), with
//! the model's outcomes for each and the random choice of their values.

use std::fmt;

use super::apdu::{self, hex, padded};
use super::dice::Dice;
use super::model::{self, Factory, ManagementKey, Outcomes, Reference, Token};

/// The certificate objects: 9A `5FC105`, 9C `5FC10A`, 9D `5FC10B`, 9E `5FC101`.
pub const CERTIFICATES: [u32; 4] = [0x5FC105, 0x5FC10A, 0x5FC10B, 0x5FC101];
/// The key slots: authentication, signature, key management, card authentication.
pub const SLOTS: [u8; 4] = [0x9A, 0x9C, 0x9D, 0x9E];
/// ECDSA P-256 and SM2.
pub const P256: u8 = 0x11;
/// SM2 signature (GB/T 32918.2), the card edge's algorithm `54`.
pub const SM2: u8 = 0x54;

/// A state-changing command with its values.
#[derive(Clone, Debug)]
pub enum Command {
    /// VERIFY `00 20 00 80` + PIN.
    Verify { pin: Vec<u8> },
    /// CHANGE REFERENCE DATA `00 24 00 80|81` + old + new.
    ChangeReference {
        which: Reference,
        old: Vec<u8>,
        new: Vec<u8>,
    },
    /// RESET RETRY COUNTER `00 2C 00 80` + PUK + new PIN.
    ResetRetryCounter { puk: Vec<u8>, new_pin: Vec<u8> },
    /// GENERATE ASYMMETRIC KEY PAIR `00 47 00 slot` + `AC {80 alg [AA policy]}`.
    Generate {
        slot: u8,
        algorithm: u8,
        pin_policy: Option<u8>,
    },
    /// PUT DATA `00 DB 3F FF` + `5C tag 53 value`.
    PutData { tag: u32, value: Vec<u8> },
    /// SET MANAGEMENT KEY `00 FF FF FF` + `alg 9B len key`.
    SetManagementKey(ManagementKey),
    /// SET PIN RETRIES `00 FA pin-tries puk-tries`.
    SetPinRetries { pin_tries: u8, puk_tries: u8 },
    /// RESET `00 FB 00 00`.
    Reset,
}

impl Command {
    /// The command APDU.
    pub fn apdu(&self) -> Vec<u8> {
        match self {
            Self::Verify { pin } => apdu::build(0x20, 0x00, 0x80, &padded(pin)),
            Self::ChangeReference { which, old, new } => apdu::build(
                0x24,
                0x00,
                which.byte(),
                &[padded(old), padded(new)].concat(),
            ),
            Self::ResetRetryCounter { puk, new_pin } => {
                apdu::build(0x2C, 0x00, 0x80, &[padded(puk), padded(new_pin)].concat())
            }
            Self::Generate {
                slot,
                algorithm,
                pin_policy,
            } => {
                let mut template = apdu::tlv(0x80, &[*algorithm]);
                if let Some(policy) = pin_policy {
                    template.extend(apdu::tlv(0xAA, &[*policy]));
                }
                apdu::build(0x47, 0x00, *slot, &apdu::tlv(0xAC, &template))
            }
            Self::PutData { tag, value } => {
                let tag = &tag.to_be_bytes()[1..];
                let data = [apdu::tlv(0x5C, tag), apdu::tlv(0x53, value)].concat();
                apdu::build(0xDB, 0x3F, 0xFF, &data)
            }
            Self::SetManagementKey(key) => {
                let mut data = vec![key.algorithm, 0x9B, key.key.len() as u8];
                data.extend_from_slice(&key.key);
                apdu::build(0xFF, 0xFF, 0xFF, &data)
            }
            Self::SetPinRetries {
                pin_tries,
                puk_tries,
            } => apdu::build(0xFA, *pin_tries, *puk_tries, &[]),
            Self::Reset => apdu::build(0xFB, 0x00, 0x00, &[]),
        }
    }

    /// What the model says the command does to `token`.
    pub fn outcomes(&self, token: &Token, factory: &Factory) -> Outcomes {
        match self {
            Self::Verify { pin } => model::verify(token, pin),
            Self::ChangeReference { which, old, new } => {
                model::change_reference(token, *which, old, new)
            }
            Self::ResetRetryCounter { puk, new_pin } => {
                model::reset_retry_counter(token, puk, new_pin)
            }
            Self::Generate {
                slot,
                algorithm,
                pin_policy,
            } => model::generate(token, *slot, *algorithm, *pin_policy),
            Self::PutData { tag, value } => model::put_data(token, *tag, value),
            Self::SetManagementKey(key) => model::set_management_key(token, factory, key),
            Self::SetPinRetries {
                pin_tries,
                puk_tries,
            } => model::set_pin_retries(token, factory, *pin_tries, *puk_tries),
            Self::Reset => model::reset(token, factory),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        match self {
            Self::Verify { pin } => write!(f, "VERIFY {}", text(pin)),
            Self::ChangeReference { which, old, new } => write!(
                f,
                "CHANGE REFERENCE DATA {which:?} {} -> {}",
                text(old),
                text(new)
            ),
            Self::ResetRetryCounter { puk, new_pin } => write!(
                f,
                "RESET RETRY COUNTER PUK {} new PIN {}",
                text(puk),
                text(new_pin)
            ),
            Self::Generate {
                slot,
                algorithm,
                pin_policy,
            } => write!(
                f,
                "GENERATE {slot:02X} algorithm {algorithm:02X} PIN policy {pin_policy:?}"
            ),
            Self::PutData { tag, value } if value.len() > 40 => {
                write!(f, "PUT DATA {tag:06X}, {} bytes", value.len())
            }
            Self::PutData { tag, value } => write!(f, "PUT DATA {tag:06X} = {}", hex(value)),
            Self::SetManagementKey(key) => write!(
                f,
                "SET MANAGEMENT KEY {:02X} {}",
                key.algorithm,
                hex(&key.key)
            ),
            Self::SetPinRetries {
                pin_tries,
                puk_tries,
            } => write!(f, "SET PIN RETRIES {pin_tries} {puk_tries}"),
            Self::Reset => write!(f, "RESET"),
        }
    }
}

/// The kinds of trial, each a command the campaign cuts, with what it needs first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// VERIFY with a wrong PIN.
    VerifyWrong,
    /// VERIFY with the PIN.
    VerifyRight,
    /// CHANGE REFERENCE DATA of the PIN.
    ChangePin,
    /// CHANGE REFERENCE DATA of the PUK.
    ChangePuk,
    /// RESET RETRY COUNTER with the PUK.
    ResetRetryCounter,
    /// GENERATE of a P-256 key in any slot.
    GenerateP256,
    /// GENERATE of an SM2 key in any slot.
    GenerateSm2,
    /// PUT DATA of a certificate object, or its deletion.
    PutCertificate,
    /// PUT DATA of the label, or its deletion.
    PutLabel,
    /// SET MANAGEMENT KEY.
    SetManagementKey,
    /// SET PIN RETRIES.
    SetPinRetries,
    /// RESET, once PIN and PUK are blocked.
    Reset,
}

/// Each kind with its weight in the draw.
pub const KINDS: [(Kind, usize); 12] = [
    (Kind::VerifyWrong, 2),
    (Kind::VerifyRight, 2),
    (Kind::ChangePin, 1),
    (Kind::ChangePuk, 1),
    (Kind::ResetRetryCounter, 1),
    (Kind::GenerateP256, 2),
    (Kind::GenerateSm2, 2),
    (Kind::PutCertificate, 3),
    (Kind::PutLabel, 1),
    (Kind::SetManagementKey, 1),
    (Kind::SetPinRetries, 1),
    (Kind::Reset, 1),
];

impl Kind {
    /// A kind drawn by weight.
    pub fn draw(dice: &mut Dice) -> Self {
        let total = KINDS.iter().map(|(_, weight)| weight).sum();
        let mut ticket = dice.below(total);
        for (kind, weight) in KINDS {
            if ticket < weight {
                return kind;
            }
            ticket -= weight;
        }
        Kind::Reset
    }

    /// The command of this kind on `token` (already brought to what the kind needs), with
    /// fresh random values.
    pub fn command(self, token: &Token, factory: &Factory, dice: &mut Dice) -> Command {
        match self {
            Self::VerifyWrong => Command::Verify {
                pin: dice.digits_other_than(&token.pin.value),
            },
            Self::VerifyRight => Command::Verify {
                pin: token.pin.value.clone(),
            },
            Self::ChangePin | Self::ChangePuk => {
                let which = if self == Self::ChangePin {
                    Reference::Pin
                } else {
                    Reference::Puk
                };
                Command::ChangeReference {
                    which,
                    old: token.secret(which).value.clone(),
                    new: dice.digits(),
                }
            }
            Self::ResetRetryCounter => Command::ResetRetryCounter {
                puk: token.puk.value.clone(),
                new_pin: dice.digits(),
            },
            Self::GenerateP256 | Self::GenerateSm2 => Command::Generate {
                slot: dice.pick(&SLOTS),
                algorithm: if self == Self::GenerateP256 {
                    P256
                } else {
                    SM2
                },
                pin_policy: dice.pick(&[None, Some(0x01), Some(0x02), Some(0x03)]),
            },
            Self::PutCertificate => Command::PutData {
                tag: dice.pick(&CERTIFICATES),
                value: if dice.chance(1, 8) {
                    Vec::new()
                } else {
                    certificate_object(dice)
                },
            },
            Self::PutLabel => Command::PutData {
                tag: model::LABEL,
                value: label(dice),
            },
            Self::SetManagementKey => Command::SetManagementKey(if dice.chance(1, 4) {
                factory.management_key.clone()
            } else {
                management_key(dice)
            }),
            Self::SetPinRetries => Command::SetPinRetries {
                pin_tries: dice.range(1..=8) as u8,
                puk_tries: dice.range(1..=8) as u8,
            },
            Self::Reset => Command::Reset,
        }
    }
}

/// A certificate object as the card edge stores it: `70` certificate, `71 01 00`, `FE 00`.
/// The certificate is random bytes of 64 to 2,900 (the card does not parse it), so records
/// of every size fill the store's pages and its garbage collection runs.
pub fn certificate_object(dice: &mut Dice) -> Vec<u8> {
    let len = dice.range(64..=2900);
    [
        apdu::tlv(0x70, &dice.bytes(len)),
        vec![0x71, 0x01, 0x00, 0xFE, 0x00],
    ]
    .concat()
}

/// A label of up to 32 bytes of UTF-8, some of it Chinese; empty (deleting it, so the
/// factory label shows again) one time in nine.
fn label(dice: &mut Dice) -> Vec<u8> {
    const PIECES: [&str; 8] = ["张", "三", "李", "Zhang", " ", "San", "é", "7"];
    let mut label = String::new();
    for _ in 0..dice.range(0..=8) {
        let piece = dice.pick(&PIECES);
        if label.len() + piece.len() <= 32 {
            label.push_str(piece);
        }
    }
    label.into_bytes()
}

/// A random management key of a random algorithm: 3DES, AES-128, AES-192 or AES-256.
fn management_key(dice: &mut Dice) -> ManagementKey {
    let (algorithm, len) = dice.pick(&[(0x03, 24), (0x08, 16), (0x0A, 24), (0x0C, 32)]);
    ManagementKey {
        algorithm,
        key: dice.bytes(len),
    }
}
