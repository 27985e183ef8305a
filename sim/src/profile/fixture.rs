//! Fixtures: keys, certificates and data objects a profile preloads into a new token, read
//! and checked in full when the profile is loaded, before any image exists.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::certificate::{self, MAX_OBJECT};
use super::curve::{Curve, Point};
use super::private_key;

/// What a profile preloads into a token made from it: empty for the built-in profiles.
#[derive(Clone, Default)]
pub struct Fixtures {
    pub(super) keys: Vec<KeyFixture>,
    pub(super) objects: Vec<ObjectFixture>,
}

impl Fixtures {
    /// Whether there is nothing to preload.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.objects.is_empty()
    }
}

impl fmt::Debug for Fixtures {
    /// Names what is preloaded, never a private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixtures")
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|key| format!("{:02X} {}", key.slot.reference(), key.curve.name()))
                    .collect::<Vec<_>>(),
            )
            .field(
                "objects",
                &self
                    .objects
                    .iter()
                    .map(|object| format!("{:06X}", object.tag))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A private key for a slot, with its certificate if the fixture has one.
#[derive(Clone)]
pub(super) struct KeyFixture {
    pub(super) slot: Slot,
    pub(super) curve: Curve,
    pub(super) secret: Zeroizing<[u8; 32]>,
    pub(super) public: Point,
    pub(super) pin_policy: PinPolicy,
    /// The certificate object (`70`/`71`/`FE`), ready to store.
    pub(super) certificate: Option<Vec<u8>>,
}

/// A data object's value (the contents of `53`) and its tag.
#[derive(Clone)]
pub(super) struct ObjectFixture {
    pub(super) tag: u32,
    pub(super) value: Vec<u8>,
}

/// A key slot of card-edge.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    Authentication,
    Signature,
    KeyManagement,
    CardAuthentication,
}

impl Slot {
    fn parse(name: &str) -> Result<Self, String> {
        match name.trim_start_matches("0x").to_ascii_uppercase().as_str() {
            "9A" => Ok(Self::Authentication),
            "9C" => Ok(Self::Signature),
            "9D" => Ok(Self::KeyManagement),
            "9E" => Ok(Self::CardAuthentication),
            _ => Err(format!(
                "slot = \"{name}\": use \"9A\", \"9C\", \"9D\" or \"9E\""
            )),
        }
    }

    /// The key reference of GENERATE, GENERAL AUTHENTICATE and GET METADATA.
    pub(super) fn reference(self) -> u8 {
        match self {
            Self::Authentication => 0x9A,
            Self::Signature => 0x9C,
            Self::KeyManagement => 0x9D,
            Self::CardAuthentication => 0x9E,
        }
    }

    /// The tag of the slot's certificate object.
    pub(super) fn certificate_tag(self) -> u32 {
        match self {
            Self::Authentication => 0x5FC105,
            Self::Signature => 0x5FC10A,
            Self::KeyManagement => 0x5FC10B,
            Self::CardAuthentication => 0x5FC101,
        }
    }
}

/// When a slot's key asks for the PIN (card-edge.md, Key references).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PinPolicy {
    SlotDefault,
    Never,
    Once,
    Always,
}

impl PinPolicy {
    fn parse(name: &str) -> Result<Self, String> {
        match name.to_ascii_lowercase().as_str() {
            "default" => Ok(Self::SlotDefault),
            "never" => Ok(Self::Never),
            "once" => Ok(Self::Once),
            "always" => Ok(Self::Always),
            _ => Err(format!(
                "pin_policy = \"{name}\": use \"default\", \"never\", \"once\" or \"always\""
            )),
        }
    }

    /// The policy byte of GENERATE's `AA` and GET METADATA's `02`.
    pub(super) fn byte(self) -> u8 {
        match self {
            Self::SlotDefault => 0,
            Self::Never => 1,
            Self::Once => 2,
            Self::Always => 3,
        }
    }
}

/// A `[[keys]]` entry of a profile file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyEntry {
    slot: String,
    algorithm: String,
    private_key: PathBuf,
    certificate: Option<PathBuf>,
    pin_policy: Option<String>,
}

/// The `[objects]` table of a profile file: a file per data object, holding its value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ObjectsEntry {
    chuid: Option<PathBuf>,
    ccc: Option<PathBuf>,
    printed_information: Option<PathBuf>,
    key_history: Option<PathBuf>,
}

/// Reads every file the entries name (paths relative to `dir`, the profile file's folder)
/// and checks keys against their certificates; the error says what to fix.
pub(super) fn load(
    keys: &[KeyEntry],
    objects: Option<&ObjectsEntry>,
    dir: &Path,
) -> Result<Fixtures, String> {
    let mut fixtures = Fixtures::default();
    for entry in keys {
        let key =
            key(entry, dir).map_err(|reason| format!("[[keys]] slot {}: {reason}", entry.slot))?;
        if fixtures.keys.iter().any(|other| other.slot == key.slot) {
            return Err(format!(
                "[[keys]]: slot {} is given twice; one key per slot",
                entry.slot
            ));
        }
        fixtures.keys.push(key);
    }
    if let Some(objects) = objects {
        for (name, tag, path) in [
            ("chuid", 0x5FC102, &objects.chuid),
            ("ccc", 0x5FC107, &objects.ccc),
            (
                "printed_information",
                0x5FC109,
                &objects.printed_information,
            ),
            ("key_history", 0x5FC10C, &objects.key_history),
        ] {
            if let Some(path) = path {
                let value = object(&dir.join(path))
                    .map_err(|reason| format!("[objects] {name}: {reason}"))?;
                fixtures.objects.push(ObjectFixture { tag, value });
            }
        }
    }
    Ok(fixtures)
}

fn key(entry: &KeyEntry, dir: &Path) -> Result<KeyFixture, String> {
    let slot = Slot::parse(&entry.slot)?;
    let curve = Curve::parse(&entry.algorithm)?;
    let pin_policy = entry
        .pin_policy
        .as_deref()
        .map_or(Ok(PinPolicy::SlotDefault), PinPolicy::parse)?;
    let key_path = dir.join(&entry.private_key);
    let key = private_key::read(&key_path, curve)?;
    let certificate = match &entry.certificate {
        Some(path) => {
            let der = certificate::read(&dir.join(path), curve, &key.public, &key_path)?;
            Some(certificate::object(&der))
        }
        None => None,
    };
    Ok(KeyFixture {
        slot,
        curve,
        secret: key.secret,
        public: key.public,
        pin_policy,
        certificate,
    })
}

fn object(path: &Path) -> Result<Vec<u8>, String> {
    let value =
        std::fs::read(path).map_err(|error| format!("cannot read {} ({error})", path.display()))?;
    if value.is_empty() || value.len() > MAX_OBJECT {
        return Err(format!(
            "{} is {} bytes; a data object holds 1 to {MAX_OBJECT}",
            path.display(),
            value.len()
        ));
    }
    Ok(value)
}
