//! A scratch directory for one test, removed on drop.

use std::fs;
use std::path::PathBuf;

/// A directory under the system's temporary directory, removed with its contents on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty directory named after the test and this process.
    pub fn new(name: &str) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("ukey-sim-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
