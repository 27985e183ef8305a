//! `ukey key import` through a private pcscd (ukey-sim's testbed): a P-256 key made by
//! `openssl ecparam -genkey` (SEC1 after an `EC PARAMETERS` block) and an SM2 key made by
//! `openssl genpkey -algorithm SM2` (PKCS#8) go into their slots, are shown as imported, and
//! sign so that OpenSSL verifies with the public key of the file; a key already in a slot is
//! replaced only with `--force`; a file that holds no key the token takes is named with
//! what it holds.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{json, ok, run, ukey};
use ukey_sim::{Testbed, TokenOptions};

fn openssl(dir: &Path, args: &[&str]) -> String {
    ok(run(Command::new("openssl"), dir, args))
}

/// The stderr of a run that must exit with `code`, checked to contain `expected`.
fn refused(out: Output, code: i32, expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(expected), "{expected:?} not in: {stderr}");
    stderr
}

/// The slot's key as `ukey info --json` shows it.
fn shown_key(info: &serde_json::Value, slot: &str) -> serde_json::Value {
    let slots = info["slots"].as_array().unwrap();
    let report = slots.iter().find(|s| s["slot"] == slot).unwrap();
    report["key"].clone()
}

#[test]
fn p256_and_sm2_keys_made_by_openssl_sign_after_import() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let u = |args: &[&str]| ukey(&bed, d, args);

    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "p256.pem",
        ],
    );
    openssl(d, &["genpkey", "-algorithm", "SM2", "-out", "sm2.pem"]);
    for name in ["p256", "sm2"] {
        openssl(
            d,
            &[
                "pkey",
                "-in",
                &format!("{name}.pem"),
                "-pubout",
                "-out",
                &format!("{name}.pub"),
            ],
        );
    }

    let imported = json(u(&["--json", "key", "import", "--slot", "9a", "p256.pem"]));
    assert_eq!(imported["slot"], "9a");
    assert_eq!(imported["algorithm"], "p256");
    let p256_pub = std::fs::read_to_string(d.join("p256.pub")).unwrap();
    assert_eq!(
        imported["public_key"].as_str().unwrap().trim(),
        p256_pub.trim()
    );
    let said = ok(u(&[
        "key",
        "import",
        "--slot",
        "9c",
        "sm2.pem",
        "--alg",
        "sm2",
        "--pin-policy",
        "once",
    ]));
    assert!(
        said.contains("Imported the SM2 key of sm2.pem into slot 9c."),
        "{said}"
    );

    let info = json(u(&["--json", "info"]));
    for (slot, algorithm, pin_policy) in [("9a", "p256", "once"), ("9c", "sm2", "once")] {
        let key = shown_key(&info, slot);
        assert_eq!(key["origin"], "imported", "{slot}: {key}");
        assert_eq!(key["algorithm"], algorithm, "{slot}: {key}");
        assert_eq!(key["pin_policy"], pin_policy, "{slot}: {key}");
    }

    std::fs::write(d.join("msg"), b"signed by keys made elsewhere").unwrap();
    ok(u(&[
        "sign", "msg", "--slot", "9a", "--pin", "123456", "-o", "p256.sig",
    ]));
    assert!(
        openssl(
            d,
            &[
                "dgst",
                "-sha256",
                "-verify",
                "p256.pub",
                "-signature",
                "p256.sig",
                "msg"
            ]
        )
        .contains("Verified OK")
    );
    ok(u(&[
        "sign", "msg", "--slot", "9c", "--pin", "123456", "-o", "sm2.sig",
    ]));
    openssl(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "sm2.pub",
            "-rawin",
            "-in",
            "msg",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-sigfile",
            "sm2.sig",
        ],
    );
}

#[test]
fn a_full_slot_needs_force_and_a_file_without_a_usable_key_is_named() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let u = |args: &[&str]| ukey(&bed, d, args);

    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "a.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "a.pem", "-outform", "DER", "-out", "b.der",
        ],
    );
    openssl(d, &["pkey", "-in", "a.pem", "-pubout", "-out", "a.pub"]);
    openssl(
        d,
        &[
            "pkcs8", "-topk8", "-in", "a.pem", "-passout", "pass:x", "-out", "enc.pem",
        ],
    );
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "secp384r1",
            "-genkey",
            "-noout",
            "-out",
            "p384.pem",
        ],
    );

    ok(u(&["key", "generate", "--slot", "9d", "--alg", "sm2"]));
    refused(
        u(&["key", "import", "--slot", "9d", "a.pem"]),
        2,
        "slot 9d already holds a key",
    );
    assert_eq!(
        shown_key(&json(u(&["--json", "info"])), "9d")["origin"],
        "generated"
    );
    ok(u(&["key", "import", "--slot", "9d", "b.der", "--force"]));
    let key = shown_key(&json(u(&["--json", "info"])), "9d");
    assert_eq!(
        (&key["origin"], &key["algorithm"]),
        (&"imported".into(), &"p256".into())
    );

    for (file, alg, says) in [
        (
            "a.pub",
            "auto",
            "a.pub: this is a public key, not a private key",
        ),
        ("enc.pem", "auto", "enc.pem: the private key is encrypted"),
        (
            "p384.pem",
            "auto",
            "p384.pem: not a P-256 or SM2 private key",
        ),
        ("a.pem", "sm2", "a.pem: this is a P-256 key, not an SM2 key"),
    ] {
        refused(
            u(&["key", "import", "--slot", "9e", file, "--alg", alg]),
            2,
            says,
        );
    }
    refused(
        u(&["key", "import", "--slot", "9e", "missing.pem"]),
        1,
        "missing.pem",
    );
    refused(u(&["key", "import", "--slot", "9b", "a.pem"]), 2, "9b");
    // Nothing was put into 9E by the refused imports.
    assert!(shown_key(&json(u(&["--json", "info"])), "9e").is_null());
}
