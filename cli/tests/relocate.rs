//! `ukey key move` and `ukey key delete` through a private pcscd: a key moves with its
//! certificate into an empty slot; a destination with a key is refused, one with a
//! certificate only with `--force`; a key is deleted only with `--force`, its certificate
//! kept.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

mod support;

use std::process::Output;

use support::{json, ok, ukey};
use ukey_sim::{Testbed, TokenOptions};

/// The stderr of a run that must exit 2 (wrong usage), checked to name `expected`.
fn refused(out: Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(expected), "{expected:?} not in: {stderr}");
}

#[test]
fn keys_move_with_their_certificate_and_are_deleted_only_when_forced() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let reader = bed.reader(0).unwrap();
    let u = |args: &[&str]| {
        let mut all = vec!["--reader", reader.as_str()];
        all.extend_from_slice(args);
        ukey(&bed, d, &all)
    };
    let slots = || json(u(&["--json", "info"]))["slots"].clone();

    ok(u(&["ca", "init", "--dir", "ca", "--alg", "p256"]));
    ok(u(&[
        "key", "generate", "--slot", "9a", "--alg", "p256", "-o", "9a.pub",
    ]));
    ok(u(&[
        "csr",
        "--slot",
        "9a",
        "--subject",
        "CN=Mover",
        "--pin",
        "123456",
        "-o",
        "9a.csr",
    ]));
    ok(u(&["ca", "issue", "--dir", "ca", "9a.csr", "-o", "9a.crt"]));
    ok(u(&["cert", "import", "--slot", "9a", "9a.crt"]));
    ok(u(&[
        "key", "generate", "--slot", "9d", "--alg", "sm2", "-o", "9d.pub",
    ]));
    let before = slots();
    assert!(
        !before[0]["key"].is_null() && !before[0]["certificate"].is_null(),
        "{before}"
    );

    refused(u(&["key", "move", "9a", "9d"]), "already holds a key");
    refused(u(&["key", "move", "9e", "9c"]), "holds no key");
    let moved = ok(u(&["key", "move", "9a", "9e"]));
    assert!(moved.contains("with its certificate"), "{moved}");
    let after = slots();
    assert_eq!(after[3]["key"], before[0]["key"], "{after}");
    assert_eq!(after[3]["certificate"], before[0]["certificate"], "{after}");
    assert!(
        after[0]["key"].is_null() && after[0]["certificate"].is_null(),
        "{after}"
    );

    // A certificate in the destination is lost by a move: only with --force.
    ok(u(&["cert", "import", "--slot", "9c", "9a.crt", "--force"]));
    refused(u(&["key", "move", "9d", "9c"]), "--force");
    ok(u(&["key", "move", "9d", "9c", "--force"]));
    let after = slots();
    assert_eq!(after[1]["key"], before[2]["key"], "{after}");
    assert!(after[1]["certificate"].is_null(), "{after}");

    refused(u(&["key", "delete", "9e"]), "--force");
    assert!(!slots()[3]["key"].is_null());
    let deleted = ok(u(&["key", "delete", "9e", "--force"]));
    assert!(deleted.contains("its certificate stays"), "{deleted}");
    let after = slots();
    assert!(after[3]["key"].is_null(), "{after}");
    assert!(!after[3]["certificate"].is_null(), "{after}");
    refused(u(&["key", "delete", "9e", "--force"]), "holds no key");
}
