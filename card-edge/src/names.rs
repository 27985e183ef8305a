//! The card edge's values as people and programs write them: `Display` for messages and
//! `FromStr` for command lines and files, one set of names for every host program.
//! Slots are written as their key reference (`9c`), algorithms as `sm2` or `p256`, policies
//! in lower case. Allocation-free: a wrong name gets [`UnknownName`], which says what the
//! right ones are.

use core::fmt;
use core::str::FromStr;

use crate::{Algorithm, KeyOrigin, ManagementKeyAlgorithm, PinPolicy, Slot, TouchPolicy};

/// A text that names none of a kind's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownName {
    /// What was being named ("slot", "algorithm").
    pub kind: &'static str,
    /// The names that would have been understood, as a sentence fragment.
    pub expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}; use {}", self.kind, self.expected)
    }
}

impl core::error::Error for UnknownName {}

/// The value of `names` whose names include `text`, compared without case or surrounding
/// blanks.
fn lookup<T: Copy>(
    text: &str,
    names: &[(&[&str], T)],
    kind: &'static str,
    expected: &'static str,
) -> Result<T, UnknownName> {
    let text = text.trim();
    names
        .iter()
        .find(|(spellings, _)| spellings.iter().any(|s| s.eq_ignore_ascii_case(text)))
        .map(|&(_, value)| value)
        .ok_or(UnknownName { kind, expected })
}

impl Slot {
    /// What the slot is for, in words (SP 800-73-4 part 1, 3.1).
    pub const fn purpose(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::Signature => "digital signature",
            Self::KeyManagement => "key management",
            Self::CardAuthentication => "card authentication",
        }
    }
}

/// The key reference in lower-case hex: `9a`, `9c`, `9d`, `9e`.
impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}", self.reference())
    }
}

/// `9a`/`authentication`, `9c`/`signature`, `9d`/`key-management`,
/// `9e`/`card-authentication`.
impl FromStr for Slot {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, UnknownName> {
        lookup(
            text,
            &[
                (&["9a", "authentication"], Self::Authentication),
                (&["9c", "signature"], Self::Signature),
                (&["9d", "key-management"], Self::KeyManagement),
                (&["9e", "card-authentication"], Self::CardAuthentication),
            ],
            "slot",
            "9a, 9c, 9d or 9e",
        )
    }
}

/// `ECC P-256` or `SM2`.
impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::P256 => "ECC P-256",
            Self::Sm2 => "SM2",
        })
    }
}

/// `p256` (also `p-256`, `eccp256`, `ecc-p256`) or `sm2`.
impl FromStr for Algorithm {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, UnknownName> {
        lookup(
            text,
            &[
                (&["p256", "p-256", "eccp256", "ecc-p256"], Self::P256),
                (&["sm2"], Self::Sm2),
            ],
            "algorithm",
            "sm2 or p256",
        )
    }
}

/// `3DES`, `AES-128`, `AES-192` or `AES-256`.
impl fmt::Display for ManagementKeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TripleDes => "3DES",
            Self::Aes128 => "AES-128",
            Self::Aes192 => "AES-192",
            Self::Aes256 => "AES-256",
        })
    }
}

/// `3des` (or `tdes`), `aes128`, `aes192`, `aes256`, with or without a dash.
impl FromStr for ManagementKeyAlgorithm {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, UnknownName> {
        lookup(
            text,
            &[
                (&["3des", "tdes"], Self::TripleDes),
                (&["aes128", "aes-128"], Self::Aes128),
                (&["aes192", "aes-192"], Self::Aes192),
                (&["aes256", "aes-256"], Self::Aes256),
            ],
            "management key algorithm",
            "3des, aes128, aes192 or aes256",
        )
    }
}

impl PinPolicy {
    /// Every PIN policy, loosest first.
    pub const ALL: [PinPolicy; 3] = [Self::Never, Self::Once, Self::Always];
}

/// `never`, `once` or `always`.
impl fmt::Display for PinPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Never => "never",
            Self::Once => "once",
            Self::Always => "always",
        })
    }
}

/// The names [`Display`](fmt::Display) writes.
impl FromStr for PinPolicy {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, UnknownName> {
        lookup(
            text,
            &[
                (&["never"], Self::Never),
                (&["once"], Self::Once),
                (&["always"], Self::Always),
            ],
            "PIN policy",
            "never, once or always",
        )
    }
}

impl TouchPolicy {
    /// Every touch policy.
    pub const ALL: [TouchPolicy; 3] = [Self::Never, Self::Always, Self::Cached];
}

/// `never`, `always` or `cached`.
impl fmt::Display for TouchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Never => "never",
            Self::Always => "always",
            Self::Cached => "cached",
        })
    }
}

/// The names [`Display`](fmt::Display) writes.
impl FromStr for TouchPolicy {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, UnknownName> {
        lookup(
            text,
            &[
                (&["never"], Self::Never),
                (&["always"], Self::Always),
                (&["cached"], Self::Cached),
            ],
            "touch policy",
            "never, always or cached",
        )
    }
}

/// `generated on the token` or `imported`.
impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Generated => "generated on the token",
            Self::Imported => "imported",
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn slots_read_back_what_they_write() {
        for slot in Slot::ALL {
            assert_eq!(slot.to_string().parse::<Slot>(), Ok(slot));
        }
        assert_eq!(" 9C ".parse::<Slot>(), Ok(Slot::Signature));
        assert_eq!("Key-Management".parse::<Slot>(), Ok(Slot::KeyManagement));
        let err = "9b".parse::<Slot>().unwrap_err();
        assert_eq!(err.to_string(), "unknown slot; use 9a, 9c, 9d or 9e");
    }

    #[test]
    fn algorithms_and_policies_parse_their_names() {
        assert_eq!("ECC-P256".parse::<Algorithm>(), Ok(Algorithm::P256));
        assert_eq!("sm2".parse::<Algorithm>(), Ok(Algorithm::Sm2));
        assert!("rsa".parse::<Algorithm>().is_err());
        for policy in PinPolicy::ALL {
            assert_eq!(policy.to_string().parse::<PinPolicy>(), Ok(policy));
        }
        for policy in TouchPolicy::ALL {
            assert_eq!(policy.to_string().parse::<TouchPolicy>(), Ok(policy));
        }
        assert!("default".parse::<PinPolicy>().is_err());
        assert_eq!(
            "AES-192".parse::<ManagementKeyAlgorithm>(),
            Ok(ManagementKeyAlgorithm::Aes192)
        );
    }
}
