//! `--profile default|bjca|FILE.toml`: what a new token is made with, and what it is
//! preloaded with.
//!
//! A profile file starts from a built-in profile and overrides any of its fields:
//!
//! ```toml
//! base = "bjca"            # default (the default) or bjca
//! serial = 12345678
//! label = "Zhang San"      # UTF-8, at most 32 bytes
//! pin = "12345678"         # 6 to 8 bytes
//! puk = "87654321"         # 6 to 8 bytes
//! pin_tries = 10           # 1 to 15
//! puk_tries = 3            # 1 to 15
//!
//! [management_key]
//! algorithm = "aes128"     # 3des, aes128, aes192 or aes256
//! key = "000102030405060708090a0b0c0d0e0f"
//! ```
//!
//! # Fixtures
//!
//! A profile file may also preload keys, their certificates and data objects, so that a CI
//! job starts from a known token. Paths are relative to the profile file's folder.
//!
//! ```toml
//! [[keys]]                 # one entry per slot
//! slot = "9C"              # 9A, 9C, 9D or 9E
//! algorithm = "SM2"        # P-256 or SM2: the curve of the key file
//! private_key = "keys/9c-sm2.key.pem"
//! certificate = "keys/9c-sm2.crt.der"   # optional; PEM or DER
//! pin_policy = "always"    # optional: default (the slot's), never, once or always
//!
//! [objects]                # optional; each file holds the object's value (inside `53`)
//! chuid = "objects/chuid.bin"
//! printed_information = "objects/printed.bin"   # also: ccc, key_history
//! ```
//!
//! - A private key file is unencrypted PKCS#8 (`PRIVATE KEY`: `openssl genpkey -algorithm
//!   SM2`, `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, OpenSSL 3's
//!   `openssl ecparam -name SM2 -genkey`) or SEC1 (`EC PRIVATE KEY`: `openssl ecparam
//!   -name prime256v1 -genkey`; `SM2 PRIVATE KEY`: OpenSSL 3's `openssl ec`), PEM or DER.
//!   Other blocks (`EC PARAMETERS`) and text around them are ignored.
//! - A certificate must hold the public key of its slot's private key.
//! - Everything is read and checked when the profile is loaded: a missing file, a key of
//!   another curve, a certificate for another key, an unknown slot or object is refused
//!   with what to fix, and no image is made.
//! - Fixtures are preloaded once, when the token is made from a blank flash (a new
//!   `--image`, or every run without one); GET METADATA then says the keys were imported.
//!   A token made before keeps what it holds. RESET (both PINs blocked) erases them like
//!   any key.
//!
//! `sim/fixtures/ci-token.toml` is a worked example, with test keys made by OpenSSL.

mod certificate;
mod curve;
mod fixture;
mod pem;
mod private_key;
mod provision;
mod serial;

use std::fs;
use std::path::Path;

use serde::Deserialize;
use ukey_firmware::{ManagementKey, ManagementKeyAlgorithm, Profile, ProfileError};

use crate::error::{Error, Result};

pub use fixture::Fixtures;
pub use serial::{names_serial, random_serial};

/// The serial number of the built-in profiles.
pub const DEFAULT_SERIAL: u32 = 10_000_001;

/// A loaded profile: the settings a new token is made with, and what it is preloaded with.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Serial, label, PINs, tries, management key.
    pub profile: Profile,
    /// Keys, certificates and data objects to preload (none for the built-in profiles).
    pub fixtures: Fixtures,
}

/// The profile named on the command line: `default`, `bjca`, or a TOML file.
pub fn load(name: &str) -> Result<Loaded> {
    let built_in = |profile| {
        Ok(Loaded {
            profile,
            fixtures: Fixtures::default(),
        })
    };
    match name {
        "default" => built_in(Profile::standard(DEFAULT_SERIAL)),
        "bjca" => built_in(Profile::bjca(DEFAULT_SERIAL)),
        path => from_file(Path::new(path)),
    }
}

