//! The slow flash (`slow_flash.c`): built with the system's C compiler into the campaign's
//! directory, and preloaded into the `ukey-sim` of some cut sessions.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How long each flash write waits: about a NOR part's word program plus overhead.
pub const WRITE_MICROS: u32 = 1000;

/// Builds the preload library into `dir`; returns its path.
pub fn build(dir: &Path) -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crash_campaign/slow_flash.c");
    let library = dir.join("slow_flash.so");
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .output()
        .map_err(|error| format!("running cc for the slow flash: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cc could not build the slow flash:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(library)
}
