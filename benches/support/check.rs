//! Signature checks with the same curve crates the firmware signs with, so a bench can make
//! sure it measures signatures and not an error path.

use p256::ecdsa::signature::hazmat::PrehashVerifier;

use super::apdu::{Curve, DIGEST, hex};

/// The SM2 signer ID; it only enters `Z_A`, which the host folds into the digest, but a
/// verifying key wants one.
const SM2_DISTID: &str = "1234567812345678";

/// A public key ready to verify signatures of [`DIGEST`]-sized prehashes.
pub enum Verifier {
    /// ECDSA P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// SM2.
    Sm2(sm2::dsa::VerifyingKey),
}

impl Verifier {
    /// The verifying key for the uncompressed point `public` on `curve`.
    pub fn new(curve: Curve, public: &[u8; 65]) -> Result<Self, String> {
        let bad = |e: &dyn std::fmt::Display| format!("bad {} public key: {e}", curve.name());
        match curve {
            Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(public)
                .map(Self::P256)
                .map_err(|e| bad(&e)),
            Curve::Sm2 => sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, public)
                .map(Self::Sm2)
                .map_err(|e| bad(&e)),
        }
    }

    /// Checks the DER signature `der` of `digest`.
    pub fn verify(&self, digest: &[u8], der: &[u8]) -> Result<(), String> {
        let result = match self {
            Self::P256(key) => p256::ecdsa::Signature::from_der(der)
                .and_then(|signature| key.verify_prehash(digest, &signature)),
            Self::Sm2(key) => sm2::dsa::Signature::from_der(der)
                .and_then(|signature| key.verify_prehash(digest, &signature)),
        };
        result.map_err(|_| format!("the signature {} does not verify", hex(der)))
    }

    /// Checks a signature of the benches' [`DIGEST`].
    pub fn verify_bench_digest(&self, der: &[u8]) -> Result<(), String> {
        self.verify(&DIGEST, der)
    }
}
