//! The blocks of a PEM file (RFC 7468), with any text around them ignored, as OpenSSL does:
//! `openssl ecparam -genkey` writes a parameters block before the key, and fixture files
//! carry a warning line above their key.

use std::path::Path;

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block, decoded.
pub(super) struct Block {
    /// The label, e.g. `PRIVATE KEY` or `CERTIFICATE`.
    pub(super) label: String,
    /// The DER bytes inside.
    pub(super) der: Vec<u8>,
}

/// Whether `bytes` look like PEM rather than DER.
pub(super) fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|window| window == b"-----BEGIN ")
}

/// Every block of a PEM file, in order; the error names `path` and says what is wrong.
pub(super) fn blocks(path: &Path, bytes: &[u8]) -> Result<Vec<Block>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("{} is neither DER nor PEM text", path.display()))?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let end_marker = after
            .find("-----END ")
            .ok_or_else(|| format!("{}: a PEM block has no END line", path.display()))?;
        let end = after[end_marker..]
            .find('\n')
            .map_or(after.len(), |newline| end_marker + newline + 1);
        let (label, der) = pem_rfc7468::decode_vec(&after.as_bytes()[..end])
            .map_err(|error| format!("{}: a PEM block is damaged ({error})", path.display()))?;
        blocks.push(Block {
            label: label.to_string(),
            der,
        });
        rest = &after[end..];
    }
    Ok(blocks)
}

/// The labels of `blocks`, for a message saying what a file holds instead.
pub(super) fn labels(blocks: &[Block]) -> String {
    if blocks.is_empty() {
        return "no PEM block".to_string();
    }
    blocks
        .iter()
        .map(|block| block.label.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
