//! What the CLI's token tests share: running `ukey` (or another program) against a testbed's
//! pcscd in a scratch directory, and reading what it printed.

#![allow(
    dead_code,
    reason = "each test binary compiles this module and uses part of it"
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use ukey_sim::Testbed;

/// The `ukey` binary under test.
pub const UKEY: &str = env!("CARGO_BIN_EXE_ukey");

/// Runs `command` with `args` in `dir`, with nothing on standard input.
pub fn run(mut command: Command, dir: &Path, args: &[&str]) -> Output {
    command
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the command runs")
}

/// Runs `ukey` with `args` in `dir`, against the testbed's pcscd.
pub fn ukey(bed: &Testbed, dir: &Path, args: &[&str]) -> Output {
    run(bed.command(UKEY), dir, args)
}

/// The standard output of a run that must succeed.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON a run that must succeed printed.
pub fn json(out: Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON output")
}
