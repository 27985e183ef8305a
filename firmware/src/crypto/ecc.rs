//! Signing keys: on-card generation and signatures over a host-supplied digest.
//!
//! - ECDSA over NIST P-256 (PIV algorithm `11`, FIPS 186-4): the input is the message digest,
//!   truncated or left-padded to 32 bytes as FIPS 186-4, 6.4 prescribes.
//! - SM2 (ukey algorithm `54`, GB/T 32918.2-2016, 6.1): the input is `e = SM3(Z_A ‖ M)`,
//!   which the host computes; the card runs steps A3 to A7.
//!
//! Signatures are DER `SEQUENCE { r, s }`. Nonces come from the platform RNG mixed into the
//! RFC 6979 derivation (hedged signatures), so a weak RNG alone does not leak the key.

use p256::ecdsa::signature::hazmat::RandomizedPrehashSigner;
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

/// Length of a private scalar and of a digest, in bytes.
pub const SCALAR_LEN: usize = 32;
/// Length of an uncompressed SEC1 point `04 ‖ X ‖ Y`.
pub const POINT_LEN: usize = 65;
/// Longest DER signature: `30 45 02 21 r 02 21 s`... rounded up.
pub const MAX_SIGNATURE_LEN: usize = 72;

/// The key algorithms the card generates and signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA over NIST P-256.
    P256,
    /// SM2 digital signature.
    Sm2,
}

impl KeyAlgorithm {
    /// The algorithm identifier in APDUs.
    pub const fn id(self) -> u8 {
        match self {
            Self::P256 => 0x11,
            Self::Sm2 => 0x54,
        }
    }

    /// The algorithm with identifier `id`.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0x11 => Some(Self::P256),
            0x54 => Some(Self::Sm2),
            _ => None,
        }
    }
}

/// A private scalar, wiped from RAM when dropped.
pub type Secret = Zeroizing<[u8; SCALAR_LEN]>;

/// A fresh key pair: the private scalar and the uncompressed public point.
pub fn generate<R: CryptoRng + ?Sized>(
    alg: KeyAlgorithm,
    rng: &mut R,
) -> (Secret, [u8; POINT_LEN]) {
    let mut secret = Zeroizing::new([0u8; SCALAR_LEN]);
    let mut public = [0u8; POINT_LEN];
    match alg {
        KeyAlgorithm::P256 => {
            let scalar = p256::NonZeroScalar::generate_from_rng(rng);
            secret.copy_from_slice(&scalar.to_bytes());
            let point = p256::PublicKey::from_secret_scalar(&scalar).to_sec1_point(false);
            public.copy_from_slice(point.as_bytes());
        }
        KeyAlgorithm::Sm2 => {
            let scalar = sm2::NonZeroScalar::generate_from_rng(rng);
            secret.copy_from_slice(&scalar.to_bytes());
            let point = sm2::PublicKey::from_secret_scalar(&scalar).to_sec1_point(false);
            public.copy_from_slice(point.as_bytes());
        }
    }
    (secret, public)
}

/// Why a signature could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignError {
    /// The digest has a length the algorithm does not take.
    DigestLength,
    /// The stored scalar is not a valid key (a damaged record).
    BadKey,
}

/// Signs `digest` with `secret`; writes the DER signature to `out` and returns its length.
pub fn sign<R: CryptoRng + ?Sized>(
    alg: KeyAlgorithm,
    secret: &[u8; SCALAR_LEN],
    digest: &[u8],
    rng: &mut R,
    out: &mut [u8; MAX_SIGNATURE_LEN],
) -> Result<usize, SignError> {
    match alg {
        KeyAlgorithm::P256 => {
            let prehash = fips186_prehash(digest)?;
            let key = p256::ecdsa::SigningKey::from_slice(secret).map_err(|_| SignError::BadKey)?;
            let sig: p256::ecdsa::Signature = key
                .sign_prehash_with_rng(rng, &prehash)
                .map_err(|_| SignError::BadKey)?;
            copy_der(sig.to_der().as_bytes(), out)
        }
        KeyAlgorithm::Sm2 => {
            if digest.len() != SCALAR_LEN {
                return Err(SignError::DigestLength);
            }
            let key = sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_DISTID, secret)
                .map_err(|_| SignError::BadKey)?;
            let sig: sm2::dsa::Signature = key
                .sign_prehash_with_rng(rng, digest)
                .map_err(|_| SignError::BadKey)?;
            copy_der(sig.to_der().as_bytes(), out)
        }
    }
}

/// The signer ID only matters for Z_A, which the host computes; the key object still wants
/// one, so it gets the GB/T 32918 default.
const SM2_DEFAULT_DISTID: &str = "1234567812345678";

/// FIPS 186-4, 6.4: a digest longer than the order's 32 bytes is cut to its leftmost bytes;
/// a shorter one is taken as a smaller integer (left-padded with zeros).
fn fips186_prehash(digest: &[u8]) -> Result<[u8; SCALAR_LEN], SignError> {
    if digest.is_empty() || digest.len() > 64 {
        return Err(SignError::DigestLength);
    }
    let mut prehash = [0u8; SCALAR_LEN];
    let take = digest.len().min(SCALAR_LEN);
    prehash[SCALAR_LEN - take..].copy_from_slice(&digest[..take]);
    Ok(prehash)
}

fn copy_der(der: &[u8], out: &mut [u8; MAX_SIGNATURE_LEN]) -> Result<usize, SignError> {
    let target = out.get_mut(..der.len()).ok_or(SignError::BadKey)?;
    target.copy_from_slice(der);
    Ok(der.len())
}
