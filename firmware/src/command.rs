//! Commands of the card edge: parsing an APDU into a [`Command`], and dispatch to the
//! handler of its family.
//!
//! Parsing checks only INS, P1 and P2; each handler checks its own data. GET RESPONSE and
//! chaining belong to the APDU layer ([`crate::card`]) and never reach this module.

mod auth;
pub(crate) mod data;
pub(crate) mod key;
mod management;
mod pin;
mod select;

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{
    DELETE_KEY_TARGET, Instruction, LEGACY_TRIPLE_DES_ID, MANAGEMENT_KEY_REFERENCE,
    ManagementKeyAlgorithm, PIN_REFERENCE, PUK_REFERENCE, Slot, StatusWord,
};

use crate::apdu::{CommandApdu, Reply};
use crate::context::Context;
use crate::crypto::ecc::KeyAlgorithm;

/// Which secret a PIN-family command addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretRef {
    /// Key reference 80.
    Pin,
    /// Key reference 81.
    Puk,
}

/// A command, parsed from INS, P1 and P2; the data is checked by its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// SELECT by AID (`A4 04 00`, or `A4 04 0C` for no response data).
    Select { aid: &'a [u8], template: bool },
    /// VERIFY the PIN (`20 00 80`), or ask its state when `pin` is empty.
    Verify { pin: &'a [u8] },
    /// VERIFY with P1 `FF`: forget that the PIN was verified.
    VerifyReset,
    /// CHANGE REFERENCE DATA (`24 00 80|81`).
    ChangeReference { secret: SecretRef, data: &'a [u8] },
    /// RESET RETRY COUNTER (`2C 00 80`).
    ResetRetryCounter { data: &'a [u8] },
    /// GET DATA (`CB 3F FF`).
    GetData { data: &'a [u8] },
    /// PUT DATA (`DB 3F FF`).
    PutData { data: &'a [u8] },
    /// GENERATE ASYMMETRIC KEY PAIR (`47 00 slot`).
    Generate { slot: Slot, data: &'a [u8] },
    /// IMPORT ASYMMETRIC KEY (`FE alg slot`); the algorithm byte is judged with the data,
    /// so that one the card does not take answers `6A 80` as in GENERATE.
    Import {
        algorithm: u8,
        slot: Slot,
        data: &'a [u8],
    },
    /// GENERAL AUTHENTICATE with a slot key: sign or key agreement (`87 alg slot`).
    UseKey {
        algorithm: KeyAlgorithm,
        slot: Slot,
        data: &'a [u8],
    },
    /// GENERAL AUTHENTICATE with the management key (`87 alg 9B`).
    Authenticate {
        algorithm: ManagementKeyAlgorithm,
        data: &'a [u8],
    },
    /// GET VERSION (`FD 00 00`).
    GetVersion,
    /// GET SERIAL (`F8 00 00`).
    GetSerial,
    /// GET METADATA (`F7 00 ref`).
    GetMetadata { reference: u8 },
    /// SET MANAGEMENT KEY (`FF FF FF|FE`).
    SetManagementKey { data: &'a [u8] },
    /// SET PIN RETRIES (`FA pin puk`).
    SetPinRetries { pin_tries: u8, puk_tries: u8 },
    /// RESET (`FB 00 00`).
    Reset,
    /// MOVE KEY (`F6 to from`).
    MoveKey { from: Slot, to: Slot },
    /// DELETE KEY (`F6 FF slot`).
    DeleteKey { slot: Slot },
}

impl<'a> Command<'a> {
    /// Parses `apdu` (CLA already checked; `data` is the whole, dechained data).
    pub fn parse(apdu: &CommandApdu<'_>, data: &'a [u8]) -> Result<Self, StatusWord> {
        let p1p2 = (apdu.p1, apdu.p2);
        let ins = Instruction::from_byte(apdu.ins).ok_or(StatusWord::InsNotSupported)?;
        let cmd = match ins {
            Instruction::Select => match p1p2 {
                (0x04, 0x00) => Self::Select {
                    aid: data,
                    template: true,
                },
                (0x04, 0x0C) => Self::Select {
                    aid: data,
                    template: false,
                },
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::Verify => match p1p2 {
                (0x00, PIN_REFERENCE) => Self::Verify { pin: data },
                (0xFF, PIN_REFERENCE) if data.is_empty() => Self::VerifyReset,
                (0xFF, PIN_REFERENCE) => return Err(StatusWord::WrongLength),
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::ChangeReferenceData => match p1p2 {
                (0x00, PIN_REFERENCE) => Self::ChangeReference {
                    secret: SecretRef::Pin,
                    data,
                },
                (0x00, PUK_REFERENCE) => Self::ChangeReference {
                    secret: SecretRef::Puk,
                    data,
                },
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::ResetRetryCounter => match p1p2 {
                (0x00, PIN_REFERENCE) => Self::ResetRetryCounter { data },
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::GetData => match p1p2 {
                (0x3F, 0xFF) => Self::GetData { data },
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::PutData => match p1p2 {
                (0x3F, 0xFF) => Self::PutData { data },
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::GenerateAsymmetricKeyPair => {
                match (apdu.p1, Slot::from_reference(apdu.p2)) {
                    (0x00, Some(slot)) => Self::Generate { slot, data },
                    _ => return Err(StatusWord::IncorrectP1P2),
                }
            }
            Instruction::ImportAsymmetricKey => match Slot::from_reference(apdu.p2) {
                Some(slot) => Self::Import {
                    algorithm: apdu.p1,
                    slot,
                    data,
                },
                None => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::GeneralAuthenticate => {
                Self::parse_general_authenticate(apdu.p1, apdu.p2, data)?
            }
            Instruction::GetVersion => Self::without_parameters(p1p2, Self::GetVersion)?,
            Instruction::GetSerial => Self::without_parameters(p1p2, Self::GetSerial)?,
            Instruction::GetMetadata => match apdu.p1 {
                0x00 => Self::GetMetadata { reference: apdu.p2 },
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::SetManagementKey => match p1p2 {
                (0xFF, 0xFF | 0xFE) => Self::SetManagementKey { data },
                _ => return Err(StatusWord::IncorrectP1P2),
            },
            Instruction::SetPinRetries => Self::SetPinRetries {
                pin_tries: apdu.p1,
                puk_tries: apdu.p2,
            },
            Instruction::Reset => Self::without_parameters(p1p2, Self::Reset)?,
            Instruction::MoveKey => Self::parse_move_key(apdu.p1, apdu.p2)?,
            // Answered by the APDU layer, except as part of a chain.
            Instruction::GetResponse => return Err(StatusWord::InsNotSupported),
        };
        Ok(cmd)
    }

    fn without_parameters(p1p2: (u8, u8), cmd: Self) -> Result<Self, StatusWord> {
        match p1p2 {
            (0, 0) => Ok(cmd),
            _ => Err(StatusWord::IncorrectP1P2),
        }
    }

    fn parse_move_key(to: u8, from: u8) -> Result<Self, StatusWord> {
        let from = Slot::from_reference(from).ok_or(StatusWord::IncorrectP1P2)?;
        if to == DELETE_KEY_TARGET {
            return Ok(Self::DeleteKey { slot: from });
        }
        let to = Slot::from_reference(to).ok_or(StatusWord::IncorrectP1P2)?;
        Ok(Self::MoveKey { from, to })
    }

    fn parse_general_authenticate(p1: u8, p2: u8, data: &'a [u8]) -> Result<Self, StatusWord> {
        if p2 == MANAGEMENT_KEY_REFERENCE {
            // OpenSC's `piv_get_challenge` (PKCS#11 C_GenerateRandom) sends the legacy number.
            let algorithm = match p1 {
                LEGACY_TRIPLE_DES_ID => ManagementKeyAlgorithm::TripleDes,
                id => ManagementKeyAlgorithm::from_id(id).ok_or(StatusWord::IncorrectP1P2)?,
            };
            return Ok(Self::Authenticate { algorithm, data });
        }
        match (KeyAlgorithm::from_id(p1), Slot::from_reference(p2)) {
            (Some(algorithm), Some(slot)) => Ok(Self::UseKey {
                algorithm,
                slot,
                data,
            }),
            _ => Err(StatusWord::IncorrectP1P2),
        }
    }
}

/// Runs `cmd`, writing its response data into `reply`.
pub fn run<F: NorFlash + MultiwriteNorFlash, R: CryptoRng>(
    ctx: &mut Context<F, R>,
    cmd: Command<'_>,
    reply: &mut Reply<'_>,
) -> Result<(), StatusWord> {
    match cmd {
        Command::Select { aid, template } => select::select(ctx, aid, template, reply),
        Command::Verify { pin } => pin::verify(ctx, pin),
        Command::VerifyReset => pin::forget(ctx),
        Command::ChangeReference { secret, data } => pin::change(ctx, secret, data),
        Command::ResetRetryCounter { data } => pin::unblock(ctx, data),
        Command::GetData { data } => data::get(ctx, data, reply),
        Command::PutData { data } => data::put(ctx, data),
        Command::Generate { slot, data } => key::generate(ctx, slot, data, reply),
        Command::Import {
            algorithm,
            slot,
            data,
        } => key::import(ctx, algorithm, slot, data),
        Command::UseKey {
            algorithm,
            slot,
            data,
        } => key::general_authenticate(ctx, algorithm, slot, data, reply),
        Command::Authenticate { algorithm, data } => {
            auth::authenticate(ctx, algorithm, data, reply)
        }
        Command::GetVersion => management::version(reply),
        Command::GetSerial => management::serial(ctx, reply),
        Command::GetMetadata { reference } => key::metadata(ctx, reference, reply),
        Command::SetManagementKey { data } => auth::set_management_key(ctx, data),
        Command::SetPinRetries {
            pin_tries,
            puk_tries,
        } => management::set_pin_retries(ctx, pin_tries, puk_tries),
        Command::Reset => management::reset(ctx),
        Command::MoveKey { from, to } => key::relocate::move_key(ctx, from, to),
        Command::DeleteKey { slot } => key::relocate::delete_key(ctx, slot),
    }
}
