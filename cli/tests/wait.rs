//! `ukey wait` through a real private pcscd: it returns once a token is plugged into the
//! reader asked for, gives up with exit 4 when none comes, and says what it waited through.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use ukey_sim::{Testbed, TokenOptions};

const UKEY: &str = env!("CARGO_BIN_EXE_ukey");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn finished(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("ukey runs")
}

#[test]
fn returns_once_a_token_is_plugged_into_the_reader_asked_for() {
    let mut bed = Testbed::start(1).expect("a private pcscd");
    let reader = bed.reader(1).unwrap();
    let waiting = bed
        .command(UKEY)
        .args(["wait", "--reader", &reader, "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ukey runs");
    thread::sleep(Duration::from_millis(500));
    bed.insert(1, &TokenOptions::default()).expect("a token");
    let out = waiting.wait_with_output().expect("ukey ends");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.starts_with(&format!("{reader}: ukey token, serial 10000001")),
        "{shown}"
    );
    assert_eq!(shown.lines().count(), 1, "{shown}");
}

#[test]
fn gives_up_with_exit_4_when_no_token_comes() {
    let bed = Testbed::start(1).expect("a private pcscd");
    let out = finished(bed.command(UKEY).args(["wait", "--timeout", "1"]));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains("still waiting: no ukey token is connected"),
        "{said}"
    );
    assert!(said.contains("no ukey token came within 1s"), "{said}");
}

#[test]
fn without_pcscd_it_says_so_while_waiting() {
    let out = finished(
        Command::new(UKEY)
            .env("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm")
            .args(["wait", "--timeout", "0.5"]),
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains("still waiting: the smart card service (pcscd) is not running"),
        "{said}"
    );
}
