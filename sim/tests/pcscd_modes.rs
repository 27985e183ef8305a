//! `ukey-sim pcscd` where CI runs it: in its own mount namespace, plainly in a container
//! without CAP_SYS_ADMIN (`capsh --drop=cap_sys_admin` refuses `unshare`), as a user who is
//! not root, and refusing a port already taken without leaving anything running.
//!
//! Plain mode serves `/run/pcscd`; so that it never meets the machine's, each such test
//! runs in a mount namespace of its own with a scratch directory over `/run/pcscd` (the
//! container's own `/run`). These tests need root, as the other pcscd tests do.

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "support/container.rs"]
mod container;
#[path = "support/foreground.rs"]
mod foreground;
#[path = "support/run.rs"]
mod run;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use container::in_container;
use foreground::Foreground;
use run::run;
use temp_dir::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SIM: &str = env!("CARGO_BIN_EXE_ukey-sim");
const LINE: Duration = Duration::from_secs(20);
const EXIT: Duration = Duration::from_secs(10);

/// Processes whose command line mentions `text` (a pcscd's private directory).
fn processes_mentioning(text: &str) -> Vec<String> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| fs::read(entry.path().join("cmdline")).ok())
        .map(|line| String::from_utf8_lossy(&line).replace('\0', " "))
        .filter(|line| line.contains(text) && !line.contains("unshare"))
        .collect()
}

/// Reads the export line, lists readers through the socket seen as `socket`, stops it,
/// and checks that nothing of it is left running.
fn serves_then_stops(mut sim: Foreground, socket: &Path, dir: &Path) -> TestResult {
    let export = sim.line(LINE)?;
    assert!(
        export.starts_with("export PCSCLITE_CSOCK_NAME="),
        "{export}"
    );
    let mut list = Command::new("opensc-tool");
    list.arg("-l").env("PCSCLITE_CSOCK_NAME", socket);
    let readers = run(list)?;
    assert!(readers.contains("Virtual PCD 00 00"), "{readers}");
    let status = sim.terminate(EXIT)?;
    assert!(status.success(), "{status}; stderr:\n{}", sim.stderr());
    let left = processes_mentioning(&dir.display().to_string());
    assert!(left.is_empty(), "left running: {left:?}");
    Ok(())
}

/// `ukey-sim pcscd` in a container without CAP_SYS_ADMIN, with its directories in
/// `scratch`.
fn in_container_without_cap_sys_admin(scratch: &TempDir) -> std::io::Result<Foreground> {
    let run_dir = scratch.path("run");
    fs::create_dir_all(&run_dir)?;
    Foreground::start(in_container(
        &run_dir,
        &format!(
            "capsh --drop=cap_sys_admin -- -c 'exec {SIM} pcscd --dir {}'",
            scratch.path("pcscd").display()
        ),
    ))
}

#[test]
fn container_without_cap_sys_admin_runs_plainly() -> TestResult {
    let scratch = TempDir::new("capsh")?;
    let sim = in_container_without_cap_sys_admin(&scratch)?;
    serves_then_stops(
        sim,
        &scratch.path("run").join("pcscd.comm"),
        &scratch.path("pcscd"),
    )
}

#[test]
fn container_mode_reports_the_choice_and_the_refusal() -> TestResult {
    let scratch = TempDir::new("choice")?;
    let mut sim = in_container_without_cap_sys_admin(&scratch)?;
    sim.line(LINE)?;
    let said = sim.stderr();
    assert!(said.contains("plain mode"), "{said}");
    assert!(said.contains("Operation not permitted"), "{said}");
    sim.terminate(EXIT)?;
    Ok(())
}

#[test]
fn user_who_may_write_the_socket_directory_runs_plainly() -> TestResult {
    let scratch = TempDir::new("nobody")?;
    let (run_dir, dir) = (scratch.path("run"), scratch.path("pcscd"));
    fs::create_dir_all(&run_dir)?;
    fs::create_dir_all(&dir)?;
    run({
        let mut chown = Command::new("chown");
        chown.arg("nobody").arg(&run_dir).arg(&dir);
        chown
    })?;
    let sim = Foreground::start(in_container(
        &run_dir,
        &format!(
            "setpriv --reuid nobody --regid nogroup --clear-groups {SIM} pcscd --no-namespace \
             --dir {}",
            dir.display()
        ),
    ))?;
    serves_then_stops(sim, &run_dir.join("pcscd.comm"), &dir)
}

#[test]
fn neither_mode_possible_quotes_both_causes() -> TestResult {
    let scratch = TempDir::new("neither")?;
    let run_dir = scratch.path("run");
    fs::create_dir_all(&run_dir)?;
    let mut sim = Foreground::start(in_container(
        &run_dir,
        &format!("setpriv --reuid nobody --regid nogroup --clear-groups {SIM} pcscd"),
    ))?;
    let status = sim.wait(EXIT)?;
    let said = sim.stderr();
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("unshare failed: Operation not permitted"),
        "{said}"
    );
    assert!(
        said.contains("cannot write /run/pcscd: Permission denied"),
        "{said}"
    );
    Ok(())
}

#[test]
fn namespace_is_chosen_where_unshare_works() -> TestResult {
    let scratch = TempDir::new("namespace")?;
    let dir = scratch.path("pcscd");
    let mut command = Command::new(SIM);
    command.args(["pcscd", "--port", "0", "--dir"]).arg(&dir);
    let sim = Foreground::start(command)?;
    serves_then_stops(sim, &dir.join("run").join("pcscd.comm"), &dir)
}

#[test]
fn port_taken_is_refused_and_nothing_is_left_running() -> TestResult {
    let scratch = TempDir::new("port-taken")?;
    let dir = scratch.path("pcscd");
    let taken = TcpListener::bind(("0.0.0.0", 0))?;
    let port = taken.local_addr()?.port();
    for asked in [port, port - 1] {
        let mut command = Command::new(SIM);
        command
            .args(["pcscd", "--port", &asked.to_string(), "--dir"])
            .arg(&dir);
        let mut sim = Foreground::start(command)?;
        let status = sim.wait(EXIT)?;
        let said = sim.stderr();
        assert!(!status.success(), "{said}");
        assert!(said.contains(&format!("port {port} is not free")), "{said}");
        let left = processes_mentioning(&dir.display().to_string());
        assert!(left.is_empty(), "left running: {left:?}");
    }
    Ok(())
}
