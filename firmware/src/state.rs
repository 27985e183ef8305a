//! What the token remembers: persistent records (kept in the store, mirrored in RAM) and
//! volatile security state (lost at every power cycle or reset). No command handling here.
//!
//! Records and their store keys:
//! - [`Factory`] (`0x0001`): the profile the token was made with; written once, read by RESET.
//! - [`Security`]: PIN, PUK, management key, and the "wipe pending" mark that makes RESET
//!   atomic (set in the same write that restores the defaults, cleared once every key and
//!   object record is gone; while set, no key or object is visible). Kept twice with a
//!   generation number ([`SECURITY_COPIES`], `0x0003` and `0x0004`, version 2), so a damaged
//!   copy falls back to its twin rather than to an older PIN; tokens made before that keep
//!   one version-1 record under [`SECURITY_KEY`] (`0x0002`) until their first change.
//! - [`SlotKey`] (`0x0100 + slot index`, see [`SlotKey::store_key`]): one per key slot.
//! - a MOVE KEY under way ([`MOVE_KEY`], `0x0005`): `from to`, the two slots' references.
//! - data objects (`0x0200 + index`, see [`DataObject`]): raw object bytes.

use heapless::Vec;
use ukey_card_edge::{KeyOrigin, ManagementKeyAlgorithm, ObjectId, PinPolicy, Slot, TouchPolicy};

use crate::crypto::ecc::{KeyAlgorithm, POINT_LEN, SCALAR_LEN, Secret, SigningKey};
use crate::crypto::pin::{self, HASH_LEN, PADDED_LEN, SALT_LEN};
use crate::profile::{ManagementKey, Profile};

/// Largest data object (the value inside `53`): a certificate object of 3,300 bytes of DER
/// with its `70`, `71` and `FE` wrappers fits.
pub const MAX_OBJECT: usize = 3328;

/// Store key of the factory record.
pub const FACTORY_KEY: u16 = 0x0001;
/// Store key of the version-1 security record, written once per change before the record
/// was kept twice; still read, never written.
pub const SECURITY_KEY: u16 = 0x0002;
/// Store keys of the two copies of the security record, written in this order.
pub const SECURITY_COPIES: [u16; 2] = [0x0003, 0x0004];

/// Store key of the record naming a MOVE KEY under way, `from to`: written before the key
/// is copied and removed once the source slot is empty, so an open that finds it finishes
/// the move, and a cut never leaves the key in both slots.
pub const MOVE_KEY: u16 = 0x0005;

/// A record that did not decode: the flash holds something this firmware did not write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// A little cursor over a record's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(Malformed)?;
        self.0 = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        self.bytes(N)?.try_into().map_err(|_| Malformed)
    }
    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }
    fn flag(&mut self) -> Result<bool, Malformed> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Malformed),
        }
    }
    fn end(self) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

/// A record being encoded; fixed capacity, no allocation.
type Writer<const N: usize> = Vec<u8, N>;

fn put<const N: usize>(w: &mut Writer<N>, bytes: &[u8]) {
    // Every record has a fixed maximum size that its capacity is chosen for.
    let _ = w.extend_from_slice(bytes);
}

/// A PIN or PUK: salted hash and retry counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinState {
    /// Random salt, renewed with every new value.
    pub salt: [u8; SALT_LEN],
    /// `SHA-256(salt ‖ padded value)`.
    pub hash: [u8; HASH_LEN],
    /// Tries left; 0 means blocked.
    pub tries_left: u8,
    /// Tries after a correct entry.
    pub tries_max: u8,
    /// Whether the value is still the factory one.
    pub is_default: bool,
}

impl PinState {
    const LEN: usize = SALT_LEN + HASH_LEN + 3;

    /// A blocked value that matches nothing: what stands in until the stored one is read.
    const BLOCKED: Self = Self {
        salt: [0; SALT_LEN],
        hash: [0; HASH_LEN],
        tries_left: 0,
        tries_max: 0,
        is_default: false,
    };

    /// A fresh value with a full counter.
    pub fn new(
        salt: [u8; SALT_LEN],
        padded: &[u8; PADDED_LEN],
        tries: u8,
        is_default: bool,
    ) -> Self {
        Self {
            salt,
            hash: pin::hash(&salt, padded),
            tries_left: tries,
            tries_max: tries,
            is_default,
        }
    }

