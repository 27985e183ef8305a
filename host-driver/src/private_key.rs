//! Private keys made elsewhere, read from the files OpenSSL writes, for IMPORT ASYMMETRIC KEY
//! (card edge v2): PKCS#8 (`PRIVATE KEY`, RFC 5208/5958) and SEC1 (`EC PRIVATE KEY`, RFC
//! 5915), in PEM or DER, of P-256 or SM2. OpenSSL 3's `genpkey -algorithm SM2` writes PKCS#8
//! with id-ecPublicKey and the SM2 curve (1.2.156.10197.1.301), which reads here as SM2, and
//! `ec` writes SEC1 SM2 keys as `SM2 PRIVATE KEY`; `ecparam -genkey` writes an `EC
//! PARAMETERS` (or `SM2 PARAMETERS`) block before the key, which is skipped.

use std::fmt;

use p256::pkcs8::der::pem;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::piv::Algorithm;

/// A private key of one of the token's algorithms, to import into a slot. The scalar is
/// wiped from memory when the key is dropped, and never shown by `Debug`.
#[derive(Clone)]
pub enum PrivateKey {
    /// NIST P-256.
    P256(p256::SecretKey),
    /// SM2.
    Sm2(sm2::SecretKey),
}

/// PEM labels that are no unencrypted private key, and what to tell whoever gave one.
const OTHER_LABELS: [(&str, &str); 9] = [
    (
        "ENCRYPTED PRIVATE KEY",
        "the private key is encrypted; decrypt it first, for example with \
         `openssl pkey -in KEY.pem -out plain.pem`",
    ),
    (
        "RSA PRIVATE KEY",
        "this is an RSA key; the token holds P-256 and SM2 keys only",
    ),
    (
        "OPENSSH PRIVATE KEY",
        "this is an OpenSSH key; convert it to PKCS#8 first, for example with \
         `ssh-keygen -p -m PKCS8 -f KEY`",
    ),
    ("PUBLIC KEY", "this is a public key, not a private key"),
    ("CERTIFICATE", "this is a certificate, not a private key"),
    (
        "CERTIFICATE REQUEST",
        "this is a certificate request, not a private key",
    ),
    (
        "EC PARAMETERS",
        "this holds only curve parameters, no private key",
    ),
    (
        "SM2 PARAMETERS",
        "this holds only curve parameters, no private key",
    ),
    ("PKCS7", "this is a PKCS#7 structure, not a private key"),
];

/// The PEM labels of an unencrypted private key: PKCS#8, then SEC1 (OpenSSL 3 labels an
/// SM2 key's SEC1 form `SM2 PRIVATE KEY`).
const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY"];

