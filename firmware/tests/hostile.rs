//! A hostile client against the PIN and PUK (issue 17, "hostile-client checks"): every route
//! that compares a secret spends from one counter, the counter survives resets and replugs,
//! and no PIN block, however malformed, is accepted or gives a try back. In process by
//! default, and on the QEMU board or a reader as the conformance cases are.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use support::*;
use ukey_firmware::Profile;

/// The `00 F7 00 ref` metadata's tries left (`06 02 total left`).
fn tries_left<T: Token + ?Sized>(card: &mut T, reference: u8) -> u8 {
    let meta = expect(card, &apdu(0, 0xF7, 0, reference, &[]), 0x9000);
    *meta.last().expect("metadata")
}

fn pair(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut data = padded(old);
    data.extend(padded(new));
    data
}

#[test]
fn verify_and_change_reference_data_spend_one_pin_counter() {
    let mut c = token();
    assert_eq!(verify(&mut c, b"000000"), 0x63C2);
    expect(
        &mut c,
        &apdu(0, 0x24, 0, 0x80, &pair(b"000000", b"111111")),
        0x63C1,
    );
    c.reset();
    expect(&mut c, &h("00 20 00 80"), 0x63C1);
    select(&mut c);
    assert_eq!(tries_left(&mut c, 0x80), 1);
    assert_eq!(verify(&mut c, b"999999"), 0x63C0);
    assert_eq!(verify(&mut c, b"123456"), 0x6983);
    expect(
        &mut c,
        &apdu(0, 0x24, 0, 0x80, &pair(b"123456", b"111111")),
        0x6983,
    );
    // Signing with a PIN-always key cannot stand in for a guess.
    authenticate_default(&mut c);
    generate(&mut c, 0x9C, 0x11);
    assert_eq!(sign(&mut c, 0x9C, 0x11, &[1; 32]).0, 0x6982);
    if skipped_on_reader(
        "verify_and_change_reference_data_spend_one_pin_counter (replug)",
        "replugs the token with its flash image",
    ) {
        return;
    }
    let mut c = replug(&c.into_image(), &Profile::standard(0x1234_5678), 2);
    assert_eq!(verify(&mut c, b"123456"), 0x6983);
}

#[test]
fn reset_retry_counter_and_change_reference_data_spend_one_puk_counter() {
    let mut c = token();
    expect(
        &mut c,
        &apdu(0, 0x2C, 0, 0x80, &pair(b"00000000", b"111111")),
        0x63C2,
    );
    expect(
        &mut c,
        &apdu(0, 0x24, 0, 0x81, &pair(b"00000000", b"11111111")),
        0x63C1,
    );
    c.reset();
    assert_eq!(tries_left(&mut c, 0x81), 1);
    expect(
        &mut c,
        &apdu(0, 0x2C, 0, 0x80, &pair(b"99999999", b"111111")),
        0x63C0,
    );
    expect(
        &mut c,
        &apdu(0, 0x2C, 0, 0x80, &pair(b"12345678", b"111111")),
        0x6983,
    );
    expect(
        &mut c,
        &apdu(0, 0x24, 0, 0x81, &pair(b"12345678", b"11111111")),
        0x6983,
    );
    // The PIN itself is untouched by the PUK's block.
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
}

/// Blocks of eight bytes that are no well-formed PIN, the right PIN among them in other
/// encodings: each is refused (`6A 80`, no try spent) or counted as a wrong try; none is
/// accepted, and none gives a try back.
#[test]
fn malformed_pin_blocks_are_never_accepted() {
    let mut c = token();
    let blocks: [&[u8]; 9] = [
        b"123456\x00\x00",
        b"123456\xFF\x00",
        b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        b"12345\xFF\xFF\xFF",
        b"\xFF123456\xFF",
        b"1234567\xFF",
        b"12 3456\xFF",
        b"123456  ",
        b"\x001234567",
    ];
    let mut left = 3;
    for block in blocks {
        let sw = send(&mut c, &apdu(0, 0x20, 0, 0x80, block)).1;
        match sw {
            0x6A80 => {}
            0x63C0..=0x63CF => left -= 1,
            other => panic!("{block:02X?}: {other:04X}"),
        }
        assert_eq!(
            sw & 0x000F,
            if sw == 0x6A80 { 0 } else { left },
            "{block:02X?}"
        );
        assert_eq!(tries_left(&mut c, 0x80), left as u8, "{block:02X?}");
        if left == 1 {
            assert_eq!(verify(&mut c, b"123456"), 0x9000);
            left = 3;
        }
    }
    // Lengths other than eight are malformed commands and spend nothing.
    for len in [1, 6, 7, 9, 16] {
        let sw = send(&mut c, &apdu(0, 0x20, 0, 0x80, &vec![b'1'; len])).1;
        assert!(matches!(sw, 0x6700 | 0x6A80), "{len} bytes: {sw:04X}");
        assert_eq!(tries_left(&mut c, 0x80), left as u8, "{len} bytes");
    }
}