    /// Whether the counter is at zero.
    pub fn is_blocked(&self) -> bool {
        self.tries_left == 0
    }

    fn encode<const N: usize>(&self, w: &mut Writer<N>) {
        put(w, &self.salt);
        put(w, &self.hash);
        put(
            w,
            &[self.tries_left, self.tries_max, u8::from(self.is_default)],
        );
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Malformed> {
        let salt = r.array()?;
        let hash = r.array()?;
        let tries_left = r.byte()?;
        let tries_max = r.byte()?;
        let is_default = r.flag()?;
        if tries_max == 0 || tries_max > 15 || tries_left > tries_max {
            return Err(Malformed);
        }
        Ok(Self {
            salt,
            hash,
            tries_left,
            tries_max,
            is_default,
        })
    }
}

fn encode_management_key<const N: usize>(key: &ManagementKey, w: &mut Writer<N>) {
    let mut bytes = [0u8; 32];
    bytes[..key.key.len()].copy_from_slice(&key.key);
    put(w, &[key.algorithm.id()]);
    put(w, &bytes);
}

fn decode_management_key(r: &mut Reader<'_>) -> Result<ManagementKey, Malformed> {
    let algorithm = ManagementKeyAlgorithm::from_id(r.byte()?).ok_or(Malformed)?;
    let bytes = r.bytes(32)?;
    ManagementKey::new(algorithm, &bytes[..algorithm.key_len()]).ok_or(Malformed)
}

/// The profile the token was made with, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Factory {
    /// The profile.
    pub profile: Profile,
}

impl Factory {
    const VERSION: u8 = 1;
    /// Encoded length.
    pub const LEN: usize = 1 + 4 + 1 + 32 + 2 * PADDED_LEN + 2 + 33;

    /// The record's bytes.
    pub fn encode(&self) -> Writer<{ Self::LEN }> {
        let p = &self.profile;
        let mut w = Writer::new();
        let mut label = [0u8; 32];
        label[..p.label.len()].copy_from_slice(&p.label);
        put(&mut w, &[Self::VERSION]);
        put(&mut w, &p.serial.to_be_bytes());
        put(&mut w, &[p.label.len() as u8]);
        put(&mut w, &label);
        put(&mut w, &pin::pad(&p.pin));
        put(&mut w, &pin::pad(&p.puk));
        put(&mut w, &[p.pin_tries, p.puk_tries]);
        encode_management_key(&p.management_key, &mut w);
        w
    }

    /// Reads a record written by [`Factory::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader(bytes);
        if r.byte()? != Self::VERSION {
            return Err(Malformed);
        }
        let serial = u32::from_be_bytes(r.array()?);
        let label_len = usize::from(r.byte()?);
        let label = r.bytes(32)?.get(..label_len).ok_or(Malformed)?;
        let pin = unpad(r.bytes(PADDED_LEN)?)?;
        let puk = unpad(r.bytes(PADDED_LEN)?)?;
        let [pin_tries, puk_tries] = r.array()?;
        let management_key = decode_management_key(&mut r)?;
        r.end()?;
        let profile = Profile {
            serial,
            label: Vec::from_slice(label).map_err(|_| Malformed)?,
            pin,
            puk,
            pin_tries,
            puk_tries,
            management_key,
        };
        profile.validate().map_err(|_| Malformed)?;
        Ok(Self { profile })
    }
}

fn unpad(padded: &[u8]) -> Result<Vec<u8, 8>, Malformed> {
    let len = padded
        .iter()
        .position(|&b| b == 0xFF)
        .unwrap_or(padded.len());
    Vec::from_slice(&padded[..len]).map_err(|_| Malformed)
}

/// PIN, PUK and management key, in one record so that every command changes them in one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Security {
    /// PIN (key reference 80).
    pub pin: PinState,
    /// PUK (key reference 81).
    pub puk: PinState,
    /// Management key (key reference 9B).
    pub management_key: ManagementKey,
    /// Whether the management key is still the factory one.
    pub management_key_is_default: bool,
    /// RESET has restored these defaults but key and object records may remain: they are
    /// invisible and are removed before the mark is cleared.
    pub wipe_pending: bool,
}

