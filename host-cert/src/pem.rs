//! DER and PEM, in files and in memory.

use std::path::Path;

use crate::error::{Error, Result};

/// Reads DER, or PEM with any label, from a file.
pub fn read_der_or_pem(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    der_or_pem(&bytes).map_err(|e| Error::InFile {
        path: path.to_owned(),
        source: Box::new(e),
    })
}

/// DER as is, or the content of PEM text.
pub fn der_or_pem(bytes: &[u8]) -> Result<Vec<u8>> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if bytes[start..].starts_with(b"-----BEGIN") {
        let (_, der) = der::pem::decode_vec(&bytes[start..]).map_err(|source| Error::Pem {
            what: "cannot read the PEM text",
            source,
        })?;
        Ok(der)
    } else {
        Ok(bytes.to_vec())
    }
}

/// PEM text of DER with `label`.
pub fn to_pem(label: &'static str, der: &[u8]) -> Result<String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).map_err(|source| Error::Pem {
        what: "cannot write PEM",
        source,
    })
}
