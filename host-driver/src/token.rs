//! [`Token`]: one ukey (PIV) token and the typed commands of card-edge.md. Every public
//! method is one transaction: the application is selected, then the method's APDUs follow
//! with no other program's in between.

use serde::Serialize;
use ukey_card_edge::{
    Instruction, MANAGEMENT_KEY_REFERENCE, PIN_REFERENCE, PIV_AID, PIV_RID_LEN, POLICY_DEFAULT,
    PUK_REFERENCE, StatusWord,
};
use zeroize::Zeroizing;

use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::piv::{
    Algorithm, KeyOrigin, KeyPolicy, ManagementKey, ManagementKeyAlgorithm, ObjectId, Pin,
    PinPolicy, Slot, TouchPolicy, Version,
};
use crate::tlv;
use crate::transport::{Link, Transport};

/// What SELECT tells about the application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApplicationInfo {
    /// The application label ("ukey PIV").
    pub label: Option<String>,
    /// The signature algorithms it announces.
    pub algorithms: Vec<Algorithm>,
}

/// Whether the PIN is verified in this session, or how many tries are left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinStatus {
    /// Verified in the current session.
    Verified,
    /// Not verified; this many tries left.
    TriesLeft(u8),
    /// Blocked.
    Blocked,
}

/// The retry counter and default state of the PIN or the PUK (GET METADATA 80 / 81).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RetryMetadata {
    /// Still the factory value: change it before first use.
    pub is_default: bool,
    /// Tries allowed in all.
    pub total: u8,
    /// Tries left.
    pub left: u8,
}

/// What the token says about a key slot (GET METADATA).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// What the token says about its management key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ManagementKeyMetadata {
    /// The algorithm.
    pub algorithm: ManagementKeyAlgorithm,
    /// Still the well-known default value.
    pub is_default: bool,
}

/// The vendor device information object `5FFF01`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Serial number, as text.
    pub serial: Option<String>,
    /// Firmware version, as text.
    pub firmware: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Storage in bytes.
    pub storage_total: Option<u64>,
    /// Free storage in bytes.
    pub storage_free: Option<u64>,
    /// The largest command the token accepts, in bytes.
    pub max_command: Option<u64>,
}

/// A signature made on the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The DER `SEQUENCE { r, s }`.
    pub signature: Vec<u8>,
    /// The key that made it.
    pub public_key: PublicKey,
}

/// One token.
pub struct Token {
    transport: Box<dyn Transport>,
    /// What the last SELECT answered.
    application: Option<ApplicationInfo>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("reader", &self.transport.reader())
            .finish()
    }
}