impl Security {
    /// The version of a record with one copy and no generation.
    const SINGLE: u8 = 1;
    /// The version of a copy with its generation.
    const COPY: u8 = 2;
    /// Encoded length of a copy: version, generation, fields.
    pub const LEN: usize = 1 + 4 + 2 * PinState::LEN + 33 + 2;

    /// PIN and PUK blocked, with `profile`'s management key: what a context holds until its
    /// stored record is read, so that opening hashes no PIN it will throw away.
    pub fn blocked(profile: &Profile) -> Self {
        Self {
            pin: PinState::BLOCKED,
            puk: PinState::BLOCKED,
            management_key: profile.management_key.clone(),
            management_key_is_default: true,
            wipe_pending: false,
        }
    }

    /// What a token whose security record is lost comes back with: PIN and PUK blocked and
    /// matching nothing, and a management key of `profile`'s algorithm made of `random`
    /// bytes nobody knows, so only RESET (which needs PIN and PUK blocked) brings it back.
    /// `None` only for a management key longer than 32 bytes, which no algorithm has.
    pub fn lost(profile: &Profile, random: &[u8; 32]) -> Option<Self> {
        let algorithm = profile.management_key.algorithm;
        let blocked = |tries_max: u8| PinState {
            tries_max,
            ..PinState::BLOCKED
        };
        let key = random.get(..algorithm.key_len())?;
        Some(Self {
            pin: blocked(profile.pin_tries),
            puk: blocked(profile.puk_tries),
            management_key: ManagementKey::new(algorithm, key)?,
            management_key_is_default: false,
            wipe_pending: false,
        })
    }

    /// The factory state of `profile`, with fresh salts.
    pub fn factory(profile: &Profile, salts: [[u8; SALT_LEN]; 2]) -> Self {
        Self {
            pin: PinState::new(salts[0], &pin::pad(&profile.pin), profile.pin_tries, true),
            puk: PinState::new(salts[1], &pin::pad(&profile.puk), profile.puk_tries, true),
            management_key: profile.management_key.clone(),
            management_key_is_default: true,
            wipe_pending: false,
        }
    }

    /// The bytes of a copy of generation `generation`.
    pub fn encode(&self, generation: u32) -> Writer<{ Self::LEN }> {
        let mut w = Writer::new();
        put(&mut w, &[Self::COPY]);
        put(&mut w, &generation.to_be_bytes());
        self.pin.encode(&mut w);
        self.puk.encode(&mut w);
        encode_management_key(&self.management_key, &mut w);
        put(
            &mut w,
            &[
                u8::from(self.management_key_is_default),
                u8::from(self.wipe_pending),
            ],
        );
        w
    }

    /// Reads a copy written by [`Security::encode`], or a version-1 record (generation 0);
    /// gives its generation.
    pub fn decode(bytes: &[u8]) -> Result<(u32, Self), Malformed> {
        let mut r = Reader(bytes);
        let generation = match r.byte()? {
            Self::SINGLE => 0,
            Self::COPY => u32::from_be_bytes(r.array()?),
            _ => return Err(Malformed),
        };
        let pin = PinState::decode(&mut r)?;
        let puk = PinState::decode(&mut r)?;
        let management_key = decode_management_key(&mut r)?;
        let management_key_is_default = r.flag()?;
        let wipe_pending = r.flag()?;
        r.end()?;
        let security = Self {
            pin,
            puk,
            management_key,
            management_key_is_default,
            wipe_pending,
        };
        Ok((generation, security))
    }
}

/// The only touch policy a token without a touch sensor can keep: `01`, never.
pub const TOUCH_NEVER: u8 = TouchPolicy::Never.id();

/// A slot's key pair, prepared for signing when it is made or read, and its policy.
///
/// The prepared key ([`SigningKey`], 136 bytes on a Cortex-M4) replaces the raw scalar in
/// RAM; the stored record keeps the layout
/// `version alg pin touch origin ‖ secret (32) ‖ public (65)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotKey {
    /// When the PIN is needed.
    pub pin_policy: PinPolicy,
    /// Where the key came from.
    pub origin: KeyOrigin,
    /// The private key with its public point. The scalar never leaves the card.
    key: SigningKey,
}

