//! What every subcommand gets: the global options, the token they name, and output as
//! text or JSON.

use std::io::IsTerminal;
use std::path::PathBuf;

use serde::Serialize;
use ukey_host::{ManagementKey, Selector, Token};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::{Failure, secret};

/// What every subcommand gets: the global options and helpers around them.
pub(crate) struct Ctx {
    /// `--json`: print JSON instead of text.
    pub(crate) json: bool,
    /// The token `--reader` or `--serial` names.
    pub(crate) selector: Selector,
    /// `--management-key`.
    pub(crate) management_key: Option<String>,
    /// `--management-key-file`.
    pub(crate) management_key_file: Option<PathBuf>,
}

/// Where a command's management key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `--management-key`, `--management-key-file` or `UKEY_MANAGEMENT_KEY`.
    Given,
    /// The token's key is still the well-known default.
    Default,
    /// Kept on the token under the PIN (`ukey mgm change --protect`).
    Protected,
}

/// The environment variable a script gives the management key in.
const MANAGEMENT_KEY_VARIABLE: &str = "UKEY_MANAGEMENT_KEY";
/// The environment variable a script gives the PIN in that unlocks a protected key.
const PIN_VARIABLE: &str = "UKEY_PIN";

impl Ctx {
    /// Opens the token the global options name.
    pub(crate) fn open(&self) -> Result<Token, Failure> {
        self.progress("Looking for the token…");
        Ok(Token::open(&self.selector)?)
    }

    /// The management key for `token`: given by `--management-key`, `--management-key-file`
    /// or `UKEY_MANAGEMENT_KEY`; else the default, while the token still has it; else the
    /// key kept under the PIN (the PIN from `UKEY_PIN` or asked for).
    pub(crate) fn management_key(
        &self,
        token: &mut Token,
    ) -> Result<(ManagementKey, KeySource), Failure> {
        let metadata = token.management_key_metadata().ok();
        let algorithm = metadata.map(|m| m.algorithm);
        if let Some(hex) = self.given_management_key()? {
            return Ok((ManagementKey::from_hex(&hex, algorithm)?, KeySource::Given));
        }
        if metadata.is_none_or(|m| m.is_default) {
            return Ok((ManagementKey::default(), KeySource::Default));
        }
        let pin = secret(
            std::env::var(PIN_VARIABLE).ok().as_deref(),
            "PIN (it unlocks the management key kept on the token): ",
        )
        .map_err(|_| not_given())?;
        match token.protected_management_key(&pin)? {
            Some(key) => Ok((key, KeySource::Protected)),
            None => Err(not_given()),
        }
    }

    /// The management key in hex from the options or the environment, if given.
    fn given_management_key(&self) -> Result<Option<Zeroizing<String>>, Failure> {
        if let Some(hex) = &self.management_key {
            return Ok(Some(Zeroizing::new(hex.clone())));
        }
        if let Some(path) = &self.management_key_file {
            let text = std::fs::read_to_string(path).map_err(|source| Error::File {
                path: path.clone(),
                source,
            })?;
            return Ok(Some(Zeroizing::new(text.trim().to_owned())));
        }
        Ok(std::env::var(MANAGEMENT_KEY_VARIABLE)
            .ok()
            .map(Zeroizing::new))
    }

    /// Prints `value` as JSON, or as the text `human` makes of it.
    pub(crate) fn print<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        } else {
            let text = human(value);
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
    }

    /// A line about a step that takes a while, shown on a terminal only.
    pub(crate) fn progress(&self, message: &str) {
        let stderr = std::io::stderr();
        if !self.json && stderr.is_terminal() {
            eprintln!("{message}");
        }
    }
}

/// The token's management key is not the default and was not given.
fn not_given() -> Failure {
    Error::Usage(format!(
        "the token's management key is not the default: give it in {MANAGEMENT_KEY_VARIABLE} or \
         a file (--management-key-file), or keep it under the PIN with `ukey mgm change \
         --protect` (then the PIN in {PIN_VARIABLE} or on a terminal unlocks it)"
    ))
    .into()
}
