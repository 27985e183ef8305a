//! Runs a client program to completion, for tests that drive real tools.

use std::process::{Command, Stdio};

/// Runs `command` with no standard input; returns its standard output, or fails with its
/// status and both outputs.
pub fn run(mut command: Command) -> Result<String, Box<dyn std::error::Error>> {
    let output = command.stdin(Stdio::null()).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(stdout)
}
