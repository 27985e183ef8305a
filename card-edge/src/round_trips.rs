//! Every byte the card edge names reads back as the same byte, and the bytes that stand for
//! "none of these" are refused.

use crate::{
    Algorithm, Instruction, KeyOrigin, LEGACY_TRIPLE_DES_ID, MANAGEMENT_KEY_REFERENCE,
    ManagementKeyAlgorithm, POLICY_DEFAULT, PinPolicy, Slot, TouchPolicy,
};

#[test]
fn every_named_byte_round_trips() {
    for byte in 0..=u8::MAX {
        let read_back = [
            Algorithm::from_id(byte).map(Algorithm::id),
            ManagementKeyAlgorithm::from_id(byte).map(ManagementKeyAlgorithm::id),
            PinPolicy::from_id(byte).map(PinPolicy::id),
            TouchPolicy::from_id(byte).map(TouchPolicy::id),
            KeyOrigin::from_id(byte).map(KeyOrigin::id),
            Instruction::from_byte(byte).map(Instruction::byte),
            Slot::from_reference(byte).map(Slot::reference),
        ];
        for back in read_back.into_iter().flatten() {
            assert_eq!(back, byte, "{byte:02X}");
        }
    }
}

#[test]
fn markers_are_not_values() {
    assert_eq!(ManagementKeyAlgorithm::from_id(LEGACY_TRIPLE_DES_ID), None);
    assert_eq!(PinPolicy::from_id(POLICY_DEFAULT), None);
    assert_eq!(TouchPolicy::from_id(POLICY_DEFAULT), None);
    assert_eq!(Slot::from_reference(MANAGEMENT_KEY_REFERENCE), None);
}

#[test]
fn slots_are_listed_in_index_order() {
    for (index, slot) in Slot::ALL.into_iter().enumerate() {
        assert_eq!(slot.index(), index);
    }
}

/// The numbers as card-edge.md and SP 800-73-4 write them, typed in a second time on
/// purpose: a value mistyped in its enum does not also pass here.
#[test]
fn values_are_the_documents_numbers() {
    use crate::{PIN_REFERENCE, PUK_REFERENCE};
    let slots = [
        (Slot::Authentication, 0x9A),
        (Slot::Signature, 0x9C),
        (Slot::KeyManagement, 0x9D),
        (Slot::CardAuthentication, 0x9E),
    ];
    for (slot, byte) in slots {
        assert_eq!(slot.reference(), byte, "{slot:?}");
    }
    assert_eq!(
        (PIN_REFERENCE, PUK_REFERENCE, MANAGEMENT_KEY_REFERENCE),
        (0x80, 0x81, 0x9B)
    );
    assert_eq!((Algorithm::P256.id(), Algorithm::Sm2.id()), (0x11, 0x54));
    let management = [
        (ManagementKeyAlgorithm::TripleDes, 0x03),
        (ManagementKeyAlgorithm::Aes128, 0x08),
        (ManagementKeyAlgorithm::Aes192, 0x0A),
        (ManagementKeyAlgorithm::Aes256, 0x0C),
    ];
    for (algorithm, byte) in management {
        assert_eq!(algorithm.id(), byte, "{algorithm:?}");
    }
    let instructions = [
        (Instruction::Select, 0xA4),
        (Instruction::Verify, 0x20),
        (Instruction::ChangeReferenceData, 0x24),
        (Instruction::ResetRetryCounter, 0x2C),
        (Instruction::GeneralAuthenticate, 0x87),
        (Instruction::GetData, 0xCB),
        (Instruction::PutData, 0xDB),
        (Instruction::GenerateAsymmetricKeyPair, 0x47),
        (Instruction::ImportAsymmetricKey, 0xFE),
        (Instruction::GetResponse, 0xC0),
        (Instruction::GetVersion, 0xFD),
        (Instruction::GetSerial, 0xF8),
        (Instruction::GetMetadata, 0xF7),
        (Instruction::SetManagementKey, 0xFF),
        (Instruction::SetPinRetries, 0xFA),
        (Instruction::Reset, 0xFB),
        (Instruction::MoveKey, 0xF6),
    ];
    for (instruction, byte) in instructions {
        assert_eq!(instruction.byte(), byte, "{instruction:?}");
    }
}
