//! The management key and reset (issue 16), through a private pcscd: a new key shown once,
//! written to a private file or kept on the token under the PIN; the key taken from the
//! environment or a file, never needed on the command line; a reset refused while the PIN
//! or PUK works, confirmed or forced, and leaving a factory token.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use support::{UKEY, json, ok, run, ukey};
use ukey_sim::{Testbed, TokenOptions};

/// `ukey` with `variables` set in its environment.
fn ukey_with(bed: &Testbed, dir: &Path, variables: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = bed.command(UKEY);
    command.envs(variables.iter().copied());
    run(command, dir, args)
}

fn exit_code_and_stderr(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_new_management_key_is_given_by_environment_file_or_pin() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let generate = [
        "key", "generate", "--force", "--slot", "9a", "--alg", "p256",
    ];

    let changed = json(ukey(&bed, d, &["--json", "mgm", "change"]));
    assert_eq!(changed["algorithm"], "aes192");
    let key = changed["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 48, "{changed}");

    let (code, stderr) = exit_code_and_stderr(&ukey(&bed, d, &generate));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("UKEY_MANAGEMENT_KEY"), "{stderr}");
    ok(ukey_with(
        &bed,
        d,
        &[("UKEY_MANAGEMENT_KEY", &key)],
        &generate,
    ));

    // A new key to a private file, given back by --management-key-file.
    let variables = [("UKEY_MANAGEMENT_KEY", key.as_str())];
    ok(ukey_with(
        &bed,
        d,
        &variables,
        &["mgm", "change", "-o", "mgm.key"],
    ));
    let mode = std::fs::metadata(d.join("mgm.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the key file is private: {mode:o}");
    let again = ukey_with(&bed, d, &variables, &["mgm", "change", "-o", "mgm.key"]);
    assert_eq!(again.status.code(), Some(1), "an existing key file is kept");
    let mut from_file = vec!["--management-key-file", "mgm.key"];
    from_file.extend_from_slice(&generate);
    ok(ukey(&bed, d, &from_file));

    // Kept under the PIN: later commands need only the PIN.
    let key_file = ["--management-key-file", "mgm.key"];
    let mut protect = key_file.to_vec();
    protect.extend_from_slice(&["mgm", "change", "--protect", "--pin", "123456"]);
    ok(ukey(&bed, d, &protect));
    ok(ukey_with(&bed, d, &[("UKEY_PIN", "123456")], &generate));
    let wrong = ukey_with(&bed, d, &[("UKEY_PIN", "654321")], &generate);
    assert_eq!(wrong.status.code(), Some(5), "a wrong PIN is a wrong PIN");

    // Changed again without --protect, the key kept under the PIN is removed with it.
    let changed = json(ukey_with(
        &bed,
        d,
        &[("UKEY_PIN", "123456")],
        &["--json", "mgm", "change", "--alg", "aes128"],
    ));
    let key = changed["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    let (code, stderr) =
        exit_code_and_stderr(&ukey_with(&bed, d, &[("UKEY_PIN", "123456")], &generate));
    assert_eq!(code, Some(2), "{stderr}");
    ok(ukey_with(
        &bed,
        d,
        &[("UKEY_MANAGEMENT_KEY", &key)],
        &generate,
    ));
}

#[test]
fn reset_needs_pin_and_puk_blocked_and_a_confirmation() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(ukey(
        &bed,
        d,
        &["key", "generate", "--slot", "9c", "--alg", "sm2"],
    ));

    let (code, stderr) = exit_code_and_stderr(&ukey(&bed, d, &["reset", "--force"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("both the PIN and the PUK are blocked"),
        "{stderr}"
    );

    for _ in 0..3 {
        ukey(
            &bed,
            d,
            &["pin", "change", "--old", "000000", "--new", "24681357"],
        );
        ukey(
            &bed,
            d,
            &[
                "pin", "change", "--puk", "--old", "00000000", "--new", "24681357",
            ],
        );
    }
    let (code, stderr) = exit_code_and_stderr(&ukey(&bed, d, &["reset"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--force"), "without a terminal: {stderr}");

    let reset = json(ukey(&bed, d, &["--json", "reset", "--force"]));
    assert_eq!(reset["reset"], true);
    let info = json(ukey(&bed, d, &["--json", "info"]));
    assert_eq!(info["pin"]["is_default"], true, "{info}");
    assert_eq!(info["pin"]["tries_left"], 3, "{info}");
    assert!(info["slots"][1]["key"].is_null(), "{info}");
}
