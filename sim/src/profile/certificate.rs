//! A fixture's certificate from its file (PEM or DER), checked to hold the public key of
//! the slot's private key, and wrapped as the card edge stores a certificate object.

use std::path::Path;

use pkcs8::ObjectIdentifier;
use pkcs8::der::Decode;
use x509_cert::Certificate;

use super::curve::{Curve, EC_PUBLIC_KEY, Point};
use super::pem;

pub(super) use ukey_firmware::MAX_OBJECT;

/// Bytes the certificate object adds around the DER: `70 82 xx xx`, `71 01 00`, `FE 00`.
const WRAPPING: usize = 4 + 3 + 2;

/// Reads the certificate in `path` and checks that it certifies `public`, the public key of
/// the `curve` private key in `key_path`; returns its DER.
pub(super) fn read(
    path: &Path,
    curve: Curve,
    public: &Point,
    key_path: &Path,
) -> Result<Vec<u8>, String> {
    let in_file = |reason: String| format!("certificate {}: {reason}", path.display());
    let bytes =
        std::fs::read(path).map_err(|error| format!("cannot read {} ({error})", path.display()))?;
    let der = if pem::is_pem(&bytes) {
        let blocks = pem::blocks(path, &bytes)?;
        let mut certificates = blocks.into_iter().filter(|b| b.label == "CERTIFICATE");
        match (certificates.next(), certificates.next()) {
            (Some(only), None) => only.der,
            (None, _) => return Err(in_file("it holds no CERTIFICATE block".to_string())),
            (Some(_), Some(_)) => {
                return Err(in_file(
                    "it holds several certificates; give the slot's own certificate only"
                        .to_string(),
                ));
            }
        }
    } else {
        bytes
    };
    let certificate = Certificate::from_der(&der)
        .map_err(|error| in_file(format!("it is not an X.509 certificate ({error})")))?;
    let key_info = certificate.tbs_certificate().subject_public_key_info();
    let named_curve = key_info
        .algorithm
        .parameters
        .as_ref()
        .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok());
    let found = match named_curve {
        Some(oid) if key_info.algorithm.oid == EC_PUBLIC_KEY => Curve::from_oid(oid),
        _ => Curve::from_oid(key_info.algorithm.oid),
    }
    .map_err(|name| in_file(format!("it certifies a {name} key, not a P-256 or SM2 key")))?;
    if found != curve {
        return Err(format!(
            "certificate {} certifies a key on curve {}, but private key {} is on {}",
            path.display(),
            found.name(),
            key_path.display(),
            curve.name()
        ));
    }
    let certified = curve.uncompressed(key_info.subject_public_key.raw_bytes());
    if certified.as_ref() != Some(public) {
        return Err(format!(
            "certificate {} is not for private key {}: it certifies another public key \
             (make the certificate from this key, or name the key it was made from)",
            path.display(),
            key_path.display()
        ));
    }
    if der.len() + WRAPPING > MAX_OBJECT {
        return Err(in_file(format!(
            "it is {} bytes; a slot holds certificates of at most {} bytes",
            der.len(),
            MAX_OBJECT - WRAPPING
        )));
    }
    Ok(der)
}

/// The certificate object of card-edge.md: `70` the DER, `71 01 00` (not compressed),
/// `FE 00` (no error detection code).
pub(super) fn object(der: &[u8]) -> Vec<u8> {
    let mut object = Vec::with_capacity(der.len() + WRAPPING);
    object.push(0x70);
    match der.len() {
        len @ 0..0x80 => object.push(len as u8),
        len @ 0x80..0x100 => object.extend([0x81, len as u8]),
        len => object.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    object.extend_from_slice(der);
    object.extend([0x71, 0x01, 0x00, 0xFE, 0x00]);
    object
}

#[cfg(test)]
mod tests {
    use super::object;

    #[test]
    fn the_certificate_object_uses_the_shortest_ber_length() {
        assert_eq!(object(&[0xAB; 3])[..3], [0x70, 0x03, 0xAB]);
        assert_eq!(object(&[0xAB; 200])[..3], [0x70, 0x81, 200]);
        let long = object(&[0xAB; 3000]);
        assert_eq!(long[..4], [0x70, 0x82, 0x0B, 0xB8]);
        assert_eq!(long[long.len() - 5..], [0x71, 0x01, 0x00, 0xFE, 0x00]);
        assert_eq!(long.len(), 3000 + 9);
    }
}