/// Reads a profile file, and the fixture files it names.
pub fn from_file(path: &Path) -> Result<Loaded> {
    let text = fs::read_to_string(path).map_err(|error| {
        Error::Profile(format!(
            "cannot read {} ({error}); name a TOML file, or use `default` or `bjca`",
            path.display()
        ))
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    from_toml(&text, dir).map_err(|reason| Error::Profile(format!("{}: {reason}", path.display())))
}

/// Parses a profile from TOML text, reading fixture files relative to `dir`; the error
/// says what to fix.
pub fn from_toml(text: &str, dir: &Path) -> std::result::Result<Loaded, String> {
    let file: ProfileFile = toml::from_str(text).map_err(|error| error.to_string())?;

    let mut profile = match file.base.as_deref().unwrap_or("default") {
        "default" => Profile::standard(DEFAULT_SERIAL),
        "bjca" => Profile::bjca(DEFAULT_SERIAL),
        other => return Err(format!("base = \"{other}\": use \"default\" or \"bjca\"")),
    };
    if let Some(serial) = file.serial {
        profile.serial = serial;
    }
    if let Some(label) = file.label {
        profile.label = heapless::Vec::from_slice(label.as_bytes())
            .map_err(|_| format!("label is {} bytes; at most 32 are allowed", label.len()))?;
    }
    if let Some(pin) = file.pin {
        profile.pin = secret("pin", &pin)?;
    }
    if let Some(puk) = file.puk {
        profile.puk = secret("puk", &puk)?;
    }
    if let Some(tries) = file.pin_tries {
        profile.pin_tries = tries;
    }
    if let Some(tries) = file.puk_tries {
        profile.puk_tries = tries;
    }
    if let Some(key) = file.management_key {
        profile.management_key = management_key(&key)?;
    }
    profile.validate().map_err(|error| {
        match error {
            ProfileError::SecretLength => "pin and puk must be 6 to 8 bytes",
            ProfileError::SecretPadding => "pin and puk must not contain the byte 0xFF",
            ProfileError::Tries => "pin_tries and puk_tries must be 1 to 15",
            ProfileError::Label => "label must be UTF-8 of at most 32 bytes",
        }
        .to_string()
    })?;
    let fixtures = fixture::load(
        file.keys.as_deref().unwrap_or_default(),
        file.objects.as_ref(),
        dir,
    )?;
    Ok(Loaded { profile, fixtures })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    base: Option<String>,
    serial: Option<u32>,
    label: Option<String>,
    pin: Option<String>,
    puk: Option<String>,
    pin_tries: Option<u8>,
    puk_tries: Option<u8>,
    management_key: Option<KeyFile>,
    keys: Option<Vec<fixture::KeyEntry>>,
    objects: Option<fixture::ObjectsEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    algorithm: String,
    key: String,
}

fn secret(name: &str, value: &str) -> std::result::Result<heapless::Vec<u8, 8>, String> {
    heapless::Vec::from_slice(value.as_bytes())
        .map_err(|_| format!("{name} is {} bytes; use 6 to 8", value.len()))
}

fn management_key(file: &KeyFile) -> std::result::Result<ManagementKey, String> {
    let algorithm = match file.algorithm.to_ascii_lowercase().as_str() {
        "3des" | "tdes" => ManagementKeyAlgorithm::TripleDes,
        "aes128" => ManagementKeyAlgorithm::Aes128,
        "aes192" => ManagementKeyAlgorithm::Aes192,
        "aes256" => ManagementKeyAlgorithm::Aes256,
        other => {
            return Err(format!(
                "management_key.algorithm = \"{other}\": use 3des, aes128, aes192 or aes256"
            ));
        }
    };
    let key = parse_hex(&file.key).ok_or("management_key.key must be hex digits")?;
    ManagementKey::new(algorithm, &key).ok_or_else(|| {
        format!(
            "management_key.key is {} bytes; {} needs {}",
            key.len(),
            file.algorithm,
            algorithm.key_len()
        )
    })
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace() && *byte != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}
