//! Command APDUs to a token after the PIN was verified and the management key
//! authenticated, so every command reaches its handler with the rights to act.
//! Invariants: no panic; no imported private scalar in any answer; the token opens again,
//! as it was, after a replug (checked when the commands wrote to the flash; START checks the flash that
//! authenticating leaves).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ukey_firmware::Profile;
use ukey_fuzz::{
    Flash, SCALARS, Secrets, Step, assert_replugs, authenticate, made_token, open_tracked,
    readable_state, steps,
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
    // Authenticating writes (VERIFY spends a try, then restores it), the same bytes in every
    // run; the flash it leaves must replug, so a run that writes nothing more need not.
    let (mut card, _) = open_tracked(&image, &profile);
    authenticate(&mut card, &profile);
    let state = readable_state(&mut card);
    assert_replugs(card, &state, &profile);
    let secrets = Secrets::new(SCALARS.iter().map(|s| &s[..]));
    Start {
        profile,
        image,
        secrets,
    }
});

fuzz_target!(|input: &[u8]| {
    let start = &*START;
    let (mut card, written) = open_tracked(&start.image, &start.profile);
    authenticate(&mut card, &start.profile);
    written.set(false);
    for step in steps(input) {
        match step {
            Step::Reset => card.reset(),
            Step::Apdu(apdu) => start.secrets.assert_absent(card.process(apdu), apdu),
        }
    }
    if written.get() {
        let state = readable_state(&mut card);
        assert_replugs(card, &state, &start.profile);
    }
});
