//! The keys of the slots: generation on the token (GENERATE ASYMMETRIC KEY PAIR, SP
//! 800-73-4 part 2, 3.3.2), import of a key made elsewhere (IMPORT ASYMMETRIC KEY, the
//! YubiKey extension of card edge v2) and what GET METADATA says of them (YubiKey extension).

use ukey_card_edge::{Instruction, POLICY_DEFAULT};
use zeroize::Zeroizing;

use super::{Token, Tx};
use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::piv::{Algorithm, KeyOrigin, KeyPolicy, ManagementKey, PinPolicy, Slot, TouchPolicy};
use crate::private_key::PrivateKey;
use crate::tlv;

/// What the token says about a key slot (GET METADATA).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeyMetadata {
    /// The key's algorithm.
    pub algorithm: Algorithm,
    /// When the key asks for the PIN.
    pub pin_policy: PinPolicy,
    /// When the key asks for a touch.
    pub touch_policy: TouchPolicy,
    /// Generated on the token or imported.
    pub origin: Option<KeyOrigin>,
    /// The public key.
    pub public_key: PublicKey,
}

impl Token {
    /// Generates a key pair in `slot` and returns its public key.
    pub fn generate(
        &mut self,
        key: &ManagementKey,
        slot: Slot,
        algorithm: Algorithm,
        policy: KeyPolicy,
    ) -> Result<PublicKey> {
        self.session(|tx| {
            tx.authenticate(key)?;
            let mut template = vec![0x80, 0x01, algorithm.id()];
            template.extend(policy.template());
            let data = tlv::encode(0xAC, &template);
            let r = tx
                .send(
                    &Apdu::new(
                        Instruction::GenerateAsymmetricKeyPair,
                        0x00,
                        slot.reference(),
                    )
                    .data(data)
                    .expect_data(),
                )?
                .ok("GENERATE ASYMMETRIC KEY PAIR")?;
            let inner = tlv::require(&r, 0x7F49)?;
            PublicKey::from_sec1(algorithm, tlv::require(inner, 0x86)?)
        })
    }

    /// Imports `private_key` into `slot` with `policy`, replacing any key there, and returns
    /// the public key the token then reports for the slot, checked to be `private_key`'s.
    /// GET METADATA reports the key as [`KeyOrigin::Imported`]. A token that refuses the
    /// scalar answers [`Error::Refused`]; one without the command, [`Error::NotSupported`].
    pub fn import_key(
        &mut self,
        key: &ManagementKey,
        slot: Slot,
        private_key: &PrivateKey,
        policy: KeyPolicy,
    ) -> Result<PublicKey> {
        let scalar = private_key.scalar();
        let policies = policy.template();
        // Room for all of it at once: no reallocation leaves a copy of the scalar behind.
        let mut data = Zeroizing::new(Vec::with_capacity(2 + scalar.len() + policies.len()));
        tlv::write(&mut data, 0x06, &scalar);
        data.extend_from_slice(&policies);
        let algorithm = private_key.algorithm();
        self.session(|tx| {
            tx.authenticate(key)?;
            tx.send(
                &Apdu::new(
                    Instruction::ImportAsymmetricKey,
                    algorithm.id(),
                    slot.reference(),
                )
                .data(data.to_vec()),
            )?
            .ok("IMPORT ASYMMETRIC KEY")?;
            let stored = tx
                .key_metadata(slot)?
                .ok_or_else(|| Error::response("the slot is empty after the import"))?;
            if stored.public_key != private_key.public_key() {
                return Err(Error::response(
                    "the slot holds another public key than the imported key's",
                ));
            }
            Ok(stored.public_key)
        })
    }

    /// The key in `slot`, or `None` when the slot is empty (GET METADATA).
    pub fn key_metadata(&mut self, slot: Slot) -> Result<Option<KeyMetadata>> {
        self.session(|tx| tx.key_metadata(slot))
    }
}

impl Tx<'_> {
    pub(super) fn key_metadata(&mut self, slot: Slot) -> Result<Option<KeyMetadata>> {
        let Some(data) = self.metadata(slot.reference())? else {
            return Ok(None);
        };
        let alg_id = *tlv::require(&data, 0x01)?
            .first()
            .ok_or_else(|| Error::response("empty algorithm in metadata"))?;
        let algorithm = Algorithm::from_id(alg_id).ok_or_else(|| Error::NotSupported {
            what: format!("key algorithm {alg_id:02X} in slot {slot}"),
        })?;
        let policy = tlv::find(&data, 0x02)?.unwrap_or_default();
        let origin = tlv::find(&data, 0x03)?
            .and_then(|v| v.first().copied())
            .and_then(KeyOrigin::from_id);
        let point = tlv::require(&data, 0x04)?;
        let point = tlv::find(point, 0x86)?.unwrap_or(point);
        Ok(Some(KeyMetadata {
            algorithm,
            pin_policy: pin_policy(slot, policy.first().copied()),
            touch_policy: policy
                .get(1)
                .copied()
                .and_then(TouchPolicy::from_id)
                .unwrap_or(TouchPolicy::Never),
            origin,
            public_key: PublicKey::from_sec1(algorithm, point)?,
        }))
    }
}

/// The PIN policy a metadata byte states for the key in `slot`. The default byte (`00`) or
/// none means the slot's default; a byte this host does not know (a YubiKey Bio's
/// fingerprint policies) is read as "before every use", so that the PIN is asked rather
/// than a signature refused.
fn pin_policy(slot: Slot, byte: Option<u8>) -> PinPolicy {
    match byte {
        None | Some(POLICY_DEFAULT) => slot.default_pin_policy(),
        Some(id) => PinPolicy::from_id(id).unwrap_or(PinPolicy::Always),
    }
}
