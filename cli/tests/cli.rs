//! The `ukey` binary on what needs no token: the test CA, verification of signatures made
//! by OpenSSL, JSON output and exit codes. The token's own commands are driven end to end
//! against ukey-sim in their own tests.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use std::path::Path;
use std::process::{Command, Output};

fn ukey(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ukey"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("ukey runs")
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn test_ca_issues_for_openssl_requests_p256_and_sm2() {
    for (alg, genkey, sigopt) in [
        (
            "p256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
            &[][..],
        ),
        (
            "sm2",
            &["-algorithm", "SM2"][..],
            &["-sigopt", "distid:1234567812345678"][..],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ok(&ukey(
            d,
            &[
                "ca",
                "init",
                "--dir",
                "ca",
                "--alg",
                alg,
                "--subject",
                "CN=Test CA,O=ukey,C=CN",
            ],
        ));
        let again = ukey(d, &["ca", "init", "--dir", "ca", "--alg", alg]);
        assert_eq!(again.status.code(), Some(2), "a second init must refuse");

        let mut args = vec!["genpkey", "-out", "k.pem"];
        args.extend_from_slice(genkey);
        openssl(d, &args);
        let mut args = vec![
            "req",
            "-new",
            "-key",
            "k.pem",
            "-out",
            "req.pem",
            "-subj",
            "/C=CN/O=北京某某科技有限公司/OU=91350100M000100Y43/CN=张三",
            "-utf8",
        ];
        args.extend_from_slice(sigopt);
        openssl(d, &args);

        let json = ok(&ukey(
            d,
            &[
                "--json", "ca", "issue", "--dir", "ca", "req.pem", "--days", "80", "-o", "leaf.pem",
            ],
        ));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let cert = &value["certificate"];
        assert_eq!(cert["organisation"], "北京某某科技有限公司");
        assert_eq!(cert["renewal"], "renew_now");
        assert_eq!(cert["organisation_ids"][0]["check_ok"], true);
        assert!(cert["days_left"].as_i64().unwrap() >= 79);

        let mut args = vec!["verify", "-CAfile", "ca/ca.crt"];
        if alg == "sm2" {
            args.extend_from_slice(&["-vfyopt", "distid:1234567812345678"]);
        }
        args.push("leaf.pem");
        openssl(d, &args);
    }
}

#[test]
fn verifies_raw_signatures_made_by_openssl_and_rejects_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("doc.txt"), "合同正文\n").unwrap();
    openssl(d, &["genpkey", "-algorithm", "SM2", "-out", "k.pem"]);
    openssl(d, &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
    openssl(
        d,
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            "k.pem",
            "-rawin",
            "-in",
            "doc.txt",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-out",
            "doc.txt.sig",
        ],
    );
    let text = ok(&ukey(d, &["verify", "doc.txt", "--pubkey", "pub.pem"]));
    assert!(text.contains("Signature OK (SM2)"), "{text}");

    std::fs::write(d.join("doc.txt"), "合同正文 changed\n").unwrap();
    let bad = ukey(d, &["verify", "doc.txt", "--pubkey", "pub.pem"]);
    assert_eq!(bad.status.code(), Some(9));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not match"));
}

#[test]
fn verifies_cms_made_by_openssl_against_the_test_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&ukey(d, &["ca", "init", "--dir", "ca", "--alg", "p256"]));
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "k.pem",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "k.pem",
            "-out",
            "req.pem",
            "-subj",
            "/CN=Signer",
        ],
    );
    ok(&ukey(
        d,
        &["ca", "issue", "--dir", "ca", "req.pem", "-o", "leaf.pem"],
    ));
    std::fs::write(d.join("doc.txt"), "text\n").unwrap();
    openssl(
        d,
        &[
            "cms",
            "-sign",
            "-binary",
            "-in",
            "doc.txt",
            "-signer",
            "leaf.pem",
            "-inkey",
            "k.pem",
            "-md",
            "sha256",
            "-outform",
            "DER",
            "-out",
            "doc.txt.p7s",
        ],
    );
    let text = ok(&ukey(
        d,
        &["verify", "--cms", "--ca", "ca/ca.crt", "doc.txt"],
    ));
    assert!(text.contains("CN=Signer"), "{text}");

    ok(&ukey(d, &["ca", "init", "--dir", "other", "--alg", "p256"]));
    let wrong_ca = ukey(d, &["verify", "--cms", "--ca", "other/ca.crt", "doc.txt"]);
    assert_eq!(wrong_ca.status.code(), Some(9));
    assert!(String::from_utf8_lossy(&wrong_ca.stderr).contains("not issued by this CA"));
    // A CA on the other curve, or of another name, is as wrong: the same exit code.
    ok(&ukey(d, &["ca", "init", "--dir", "sm2", "--alg", "sm2"]));
    ok(&ukey(
        d,
        &[
            "ca",
            "init",
            "--dir",
            "named",
            "--alg",
            "p256",
            "--subject",
            "CN=Other CA",
        ],
    ));
    for ca in ["sm2/ca.crt", "named/ca.crt"] {
        let wrong_ca = ukey(d, &["verify", "--cms", "--ca", ca, "doc.txt"]);
        let stderr = String::from_utf8_lossy(&wrong_ca.stderr);
        assert_eq!(wrong_ca.status.code(), Some(9), "{ca}: {stderr}");
        assert!(stderr.contains("not issued by this CA"), "{ca}: {stderr}");
    }
}

