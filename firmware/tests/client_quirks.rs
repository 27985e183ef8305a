//! What real clients send that the card edge does not spell out, answered as a careful
//! SP 800-73-4 card would.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use support::{DEFAULT_MGMT, authenticate, card, h, send};
use ukey_firmware::ManagementKeyAlgorithm;

/// OpenSC's `piv_get_challenge` (behind PKCS#11 `C_GenerateRandom`, which
/// `pkcs11-tool --test` calls) asks for a 9B challenge with algorithm `00`, the legacy
/// number of three-key 3DES (SP 800-78-4, table 6-2).
#[test]
fn a_challenge_with_algorithm_00_is_a_3des_challenge() {
    let mut c = card();
    let get_challenge = h("00 87 00 9B 04 7C 02 81 00");
    let (first, sw) = send(&mut c, &get_challenge);
    assert_eq!(sw, 0x9000);
    assert_eq!(first[..4], [0x7C, 0x0A, 0x81, 0x08], "{first:02X?}");
    let (second, sw) = send(&mut c, &get_challenge);
    assert_eq!(sw, 0x9000);
    assert_ne!(first, second, "each challenge is fresh");
    // Asking for a challenge authenticates nothing.
    assert_eq!(send(&mut c, &h("00 47 00 9A 05 AC 03 80 01 11")).1, 0x6982);
    // And the 3DES key still authenticates under its own number.
    assert_eq!(
        authenticate(&mut c, ManagementKeyAlgorithm::TripleDes, &DEFAULT_MGMT),
        0x9000
    );
}

#[test]
fn algorithm_00_does_not_name_an_aes_management_key() {
    let mut c = card();
    assert_eq!(
        authenticate(&mut c, ManagementKeyAlgorithm::TripleDes, &DEFAULT_MGMT),
        0x9000
    );
    let aes = [0x11; 16];
    let mut set = h("00 FF FF FF 13 08 9B 10");
    set.extend_from_slice(&aes);
    assert_eq!(send(&mut c, &set).1, 0x9000);
    assert_eq!(send(&mut c, &h("00 87 00 9B 04 7C 02 81 00")).1, 0x6A86);
}
