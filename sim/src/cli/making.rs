//! What a token is made with, from `--profile`, `--serial`, `--image` and `--reprovision`.
//!
//! A new token gets the serial `--serial` or its profile file names, else a random one. An
//! image that exists already holds a token made before: `--profile` or `--serial` given
//! for it is refused (it would silently not apply) unless `--reprovision` asks for the
//! token to be re-personalised with them.

use std::path::Path;

use ukey_sim::profile::{self, Loaded};
use ukey_sim::{Error, Result};

/// The settings a token is asked to be made with.
pub(super) struct Asked<'a> {
    /// `--profile`, if given.
    pub(super) profile: Option<&'a str>,
    /// `--serial`, if given.
    pub(super) serial: Option<u32>,
    /// `--image`, if given.
    pub(super) image: Option<&'a Path>,
    /// `--reprovision`.
    pub(super) reprovision: bool,
    /// `--insecure-seed`, if given.
    pub(super) seed: Option<u64>,
}

/// The loaded profile with its serial settled, or why the request is refused.
pub(super) fn settle(asked: &Asked) -> Result<Loaded> {
    let existing = asked.image.filter(|image| image.exists());
    match (existing, asked.reprovision) {
        (Some(image), false) if asked.profile.is_some() || asked.serial.is_some() => {
            return Err(Error::Profile(format!(
                "{} already holds a token, made with the settings it had then; --profile and \
                 --serial apply to new tokens only. Add --reprovision to re-personalise it \
                 (its keys, certificates, PINs and serial are replaced), or leave them out",
                image.display()
            )));
        }
        (None, true) => {
            return Err(Error::Profile(
                "--reprovision re-personalises an existing --image; there is none".into(),
            ));
        }
        _ => {}
    }
    let name = asked.profile.unwrap_or("default");
    let mut loaded = profile::load(name)?;
    loaded.profile.serial = match asked.serial {
        Some(serial) => serial,
        None if profile::names_serial(name) => loaded.profile.serial,
        None => profile::random_serial(asked.seed)?,
    };
    Ok(loaded)
}
