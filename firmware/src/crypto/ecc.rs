//! Signing keys: on-card generation and signatures over a host-supplied digest.
//!
//! - ECDSA over NIST P-256 (PIV algorithm `11`, FIPS 186-4): the input is the message digest,
//!   truncated or left-padded to 32 bytes as FIPS 186-4, 6.4 prescribes.
//! - SM2 (ukey algorithm `54`, GB/T 32918.2-2016, 6.1): the input is `e = SM3(Z_A ‖ M)`,
//!   which the host computes; the card runs steps A3 to A7.
//!
//! A [`SigningKey`] is prepared once per key (the public point, and for SM2 `(1 + d)^-1`),
//! so a signature costs one fixed-base multiplication `k·G`, one field inversion and a few
//! scalar operations. `k·G` reads a table of multiples of `G` kept in flash (see
//! `fixed_base`). Signatures are DER `SEQUENCE { r, s }`. Nonces come from the platform RNG
//! mixed into the RFC 6979 derivation (hedged signatures), so a weak RNG alone does not leak
//! the key.

mod agree;
#[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
mod cm4;
mod field;
mod fixed_base;
mod nist;
mod point;
mod sm2;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use agree::AgreeError;

/// Length of a private scalar and of a digest, in bytes.
pub const SCALAR_LEN: usize = 32;
/// Length of an uncompressed SEC1 point `04 ‖ X ‖ Y`.
pub const POINT_LEN: usize = 65;
/// Longest DER signature: `30 44 02 20 r 02 20 s` with a sign byte on each of `r` and `s`.
pub const MAX_SIGNATURE_LEN: usize = 72;

/// The key algorithms the card generates and signs with, by their card-edge numbers.
pub use ukey_card_edge::Algorithm as KeyAlgorithm;

/// A private scalar, wiped from RAM when dropped.
pub type Secret = Zeroizing<[u8; SCALAR_LEN]>;

/// A fresh key pair: the private scalar and the uncompressed public point.
pub fn generate<R: CryptoRng + ?Sized>(
    alg: KeyAlgorithm,
    rng: &mut R,
) -> (Secret, [u8; POINT_LEN]) {
    match alg {
        KeyAlgorithm::P256 => nist::generate(rng),
        KeyAlgorithm::Sm2 => sm2::generate(rng),
    }
}

/// Longest key agreement answer: SM2's whole shared point.
pub const MAX_AGREEMENT_LEN: usize = POINT_LEN;

/// Why a key could not be prepared or a signature made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignError {
    /// The digest has a length the algorithm does not take.
    DigestLength,
    /// The scalar is not a valid key (zero, or not below the group order; for SM2 also
    /// `n - 1`), or a stored record is damaged.
    BadKey,
}

/// A private key prepared for signing: the scalar with everything that depends only on it,
/// computed once. Secrets are wiped when it is dropped.
///
/// Size: [`SigningKey::RAM_BYTES`], 136 bytes on a 32-bit MCU and 144 on a 64-bit host (the
/// largest variant, SM2: `d`, `(1 + d)^-1` and the public point, and the variant's tag).
#[derive(Clone)]
pub struct SigningKey(Prepared);

#[derive(Clone)]
enum Prepared {
    P256(nist::P256Key),
    Sm2(sm2::Sm2Key),
}

impl SigningKey {
    /// Bytes a prepared key takes in RAM.
    pub const RAM_BYTES: usize = core::mem::size_of::<Self>();

    /// Prepares the key with private scalar `secret`; computes its public point.
    pub fn new(alg: KeyAlgorithm, secret: &[u8; SCALAR_LEN]) -> Result<Self, SignError> {
        Ok(Self(match alg {
            KeyAlgorithm::P256 => Prepared::P256(nist::P256Key::new(secret, None)?),
            KeyAlgorithm::Sm2 => Prepared::Sm2(sm2::Sm2Key::new(secret, None)?),
        }))
    }

