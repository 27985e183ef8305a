//! Public keys of the token's algorithms, what is signed for a message, and verification.
//!
//! SM2 (GB/T 32918.2, section 6.1): the signer first computes
//! `Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)` from its public key and an
//! identifier (by default `1234567812345678`, GM/T 0009), then `e = SM3(Z_A ‖ M)`; the token
//! signs `e`. P-256: the token signs `SHA-256(M)`.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest, Sha256};
use sm3::Sm3;

use crate::error::{Error, Result};
use crate::piv::Algorithm;

/// The SM2 signer identifier used when none is given (GM/T 0009).
pub const DEFAULT_SIGNER_ID: &str = "1234567812345678";

/// SM2 curve parameters a, b, x_G, y_G (GB/T 32918.5), as Z_A hashes them.
const SM2_CURVE: [&str; 4] = [
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
];

/// A public key of one of the token's algorithms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// NIST P-256.
    P256(p256::PublicKey),
    /// SM2.
    Sm2(sm2::PublicKey),
}

impl PublicKey {
    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::P256,
            PublicKey::Sm2(_) => Algorithm::Sm2,
        }
    }

    /// Reads an uncompressed or compressed SEC1 point of `algorithm`'s curve.
    pub fn from_sec1(algorithm: Algorithm, point: &[u8]) -> Result<Self> {
        let bad = |source| Error::BadPublicKey { algorithm, source };
        Ok(match algorithm {
            Algorithm::P256 => {
                PublicKey::P256(p256::PublicKey::from_sec1_bytes(point).map_err(bad)?)
            }
            Algorithm::Sm2 => PublicKey::Sm2(sm2::PublicKey::from_sec1_bytes(point).map_err(bad)?),
        })
    }

    /// The uncompressed SEC1 point `04 ‖ X ‖ Y`.
    pub fn to_sec1(&self) -> Vec<u8> {
        match self {
            PublicKey::P256(pk) => pk.to_sec1_point(false).as_bytes().to_vec(),
            PublicKey::Sm2(pk) => pk.to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    /// Reads a DER SubjectPublicKeyInfo (id-ecPublicKey with the P-256 or SM2 curve).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        if let Ok(pk) = p256::PublicKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(pk));
        }
        sm2::PublicKey::from_public_key_der(der)
            .map(PublicKey::Sm2)
            .map_err(Error::UnsupportedPublicKey)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let doc = match self {
            PublicKey::P256(pk) => pk.to_public_key_der(),
            PublicKey::Sm2(pk) => pk.to_public_key_der(),
        }
        .map_err(Error::KeyEncoding)?;
        Ok(doc.into_vec())
    }

    /// The PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> Result<String> {
        let doc = match self {
            PublicKey::P256(pk) => pk.to_public_key_pem(Default::default()),
            PublicKey::Sm2(pk) => pk.to_public_key_pem(Default::default()),
        };
        doc.map_err(Error::KeyEncoding)
    }

    /// The 32 bytes the token signs for `message`: `SHA-256(M)` for P-256,
    /// `SM3(Z_A ‖ M)` for SM2 with `signer_id`.
    pub fn digest(&self, message: &[u8], signer_id: &str) -> Result<[u8; 32]> {
        match self {
            PublicKey::P256(_) => Ok(Sha256::digest(message).into()),
            PublicKey::Sm2(pk) => {
                let mut h = Sm3::new();
                h.update(sm2_z(pk, signer_id)?);
                h.update(message);
                Ok(h.finalize().into())
            }
        }
    }

    /// Checks a DER `SEQUENCE { r, s }` signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8], signer_id: &str) -> Result<()> {
        let digest = self.digest(message, signer_id)?;
        self.verify_digest(&digest, signature, signer_id)
    }

    /// Checks a DER signature of an already computed [`digest`](Self::digest).
    pub fn verify_digest(&self, digest: &[u8], signature: &[u8], signer_id: &str) -> Result<()> {
        match self {
            PublicKey::P256(pk) => {
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                p256::ecdsa::VerifyingKey::from(pk)
                    .verify_prehash(digest, &sig)
                    .map_err(|_| Error::SignatureInvalid)
            }
            PublicKey::Sm2(pk) => {
                let sig = sm2::dsa::Signature::from_der(signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                sm2::dsa::VerifyingKey::new(signer_id, *pk)
                    .map_err(|_| Error::input("the SM2 signer ID is too long"))?
                    .verify_prehash(digest, &sig)
                    .map_err(|_| Error::SignatureInvalid)
            }
        }
    }
}

/// `Z_A` of GB/T 32918.2 section 5.5 for an SM2 public key and signer ID.
pub fn sm2_z(public_key: &sm2::PublicKey, signer_id: &str) -> Result<[u8; 32]> {
    let entl = u16::try_from(signer_id.len() * 8)
        .map_err(|_| Error::input("the SM2 signer ID is too long"))?;
    let mut h = Sm3::new();
    h.update(entl.to_be_bytes());
    h.update(signer_id.as_bytes());
    for hex in SM2_CURVE {
        let mut bytes = [0u8; 32];
        base16ct::upper::decode(hex, &mut bytes)
            .map_err(|_| Error::input("bad SM2 curve constant"))?;
        h.update(bytes);
    }
    let point = public_key.to_sec1_point(false);
    h.update(&point.as_bytes()[1..]);
    Ok(h.finalize().into())
}

