//! Key references (SP 800-73-4 part 1, 3.5 and table 4b; card-edge.md, "Key references").

use crate::object::ObjectId;
use crate::policy::PinPolicy;

/// Key reference of the PIN (P2 of VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER).
pub const PIN_REFERENCE: u8 = 0x80;
/// Key reference of the PUK.
pub const PUK_REFERENCE: u8 = 0x81;
/// Key reference of the management key (P2 of GENERAL AUTHENTICATE).
pub const MANAGEMENT_KEY_REFERENCE: u8 = 0x9B;
/// The PIN a PIV token comes with unless its profile names another, as YubiKeys ship.
pub const DEFAULT_PIN: &[u8] = b"123456";
/// The PUK a PIV token comes with unless its profile names another, as YubiKeys ship.
pub const DEFAULT_PUK: &[u8] = b"12345678";

/// The four PIV key slots of the card edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// 9A, PIV authentication.
    Authentication,
    /// 9C, digital signature.
    Signature,
    /// 9D, key management.
    KeyManagement,
    /// 9E, card authentication.
    CardAuthentication,
}

impl Slot {
    /// Every slot, in key-reference order.
    pub const ALL: [Slot; 4] = [
        Self::Authentication,
        Self::Signature,
        Self::KeyManagement,
        Self::CardAuthentication,
    ];

    /// The key reference (`9A`, `9C`, `9D`, `9E`): P2 of GENERATE and GENERAL AUTHENTICATE.
    pub const fn reference(self) -> u8 {
        match self {
            Self::Authentication => 0x9A,
            Self::Signature => 0x9C,
            Self::KeyManagement => 0x9D,
            Self::CardAuthentication => 0x9E,
        }
    }

    /// The slot with key reference `reference`.
    pub const fn from_reference(reference: u8) -> Option<Self> {
        match reference {
            0x9A => Some(Self::Authentication),
            0x9C => Some(Self::Signature),
            0x9D => Some(Self::KeyManagement),
            0x9E => Some(Self::CardAuthentication),
            _ => None,
        }
    }

    /// Position in [`Slot::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Self::Authentication => 0,
            Self::Signature => 1,
            Self::KeyManagement => 2,
            Self::CardAuthentication => 3,
        }
    }

    /// The data object that holds the slot's certificate (SP 800-73-4 part 1, table 3).
    pub const fn certificate_object(self) -> ObjectId {
        match self {
            Self::Authentication => ObjectId::CERT_9A,
            Self::Signature => ObjectId::CERT_9C,
            Self::KeyManagement => ObjectId::CERT_9D,
            Self::CardAuthentication => ObjectId::CERT_9E,
        }
    }

    /// The card edge's default PIN policy: 9A once per session, 9C before every
    /// signature, 9D once, 9E never.
    pub const fn default_pin_policy(self) -> PinPolicy {
        match self {
            Self::Authentication | Self::KeyManagement => PinPolicy::Once,
            Self::Signature => PinPolicy::Always,
            Self::CardAuthentication => PinPolicy::Never,
        }
    }
}