#[test]
fn usage_errors_exit_2_before_touching_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        ukey(d, &["key", "generate", "--slot", "9z", "--alg", "sm2"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        ukey(d, &["key", "generate", "--slot", "9c", "--alg", "rsa"])
            .status
            .code(),
        Some(2)
    );
    let bad_subject = ukey(
        d,
        &["--json", "csr", "--slot", "9c", "--subject", "no equals"],
    );
    assert_eq!(bad_subject.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&bad_subject.stderr).unwrap();
    assert_eq!(err["code"], 2);
    assert_eq!(
        ukey(d, &["verify", "missing.txt", "--pubkey", "x"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(ukey(d, &["--version"]).status.code(), Some(0));
}

/// Issue 17 (6): an output file that is one of the command's inputs is refused before
/// anything happens, and the input is left as it was.
#[test]
fn outputs_never_overwrite_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&ukey(d, &["ca", "init", "--dir", "ca"]));
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "k.pem",
        ],
    );
    openssl(
        d,
        &[
            "req", "-new", "-key", "k.pem", "-subj", "/CN=x", "-out", "req.csr",
        ],
    );
    std::fs::write(d.join("msg.txt"), b"the document").unwrap();
    std::fs::hard_link(d.join("msg.txt"), d.join("alias.txt")).unwrap();
    let request = std::fs::read(d.join("req.csr")).unwrap();
    let ca_key = std::fs::read(d.join("ca/ca.key")).unwrap();
    for (args, input) in [
        (&["sign", "msg.txt", "-o", "msg.txt"][..], "msg.txt"),
        (&["sign", "msg.txt", "-o", "./alias.txt"][..], "msg.txt"),
        (
            &["sign", "msg.txt", "--cms", "--out", "msg.txt"][..],
            "msg.txt",
        ),
        (
            &["ca", "issue", "--dir", "ca", "req.csr", "-o", "req.csr"][..],
            "req.csr",
        ),
        (
            &["ca", "issue", "--dir", "ca", "req.csr", "-o", "ca/ca.key"][..],
            "ca",
        ),
    ] {
        let out = ukey(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?} must refuse");
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(
            message.contains("is an input of this command") && message.contains(input),
            "{args:?}: {message}"
        );
    }
    assert_eq!(std::fs::read(d.join("msg.txt")).unwrap(), b"the document");
    assert_eq!(std::fs::read(d.join("req.csr")).unwrap(), request);
    assert_eq!(std::fs::read(d.join("ca/ca.key")).unwrap(), ca_key);
}

/// Issue 17: errors say what is wrong with which input, and what to do.
#[test]
fn bad_inputs_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&ukey(d, &["ca", "init", "--dir", "ca"]));
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "k.pem",
        ],
    );
    openssl(
        d,
        &[
            "req", "-new", "-key", "k.pem", "-subj", "/CN=x", "-out", "req.csr",
        ],
    );
    std::fs::write(d.join("msg"), b"m").unwrap();
    std::fs::write(d.join("garbage.pem"), b"garbage").unwrap();
    for (args, expected) in [
        (
            &[
                "ca", "issue", "--dir", "ca", "req.csr", "--days", "99999999",
            ][..],
            "would end after 9999-12-31",
        ),
        (
            &[
                "verify",
                "msg",
                "--signature",
                "msg",
                "--pubkey",
                "garbage.pem",
            ][..],
            "garbage.pem: not a P-256 or SM2 public key",
        ),
        (
            &["verify", "msg", "--signature", "msg", "--cert", "k.pem"][..],
            "k.pem: not a readable X.509 certificate",
        ),
    ] {
        let out = ukey(d, args);
        let message = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {message}");
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}
