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