impl PrivateKey {
    /// Reads a key file's contents: PEM when it has a `-----BEGIN` line, else DER.
    /// `algorithm` is the curve the key must be of; `None` takes it from the file, which a
    /// SEC1 key without curve parameters cannot give.
    pub fn from_file_contents(bytes: &[u8], algorithm: Option<Algorithm>) -> Result<Self> {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN ") => Self::from_pem(text, algorithm),
            _ => Self::from_der(bytes, algorithm),
        }
    }

    /// Reads the first PKCS#8 or SEC1 private key block of a PEM text; other blocks before
    /// it (OpenSSL's `EC PARAMETERS`) are skipped.
    pub fn from_pem(text: &str, algorithm: Option<Algorithm>) -> Result<Self> {
        let labels = pem_labels(text);
        let Some((label, block)) = labels.iter().find(|(label, _)| KEY_LABELS.contains(label))
        else {
            let known = labels.iter().find_map(|(label, _)| {
                OTHER_LABELS
                    .iter()
                    .find(|(other, _)| other == label)
                    .map(|(_, why)| *why)
            });
            return Err(bad_key(known.unwrap_or(
                "no private key in it (PEM `PRIVATE KEY` or `EC PRIVATE KEY`)",
            )));
        };
        let (_, der) = pem::decode_vec(block.as_bytes()).map_err(|e| {
            bad_key_because(format!("its {label} block is not valid PEM"), e.into())
        })?;
        Self::from_der(&Zeroizing::new(der), algorithm)
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo` or SEC1 `ECPrivateKey`.
    pub fn from_der(der: &[u8], algorithm: Option<Algorithm>) -> Result<Self> {
        let p256 = p256::SecretKey::from_der(der);
        let sm2 = sm2::SecretKey::from_der(der);
        match (algorithm, p256, sm2) {
            (None | Some(Algorithm::P256), Ok(key), Err(_)) => Ok(Self::P256(key)),
            (None | Some(Algorithm::Sm2), Err(_), Ok(key)) => Ok(Self::Sm2(key)),
            (Some(Algorithm::P256), Ok(key), Ok(_)) => Ok(Self::P256(key)),
            (Some(Algorithm::Sm2), Ok(_), Ok(key)) => Ok(Self::Sm2(key)),
            (None, Ok(_), Ok(_)) => Err(bad_key(
                "the key does not name its curve; say whether it is a p256 or an sm2 key",
            )),
            (Some(Algorithm::P256), Err(_), Ok(_)) => {
                Err(bad_key("this is an SM2 key, not a P-256 key"))
            }
            (Some(Algorithm::Sm2), Ok(_), Err(_)) => {
                Err(bad_key("this is a P-256 key, not an SM2 key"))
            }
            (_, Err(e), Err(_)) => Err(bad_key_because(
                "not a P-256 or SM2 private key (PKCS#8 or SEC1, in PEM or DER)".to_owned(),
                e.into(),
            )),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::P256(_) => Algorithm::P256,
            Self::Sm2(_) => Algorithm::Sm2,
        }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::P256(key) => PublicKey::P256(key.public_key()),
            Self::Sm2(key) => PublicKey::Sm2(key.public_key()),
        }
    }

    /// The private scalar, big-endian, as long as the curve's order: what IMPORT carries in
    /// its `06` element.
    pub(crate) fn scalar(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            Self::P256(key) => key.to_bytes().to_vec(),
            Self::Sm2(key) => key.to_bytes().to_vec(),
        })
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, ..)", self.algorithm())
    }
}

/// Each PEM block's label with the block's text, `-----BEGIN` to its `-----END` line.
fn pem_labels(text: &str) -> Vec<(&str, &str)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_line = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_line) else {
            break;
        };
        let block_end = start + end + end_line.len();
        blocks.push((label, &rest[start..block_end]));
        rest = &rest[block_end..];
    }
    blocks
}

fn bad_key(message: &str) -> Error {
    Error::BadPrivateKey {
        message: message.to_owned(),
        source: None,
    }
}

fn bad_key_because(message: String, source: Box<dyn std::error::Error + Send + Sync>) -> Error {
    Error::BadPrivateKey {
        message,
        source: Some(source),
    }
}

#[cfg(test)]
mod tests {
    //! Key files as OpenSSL 3.0 writes them, made by the `openssl` commands named in each case.

    use std::process::Command;

    use super::*;

    fn openssl(dir: &std::path::Path, args: &[&str]) {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    }

    /// The public key OpenSSL derives from `key`, as SubjectPublicKeyInfo DER.
    fn openssl_public(dir: &std::path::Path, key: &str) -> PublicKey {
        openssl(
            dir,
            &[
                "pkey", "-in", key, "-pubout", "-outform", "DER", "-out", "pub.der",
            ],
        );
        PublicKey::from_spki_der(&std::fs::read(dir.join("pub.der")).unwrap()).unwrap()
    }

    fn read(dir: &std::path::Path, name: &str, alg: Option<Algorithm>) -> Result<PrivateKey> {
        PrivateKey::from_file_contents(&std::fs::read(dir.join(name)).unwrap(), alg)
    }

    #[test]
    fn openssl_key_files_of_both_curves_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // P-256: `ecparam -genkey` (EC PARAMETERS, then SEC1), PKCS#8 PEM and DER, SEC1 DER.
        openssl(
            d,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-out",
                "p256.pem",
            ],
        );
        openssl(
            d,
            &[
                "pkcs8", "-topk8", "-nocrypt", "-in", "p256.pem", "-out", "p256.p8",
            ],
        );
        openssl(
            d,
            &[
                "pkey",
                "-in",
                "p256.pem",
                "-outform",
                "DER",
                "-out",
                "p256.p8.der",
            ],
        );
        openssl(
            d,
            &[
                "ec",
                "-in",
                "p256.pem",
                "-outform",
                "DER",
                "-out",
                "p256.sec1.der",
            ],
        );
        // SM2: `genpkey -algorithm SM2` (PKCS#8), and SEC1 from `ec`.
        openssl(d, &["genpkey", "-algorithm", "SM2", "-out", "sm2.p8"]);
        openssl(d, &["ec", "-in", "sm2.p8", "-out", "sm2.sec1.pem"]);
        openssl(
            d,
            &[
                "ecparam",
                "-name",
                "SM2",
                "-genkey",
                "-out",
                "sm2.ecparam.pem",
            ],
        );
        let sm2_ecparam = openssl_public(d, "sm2.ecparam.pem");
        let p256 = openssl_public(d, "p256.pem");
        let sm2 = openssl_public(d, "sm2.p8");
        for (file, public) in [
            ("p256.pem", &p256),
            ("p256.p8", &p256),
            ("p256.p8.der", &p256),
            ("p256.sec1.der", &p256),
            ("sm2.p8", &sm2),
            ("sm2.sec1.pem", &sm2),
            ("sm2.ecparam.pem", &sm2_ecparam),
        ] {
            let key = read(d, file, None).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(&key.public_key(), public, "{file}");
            assert_eq!(key.scalar().len(), 32);
            let named = read(d, file, Some(public.algorithm())).unwrap();
            assert_eq!(&named.public_key(), public, "{file}");
        }
        let wrong = read(d, "sm2.p8", Some(Algorithm::P256)).unwrap_err();
        assert_eq!(wrong.to_string(), "this is an SM2 key, not a P-256 key");
        let wrong = read(d, "p256.p8", Some(Algorithm::Sm2)).unwrap_err();
        assert_eq!(wrong.to_string(), "this is a P-256 key, not an SM2 key");
    }

    #[test]
    fn files_that_hold_no_usable_private_key_say_what_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl(
            d,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "k.pem",
            ],
        );
        openssl(d, &["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
        openssl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "k.pem",
                "-passout",
                "pass:secret",
                "-out",
                "enc.pem",
            ],
        );
        openssl(
            d,
            &[
                "ecparam",
                "-name",
                "secp384r1",
                "-genkey",
                "-noout",
                "-out",
                "p384.pem",
            ],
        );
        openssl(d, &["ecparam", "-name", "prime256v1", "-out", "params.pem"]);
        std::fs::write(d.join("junk"), b"\x30\x03\x02\x01\x05 not a key").unwrap();
        for (file, says) in [
            ("pub.pem", "this is a public key, not a private key"),
            ("enc.pem", "the private key is encrypted"),
            ("p384.pem", "not a P-256 or SM2 private key"),
            ("params.pem", "this holds only curve parameters"),
            ("junk", "not a P-256 or SM2 private key"),
        ] {
            let error = read(d, file, None).unwrap_err().to_string();
            assert!(error.starts_with(says), "{file}: {error}");
        }
    }

    #[test]
    fn a_sec1_key_without_its_curve_needs_the_algorithm() {
        // ECPrivateKey { version 1, privateKey 32 bytes of 07 }: no parameters, no public key.
        let mut der = vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
        der.extend_from_slice(&[7; 32]);
        let error = PrivateKey::from_der(&der, None).unwrap_err();
        assert!(error.to_string().contains("does not name its curve"));
        for algorithm in [Algorithm::P256, Algorithm::Sm2] {
            let key = PrivateKey::from_der(&der, Some(algorithm)).unwrap();
            assert_eq!(
                (key.algorithm(), key.scalar().to_vec()),
                (algorithm, vec![7; 32])
            );
        }
        assert_eq!(
            format!(
                "{:?}",
                PrivateKey::from_der(&der, Some(Algorithm::Sm2)).unwrap()
            ),
            "PrivateKey(SM2, ..)"
        );
    }
}
