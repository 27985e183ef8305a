//! A token profile file (the simulator's `--profile FILE`) from arbitrary text, its fixture
//! files looked up in a directory that does not exist.
//! Invariants: no panic; a profile that loads is one a token can be made from: it
//! validates, and a blank flash opens as a new token with it.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ukey_firmware::Card;
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};
use ukey_fuzz::rng;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = ukey_sim::profile::from_toml(text, Path::new("/nonexistent/ukey-fuzz")) else {
        return;
    };
    assert_eq!(
        loaded.profile.validate(),
        Ok(()),
        "a loaded profile is invalid"
    );
    let flash = RamFlash::<{ 4 * PAGE_SIZE }>::new();
    let opened = Card::open(flash, rng(1), &loaded.profile).map(drop);
    assert_eq!(opened, Ok(()), "a loaded profile makes no token");
});