impl Token {
    /// A token reached through `transport`.
    pub(crate) fn with_transport(transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            application: None,
        }
    }

    /// The name of the reader that holds the token.
    pub fn reader(&self) -> &str {
        self.transport.reader()
    }

    /// Runs `f` in one transaction, after selecting the application. When the connection
    /// turns out to be lost at the selection, before anything else was sent, the token is
    /// reconnected and the transaction begun again, once.
    fn session<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let result = self.select_then(f);
        self.name_reader(result)
    }

    fn select_then<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut retried = false;
        loop {
            let mut session = self.transport.begin()?;
            let mut tx = Tx {
                link: session.link.as_mut(),
            };
            match tx.select() {
                Ok(app) => {
                    self.application = Some(app);
                    return f(&mut tx);
                }
                Err(Error::CardReset | Error::CardRemoved) if !retried => {
                    drop(session);
                    retried = true;
                    self.transport.reconnect()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Fills in the reader's name where an error needs it.
    fn name_reader<T>(&self, result: Result<T>) -> Result<T> {
        result.map_err(|err| match err {
            Error::NotPiv { .. } => Error::NotPiv {
                reader: self.reader().to_owned(),
            },
            other => other,
        })
    }

    /// Selects the application and reads its property template.
    pub fn application(&mut self) -> Result<ApplicationInfo> {
        self.session(|_| Ok(()))?;
        self.application
            .clone()
            .ok_or_else(|| Error::response("no answer to SELECT"))
    }

    /// The PIV version GET VERSION answers: ukey answers the card edge's YubiKey-compatible
    /// number so that yubico-piv-tool asks for the serial and metadata. The firmware's own
    /// version is in [`Token::device_info`].
    pub fn version(&mut self) -> Result<Version> {
        self.session(|tx| tx.version())
    }

    /// The serial number (GET SERIAL).
    pub fn serial(&mut self) -> Result<u32> {
        self.session(|tx| tx.serial())
    }

    /// Whether the PIN is verified, or the tries left (VERIFY without data; costs no try).
    pub fn pin_status(&mut self) -> Result<PinStatus> {
        self.session(|tx| {
            let r = tx.send(&Apdu::new(Instruction::Verify, 0x00, PIN_REFERENCE))?;
            match r.sw {
                StatusWord::Success => Ok(PinStatus::Verified),
                StatusWord::WrongPin { tries: 0 } | StatusWord::Blocked => Ok(PinStatus::Blocked),
                StatusWord::WrongPin { tries } => Ok(PinStatus::TriesLeft(tries)),
                sw => Err(Error::from_status("VERIFY", sw)),
            }
        })
    }

    /// Verifies the PIN.
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<()> {
        self.session(|tx| tx.verify_pin(pin))
    }

    /// Forgets a verified PIN (VERIFY with P1 `FF`).
    pub fn forget_pin(&mut self) -> Result<()> {
        self.session(|tx| {
            tx.send(&Apdu::new(Instruction::Verify, 0xFF, PIN_REFERENCE))?
                .ok("VERIFY")
                .map(drop)
        })
    }

    /// Changes the PIN (CHANGE REFERENCE DATA 80).
    pub fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<()> {
        self.session(|tx| tx.change_reference(PIN_REFERENCE, old, new))
    }

    /// Changes the PUK (CHANGE REFERENCE DATA 81).
    pub fn change_puk(&mut self, old: &Pin, new: &Pin) -> Result<()> {
        self.session(|tx| tx.change_reference(PUK_REFERENCE, old, new))
    }

    /// Sets a new PIN with the PUK and so unblocks it (RESET RETRY COUNTER).
    pub fn unblock_pin(&mut self, puk: &Pin, new_pin: &Pin) -> Result<()> {
        self.session(|tx| {
            let mut data = Zeroizing::new(puk.padded().to_vec());
            data.extend_from_slice(new_pin.padded());
            let r = tx.send(
                &Apdu::new(Instruction::ResetRetryCounter, 0x00, PIN_REFERENCE).data(data.to_vec()),
            )?;
            pin_result(r.sw, PUK_REFERENCE, "RESET RETRY COUNTER")
        })
    }

    /// Authenticates with the management key, each side proving it to the other. The
    /// other administrative methods do this themselves within their own transaction.
    pub fn authenticate(&mut self, key: &ManagementKey) -> Result<()> {
        self.session(|tx| tx.authenticate(key))
    }

    /// Replaces the management key (SET MANAGEMENT KEY).
    pub fn set_management_key(
        &mut self,
        current: &ManagementKey,
        new: &ManagementKey,
    ) -> Result<()> {
        self.session(|tx| {
            tx.authenticate(current)?;
            let mut data = Zeroizing::new(vec![
                new.algorithm().id(),
                MANAGEMENT_KEY_REFERENCE,
                new.bytes().len() as u8,
            ]);
            data.extend_from_slice(new.bytes());
            tx.send(&Apdu::new(Instruction::SetManagementKey, 0xFF, 0xFF).data(data.to_vec()))?
                .ok("SET MANAGEMENT KEY")
                .map(drop)
        })
    }

    /// The content of a data object (inside its `53`), or [`Error::NotFound`].
    pub fn get_data(&mut self, object: ObjectId) -> Result<Vec<u8>> {
        self.session(|tx| tx.get_data(object))
    }

    /// Writes a data object.
    pub fn put_data(
        &mut self,
        key: &ManagementKey,
        object: ObjectId,
        content: &[u8],
    ) -> Result<()> {
        self.session(|tx| {
            tx.authenticate(key)?;
            tx.put_data(object, content)
        })
    }

    /// The device information vendor object.
    pub fn device_info(&mut self) -> Result<DeviceInfo> {
        let content = self.get_data(ObjectId::DEVICE_INFO)?;
        parse_device_info(&content)
    }

    /// The label (vendor object `5FFF02`), `None` when none was set.
    pub fn label(&mut self) -> Result<Option<String>> {
        match self.get_data(ObjectId::LABEL) {
            Ok(bytes) if bytes.is_empty() => Ok(None),
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets the label (at most 32 bytes of UTF-8).
    pub fn set_label(&mut self, key: &ManagementKey, label: &str) -> Result<()> {
        if label.len() > 32 {
            return Err(Error::input("a label has at most 32 bytes"));
        }
        self.put_data(key, ObjectId::LABEL, label.as_bytes())
    }

    /// The DER certificate stored for `slot`, if any.
    pub fn certificate(&mut self, slot: Slot) -> Result<Option<Vec<u8>>> {
        match self.get_data(slot.certificate_object()) {
            Ok(content) if content.is_empty() => Ok(None),
            Ok(content) => Ok(Some(tlv::require(&content, 0x70)?.to_vec())),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores a DER certificate for `slot`.
    pub fn import_certificate(
        &mut self,
        key: &ManagementKey,
        slot: Slot,
        der: &[u8],
    ) -> Result<()> {
        let mut content = tlv::encode(0x70, der);
        content.extend_from_slice(&[0x71, 0x01, 0x00, 0xFE, 0x00]);
        self.put_data(key, slot.certificate_object(), &content)
    }

    /// Removes the certificate of `slot`.
    pub fn delete_certificate(&mut self, key: &ManagementKey, slot: Slot) -> Result<()> {
        self.put_data(key, slot.certificate_object(), &[])
    }

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

    /// Signs a 32-byte digest with the key in `slot`; `pin` is verified first in the same
    /// transaction when given. Returns the DER signature.
    pub fn sign_digest(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        digest: &[u8],
        pin: Option<&Pin>,
    ) -> Result<Vec<u8>> {
        self.session(|tx| {
            if let Some(pin) = pin {
                tx.verify_pin(pin)?;
            }
            tx.sign(slot, algorithm, digest)
        })
    }

    /// Signs `message` with the key in `slot`: reads the slot's public key, computes what
    /// the algorithm signs (SHA-256, or SM3 over Z_A with `signer_id` and the message),
    /// verifies `pin` if given, signs, and checks the signature before returning it.
    pub fn sign(
        &mut self,
        slot: Slot,
        message: &[u8],
        pin: Option<&Pin>,
        signer_id: &str,
    ) -> Result<Signed> {
        self.session(|tx| {
            let meta = tx.key_metadata(slot)?.ok_or_else(|| Error::NotFound {
                what: format!("a key in slot {slot}"),
            })?;
            let digest = meta.public_key.digest(message, signer_id)?;
            if let Some(pin) = pin {
                tx.verify_pin(pin)?;
            }
            let signature = tx.sign(slot, meta.algorithm, &digest)?;
            meta.public_key
                .verify_digest(&digest, &signature, signer_id)
                .map_err(|_| Error::response("the token's signature does not verify"))?;
            Ok(Signed {
                signature,
                public_key: meta.public_key,
            })
        })
    }

    /// The key in `slot`, or `None` when the slot is empty (GET METADATA).
    pub fn key_metadata(&mut self, slot: Slot) -> Result<Option<KeyMetadata>> {
        self.session(|tx| tx.key_metadata(slot))
    }

    /// The PIN's retry counter and whether it is still the default.
    pub fn pin_metadata(&mut self) -> Result<RetryMetadata> {
        self.session(|tx| tx.retry_metadata(PIN_REFERENCE))
    }

    /// The PUK's retry counter and whether it is still the default.
    pub fn puk_metadata(&mut self) -> Result<RetryMetadata> {
        self.session(|tx| tx.retry_metadata(PUK_REFERENCE))
    }

    /// The management key's algorithm and whether it is still the default.
    pub fn management_key_metadata(&mut self) -> Result<ManagementKeyMetadata> {
        self.session(|tx| tx.management_metadata())
    }

    /// Sets the number of PIN and PUK tries (1 to 15); both go back to their defaults.
    pub fn set_pin_retries(
        &mut self,
        key: &ManagementKey,
        pin: &Pin,
        pin_tries: u8,
        puk_tries: u8,
    ) -> Result<()> {
        if !(1..=15).contains(&pin_tries) || !(1..=15).contains(&puk_tries) {
            return Err(Error::input("PIN and PUK tries are 1 to 15"));
        }
        self.session(|tx| {
            tx.authenticate(key)?;
            tx.verify_pin(pin)?;
            tx.send(&Apdu::new(Instruction::SetPinRetries, pin_tries, puk_tries))?
                .ok("SET PIN RETRIES")
                .map(drop)
        })
    }

    /// Returns the token to its factory state: keys and certificates erased. The token
    /// accepts this only when the PIN and the PUK are both blocked.
    pub fn reset(&mut self) -> Result<()> {
        self.session(|tx| {
            let r = tx.send(&Apdu::new(Instruction::Reset, 0x00, 0x00))?;
            match r.sw {
                StatusWord::Success => Ok(()),
                StatusWord::ConditionsNotSatisfied | StatusWord::SecurityStatusNotSatisfied => Err(
                    Error::input("the token resets only when both the PIN and the PUK are blocked"),
                ),
                sw => Err(Error::from_status("RESET", sw)),
            }
        })
    }
}

/// The error (or success) a status word means after VERIFY, CHANGE or RESET RETRY for
/// reference `reference`.
fn pin_result(sw: StatusWord, reference: u8, command: &'static str) -> Result<()> {
    let puk = reference == PUK_REFERENCE;
    match sw {
        StatusWord::Success => Ok(()),
        StatusWord::WrongPin { tries: 0 } | StatusWord::Blocked if puk => Err(Error::PukBlocked),
        StatusWord::WrongPin { tries: 0 } | StatusWord::Blocked => Err(Error::PinBlocked),
        StatusWord::WrongPin { tries } if puk => Err(Error::WrongPuk { tries }),
        StatusWord::WrongPin { tries } => Err(Error::WrongPin { tries }),
        StatusWord::WrongLength | StatusWord::IncorrectData => Err(Error::input(
            "the token refused the new value (6 to 8 characters)",
        )),
        sw => Err(Error::from_status(command, sw)),
    }
}

/// One transaction's worth of commands.
struct Tx<'a> {
    link: &'a mut dyn Link,
}

impl Tx<'_> {
    fn send(&mut self, apdu: &Apdu) -> Result<crate::apdu::Response> {
        apdu.transmit(self.link)
    }

    fn select(&mut self) -> Result<ApplicationInfo> {
        let r = self.send(
            &Apdu::new(Instruction::Select, 0x04, 0x00)
                .data(PIV_AID[..PIV_RID_LEN].to_vec())
                .expect_data(),
        )?;
        match r.sw {
            StatusWord::Success => parse_application(&r.data),
            StatusWord::NotFound => Err(Error::NotPiv {
                reader: String::new(),
            }),
            sw => Err(Error::from_status("SELECT", sw)),
        }
    }

    fn version(&mut self) -> Result<Version> {
        let r = self
            .send(&Apdu::new(Instruction::GetVersion, 0, 0).expect_data())?
            .ok("GET VERSION")?;
        match r.as_slice() {
            [major, minor, patch, ..] => Ok(Version {
                major: *major,
                minor: *minor,
                patch: *patch,
            }),
            _ => Err(Error::response("the version has fewer than 3 bytes")),
        }
    }

    fn serial(&mut self) -> Result<u32> {
        let r = self
            .send(&Apdu::new(Instruction::GetSerial, 0, 0).expect_data())?
            .ok("GET SERIAL")?;
        let bytes: [u8; 4] = r
            .as_slice()
            .try_into()
            .map_err(|_| Error::response("the serial is not 4 bytes"))?;
        Ok(u32::from_be_bytes(bytes))
    }

    fn verify_pin(&mut self, pin: &Pin) -> Result<()> {
        let r = self.send(
            &Apdu::new(Instruction::Verify, 0x00, PIN_REFERENCE).data(pin.padded().to_vec()),
        )?;
        pin_result(r.sw, PIN_REFERENCE, "VERIFY")
    }

    fn change_reference(&mut self, reference: u8, old: &Pin, new: &Pin) -> Result<()> {
        let mut data = Zeroizing::new(old.padded().to_vec());
        data.extend_from_slice(new.padded());
        let r = self.send(
            &Apdu::new(Instruction::ChangeReferenceData, 0x00, reference).data(data.to_vec()),
        )?;
        pin_result(r.sw, reference, "CHANGE REFERENCE DATA")
    }

    fn get_data(&mut self, object: ObjectId) -> Result<Vec<u8>> {
        let r = self.send(
            &Apdu::new(Instruction::GetData, 0x3F, 0xFF)
                .data(tlv::encode(0x5C, &tlv::tag_bytes(object.0)))
                .expect_data(),
        )?;
        match r.sw {
            StatusWord::Success => Ok(tlv::require(&r.data, 0x53)?.to_vec()),
            StatusWord::NotFound => Err(Error::NotFound {
                what: format!("data object {:06X}", object.0),
            }),
            sw => Err(Error::from_status("GET DATA", sw)),
        }
    }

    fn put_data(&mut self, object: ObjectId, content: &[u8]) -> Result<()> {
        if content.len() > tlv::MAX_VALUE {
            return Err(Error::input(format!(
                "a data object of {} bytes is over the {} bytes a PIV object can hold; \
                 store a smaller certificate or object",
                content.len(),
                tlv::MAX_VALUE
            )));
        }
        let mut data = tlv::encode(0x5C, &tlv::tag_bytes(object.0));
        tlv::write(&mut data, 0x53, content);
        let r = self.send(&Apdu::new(Instruction::PutData, 0x3F, 0xFF).data(data))?;
        match r.sw {
            StatusWord::Success => Ok(()),
            StatusWord::NotEnoughMemory => Err(self.refused_as_too_big(content.len())),
            sw => Err(Error::from_status("PUT DATA", sw)),
        }
    }

    /// Why the token answered `6A 84` to a `len`-byte object: over its largest data object,
    /// or more than its free storage, told apart by the free space the token reports.
    fn refused_as_too_big(&mut self, len: usize) -> Error {
        let free = self
            .get_data(ObjectId::DEVICE_INFO)
            .ok()
            .and_then(|content| parse_device_info(&content).ok())
            .and_then(|info| info.storage_free);
        Error::input(match free {
            Some(free) if (len as u64) < free => format!(
                "a {len}-byte object is over the largest data object the token stores \
                 (it has {free} bytes free); use a smaller certificate or object"
            ),
            Some(free) => format!(
                "the token's storage is full ({free} bytes free for a {len}-byte object); \
                 delete a certificate or object it no longer needs"
            ),
            None => format!(
                "the token refused a {len}-byte object: over its largest data object, \
                 or more than its free storage"
            ),
        })
    }

    fn metadata(&mut self, reference: u8) -> Result<Option<Vec<u8>>> {
        let r = self.send(&Apdu::new(Instruction::GetMetadata, 0x00, reference).expect_data())?;
        match r.sw {
            StatusWord::Success => Ok(Some(r.data)),
            StatusWord::ReferenceNotFound => Ok(None),
            sw => Err(Error::from_status("GET METADATA", sw)),
        }
    }

    fn key_metadata(&mut self, slot: Slot) -> Result<Option<KeyMetadata>> {
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

    fn retry_metadata(&mut self, reference: u8) -> Result<RetryMetadata> {
        let data = self.metadata(reference)?.ok_or_else(|| Error::NotFound {
            what: format!("metadata of reference {reference:02X}"),
        })?;
        let is_default = tlv::find(&data, 0x05)?.is_some_and(|v| v.first() == Some(&1));
        match tlv::require(&data, 0x06)? {
            [total, left, ..] => Ok(RetryMetadata {
                is_default,
                total: *total,
                left: *left,
            }),
            _ => Err(Error::response("the retry counter has fewer than 2 bytes")),
        }
    }

    fn management_metadata(&mut self) -> Result<ManagementKeyMetadata> {
        let data = self
            .metadata(MANAGEMENT_KEY_REFERENCE)?
            .ok_or_else(|| Error::NotFound {
                what: "management key metadata".into(),
            })?;
        let id = tlv::require(&data, 0x01)?
            .first()
            .copied()
            .unwrap_or_default();
        Ok(ManagementKeyMetadata {
            algorithm: ManagementKeyAlgorithm::from_id(id).ok_or_else(|| Error::NotSupported {
                what: format!("management key algorithm {id:02X}"),
            })?,
            is_default: tlv::find(&data, 0x05)?.is_some_and(|v| v.first() == Some(&1)),
        })
    }

    /// Mutual authentication with the management key (SP 800-73-4 part 2, appendix A): the
    /// token sends an encrypted witness, the host answers it decrypted with a challenge of
    /// its own, the token answers the challenge encrypted.
    fn authenticate(&mut self, key: &ManagementKey) -> Result<()> {
        let key = self.match_algorithm(key)?;
        let alg = key.algorithm();
        let n = alg.block_len();
        let r = self.send(
            &Apdu::new(
                Instruction::GeneralAuthenticate,
                alg.id(),
                MANAGEMENT_KEY_REFERENCE,
            )
            .data(tlv::encode(0x7C, &[0x80, 0x00]))
            .expect_data(),
        )?;
        let r = match r.sw {
            StatusWord::Success => r.data,
            StatusWord::IncorrectP1P2 | StatusWord::IncorrectData => {
                return Err(Error::WrongManagementKey);
            }
            sw => return Err(Error::from_status("GENERAL AUTHENTICATE", sw)),
        };
        let mut witness = Zeroizing::new(tlv::require(tlv::require(&r, 0x7C)?, 0x80)?.to_vec());
        if witness.len() != n {
            return Err(Error::response("the witness has the wrong length"));
        }
        key.crypt(&mut witness, false)?;
        let mut challenge = vec![0u8; n];
        getrandom::fill(&mut challenge)
            .map_err(|e| Error::input(format!("no randomness from the system: {e}")))?;
        let mut inner = tlv::encode(0x80, &witness);
        tlv::write(&mut inner, 0x81, &challenge);
        let r = self.send(
            &Apdu::new(
                Instruction::GeneralAuthenticate,
                alg.id(),
                MANAGEMENT_KEY_REFERENCE,
            )
            .data(tlv::encode(0x7C, &inner))
            .expect_data(),
        )?;
        let r = match r.sw {
            StatusWord::Success => r.data,
            StatusWord::SecurityStatusNotSatisfied | StatusWord::IncorrectData => {
                return Err(Error::WrongManagementKey);
            }
            sw => return Err(Error::from_status("GENERAL AUTHENTICATE", sw)),
        };
        let answer = tlv::require(tlv::require(&r, 0x7C)?, 0x82)?;
        let mut expected = challenge;
        key.crypt(&mut expected, true)?;
        if answer != expected.as_slice() {
            return Err(Error::response(
                "the token could not prove it knows the management key",
            ));
        }
        Ok(())
    }

    /// A 24-byte key is triple DES or AES-192: the token's metadata, when it has any, says
    /// which.
    fn match_algorithm(&mut self, key: &ManagementKey) -> Result<ManagementKey> {
        if key.algorithm().key_len() != 24 {
            return Ok(key.clone());
        }
        match self.management_metadata() {
            Ok(meta) if meta.algorithm.key_len() == 24 => {
                ManagementKey::new(meta.algorithm, key.bytes())
            }
            _ => Ok(key.clone()),
        }
    }

    fn sign(&mut self, slot: Slot, algorithm: Algorithm, digest: &[u8]) -> Result<Vec<u8>> {
        if digest.len() != 32 {
            return Err(Error::input("the token signs a 32-byte digest"));
        }
        let mut inner = vec![0x82, 0x00];
        tlv::write(&mut inner, 0x81, digest);
        let r = self.send(
            &Apdu::new(
                Instruction::GeneralAuthenticate,
                algorithm.id(),
                slot.reference(),
            )
            .data(tlv::encode(0x7C, &inner))
            .expect_data(),
        )?;
        match r.sw {
            StatusWord::Success => Ok(tlv::require(tlv::require(&r.data, 0x7C)?, 0x82)?.to_vec()),
            StatusWord::ReferenceNotFound | StatusWord::NotFound => Err(Error::NotFound {
                what: format!("a key in slot {slot}"),
            }),
            StatusWord::IncorrectP1P2 | StatusWord::IncorrectData => Err(Error::input(format!(
                "the key in slot {slot} is not a {algorithm} key"
            ))),
            sw => Err(Error::from_status("GENERAL AUTHENTICATE", sw)),
        }
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

fn parse_application(data: &[u8]) -> Result<ApplicationInfo> {
    let template = tlv::require(data, 0x61)?;
    let label = tlv::find(template, 0x50)?.map(|l| String::from_utf8_lossy(l).into_owned());
    let algorithms = match tlv::find(template, 0xAC)? {
        Some(list) => tlv::parse(list)?
            .into_iter()
            .filter(|t| t.tag == 0x80)
            .filter_map(|t| t.value.first().copied().and_then(Algorithm::from_id))
            .collect(),
        None => Vec::new(),
    };
    Ok(ApplicationInfo { label, algorithms })
}

fn be_number(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

fn parse_device_info(content: &[u8]) -> Result<DeviceInfo> {
    let mut info = DeviceInfo::default();
    for item in tlv::parse(content)? {
        let text = || Some(String::from_utf8_lossy(item.value).into_owned());
        match item.tag {
            0x01 => info.manufacturer = text(),
            0x02 => info.model = text(),
            0x03 => info.serial = text(),
            0x04 => info.firmware = text(),
            0x05 => info.label = text(),
            0x06 => {
                let (total, free) = item.value.split_at(item.value.len() / 2);
                info.storage_total = Some(be_number(total));
                info.storage_free = Some(be_number(free));
            }
            0x07 => info.max_command = Some(be_number(item.value)),
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    //! Each test is a conversation with the token as card-edge.md writes it.

    use p256::ecdsa::signature::hazmat::PrehashSigner;

    use super::*;
    use crate::keys::DEFAULT_SIGNER_ID;
    use crate::transport::script::{Script, Step, hex};

    const SELECT: &str = "00A40400 05 A000000308 00";
    const SELECTED: &str = "61 26 4F06000010000100 7907 4F05A000000308 5008756B657920504956 \
                            AC09 800111 800154 060100 9000";

    fn token(
        steps: &[(&str, &str)],
    ) -> (
        Token,
        std::sync::Arc<std::sync::Mutex<crate::transport::script::Log>>,
    ) {
        let (script, log) = Script::new(steps);
        (Token::with_transport(Box::new(script)), log)
    }

    fn done(
        log: &std::sync::Arc<std::sync::Mutex<crate::transport::script::Log>>,
        transactions: usize,
    ) {
        let log = log.lock().unwrap();
        assert!(log.steps.is_empty(), "{} steps not played", log.steps.len());
        assert_eq!(log.transactions, transactions);
    }

    #[test]
    fn select_reads_the_property_template() {
        let (mut t, log) = token(&[(SELECT, SELECTED)]);
        let app = t.application().unwrap();
        assert_eq!(app.label.as_deref(), Some("ukey PIV"));
        assert_eq!(app.algorithms, [Algorithm::P256, Algorithm::Sm2]);
        done(&log, 1);
    }

    #[test]
    fn a_lost_connection_at_select_is_reconnected_once() {
        let (script, log) = Script::from_steps(vec![
            Step::Lost,
            Step::Exact(hex(SELECT), hex(SELECTED)),
            Step::Exact(hex("00FD000000"), hex("050400 9000")),
            Step::Lost,
            Step::Lost,
        ]);
        let mut t = Token::with_transport(Box::new(script));
        assert_eq!(t.version().unwrap().to_string(), "5.4.0");
        assert!(matches!(t.version(), Err(Error::CardReset)));
        let log = log.lock().unwrap();
        assert_eq!((log.transactions, log.reconnects), (4, 2));
    }

    #[test]
    fn a_card_without_piv_is_named() {
        let (mut t, _log) = token(&[(SELECT, "6A82")]);
        match t.version() {
            Err(Error::NotPiv { reader }) => assert_eq!(reader, "Scripted Reader 00 00"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_and_serial() {
        let (mut t, log) = token(&[
            (SELECT, SELECTED),
            ("00FD000000", "050701 9000"),
            (SELECT, SELECTED),
            ("00F8000000", "00BC614E 9000"),
        ]);
        assert_eq!(t.version().unwrap().to_string(), "5.7.1");
        assert_eq!(t.serial().unwrap(), 12_345_678);
        done(&log, 2);
    }

    #[test]
    fn pin_answers_in_users_words() {
        let (mut t, log) = token(&[
            (SELECT, SELECTED),
            ("00200080 08 313233343536FFFF", "63C2"),
            (SELECT, SELECTED),
            ("00200080", "63C2"),
            (SELECT, SELECTED),
            ("00200080 08 3132333435363738", "6983"),
            (SELECT, SELECTED),
            ("002C0080 10 3837363534333231 313131313131FFFF", "63C0"),
            (SELECT, SELECTED),
            ("00240081 10 3132333435363738 3837363534333231", "63C1"),
            (SELECT, SELECTED),
            ("00200080 08 313233343536FFFF", "9000"),
        ]);
        let pin = Pin::new("123456").unwrap();
        assert!(matches!(
            t.verify_pin(&pin),
            Err(Error::WrongPin { tries: 2 })
        ));
        assert_eq!(t.pin_status().unwrap(), PinStatus::TriesLeft(2));
        assert!(matches!(
            t.verify_pin(&Pin::new("12345678").unwrap()),
            Err(Error::PinBlocked)
        ));
        assert!(matches!(
            t.unblock_pin(&Pin::new("87654321").unwrap(), &Pin::new("111111").unwrap()),
            Err(Error::PukBlocked)
        ));
        assert!(matches!(
            t.change_puk(
                &Pin::new("12345678").unwrap(),
                &Pin::new("87654321").unwrap()
            ),
            Err(Error::WrongPuk { tries: 1 })
        ));
        t.verify_pin(&pin).unwrap();
        done(&log, 6);
        assert!(Pin::new("12345").is_err() && Pin::new("123456789").is_err());
    }

    #[test]
    fn metadata_of_pin_and_empty_slot() {
        let (mut t, log) = token(&[
            (SELECT, SELECTED),
            ("00F7008000", "0101FF 0202 0000 050101 06020302 9000"),
            (SELECT, SELECTED),
            ("00F7009A00", "6A88"),
        ]);
        let m = t.pin_metadata().unwrap();
        assert_eq!(
            m,
            RetryMetadata {
                is_default: true,
                total: 3,
                left: 2
            }
        );
        assert_eq!(t.key_metadata(Slot::Authentication).unwrap(), None);
        done(&log, 2);
    }

    #[test]
    fn certificates_are_read_and_written_through_put_data() {
        let cert = vec![0x30; 1200];
        let mut object = tlv::encode(0x70, &cert);
        object.extend_from_slice(&[0x71, 0x01, 0x00, 0xFE, 0x00]);
        let mut get_answer = tlv::encode(0x53, &object);
        get_answer.extend_from_slice(&[0x90, 0x00]);
        let mut put = tlv::encode(0x5C, &[0x5F, 0xC1, 0x0A]);
        tlv::write(&mut put, 0x53, &object);
        let mut steps = vec![
            Step::Exact(hex(SELECT), hex(SELECTED)),
            Step::Exact(hex("00CB3FFF 05 5C035FC10A 00"), get_answer),
            Step::Exact(hex(SELECT), hex(SELECTED)),
            Step::Exact(hex("00F7009B00"), hex("010103 050101 9000")),
        ];
        steps.extend(management_auth(ManagementKey::default()));
        for (i, chunk) in put.chunks(255).enumerate() {
            let last = (i + 1) * 255 >= put.len();
            let mut apdu = vec![
                if last { 0x00 } else { 0x10 },
                0xDB,
                0x3F,
                0xFF,
                chunk.len() as u8,
            ];
            apdu.extend_from_slice(chunk);
            steps.push(Step::Exact(apdu, hex("9000")));
        }
        let (script, log) = Script::from_steps(steps);
        let mut t = Token::with_transport(Box::new(script));
        assert_eq!(t.certificate(Slot::Signature).unwrap(), Some(cert.clone()));
        t.import_certificate(&ManagementKey::default(), Slot::Signature, &cert)
            .unwrap();
        done(&log, 2);
    }

    /// The two GENERAL AUTHENTICATE steps of mutual authentication, played by a token
    /// holding `key`.
    fn management_auth(key: ManagementKey) -> Vec<Step> {
        let n = key.algorithm().block_len();
        let alg = key.algorithm().id();
        let witness = vec![0x5A; n];
        let mut encrypted = witness.clone();
        key.crypt(&mut encrypted, true).unwrap();
        let mut first = tlv::encode(0x7C, &tlv::encode(0x80, &encrypted));
        first.extend_from_slice(&[0x90, 0x00]);
        vec![
            Step::Exact(
                [
                    vec![0x00, 0x87, alg, 0x9B, 0x04],
                    hex("7C028000"),
                    vec![0x00],
                ]
                .concat(),
                first,
            ),
            Step::Respond(Box::new(move |cmd| {
                assert_eq!(&cmd[..4], [0x00, 0x87, alg, 0x9B]);
                let data = &cmd[5..cmd.len() - 1];
                let inner = tlv::require(data, 0x7C).unwrap();
                if tlv::require(inner, 0x80).unwrap() != witness.as_slice() {
                    return hex("6982");
                }
                let mut challenge = tlv::require(inner, 0x81).unwrap().to_vec();
                key.crypt(&mut challenge, true).unwrap();
                let mut out = tlv::encode(0x7C, &tlv::encode(0x82, &challenge));
                out.extend_from_slice(&[0x90, 0x00]);
                out
            })),
        ]
    }

    #[test]
    fn mutual_authentication_3des_and_aes() {
        for (token_key, host_key, meta) in [
            (
                ManagementKey::default(),
                ManagementKey::default(),
                "010103 050101 9000",
            ),
            (
                ManagementKey::from_hex(&"11".repeat(16), None).unwrap(),
                ManagementKey::from_hex(&"11".repeat(16), None).unwrap(),
                "",
            ),
            (
                ManagementKey::from_hex(&"22".repeat(24), Some(ManagementKeyAlgorithm::Aes192))
                    .unwrap(),
                ManagementKey::from_hex(&"22".repeat(24), None).unwrap(),
                "01010A 050100 9000",
            ),
        ] {
            let mut steps = vec![Step::Exact(hex(SELECT), hex(SELECTED))];
            if !meta.is_empty() {
                steps.push(Step::Exact(hex("00F7009B00"), hex(meta)));
            }
            steps.extend(management_auth(token_key));
            let (script, log) = Script::from_steps(steps);
            let mut t = Token::with_transport(Box::new(script));
            t.authenticate(&host_key).unwrap();
            done(&log, 1);
        }
    }

    #[test]
    fn a_wrong_management_key_is_reported() {
        let mut steps = vec![
            Step::Exact(hex(SELECT), hex(SELECTED)),
            Step::Exact(hex("00F7009B00"), hex("010103 050100 9000")),
        ];
        steps.extend(management_auth(
            ManagementKey::from_hex(&"33".repeat(24), None).unwrap(),
        ));
        let (script, _log) = Script::from_steps(steps);
        let mut t = Token::with_transport(Box::new(script));
        assert!(matches!(
            t.authenticate(&ManagementKey::default()),
            Err(Error::WrongManagementKey)
        ));
    }

    #[test]
    fn sm2_signature_over_z_and_message_in_one_transaction() {
        let secret = sm2::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let public = secret.public_key();
        let point = PublicKey::Sm2(public).to_sec1();
        let message = b"contract text";
        let e = PublicKey::Sm2(public)
            .digest(message, DEFAULT_SIGNER_ID)
            .unwrap();
        let signer = sm2::dsa::SigningKey::new(DEFAULT_SIGNER_ID, &secret).unwrap();
        let sig: sm2::dsa::Signature = signer.sign_prehash(&e).unwrap();
        let sig_der = sig.to_der();

        let mut meta = hex("010154 02020300 030101");
        let mut inner = Vec::new();
        tlv::write(&mut inner, 0x86, &point);
        tlv::write(&mut meta, 0x04, &inner);
        meta.extend_from_slice(&[0x90, 0x00]);
        let mut gen_auth = vec![
            0x00, 0x87, 0x54, 0x9C, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20,
        ];
        gen_auth.extend_from_slice(&e);
        gen_auth.push(0x00);
        let mut answer = tlv::encode(0x7C, &tlv::encode(0x82, sig_der.as_bytes()));
        answer.extend_from_slice(&[0x90, 0x00]);
        let (script, log) = Script::from_bytes(vec![
            (hex(SELECT), hex(SELECTED)),
            (hex("00F7009C00"), meta),
            (hex("00200080 08 313233343536FFFF"), hex("9000")),
            (gen_auth, answer),
        ]);
        let mut t = Token::with_transport(Box::new(script));
        let signed = t
            .sign(
                Slot::Signature,
                message,
                Some(&Pin::new("123456").unwrap()),
                DEFAULT_SIGNER_ID,
            )
            .unwrap();
        assert_eq!(signed.signature, sig_der.as_bytes());
        signed
            .public_key
            .verify(message, &signed.signature, DEFAULT_SIGNER_ID)
            .unwrap();
        done(&log, 1);
    }

    #[test]
    fn generate_p256_with_policies() {
        let secret = p256::SecretKey::from_slice(&[9u8; 32]).unwrap();
        let point = PublicKey::P256(secret.public_key()).to_sec1();
        let mut answer = tlv::encode(0x7F49, &tlv::encode(0x86, &point));
        answer.extend_from_slice(&[0x90, 0x00]);
        let mut steps = vec![
            Step::Exact(hex(SELECT), hex(SELECTED)),
            Step::Exact(hex("00F7009B00"), hex("6A88")),
        ];
        steps.extend(management_auth(ManagementKey::default()));
        steps.push(Step::Exact(
            hex("0047009A 0B AC09 800111 AA0103 AB0102 00"),
            answer,
        ));
        let (script, log) = Script::from_steps(steps);
        let mut t = Token::with_transport(Box::new(script));
        let policy = KeyPolicy {
            pin: Some(PinPolicy::Always),
            touch: Some(TouchPolicy::Always),
        };
        let pk = t
            .generate(
                &ManagementKey::default(),
                Slot::Authentication,
                Algorithm::P256,
                policy,
            )
            .unwrap();
        assert_eq!(pk, PublicKey::P256(secret.public_key()));
        done(&log, 1);
    }

    #[test]
    fn device_info_and_label() {
        let (mut t, _log) = token(&[
            (SELECT, SELECTED),
            (
                "00CB3FFF 05 5C035FFF01 00",
                "53 16 0104756B6579 0204756B6579 06080000100000000800 9000",
            ),
            (SELECT, SELECTED),
            ("00CB3FFF 05 5C035FFF02 00", "6A82"),
        ]);
        let info = t.device_info().unwrap();
        assert_eq!(info.manufacturer.as_deref(), Some("ukey"));
        assert_eq!(info.storage_total, Some(4096));
        assert_eq!(info.storage_free, Some(2048));
        assert_eq!(t.label().unwrap(), None);
    }
}
