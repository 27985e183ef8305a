//! `ukey-sim`'s readiness line: exactly one line on stdout once pcscd sees the token, and
//! with a wrong port a bounded wait that says what it waits for and ends in an error.

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use ukey_sim::Pcscd;

#[path = "support/foreground.rs"]
mod foreground;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use foreground::Foreground;
use temp_dir::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SIM: &str = env!("CARGO_BIN_EXE_ukey-sim");

#[test]
fn one_line_names_reader_serial_and_link_once_pcscd_sees_the_token() -> TestResult {
    let pcscd = Pcscd::start(1)?;
    let addr = pcscd.vpcd_addr(1).ok_or("no slot 1")?;
    let mut command = pcscd.command(SIM);
    command.args(["--vpcd", &addr, "--link", "ccid", "--serial", "10000001"]);
    let mut sim = Foreground::start(command)?;
    let line = sim.line(Duration::from_secs(20))?;
    assert_eq!(
        line,
        format!("ready reader=\"Virtual PCD 00 01\" serial=10000001 link=ccid vpcd={addr}")
    );
    assert!(
        sim.line(Duration::from_millis(300)).is_err(),
        "a second line"
    );
    let status = sim.terminate(Duration::from_secs(10))?;
    assert!(status.success(), "{status}: {}", sim.stderr());
    Ok(())
}

#[test]
fn wrong_port_gives_up_after_the_bound_saying_what_it_waited_for() -> TestResult {
    let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let mut command = Command::new(SIM);
    command.args(["--vpcd", &addr, "--ready-timeout", "1"]);
    let mut sim = Foreground::start(command)?;
    let status = sim.wait(Duration::from_secs(10))?;
    let said = sim.stderr();
    assert!(!status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "waiting up to 1s for pcscd to power the token on through vpcd at {addr}"
        )),
        "{said}"
    );
    assert!(
        said.contains("did not power the token on within 1s"),
        "{said}"
    );
    assert!(
        sim.line(Duration::ZERO).is_err(),
        "stdout is for the readiness line only"
    );
    Ok(())
}

/// A replug as a CI job does it: the token stopped (SIGTERM) and started again in its slot
/// on the same image, several times; pcscd must see each new start, which it does only if
/// the stopped token left after vpcd found the slot empty.
#[test]
fn a_token_stopped_and_started_again_in_its_slot_is_seen_each_time() -> TestResult {
    let pcscd = Pcscd::start(1)?;
    let addr = pcscd.vpcd_addr(0).ok_or("no slot 0")?;
    let dir = TempDir::new("replug")?;
    let image = dir.path("token.img");
    for start in 0..4 {
        let mut command = pcscd.command(SIM);
        command.args(["--vpcd", &addr, "--link", "direct", "--image"]);
        command.arg(&image);
        let mut sim = Foreground::start(command)?;
        let line = sim
            .line(Duration::from_secs(20))
            .map_err(|error| format!("start {start}: {error}; stderr: {}", sim.stderr()))?;
        assert!(line.starts_with("ready "), "start {start}: {line}");
        let status = sim.terminate(Duration::from_secs(15))?;
        assert!(
            status.success(),
            "start {start}: {status}: {}",
            sim.stderr()
        );
    }
    Ok(())
}
