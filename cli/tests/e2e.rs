//! Issue 4's acceptance: the `ukey` binary end to end against ukey-sim through a private
//! pcscd (ukey-sim's testbed: its own mount namespace, so it runs as root). The whole
//! lifecycle of a token, then `ukey doctor` when healthy, with no card and with pcscd
//! stopped.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

mod support;

use std::path::Path;
use std::process::Command;

use support::{UKEY, json, ok, run, ukey};
use ukey_sim::{Testbed, TokenOptions};
const PIN: &str = "24681357";

fn openssl(dir: &Path, args: &[&str]) {
    ok(run(Command::new("openssl"), dir, args));
}

#[test]
fn lifecycle_of_a_token() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let u = |args: &[&str]| ukey(&bed, d, args);

    let listed = json(u(&["--json", "list"]));
    assert!(listed[0]["token"]["serial"].as_u64().is_some(), "{listed}");

    // A new token: the default PIN is pointed out, then changed.
    let info = json(u(&["--json", "info"]));
    assert_eq!(info["pin"]["is_default"], true);
    assert_eq!(
        info["label"], info["device"]["label"],
        "one label, one form: {info}"
    );
    assert!(
        info["warnings"][0]
            .as_str()
            .unwrap()
            .contains("change it before first use")
    );
    let human = ok(u(&["info"]));
    assert!(human.contains("change it before first use"), "{human}");
    ok(u(&["pin", "change", "--old", "123456", "--new", PIN]));
    assert_eq!(
        json(u(&["--json", "pin", "status"]))["pin"]["is_default"],
        false
    );

    // Keys made on the token, requests signed on it, certificates from the test CA.
    ok(u(&[
        "key", "generate", "--slot", "9c", "--alg", "sm2", "-o", "sm2.pub",
    ]));
    ok(u(&[
        "key", "generate", "--slot", "9a", "--alg", "p256", "-o", "p256.pub",
    ]));
    ok(u(&["ca", "init", "--dir", "ca-sm2", "--alg", "sm2"]));
    ok(u(&["ca", "init", "--dir", "ca-p256", "--alg", "p256"]));
    let subject = "CN=张三,O=北京某某科技有限公司,OU=91350100M000100Y43,C=CN";
    ok(u(&[
        "csr",
        "--slot",
        "9c",
        "--subject",
        subject,
        "--pin",
        PIN,
        "-o",
        "sm2.csr",
    ]));
    openssl(
        d,
        &[
            "req",
            "-verify",
            "-noout",
            "-in",
            "sm2.csr",
            "-vfyopt",
            "distid:1234567812345678",
        ],
    );
    ok(u(&[
        "csr",
        "--slot",
        "9a",
        "--subject",
        "/C=CN/O=Example/CN=Li Si",
        "--pin",
        PIN,
        "-o",
        "p256.csr",
    ]));
    openssl(d, &["req", "-verify", "-noout", "-in", "p256.csr"]);
    ok(u(&[
        "ca", "issue", "--dir", "ca-sm2", "sm2.csr", "-o", "sm2.crt",
    ]));
    ok(u(&[
        "ca", "issue", "--dir", "ca-p256", "p256.csr", "--days", "60", "-o", "p256.crt",
    ]));
    ok(u(&["cert", "import", "--slot", "9c", "sm2.crt"]));
    ok(u(&["cert", "import", "--slot", "9a", "p256.crt"]));
    let refused = u(&["cert", "import", "--slot", "9a", "sm2.crt"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a certificate for another key is refused"
    );

    // info shows the holder and the renewal state.
    let info = json(u(&["--json", "info"]));
    let slots = info["slots"].as_array().unwrap();
    let slot = |name: &str| slots.iter().find(|s| s["slot"] == name).unwrap();
    assert_eq!(
        slot("9c")["certificate"]["organisation"],
        "北京某某科技有限公司"
    );
    assert_eq!(slot("9c")["certificate"]["renewal"], "valid");
    assert_eq!(
        slot("9c")["certificate"]["organisation_ids"][0]["check_ok"],
        true
    );
    assert_eq!(slot("9c")["key"]["origin"], "generated");
    assert_eq!(slot("9a")["certificate"]["renewal"], "renew_now");
    assert_eq!(slot("9a")["certificate_matches_key"], true);

    // Signatures OpenSSL verifies: raw SM2 with the distid, CMS with P-256.
    std::fs::write(d.join("doc.txt"), "合同正文\n").unwrap();
    ok(u(&["sign", "--slot", "9c", "--pin", PIN, "doc.txt"]));
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
            "doc.txt",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-sigfile",
            "doc.txt.sig",
        ],
    );
    ok(u(&["verify", "doc.txt", "--slot", "9c"]));
    ok(u(&["verify", "doc.txt", "--cert", "sm2.crt"]));
    ok(u(&[
        "sign", "--slot", "9a", "--cms", "--pin", PIN, "doc.txt",
    ]));
    openssl(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "doc.txt.p7s",
            "-content",
            "doc.txt",
            "-CAfile",
            "ca-p256/ca.crt",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    ok(u(&["verify", "--cms", "--ca", "ca-p256/ca.crt", "doc.txt"]));
    let exported = ok(u(&["cert", "export", "--slot", "9c"]));
    assert_eq!(
        exported,
        std::fs::read_to_string(d.join("sm2.crt")).unwrap()
    );

    // Wrong PIN until blocked, then unblocked with the PUK.
    let wrong = |expected: i32| {
        let out = u(&["sign", "--slot", "9c", "--pin", "000000", "doc.txt"]);
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(wrong(5).contains("2 tries left"));
    assert!(wrong(5).contains("1 try left"));
    assert!(wrong(6).contains("blocked"));
    assert_eq!(
        json(u(&["--json", "pin", "status"]))["pin"]["tries_left"],
        0
    );
    let blocked = u(&["sign", "--slot", "9c", "--pin", PIN, "doc.txt"]);
    assert_eq!(blocked.status.code(), Some(6));
    let wrong_puk = u(&["pin", "unblock", "--puk", "87654321", "--new", PIN]);
    assert_eq!(wrong_puk.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&wrong_puk.stderr).contains("wrong PUK"));
    ok(u(&["pin", "unblock", "--puk", "12345678", "--new", PIN]));
    ok(u(&["sign", "--slot", "9c", "--pin", PIN, "doc.txt"]));
    ok(u(&["verify", "doc.txt", "--pubkey", "sm2.pub"]));
}

