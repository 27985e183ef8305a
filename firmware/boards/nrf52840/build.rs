//! Puts memory.x on the linker's search path and relinks when it changes.

use std::path::PathBuf;
use std::{env, fs};

/// Copies memory.x next to the build's outputs for cortex-m-rt's `link.x` to include.
fn main() -> std::io::Result<()> {
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or(std::io::ErrorKind::NotFound)?);
    fs::write(out.join("memory.x"), fs::read("memory.x")?)?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