/// Serialises a public key as its PEM text.
#[cfg(feature = "serde")]
impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_pem().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    //! Known answers checked by OpenSSL 3.0, with the commands the field notes give:
    //! `openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg -digest sm3
    //! -pkeyopt distid:1234567812345678 -sigfile sig`.

    use std::process::Command;

    use p256::ecdsa::signature::hazmat::PrehashSigner;

    use super::*;

    fn openssl(dir: &std::path::Path, args: &[&str]) -> bool {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl runs");
        out.status.success()
    }

    #[test]
    fn sm2_e_and_signature_verify_with_openssl_distid() {
        let dir = tempfile::tempdir().unwrap();
        let secret = sm2::SecretKey::from_slice(&[0x42; 32]).unwrap();
        let pk = PublicKey::Sm2(secret.public_key());
        std::fs::write(dir.path().join("pub.pem"), pk.to_pem().unwrap()).unwrap();
        let message = b"The quick brown fox jumps over the lazy dog";
        std::fs::write(dir.path().join("msg"), message).unwrap();

        let e = pk.digest(message, DEFAULT_SIGNER_ID).unwrap();
        let signer = sm2::dsa::SigningKey::new(DEFAULT_SIGNER_ID, &secret).unwrap();
        let sig: sm2::dsa::Signature = signer.sign_prehash(&e).unwrap();
        std::fs::write(dir.path().join("sig"), sig.to_der().as_bytes()).unwrap();

        let verify = |distid: &str| {
            openssl(
                dir.path(),
                &[
                    "pkeyutl",
                    "-verify",
                    "-pubin",
                    "-inkey",
                    "pub.pem",
                    "-rawin",
                    "-in",
                    "msg",
                    "-digest",
                    "sm3",
                    "-pkeyopt",
                    &format!("distid:{distid}"),
                    "-sigfile",
                    "sig",
                ],
            )
        };
        assert!(
            verify(DEFAULT_SIGNER_ID),
            "OpenSSL rejects our e = SM3(Z_A || M)"
        );
        assert!(!verify("ALICE123@YAHOO.COM"), "the signer ID must matter");

        // The sm2 crate's own message hashing agrees with ours.
        use p256::ecdsa::signature::Verifier;
        sm2::dsa::VerifyingKey::new(DEFAULT_SIGNER_ID, secret.public_key())
            .unwrap()
            .verify(message, &sig)
            .unwrap();
        pk.verify(message, sig.to_der().as_bytes(), DEFAULT_SIGNER_ID)
            .unwrap();
        assert!(
            pk.verify(b"other", sig.to_der().as_bytes(), DEFAULT_SIGNER_ID)
                .is_err()
        );
    }

    #[test]
    fn openssl_sm2_signatures_verify_here() {
        let dir = tempfile::tempdir().unwrap();
        assert!(openssl(
            dir.path(),
            &["genpkey", "-algorithm", "SM2", "-out", "key.pem"]
        ));
        assert!(openssl(
            dir.path(),
            &[
                "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der"
            ]
        ));
        std::fs::write(dir.path().join("msg"), b"hello").unwrap();
        assert!(openssl(
            dir.path(),
            &[
                "pkeyutl",
                "-sign",
                "-inkey",
                "key.pem",
                "-rawin",
                "-in",
                "msg",
                "-digest",
                "sm3",
                "-pkeyopt",
                "distid:1234567812345678",
                "-out",
                "sig",
            ]
        ));
        let pk =
            PublicKey::from_spki_der(&std::fs::read(dir.path().join("pub.der")).unwrap()).unwrap();
        assert_eq!(pk.algorithm(), Algorithm::Sm2);
        let sig = std::fs::read(dir.path().join("sig")).unwrap();
        pk.verify(b"hello", &sig, DEFAULT_SIGNER_ID).unwrap();
    }

    #[test]
    fn p256_digest_is_sha256_and_verifies_with_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let secret = p256::SecretKey::from_slice(&[0x24; 32]).unwrap();
        let pk = PublicKey::P256(secret.public_key());
        std::fs::write(dir.path().join("pub.pem"), pk.to_pem().unwrap()).unwrap();
        std::fs::write(dir.path().join("msg"), b"abc").unwrap();
        let digest = pk.digest(b"abc", DEFAULT_SIGNER_ID).unwrap();
        assert_eq!(
            base16ct::lower::encode_string(&digest),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let signer = p256::ecdsa::SigningKey::from(&secret);
        let sig: p256::ecdsa::Signature = signer.sign_prehash(&digest).unwrap();
        std::fs::write(dir.path().join("sig"), sig.to_der().as_bytes()).unwrap();
        assert!(openssl(
            dir.path(),
            &[
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "sig",
                "msg"
            ]
        ));
        assert_eq!(
            PublicKey::from_spki_der(&pk.to_spki_der().unwrap()).unwrap(),
            pk
        );
    }
}
