//! Command APDUs to a token after the PIN was verified and the management key
//! authenticated, so every command reaches its handler with the rights to act.
//! Invariants: no panic; no imported private scalar in any answer; the token opens again,
//! as it was, after a replug.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ukey_firmware::Profile;
use ukey_fuzz::{
    Flash, SCALARS, Secrets, Step, assert_replugs, authenticate, made_token, open, readable_state,
    steps,
};

/// The token every run starts from.
struct Start {
    profile: Profile,
    image: Flash,
    secrets: Secrets,
}

static START: LazyLock<Start> = LazyLock::new(|| {
    let profile = Profile::standard(0x0017_F022);
    let image = made_token(&profile);
    let secrets = Secrets::new(SCALARS.iter().map(|s| &s[..]));
    Start {
        profile,
        image,
        secrets,
    }
});

fuzz_target!(|input: &[u8]| {
    let start = &*START;
    let mut card = open(&start.image, &start.profile);
    authenticate(&mut card, &start.profile);
    for step in steps(input) {
        match step {
            Step::Reset => card.reset(),
            Step::Apdu(apdu) => start.secrets.assert_absent(card.process(apdu), apdu),
        }
    }
    let state = readable_state(&mut card);
    assert_replugs(card, &state, &start.profile);
});