impl SlotKey {
    const VERSION: u8 = 1;
    /// Encoded length.
    pub const LEN: usize = 5 + SCALAR_LEN + POINT_LEN;

    /// The store key of the record of `slot`'s key.
    pub const fn store_key(slot: Slot) -> u16 {
        0x0100 + slot.index() as u16
    }

    /// A key already prepared, with its policy.
    pub fn prepared(key: SigningKey, pin_policy: PinPolicy, origin: KeyOrigin) -> Self {
        Self {
            pin_policy,
            origin,
            key,
        }
    }

    /// The curve.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.key.algorithm()
    }

    /// The uncompressed public point.
    pub fn public(&self) -> &[u8; POINT_LEN] {
        self.key.public()
    }

    /// The prepared private key.
    pub fn signer(&self) -> &SigningKey {
        &self.key
    }

    /// The record's bytes. The result holds the private scalar: callers drop it promptly.
    pub fn encode(&self) -> zeroize::Zeroizing<[u8; Self::LEN]> {
        let mut out = zeroize::Zeroizing::new([0u8; Self::LEN]);
        out[..5].copy_from_slice(&[
            Self::VERSION,
            self.algorithm().id(),
            self.pin_policy.id(),
            TOUCH_NEVER,
            self.origin.id(),
        ]);
        out[5..5 + SCALAR_LEN].copy_from_slice(self.key.secret_bytes().as_ref());
        out[5 + SCALAR_LEN..].copy_from_slice(self.public());
        out
    }

    /// Reads a record written by [`SlotKey::encode`] and prepares its key. The public point
    /// is the card's own record and is not recomputed.
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader(bytes);
        if r.byte()? != Self::VERSION {
            return Err(Malformed);
        }
        let algorithm = KeyAlgorithm::from_id(r.byte()?).ok_or(Malformed)?;
        let pin_policy = PinPolicy::from_id(r.byte()?).ok_or(Malformed)?;
        if r.byte()? != TOUCH_NEVER {
            return Err(Malformed);
        }
        let origin = KeyOrigin::from_id(r.byte()?).ok_or(Malformed)?;
        let secret: Secret = zeroize::Zeroizing::new(r.array()?);
        let public = r.array()?;
        r.end()?;
        let key = SigningKey::from_stored(algorithm, &secret, &public).map_err(|_| Malformed)?;
        Ok(Self::prepared(key, pin_policy, origin))
    }
}

/// The data objects the card stores, with their PIV tags (SP 800-73-4 part 1, table 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataObject {
    /// Card Holder Unique Identifier.
    Chuid,
    /// Card Capability Container.
    Ccc,
    /// X.509 certificate for PIV authentication (9A).
    CertAuthentication,
    /// X.509 certificate for digital signature (9C).
    CertSignature,
    /// X.509 certificate for key management (9D).
    CertKeyManagement,
    /// X.509 certificate for card authentication (9E).
    CertCardAuthentication,
    /// Printed information (read needs the PIN).
    PrintedInformation,
    /// Key history object.
    KeyHistory,
    /// Vendor object: the holder's label.
    Label,
    /// Vendor object: ykman's admin data.
    AdminData,
}

impl DataObject {
    /// Every stored object; its order gives the store keys, so a new object goes at the end.
    pub const ALL: [DataObject; 10] = [
        Self::Chuid,
        Self::Ccc,
        Self::CertAuthentication,
        Self::CertSignature,
        Self::CertKeyManagement,
        Self::CertCardAuthentication,
        Self::PrintedInformation,
        Self::KeyHistory,
        Self::Label,
        Self::AdminData,
    ];

