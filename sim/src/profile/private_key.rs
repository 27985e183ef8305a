//! A fixture's private key from its file: PKCS#8 (`PRIVATE KEY`, what `openssl genpkey`
//! writes, and OpenSSL 3's `openssl ecparam -name SM2 -genkey`) or SEC1 (`EC PRIVATE KEY`
//! from `openssl ecparam -genkey`, `SM2 PRIVATE KEY` from OpenSSL 3's `openssl ec`), PEM or
//! DER, unencrypted.
//!
//! Steps: find the key block; read its curve (PKCS#8 algorithm parameters, or the SEC1
//! `parameters` field); check it is the curve the fixture declares; take the scalar; compute
//! its public point; check it against the public key the file stores, if any.

use std::path::Path;

use pkcs8::der::Decode;
use pkcs8::{ObjectIdentifier, PrivateKeyInfoRef};
use sec1::EcPrivateKey;
use zeroize::Zeroizing;

use super::curve::{Curve, EC_PUBLIC_KEY, Point};
use super::pem;

/// A private key read from a fixture file, with its public point.
pub(super) struct PrivateKey {
    /// The 32-byte scalar, big-endian.
    pub(super) secret: Zeroizing<[u8; 32]>,
    /// Its public point.
    pub(super) public: Point,
}

/// Reads the private key in `path`, which the fixture declares to be a `curve` key.
pub(super) fn read(path: &Path, curve: Curve) -> Result<PrivateKey, String> {
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|error| format!("cannot read {} ({error})", path.display()))?,
    );
    let in_file = |reason: String| format!("private key {}: {reason}", path.display());
    if !pem::is_pem(&bytes) {
        return parse("PRIVATE KEY", &bytes, curve)
            .or_else(|_| parse("EC PRIVATE KEY", &bytes, curve))
            .map_err(|_| in_file("it is neither a PEM file nor a DER PKCS#8 or SEC1 key".into()));
    }
    if is_encrypted(&bytes) {
        return Err(in_file(
            "it is encrypted; fixtures take plain keys (openssl pkey -in KEY -out PLAIN.pem)"
                .to_string(),
        ));
    }
    let blocks = pem::blocks(path, &bytes)?;
    let block = key_block(&blocks).map_err(in_file)?;
    parse(&block.label, &block.der, curve).map_err(in_file)
}

/// Decodes a key block and checks it is a `curve` key.
fn parse(label: &str, der: &[u8], curve: Curve) -> Result<PrivateKey, String> {
    let (found, key) = decode(label, der)?;
    if let Some(found) = found
        && found != curve
    {
        return Err(format!(
            "its curve is {}, but the fixture says algorithm = \"{}\"",
            found.name(),
            curve.name()
        ));
    }
    scalar_and_point(&key, curve)
}

/// Whether a PEM key is encrypted: PKCS#8 `ENCRYPTED PRIVATE KEY`, or OpenSSL's
/// traditional `Proc-Type: 4,ENCRYPTED` header.
fn is_encrypted(pem: &[u8]) -> bool {
    [
        &b"-----BEGIN ENCRYPTED PRIVATE KEY-----"[..],
        b"Proc-Type: 4,ENCRYPTED",
    ]
    .iter()
    .any(|marker| pem.windows(marker.len()).any(|window| window == *marker))
}

/// The block holding the private key.
fn key_block(blocks: &[pem::Block]) -> Result<&pem::Block, String> {
    blocks
        .iter()
        .find(|block| {
            matches!(
                block.label.as_str(),
                "PRIVATE KEY" | "EC PRIVATE KEY" | "SM2 PRIVATE KEY"
            )
        })
        .ok_or_else(|| {
            format!(
                "it holds {} but no PRIVATE KEY, EC PRIVATE KEY or SM2 PRIVATE KEY block",
                pem::labels(blocks)
            )
        })
}

/// Decodes a PKCS#8 (`PRIVATE KEY`) or SEC1 (any other label) key: the curve it names, if
/// it names one, and the SEC1 key inside.
fn decode<'a>(label: &str, der: &'a [u8]) -> Result<(Option<Curve>, EcPrivateKey<'a>), String> {
    if label == "PRIVATE KEY" {
        let info = PrivateKeyInfoRef::from_der(der)
            .map_err(|error| format!("it is not a PKCS#8 private key ({error})"))?;
        let outer = pkcs8_curve(info.algorithm.oid, info.algorithm.parameters_oid().ok())?;
        let key = EcPrivateKey::from_der(info.private_key.as_bytes())
            .map_err(|error| format!("its EC private key is damaged ({error})"))?;
        let inner = named_curve(&key)?;
        if inner.is_some_and(|inner| inner != outer) {
            return Err("its PKCS#8 wrapper and its EC key name different curves".to_string());
        }
        Ok((Some(outer), key))
    } else {
        let key = EcPrivateKey::from_der(der)
            .map_err(|error| format!("it is not a SEC1 EC private key ({error})"))?;
        Ok((named_curve(&key)?, key))
    }
}

/// The curve of a PKCS#8 key: `id-ecPublicKey` with the curve as parameter, or the SM2
/// OID itself as algorithm, as some Chinese tools write it.
fn pkcs8_curve(
    algorithm: ObjectIdentifier,
    parameter: Option<ObjectIdentifier>,
) -> Result<Curve, String> {
    match parameter {
        Some(curve) if algorithm == EC_PUBLIC_KEY => Curve::from_oid(curve).map_err(unsupported),
        _ if algorithm == EC_PUBLIC_KEY => Err(
            "it does not name its curve (explicit parameters?); write it with a named \
                 curve: openssl pkey -in KEY -out NAMED.pem"
                .to_string(),
        ),
        _ => Curve::from_oid(algorithm).map_err(unsupported),
    }
}

fn unsupported(name: String) -> String {
    format!("it is a {name} key; a ukey slot holds P-256 or SM2 keys")
}

/// The curve a SEC1 key names in its `parameters`, if it has them.
fn named_curve(key: &EcPrivateKey<'_>) -> Result<Option<Curve>, String> {
    match key.parameters {
        None => Ok(None),
        Some(parameters) => match parameters.named_curve() {
            Some(oid) => Curve::from_oid(oid).map(Some).map_err(unsupported),
            None => Err(
                "it has explicit curve parameters; write it with a named curve: \
                         openssl ec -in KEY -param_enc named_curve -out NAMED.pem"
                    .to_string(),
            ),
        },
    }
}

/// The scalar, left-padded to 32 bytes, and its public point, checked against the public
/// key the file stores beside it.
fn scalar_and_point(key: &EcPrivateKey<'_>, curve: Curve) -> Result<PrivateKey, String> {
    let digits = key.private_key;
    let significant = &digits[digits.iter().take_while(|&&b| b == 0).count()..];
    if significant.len() > 32 {
        return Err(format!(
            "its private key is {} bytes; a {} key has 32",
            digits.len(),
            curve.name()
        ));
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    secret[32 - significant.len()..].copy_from_slice(significant);
    let public = curve.public_point(&secret)?;
    if let Some(stored) = key.public_key
        && curve.uncompressed(stored) != Some(public)
    {
        return Err(
            "the public key stored in it does not belong to its private key \
                    (a damaged or hand-edited file?)"
                .to_string(),
        );
    }
    Ok(PrivateKey { secret, public })
}
