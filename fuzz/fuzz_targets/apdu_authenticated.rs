//! Command APDUs to a token after the PIN was verified and the management key
//! authenticated, so every command reaches its handler with the rights to act.
//! Invariants: no panic; no imported private scalar in any answer; the token opens again,
//! as it was, after a replug.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ukey_firmware::Profile;
use ukey_fuzz::{
    Flash, SCALARS, Step, assert_no_secret, assert_replugs, authenticate, made_token, open,
    readable_state, steps,
};

/// The token every run starts from.
struct Start {
    profile: Profile,
    image: Flash,
}

static START: LazyLock<Start> = LazyLock::new(|| {
    let profile = Profile::standard(0x0017_F022);
    let image = made_token(&profile);
    Start { profile, image }
});

fuzz_target!(|input: &[u8]| {
    let start = &*START;
    let secrets: Vec<&[u8]> = SCALARS.iter().map(|s| &s[..]).collect();
    let mut card = open(&start.image, &start.profile);
    authenticate(&mut card, &start.profile);
    for step in steps(input) {
        match step {
            Step::Reset => card.reset(),
            Step::Apdu(apdu) => assert_no_secret(card.process(apdu), &secrets, apdu),
        }
    }
    let state = readable_state(&mut card);
    assert_replugs(card, &state, &start.profile);
});
