//! Safe by default (issue 16), through a private pcscd: several tokens and no `--reader`
//! are refused with the list; a key or a still-valid certificate is replaced only with
//! `--force`; factory values and the current value are refused as a new PIN or PUK, and a
//! PIN counts in one unit; signing with a factory PIN warns; a certificate in its renewal
//! window is a top-level warning with the day the window opened and how to renew.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

mod support;

use std::path::Path;
use std::process::Output;

use support::{json, ok, ukey};
use ukey_sim::{Testbed, TokenOptions};

/// The stderr of a run that must exit 2 (wrong usage), with the message checked to name
/// `expected`.
fn refused(out: Output, expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(expected), "{expected:?} not in: {stderr}");
    stderr
}

fn pin_tries_left(bed: &Testbed, dir: &Path, reader: &str) -> u64 {
    let status = ok(ukey(
        bed,
        dir,
        &["--reader", reader, "--json", "pin", "status"],
    ));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    status["pin"]["tries_left"].as_u64().unwrap()
}

#[test]
fn several_tokens_and_no_reader_are_refused_with_the_list() {
    let mut bed = Testbed::start(1).unwrap();
    bed.insert(0, &TokenOptions::default()).unwrap();
    bed.insert(1, &TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (first, second) = (bed.reader(0).unwrap(), bed.reader(1).unwrap());

    let stderr = refused(ukey(&bed, d, &["info"]), "2 ukey tokens are connected");
    assert!(
        stderr.contains(&first) && stderr.contains(&second),
        "{stderr}"
    );
    assert!(stderr.contains("--reader"), "{stderr}");
    refused(
        ukey(
            &bed,
            d,
            &["key", "generate", "--slot", "9c", "--alg", "sm2"],
        ),
        "2 ukey tokens",
    );
    let info = ok(ukey(&bed, d, &["--reader", &second, "--json", "info"]));
    assert!(info.contains(&second), "{info}");

    // Signing with a factory PIN warns.
    let on_first = |args: &[&str]| {
        let mut all = vec!["--reader", first.as_str()];
        all.extend_from_slice(args);
        ukey(&bed, d, &all)
    };
    ok(on_first(&[
        "key", "generate", "--slot", "9a", "--alg", "p256",
    ]));
    std::fs::write(d.join("doc.txt"), b"a document").unwrap();
    let signed = on_first(&["sign", "--slot", "9a", "--pin", "123456", "doc.txt"]);
    let stderr = String::from_utf8_lossy(&signed.stderr).into_owned();
    ok(signed);
    assert!(
        stderr.contains("warning: the PIN is a factory value"),
        "{stderr}"
    );
}

#[test]
fn keys_pins_and_certificates_are_safe_by_default() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let reader = bed.reader(0).unwrap();
    let u = |args: &[&str]| {
        let mut all = vec!["--reader", reader.as_str()];
        all.extend_from_slice(args);
        ukey(&bed, d, &all)
    };

    // PIN rules: factory values, the current value and non-ASCII are refused before the
    // token is asked, so no try is spent.
    refused(
        u(&["pin", "change", "--old", "123456", "--new", "12345678"]),
        "factory value",
    );
    refused(
        u(&[
            "pin", "change", "--puk", "--old", "12345678", "--new", "123456",
        ]),
        "factory value",
    );
    refused(
        u(&["pin", "change", "--old", "123456", "--new", "ééé"]),
        "ASCII",
    );
    assert_eq!(pin_tries_left(&bed, d, &reader), 3);
    ok(u(&[
        "pin", "change", "--old", "123456", "--new", "24681357",
    ]));
    refused(
        u(&["pin", "change", "--old", "24681357", "--new", "24681357"]),
        "the current one",
    );
    assert_eq!(pin_tries_left(&bed, d, &reader), 3);

    // A key in a slot is replaced only with --force.
    ok(u(&[
        "key",
        "generate",
        "--slot",
        "9c",
        "--alg",
        "sm2",
        "-o",
        "first.pub",
    ]));
    let stderr = refused(
        u(&["key", "generate", "--slot", "9c", "--alg", "sm2"]),
        "already holds a key",
    );
    assert!(stderr.contains("--force"), "{stderr}");
    ok(u(&[
        "key", "generate", "--force", "--slot", "9c", "--alg", "sm2", "-o", "9c.pub",
    ]));
    assert_ne!(
        std::fs::read(d.join("first.pub")).unwrap(),
        std::fs::read(d.join("9c.pub")).unwrap()
    );

    // A certificate due for renewal (the CA issues 30 days) is a top-level warning.
    ok(u(&["ca", "init", "--dir", "ca", "--alg", "sm2"]));
    let subject = "CN=Renewal Test,O=ukey,C=CN";
    ok(u(&[
        "csr",
        "--slot",
        "9c",
        "--subject",
        subject,
        "--pin",
        "24681357",
        "-o",
        "9c.csr",
    ]));
    ok(u(&[
        "ca",
        "issue",
        "--dir",
        "ca",
        "--days",
        "30",
        "9c.csr",
        "-o",
        "short.crt",
    ]));
    ok(u(&["cert", "import", "--slot", "9c", "short.crt"]));
    let info: serde_json::Value = json(u(&["--json", "info"]));
    let warnings = info["warnings"].as_array().unwrap();
    let renewal = warnings
        .iter()
        .filter_map(|w| w.as_str())
        .find(|w| w.contains("slot 9c"))
        .unwrap_or_else(|| panic!("no renewal warning in {warnings:?}"));
    let opens = info["slots"][1]["certificate"]["renewal_opens"]
        .as_str()
        .unwrap();
    assert!(renewal.contains(opens), "{renewal}");
    assert!(renewal.contains("ukey csr --slot 9c"), "{renewal}");
    let text = ok(u(&["info"]));
    assert!(
        text.contains("WARNING: the certificate in slot 9c"),
        "{text}"
    );

    // A different certificate for the same key replaces the valid one only with --force.
    ok(u(&[
        "ca", "issue", "--dir", "ca", "--days", "365", "9c.csr", "-o", "long.crt",
    ]));
    refused(
        u(&["cert", "import", "--slot", "9c", "long.crt"]),
        "already holds a certificate for its key",
    );
    ok(u(&[
        "cert", "import", "--force", "--slot", "9c", "long.crt",
    ]));
    let info: serde_json::Value = json(u(&["--json", "info"]));
    assert!(
        !info["warnings"].to_string().contains("slot 9c"),
        "{}",
        info["warnings"]
    );

    // A certificate that is its key's is deleted only with --force.
    refused(
        u(&["cert", "delete", "--slot", "9c"]),
        "is the one of its key",
    );
    let deleted = json(u(&["--json", "cert", "delete", "--force", "--slot", "9c"]));
    assert_eq!(deleted["slot"], "9c");
    assert_eq!(
        u(&["cert", "export", "--slot", "9c"]).status.code(),
        Some(8)
    );
    ok(u(&["cert", "import", "--slot", "9c", "long.crt"]));

    // Signing with a PIN of one's own gives no warning.
    std::fs::write(d.join("doc.txt"), b"a document").unwrap();
    let signed = u(&["sign", "--slot", "9c", "--pin", "24681357", "doc.txt"]);
    assert!(!String::from_utf8_lossy(&signed.stderr).contains("factory value"));
    ok(signed);
}
