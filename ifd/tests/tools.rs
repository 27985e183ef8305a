//! Host tools against tokens in the driver, through a real (private) pcscd: OpenSC and
//! yubico-piv-tool find and read them, in two readers of one driver file. Needs root, pcscd,
//! opensc and yubico-piv-tool.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure stops the test where it happens"
)]

#[path = "support/pcscd.rs"]
mod pcscd;

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use pcscd::DriverPcscd;
use ukey_ifd::{ControlClient, ReaderConfig};

/// Runs `check` until it passes or 10 s have gone (pcscd reports a reader's card a moment
/// after the driver does).
fn eventually(what: &str, mut check: impl FnMut() -> Option<String>) -> String {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// The value of yubico-piv-tool's "PIN tries left:" line.
fn tries_left(status: &str) -> Option<&str> {
    status
        .lines()
        .find_map(|line| line.trim().strip_prefix("PIN tries left:"))
        .map(str::trim)
}

#[test]
fn opensc_and_yubico_piv_tool_see_tokens_in_two_readers_of_the_driver() {
    let dir = tempfile::Builder::new()
        .prefix("ukey-ifd-")
        .tempdir()
        .unwrap();
    let first = dir.path().join("first.toml");
    let second = dir.path().join("second.toml");
    ReaderConfig::with_images(&[PathBuf::from("a.img"), PathBuf::from("b.img")], None)
        .write(&first)
        .unwrap();
    ReaderConfig {
        control: Some(PathBuf::from("second.sock")),
        ..ReaderConfig::default()
    }
    .write(&second)
    .unwrap();
    let pcscd = DriverPcscd::start(dir.path(), &[("ukey A", &first), ("ukey B", &second)]);

    // Two slots of the first reader, one of the second: pcscd numbers the second reader 01.
    let listed = eventually("opensc-tool lists three readers", || {
        let list = pcscd.run("opensc-tool", &["-l"]);
        (list.lines().filter(|line| line.contains("ukey")).count() == 3).then_some(list)
    });
    for reader in ["ukey A 00 00", "ukey A 00 01", "ukey B 01 00"] {
        assert!(listed.contains(reader), "{reader} in\n{listed}");
    }

    for reader in ["ukey A 00 00", "ukey A 00 01"] {
        let name = pcscd.run("opensc-tool", &["-r", reader, "-n"]);
        assert_eq!(
            name.trim(),
            "Personal Identity Verification Card",
            "{reader}"
        );
        let status = pcscd.run("yubico-piv-tool", &["-r", reader, "-a", "status"]);
        assert!(status.contains("Version:"), "{reader}:\n{status}");
        assert_eq!(tries_left(&status), Some("3"), "{reader}:\n{status}");
    }

    // The second reader starts empty; a token plugged in there is seen by both tools.
    let output = pcscd
        .command("opensc-tool")
        .args(["-r", "ukey B 01 00", "-n"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "no card in ukey B yet");
    ControlClient::new(&dir.path().join("second.sock"))
        .insert(0, Some(&dir.path().join("c.img")))
        .unwrap();
    eventually("opensc-tool names the card in ukey B", || {
        let output = pcscd
            .command("opensc-tool")
            .args(["-r", "ukey B 01 00", "-n"])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into())
    });
    let status = pcscd.run("yubico-piv-tool", &["-r", "ukey B 01 00", "-a", "status"]);
    assert_eq!(tries_left(&status), Some("3"), "{status}");
}
