//! Command APDUs to a token whose PIN, PUK and management key the input cannot know.
//! Invariants: no panic; no private scalar, PIN, PUK or management key in any answer; no
//! secret is ever accepted; nothing a host can read changes unless RESET (allowed once PIN
//! and PUK are blocked) succeeded; the token opens again, as it was, after a replug
//! (checked when the commands wrote to the flash, as wrong tries do).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ukey_firmware::Profile;
use ukey_fuzz::{
    Flash, SCALARS, Secrets, Step, assert_replugs, made_token, open, open_tracked, readable_state,
    secret_profile, steps,
};

/// The token every run starts from, and what a host reads from it.
struct Start {
    profile: Profile,
    image: Flash,
    state: Vec<Vec<u8>>,
    secrets: Secrets,
}

static START: LazyLock<Start> = LazyLock::new(|| {
    let profile = secret_profile();
    let image = made_token(&profile);
    let state = readable_state(&mut open(&image, &profile));
    let mut secrets: Vec<&[u8]> = SCALARS.iter().map(|s| &s[..]).collect();
    secrets.extend([
        &profile.pin[..],
        &profile.puk[..],
        &profile.management_key.key[..],
    ]);
    let secrets = Secrets::new(secrets);
    Start {
        profile,
        image,
        state,
        secrets,
    }
});

/// Commands that prove a secret: VERIFY with a PIN, CHANGE REFERENCE DATA, RESET RETRY
/// COUNTER. None may succeed here.
fn proves_secret(apdu: &[u8]) -> bool {
    matches!(apdu, [_, 0x20, 0x00, ..] | [_, 0x24, ..] | [_, 0x2C, ..])
}

fuzz_target!(|input: &[u8]| {
    let start = &*START;
    let profile = &start.profile;
    let (mut card, written) = open_tracked(&start.image, profile);
    let mut factory_reset = false;
    for step in steps(input) {
        let apdu = match step {
            Step::Reset => {
                card.reset();
                continue;
            }
            Step::Apdu(apdu) => apdu,
        };
        let answer = card.process(apdu);
        start.secrets.assert_absent(answer, apdu);
        let whole_command = apdu.first().is_some_and(|cla| cla & 0x10 == 0);
        if whole_command && answer == [0x90, 0x00] {
            assert!(!proves_secret(apdu), "a secret was accepted: {apdu:02X?}");
            factory_reset |= apdu.get(1) == Some(&0xFB);
        }
    }
    let state = readable_state(&mut card);
    if !factory_reset {
        assert_eq!(
            state, start.state,
            "the token changed without authentication"
        );
    }
    if written.get() {
        assert_replugs(card, &state, profile);
    }
});