    /// Prepares a key pair this card generated and stored itself: `public` is taken as the
    /// scalar's public point without recomputing it (saving one `k·G` per key at start-up).
    pub(crate) fn from_stored(
        alg: KeyAlgorithm,
        secret: &[u8; SCALAR_LEN],
        public: &[u8; POINT_LEN],
    ) -> Result<Self, SignError> {
        Ok(Self(match alg {
            KeyAlgorithm::P256 => Prepared::P256(nist::P256Key::new(secret, Some(public))?),
            KeyAlgorithm::Sm2 => Prepared::Sm2(sm2::Sm2Key::new(secret, Some(public))?),
        }))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.0 {
            Prepared::P256(_) => KeyAlgorithm::P256,
            Prepared::Sm2(_) => KeyAlgorithm::Sm2,
        }
    }

    /// The uncompressed public point `04 ‖ X ‖ Y`.
    pub fn public_key(&self) -> [u8; POINT_LEN] {
        *self.public()
    }

    pub(crate) fn public(&self) -> &[u8; POINT_LEN] {
        match &self.0 {
            Prepared::P256(key) => key.public(),
            Prepared::Sm2(key) => key.public(),
        }
    }

    /// The private scalar's bytes, for storing the key.
    pub(crate) fn secret_bytes(&self) -> Secret {
        match &self.0 {
            Prepared::P256(key) => key.secret_bytes(),
            Prepared::Sm2(key) => key.secret_bytes(),
        }
    }

    /// Signs `digest`; writes the DER signature to `out` and returns its length.
    pub fn sign<R: CryptoRng + ?Sized>(
        &self,
        digest: &[u8],
        rng: &mut R,
        out: &mut [u8; MAX_SIGNATURE_LEN],
    ) -> Result<usize, SignError> {
        let mut hedge = Zeroizing::new([0u8; SCALAR_LEN]);
        rng.fill_bytes(hedge.as_mut());
        match &self.0 {
            Prepared::P256(key) => key.sign(digest, &hedge, out),
            Prepared::Sm2(key) => key.sign(digest, &hedge, out),
        }
    }

    /// Key agreement with the peer's point `04 ‖ X ‖ Y`: writes what the card edge answers
    /// to `out` (P-256: the shared `x`; SM2: the whole shared point `04 ‖ x ‖ y`, for the host
    /// to finish GB/T 32918.3/.4) and returns its length.
    pub fn agree(
        &self,
        peer: &[u8],
        out: &mut [u8; MAX_AGREEMENT_LEN],
    ) -> Result<usize, AgreeError> {
        match &self.0 {
            Prepared::P256(key) => {
                out[..SCALAR_LEN].copy_from_slice(key.shared_x(peer)?.as_ref());
                Ok(SCALAR_LEN)
            }
            Prepared::Sm2(key) => {
                out.copy_from_slice(key.shared_point(peer)?.as_ref());
                Ok(POINT_LEN)
            }
        }
    }
}

impl PartialEq for SigningKey {
    /// Same algorithm and scalar, compared in constant time.
    fn eq(&self, other: &Self) -> bool {
        self.algorithm() == other.algorithm()
            && bool::from(self.secret_bytes().ct_eq(other.secret_bytes().as_ref()))
    }
}

impl Eq for SigningKey {}

impl core::fmt::Debug for SigningKey {
    /// Shows the algorithm and public point, never the secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// Copies a DER signature into the output buffer.
fn copy_der(der: &[u8], out: &mut [u8; MAX_SIGNATURE_LEN]) -> Result<usize, SignError> {
    let target = out.get_mut(..der.len()).ok_or(SignError::BadKey)?;
    target.copy_from_slice(der);
    Ok(der.len())
}

/// A stored public point, or the one computed from the scalar.
fn public_or(
    public: Option<&[u8; POINT_LEN]>,
    compute: impl FnOnce() -> [u8; POINT_LEN],
) -> [u8; POINT_LEN] {
    public.copied().unwrap_or_else(compute)
}

/// How many nonces a signature tries before giving up: a retry happens with probability
/// about 2^-255 per try, so a second one never occurs in practice.
const NONCE_TRIES: usize = 4;

// The RAM a slot's prepared key takes, as documented on `SigningKey`.
const _: () = assert!(SigningKey::RAM_BYTES <= 144);
