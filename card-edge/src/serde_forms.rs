//! Slots in serde's data formats as their names (`"9c"`), the way people write them; the
//! other values derive their forms where they are declared. Behind the `serde` feature.

use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Slot;

impl Serialize for Slot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(SlotName)
    }
}

/// Reads a slot from its name.
struct SlotName;

impl Visitor<'_> for SlotName {
    type Value = Slot;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a slot: 9a, 9c, 9d or 9e")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Slot, E> {
        text.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Algorithm, ManagementKeyAlgorithm, PinPolicy, Slot};

    /// The JSON forms `ukey --json` writes: the names the command line takes.
    #[test]
    fn json_forms() {
        let written = serde_json::to_string(&(
            Slot::Signature,
            Algorithm::P256,
            PinPolicy::Always,
            ManagementKeyAlgorithm::TripleDes,
        ))
        .unwrap();
        assert_eq!(written, r#"["9c","p256","always","3des"]"#);
        let aes: ManagementKeyAlgorithm = serde_json::from_str(r#""aes192""#).unwrap();
        assert_eq!(aes, ManagementKeyAlgorithm::Aes192);
        let read: (Slot, Algorithm) = serde_json::from_str(r#"["9E","sm2"]"#).unwrap();
        assert_eq!(read, (Slot::CardAuthentication, Algorithm::Sm2));
        assert!(serde_json::from_str::<Slot>(r#""9b""#).is_err());
    }
}