    /// The object's tag as GET/PUT DATA name it in `5C`.
    pub const fn tag(self) -> ObjectId {
        match self {
            Self::Chuid => ObjectId::CHUID,
            Self::Ccc => ObjectId::CCC,
            Self::CertAuthentication => Slot::Authentication.certificate_object(),
            Self::CertSignature => Slot::Signature.certificate_object(),
            Self::CertKeyManagement => Slot::KeyManagement.certificate_object(),
            Self::CertCardAuthentication => Slot::CardAuthentication.certificate_object(),
            Self::PrintedInformation => ObjectId::PRINTED,
            Self::KeyHistory => ObjectId::KEY_HISTORY,
            Self::Label => ObjectId::LABEL,
            Self::AdminData => ObjectId::ADMIN_DATA,
        }
    }

    /// The object named by `tag`.
    pub fn from_tag(tag: ObjectId) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.tag() == tag)
    }

    /// The store key of the object's record.
    pub fn store_key(self) -> u16 {
        let index = Self::ALL.iter().position(|&o| o == self).unwrap_or(0);
        0x0200 + index as u16
    }
}

/// Security state that a power cycle or reset forgets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Volatile {
    /// The PIN was verified in this session.
    pub pin_verified: bool,
    /// The PIN was verified and no "PIN always" key has used that verification yet.
    pub pin_fresh: bool,
    /// The management key authenticated in this session.
    pub management_authenticated: bool,
    /// A witness or challenge the card sent and awaits the answer to.
    pub pending_auth: Option<PendingAuth>,
}

impl Volatile {
    /// The PIN is no longer verified (VERIFY P1 `FF`, a new PIN, a failed attempt).
    pub fn forget_pin(&mut self) {
        self.pin_verified = false;
        self.pin_fresh = false;
    }

    /// The PIN was just verified.
    pub fn pin_verified_now(&mut self) {
        self.pin_verified = true;
        self.pin_fresh = true;
    }
}

/// The card's half of a management-key exchange in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAuth {
    /// Which exchange it is.
    pub kind: PendingKind,
    /// The plaintext the host must prove it knows (witness) or encrypt (challenge).
    pub value: Vec<u8, 16>,
}

/// The two management-key exchanges of SP 800-73-4 part 2, appendix A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingKind {
    /// The card sent E(K, witness) and awaits the witness in clear (mutual authentication).
    Witness,
    /// The card sent a challenge and awaits E(K, challenge) (external authentication).
    Challenge,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let profile = Profile::bjca(0x0102_0304);
        let factory = Factory {
            profile: profile.clone(),
        };
        assert_eq!(Factory::decode(&factory.encode()), Ok(factory));
        let security = Security::factory(&profile, [[1; SALT_LEN], [2; SALT_LEN]]);
        assert_eq!(Security::decode(&security.encode(7)), Ok((7, security)));
        let key = SigningKey::new(KeyAlgorithm::Sm2, &[3; SCALAR_LEN]).expect("valid scalar");
        let key = SlotKey::prepared(key, PinPolicy::Always, KeyOrigin::Imported);
        assert_eq!(SlotKey::decode(key.encode().as_ref()), Ok(key));
    }

    #[test]
    fn invalid_stored_scalars_are_refused() {
        let record = |secret: u8| {
            let key = SigningKey::new(KeyAlgorithm::P256, &[secret; SCALAR_LEN]).expect("valid");
            SlotKey::prepared(key, PinPolicy::Once, KeyOrigin::Generated).encode()
        };
        let public_at = SlotKey::LEN - POINT_LEN;
        let mut zero = record(5);
        zero[5..public_at].fill(0);
        assert_eq!(SlotKey::decode(zero.as_ref()), Err(Malformed));
    }

    #[test]
    fn foreign_bytes_do_not_decode() {
        assert_eq!(Security::decode(&[1, 2, 3]), Err(Malformed));
        let mut bytes = Security::factory(&Profile::standard(1), [[0; 16]; 2]).encode(1);
        bytes[5 + SALT_LEN + HASH_LEN] = 16;
        assert_eq!(Security::decode(&bytes), Err(Malformed));
        bytes[0] = 3;
        assert_eq!(Security::decode(&bytes), Err(Malformed));
    }

    #[test]
    fn a_version_1_record_reads_as_generation_0() {
        let security = Security::factory(&Profile::standard(1), [[4; 16]; 2]);
        let copy = security.encode(9);
        let single = [&[1][..], &copy[5..]].concat();
        assert_eq!(Security::decode(&single), Ok((0, security)));
    }
}
