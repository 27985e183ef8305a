//! Files: reading inputs, writing outputs, and never writing an output over an input.

use std::path::Path;

use crate::Failure;
use crate::error::Error;

/// Refuses an output path that names one of the command's `inputs` (the same file, through
/// any name or link), so that `ukey sign msg.txt -o msg.txt` cannot destroy what it signs.
/// Called before the command does anything.
pub(crate) fn refuse_overwriting(output: &Path, inputs: &[&Path]) -> Result<(), Failure> {
    match inputs.iter().find(|input| same_file(output, input)) {
        Some(input) => Err(Error::Usage(format!(
            "{} is an input of this command ({}); choose another output file",
            output.display(),
            input.display()
        ))
        .into()),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path`, or to standard output when there is no path.
pub(crate) fn write_out(path: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    match path {
        Some(path) => std::fs::write(path, bytes).map_err(|source| {
            Failure::from(Error::File {
                path: path.to_owned(),
                source,
            })
        }),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(bytes).map_err(|source| {
                Failure::from(Error::File {
                    path: "standard output".into(),
                    source,
                })
            })
        }
    }
}

/// Whether two paths name one existing file (same device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Reads a whole file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|source| {
        Failure::from(Error::File {
            path: path.to_owned(),
            source,
        })
    })
}