#[test]
fn doctor_healthy_without_card_and_without_pcscd() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();

    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let healthy = ukey(&bed, d, &["doctor"]);
    let text = ok(healthy);
    assert!(text.contains("the ukey application answers"), "{text}");
    // The firmware's own version (5FFF01), not the YubiKey-compatible GET VERSION.
    let firmware = format!("firmware {}", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&firmware), "{text}");
    assert!(text.contains("the PIN is still the default"), "{text}");
    // The reader beside the token's holds nothing, and doctor says so for that reader.
    let other = bed.reader(1).unwrap();
    let empty_reader = ukey(&bed, d, &["--reader", &other, "doctor"]);
    assert_eq!(empty_reader.status.code(), Some(10));
    let text = String::from_utf8_lossy(&empty_reader.stdout);
    assert!(text.contains("no reader has a card"), "{text}");
    let unknown = ukey(&bed, d, &["--reader", "no such reader", "doctor"]);
    assert_eq!(unknown.status.code(), Some(10));
    let text = String::from_utf8_lossy(&unknown.stdout);
    assert!(text.contains("no reader is named"), "{text}");
    drop(bed);

    let empty = Testbed::start(1).unwrap();
    let no_card = ukey(&empty, d, &["doctor"]);
    assert_eq!(no_card.status.code(), Some(10));
    let text = String::from_utf8_lossy(&no_card.stdout);
    assert!(text.contains("no reader has a card"), "{text}");
    assert!(text.contains("plug the token in again"), "{text}");
    assert_eq!(ukey(&empty, d, &["info"]).status.code(), Some(4));
    let socket = empty.socket();
    drop(empty);

    let mut stopped = Command::new(UKEY);
    stopped.env("PCSCLITE_CSOCK_NAME", &socket);
    let out = run(stopped, d, &["--json", "doctor"]);
    assert_eq!(out.status.code(), Some(10));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["healthy"], false);
    assert_eq!(report["checks"][0]["check"], "pcscd");
    assert_eq!(report["checks"][0]["outcome"], "failed");
    let remedy = report["checks"][0]["remedy"].as_str().unwrap();
    assert!(remedy.contains("PCSCLITE_CSOCK_NAME"), "{remedy}");
    let found = report["checks"][0]["detail"].as_str().unwrap_or_default();
    assert!(found.contains(&*socket.to_string_lossy()), "{report}");
    let mut stopped = Command::new(UKEY);
    stopped.env("PCSCLITE_CSOCK_NAME", &socket);
    assert_eq!(run(stopped, d, &["info"]).status.code(), Some(3));
}
