//! A reader's configuration file: the file that `DEVICENAME` names in pcscd's reader.conf.
//! It says how many slots the reader has, which token image each slot starts with, and
//! where the control socket is.
//!
//! ```toml
//! control = "/run/ukey-ifd/reader0.sock"   # optional: insert and remove tokens through it
//! slots = 4                                # optional: at least the [[slot]] entries; default
//!                                          # their number (at least 1)
//! verbose = false                          # optional: log power events and APDUs to stderr
//!
//! [[slot]]                                 # slot 0
//! image = "token0.img"                     # created from the profile on first use
//! profile = "ci-token.toml"                # optional: default, bjca or a profile file
//! insecure_seed = 1                        # optional: reproducible keys (insecure)
//!
//! [[slot]]                                 # slot 1: starts empty (no image)
//! ```
//!
//! Relative paths are relative to the configuration file's folder.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::abi::MAX_READERS;

/// The most slots one reader may have: pcscd counts each slot as one of its readers.
pub const MAX_SLOTS: usize = MAX_READERS;

/// A reader's configuration, as read from or written to its file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderConfig {
    /// The Unix socket that takes `insert` and `remove` commands; none if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<PathBuf>,
    /// How many slots the reader has; by default as many as [`ReaderConfig::slot`] lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<usize>,
    /// Logs every power event, APDU and status word to pcscd's stderr.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verbose: bool,
    /// The slots, from slot 0; slots beyond the list start empty with the default profile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slot: Vec<SlotConfig>,
}

/// One slot's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// The token's flash image, created on first use; absent: the slot starts empty, and
    /// `insert SLOT` without an image name is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<PathBuf>,
    /// What a new image is made with: `default` (the default), `bjca`, or a profile file
    /// (see `ukey_sim::profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Seeds the token's RNG: reproducible, predictable keys, for tests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_seed: Option<u64>,
}

/// A configuration file that cannot be used, and why.
#[derive(Debug)]
pub struct ConfigError {
    path: PathBuf,
    reason: String,
}

impl ConfigError {
    fn new(path: &Path, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reader configuration {}: {}",
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

impl ReaderConfig {
    /// A reader with one slot per image, each made with the default profile, and a control
    /// socket at `control` if given.
    pub fn with_images(images: &[PathBuf], control: Option<PathBuf>) -> Self {
        Self {
            control,
            slots: None,
            verbose: false,
            slot: images
                .iter()
                .map(|image| SlotConfig {
                    image: Some(image.clone()),
                    ..SlotConfig::default()
                })
                .collect(),
        }
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = fs::read_to_string(path)
            .map_err(|error| ConfigError::new(path, format!("cannot read it: {error}")))?;
        let config: Self =
            toml::from_str(&text).map_err(|error| ConfigError::new(path, error.to_string()))?;
        config
            .slot_count()
            .map_err(|reason| ConfigError::new(path, reason))?;
        Ok(config)
    }

    /// Writes the configuration to `path` (the file `DEVICENAME` names).
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        self.slot_count()
            .map_err(|reason| ConfigError::new(path, reason))?;
        let text =
            toml::to_string(self).map_err(|error| ConfigError::new(path, error.to_string()))?;
        fs::write(path, text)
            .map_err(|error| ConfigError::new(path, format!("cannot write it: {error}")))
    }

    /// How many slots the reader has: `slots` if given, else the entries listed (at least
    /// one), never more than [`MAX_SLOTS`] nor fewer than the entries listed.
    pub fn slot_count(&self) -> Result<usize, String> {
        let count = self.slots.unwrap_or(self.slot.len().max(1));
        if count == 0 || count > MAX_SLOTS {
            return Err(format!(
                "slots = {count}: a reader has 1 to {MAX_SLOTS} slots (pcscd's limit)"
            ));
        }
        if count < self.slot.len() {
            return Err(format!(
                "slots = {count}, but {} [[slot]] entries are listed",
                self.slot.len()
            ));
        }
        Ok(count)
    }

    /// The configuration of slot `index` (an empty slot with the default profile beyond the
    /// listed entries).
    pub fn slot(&self, index: usize) -> SlotConfig {
        self.slot.get(index).cloned().unwrap_or_default()
    }
}

/// `path` if absolute, else `path` under `dir`.
pub fn resolve(dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_two_slots_and_a_socket_is_read_as_written() {
        let text = r#"
            control = "reader.sock"
            slots = 3
            [[slot]]
            image = "a.img"
            profile = "bjca"
            insecure_seed = 7
            [[slot]]
        "#;
        let config: ReaderConfig = toml::from_str(text).unwrap();
        assert_eq!(config.control.as_deref(), Some(Path::new("reader.sock")));
        assert_eq!(config.slot_count(), Ok(3));
        assert_eq!(config.slot(0).image.as_deref(), Some(Path::new("a.img")));
        assert_eq!(config.slot(0).profile.as_deref(), Some("bjca"));
        assert_eq!(config.slot(0).insecure_seed, Some(7));
        assert_eq!(config.slot(1), SlotConfig::default());
        assert_eq!(config.slot(2), SlotConfig::default());

        let again: ReaderConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn slot_counts_beyond_pcscd_or_below_the_entries_are_refused() {
        let many = ReaderConfig {
            slots: Some(MAX_SLOTS + 1),
            ..ReaderConfig::default()
        };
        assert!(many.slot_count().unwrap_err().contains("1 to 16"));
        let none = ReaderConfig {
            slots: Some(0),
            ..ReaderConfig::default()
        };
        assert!(none.slot_count().is_err());
        let fewer = ReaderConfig {
            slots: Some(1),
            ..ReaderConfig::with_images(&["a".into(), "b".into()], None)
        };
        assert!(fewer.slot_count().unwrap_err().contains("2 [[slot]]"));
        assert_eq!(ReaderConfig::default().slot_count(), Ok(1));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let error = toml::from_str::<ReaderConfig>("imgae = \"a.img\"").unwrap_err();
        assert!(error.to_string().contains("imgae"), "{error}");
    }

    #[test]
    fn relative_paths_hang_off_the_configuration_folder() {
        let dir = Path::new("/etc/ukey");
        assert_eq!(
            resolve(dir, Path::new("a.img")),
            Path::new("/etc/ukey/a.img")
        );
        assert_eq!(
            resolve(dir, Path::new("/var/a.img")),
            Path::new("/var/a.img")
        );
    }
}
