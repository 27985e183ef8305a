//! A new token's serial: the one `--serial` or the profile file names, else a random
//! eight-digit one, so that tokens made side by side can be told apart.

use std::fs;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

use crate::error::{Error, Result};

/// The smallest and one past the largest random serial: eight decimal digits.
const RANDOM_SERIALS: std::ops::Range<u32> = 10_000_000..100_000_000;

/// Whether the profile `name` (`default`, `bjca` or a TOML file) names a serial itself.
pub fn names_serial(name: &str) -> bool {
    match name {
        "default" | "bjca" => false,
        path => fs::read_to_string(path)
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .is_some_and(|table| table.contains_key("serial")),
    }
}

/// A random eight-digit serial: from the operating system, or from `seed` (with
/// `--insecure-seed`, so that seeded runs stay reproducible).
pub fn random_serial(seed: Option<u64>) -> Result<u32> {
    let draw = match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed ^ 0x5E71_A100).next_u32(),
        None => {
            let mut bytes = [0u8; 4];
            getrandom::fill(&mut bytes).map_err(|error| {
                Error::io("drawing a serial from the operating system", error.into())
            })?;
            u32::from_le_bytes(bytes)
        }
    };
    Ok(RANDOM_SERIALS.start + draw % (RANDOM_SERIALS.end - RANDOM_SERIALS.start))
}
