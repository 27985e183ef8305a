//! The control socket's protocol: one command a connection, on one line, answered by zero
//! or more `slot` lines and then one line `ok` or `error: REASON`; then the socket closes.
//! For example `echo 'remove 0' | socat - UNIX-CONNECT:/run/ukey-ifd/reader0.sock`.
//!
//! ```text
//! insert SLOT [IMAGE]   plug a token in: IMAGE (made from the slot's profile if new), or
//!                       the slot's configured image; a relative IMAGE is taken from the
//!                       configuration file's folder
//! remove SLOT           pull the token out (its image is flushed and unlocked)
//! status                one line per slot: `slot N present IMAGE` or `slot N empty`
//! ```

use std::path::PathBuf;

/// A control command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Plug a token into `slot`.
    Insert {
        /// The slot, from 0.
        slot: usize,
        /// Its image; `None` takes the slot's configured image.
        image: Option<PathBuf>,
    },
    /// Pull the token out of `slot`.
    Remove {
        /// The slot, from 0.
        slot: usize,
    },
    /// List the slots.
    Status,
}

impl Command {
    /// Parses one line (without its newline); the error says what is wrong.
    pub fn parse(line: &str) -> Result<Self, String> {
        let line = line.trim();
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match verb {
            "insert" => {
                let (slot, image) = rest.split_once(' ').unwrap_or((rest, ""));
                let image = image.trim();
                Ok(Self::Insert {
                    slot: slot_number(slot)?,
                    image: (!image.is_empty()).then(|| PathBuf::from(image)),
                })
            }
            "remove" => Ok(Self::Remove {
                slot: slot_number(rest)?,
            }),
            "status" if rest.is_empty() => Ok(Self::Status),
            "status" => Err("status takes no argument".to_string()),
            "" => Err("empty command; use insert, remove or status".to_string()),
            other => Err(format!(
                "unknown command {other:?}; use insert, remove or status"
            )),
        }
    }

    /// The command as one line, with its newline; `None` for an image path the protocol
    /// cannot carry (not UTF-8, or with a line break).
    pub fn line(&self) -> Option<String> {
        match self {
            Self::Insert { slot, image: None } => Some(format!("insert {slot}\n")),
            Self::Insert {
                slot,
                image: Some(image),
            } => {
                let image = image.to_str().filter(|path| !path.contains(['\n', '\r']))?;
                Some(format!("insert {slot} {image}\n"))
            }
            Self::Remove { slot } => Some(format!("remove {slot}\n")),
            Self::Status => Some("status\n".to_string()),
        }
    }
}

/// What a slot holds, as `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotStatus {
    /// The slot, from 0.
    pub slot: usize,
    /// The image of the token in it; `None` when empty.
    pub image: Option<PathBuf>,
}

impl SlotStatus {
    /// The status line, with its newline.
    pub fn line(&self) -> String {
        match &self.image {
            Some(image) => format!("slot {} present {}\n", self.slot, image.display()),
            None => format!("slot {} empty\n", self.slot),
        }
    }

    /// Parses a status line (without its newline).
    pub fn parse(line: &str) -> Option<Self> {
        let rest = line.strip_prefix("slot ")?;
        let (slot, rest) = rest.split_once(' ')?;
        let slot = slot.parse().ok()?;
        if rest == "empty" {
            return Some(Self { slot, image: None });
        }
        let image = rest.strip_prefix("present ")?;
        Some(Self {
            slot,
            image: Some(PathBuf::from(image)),
        })
    }
}

/// The line that ends a successful answer.
pub const OK: &str = "ok";
/// How the line that ends a refused command starts; the reason follows.
pub const ERROR_PREFIX: &str = "error: ";

fn slot_number(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a slot number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_from_their_own_lines() {
        let commands = [
            Command::Insert {
                slot: 2,
                image: Some(PathBuf::from("/tmp/a token.img")),
            },
            Command::Insert {
                slot: 0,
                image: None,
            },
            Command::Remove { slot: 15 },
            Command::Status,
        ];
        for command in commands {
            let line = command.line().unwrap();
            assert_eq!(Command::parse(line.trim_end_matches('\n')), Ok(command));
        }
    }

    #[test]
    fn malformed_commands_say_what_is_wrong() {
        assert!(
            Command::parse("insert")
                .unwrap_err()
                .contains("slot number")
        );
        assert!(Command::parse("remove x").unwrap_err().contains("\"x\""));
        assert!(Command::parse("eject 1").unwrap_err().contains("unknown"));
        assert!(Command::parse("status 1").is_err());
        assert!(Command::parse("").is_err());
        let newline = Command::Insert {
            slot: 0,
            image: Some(PathBuf::from("a\nremove 0")),
        };
        assert_eq!(newline.line(), None);
    }

    #[test]
    fn status_lines_round_trip() {
        for status in [
            SlotStatus {
                slot: 1,
                image: Some(PathBuf::from("/x/y z.img")),
            },
            SlotStatus {
                slot: 0,
                image: None,
            },
        ] {
            let line = status.line();
            assert_eq!(SlotStatus::parse(line.trim_end_matches('\n')), Some(status));
        }
        assert_eq!(SlotStatus::parse("ok"), None);
    }
}
