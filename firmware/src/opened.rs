//! What opening a token from its flash gives: the token new or existing, the damage found
//! on the way, or why it could not be opened. The context opens; the card passes it on.

/// Why a token could not be opened from its flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The profile breaks a rule of the card edge.
    Profile(crate::ProfileError),
    /// The flash is smaller than the store needs or not page-aligned.
    FlashGeometry,
    /// The flash holds records this firmware did not write.
    Corrupted,
    /// The flash driver reported an error.
    Flash,
}

impl core::fmt::Display for OpenError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Profile(e) => write!(f, "the token profile is invalid: {e:?}"),
            Self::FlashGeometry => {
                f.write_str("the flash is too small or not made of whole 4 KiB pages")
            }
            Self::Corrupted => f.write_str("the flash holds records that are not a ukey token's"),
            Self::Flash => f.write_str("the flash reported an error"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for OpenError {}

/// What [`crate::Card::load`] found in the flash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// A blank flash, made into a new token from the profile just now: the moment for
    /// personalisation ([`crate::Card::import_key`], [`crate::Card::put_object`]).
    New,
    /// A token made before, with its own factory settings and contents, and what was found
    /// damaged in it ([`Damage::NONE`] on a sound flash).
    Existing(Damage),
}

/// What opening a token found damaged: to be shown to its holder, never skipped silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Records whose check failed, which the token ignores. A write cut by a power loss
    /// leaves one; more, or any with [`SecurityRecord`] not intact, mean damaged flash.
    pub failed_records: u16,
    /// How PIN, PUK and management key were read back.
    pub security: SecurityRecord,
}

impl Damage {
    /// Nothing damaged.
    pub const NONE: Self = Self {
        failed_records: 0,
        security: SecurityRecord::Intact,
    };

    /// Whether nothing was found damaged.
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }
}

/// How the security record (PIN, PUK, their counters, management key) was read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityRecord {
    /// As last written.
    Intact,
    /// One copy of the newest record was damaged; its twin, the same state, is in use and
    /// the copy was rewritten.
    FromTwin,
    /// Both copies of the newest record were damaged: an older state is in use (a PIN or
    /// management key changed since works no more, an old one works again, counters may be
    /// higher).
    RolledBack,
    /// No record survived while keys or objects remain: the token came back blocked. VERIFY
    /// of PIN or PUK answers `69 83`, the management key is random (9B authentication
    /// answers `69 82`), and only RESET (`00 FB 00 00`, allowed as PIN and PUK are blocked)
    /// brings it back, wiping every key and object.
    Lost,
}

impl core::fmt::Display for Damage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.failed_records > 0 {
            write!(
                f,
                "{} record(s) failed their check and are ignored (a power loss during a write leaves one)",
                self.failed_records
            )?;
            if self.security != SecurityRecord::Intact {
                f.write_str("; ")?;
            }
        }
        f.write_str(match self.security {
            SecurityRecord::Intact => "",
            SecurityRecord::FromTwin => {
                "one copy of the security record was damaged and was restored from its twin"
            }
            SecurityRecord::RolledBack => {
                "the newest security record was damaged: PIN, PUK and management key went back to an older state"
            }
            SecurityRecord::Lost => {
                "the security record is lost while keys or objects remain: the token is blocked (VERIFY answers 69 83, the management key is unknown); only RESET (00 FB) recovers it, wiping keys and objects"
            }
        })
    }
}
