//! Support shared by ukey's end-to-end interop suite (`tests/`) and benchmarks (`benches/`):
//! the pieces that span the firmware, the simulator and the host crates.

use std::path::PathBuf;
use std::process::Command;

/// The path of the workspace binary `name` from package `package`, built for the profile the
/// calling test or bench runs under. `cargo test --workspace` has built it already; a lone
/// `cargo test -p ukey-suite` has not, so it is built here first.
pub fn workspace_binary(package: &str, name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the running test: {e}"))?;
    // target/<profile>/deps/<test>: the profile directory is two levels up.
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or_else(|| format!("{} is not inside a cargo target directory", exe.display()))?;
    let path = profile_dir.join(name);
    if path.exists() {
        return Ok(path);
    }
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "-p", package, "--bin", name]);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("cannot run cargo to build {name}: {e}"))?;
    if !status.success() || !path.exists() {
        return Err(format!(
            "`cargo build -p {package} --bin {name}` did not produce {}",
            path.display()
        ));
    }
    Ok(path)
}

pub mod interop;
