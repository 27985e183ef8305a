//! A management key kept on the token under the PIN, as ykman's `--protect` keeps it: in
//! the printed-information object `5FC109`, which the token reads out only after the PIN,
//! as `88 { 89 key }`. Who knows the PIN can then administer the token without knowing the
//! key, and the key need never be written down.

use super::{Token, Tx};
use crate::error::{Error, Result};
use crate::piv::{ManagementKey, ManagementKeyAlgorithm, ObjectId, Pin};
use crate::tlv;

/// Tag of ykman's protected-data template in `5FC109`.
const PROTECTED_TEMPLATE: u32 = 0x88;
/// Tag of the management key inside it.
const PROTECTED_KEY: u32 = 0x89;

impl Token {
    /// Replaces the management key with a new random key of `algorithm` and stores that
    /// key under the PIN, in one transaction. Returns the new key.
    pub fn protect_management_key(
        &mut self,
        current: &ManagementKey,
        algorithm: ManagementKeyAlgorithm,
        pin: &Pin,
    ) -> Result<ManagementKey> {
        let new = ManagementKey::random(algorithm)?;
        self.session(|tx| {
            tx.verify_pin(pin)?;
            tx.authenticate(current)?;
            tx.set_management_key(&new)?;
            tx.authenticate(&new)?;
            let content = tlv::encode(PROTECTED_TEMPLATE, &tlv::encode(PROTECTED_KEY, new.bytes()));
            tx.put_data(ObjectId::PRINTED, &content)
        })?;
        Ok(new)
    }

    /// The management key kept under the PIN, if the token keeps one (the PIN is verified
    /// to read it). Its algorithm is the one the token reports for its management key.
    pub fn protected_management_key(&mut self, pin: &Pin) -> Result<Option<ManagementKey>> {
        self.session(|tx| {
            tx.verify_pin(pin)?;
            let algorithm = tx.management_metadata()?.algorithm;
            tx.protected_key(algorithm)
        })
    }
}

impl Tx<'_> {
    /// The key in `5FC109`, read after the PIN was verified.
    fn protected_key(
        &mut self,
        algorithm: ManagementKeyAlgorithm,
    ) -> Result<Option<ManagementKey>> {
        let content = match self.get_data(ObjectId::PRINTED) {
            Ok(content) => content,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(template) = tlv::find(&content, PROTECTED_TEMPLATE)? else {
            return Ok(None);
        };
        match tlv::find(template, PROTECTED_KEY)? {
            Some(key) => ManagementKey::new(algorithm, key).map(Some),
            None => Ok(None),
        }
    }
}
