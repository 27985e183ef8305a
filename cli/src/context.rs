//! What every subcommand gets: the global options, the token they name, and output as
//! text or JSON.

use std::io::IsTerminal;

use serde::Serialize;
use ukey_host::{ManagementKey, Selector, Token};

use crate::Failure;

/// What every subcommand gets: the global options and helpers around them.
pub(crate) struct Ctx {
    /// `--json`: print JSON instead of text.
    pub(crate) json: bool,
    /// The token `--reader` or `--serial` names.
    pub(crate) selector: Selector,
    /// `--management-key`.
    pub(crate) management_key: Option<String>,
}

impl Ctx {
    /// Opens the token the global options name.
    pub(crate) fn open(&self) -> Result<Token, Failure> {
        self.progress("Looking for the token…");
        Ok(Token::open(&self.selector)?)
    }

    /// The management key the options give, or the default.
    pub(crate) fn management_key(&self) -> Result<ManagementKey, Failure> {
        Ok(match &self.management_key {
            Some(hex) => ManagementKey::from_hex(hex, None)?,
            None => ManagementKey::default(),
        })
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
