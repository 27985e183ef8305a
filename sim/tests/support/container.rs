//! A container's view of the machine for tests of plain mode: a mount namespace of its
//! own with a scratch directory over `/run/pcscd`, so that a plain pcscd never meets the
//! machine's.

use std::path::Path;
use std::process::Command;

/// A command that runs the shell command `inner` in a mount namespace of its own with
/// `run_dir` over `/run/pcscd`.
pub fn in_container(run_dir: &Path, inner: &str) -> Command {
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "sh", "-c"]);
    command.arg(format!(
        "mkdir -p /run/pcscd && mount --bind '{}' /run/pcscd && exec {inner}",
        run_dir.display()
    ));
    command
}
