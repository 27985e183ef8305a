//! ECDSA over NIST P-256 (FIPS 186-4, 6.4) with a prepared key.
//!
//! Signing, for a digest `z` (FIPS 186-4, 6.4: the leftmost 32 bytes, or left-padded):
//! 1. `k` from HMAC-DRBG over SHA-256 (RFC 6979, 3.2, with the RNG's 32 bytes as the
//!    additional data of 3.6, "hedged");
//! 2. `R = k·G` from the flash table, `r = x(R) mod n`;
//! 3. `s = k^-1·(z + r·d) mod n`; a zero `r` or `s` takes the next `k`.

use p256::elliptic_curve::Curve;
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::ops::{Invert, Reduce};
use p256::elliptic_curve::point::AffineCoordinates;
use p256::{FieldBytes, NistP256, NonZeroScalar, Scalar, U256};
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::fixed_base::{self, FixedBase, Table};
use super::{
    MAX_SIGNATURE_LEN, NONCE_TRIES, POINT_LEN, SCALAR_LEN, Secret, SignError, copy_der, public_or,
};

/// Multiples of P-256's generator (see `fixed_base`), made by
/// `UKEY_BLESS_TABLES=1 cargo test -p ukey-firmware tables`.
static TABLE: Table = *include_bytes!("p256_g.bin");

impl FixedBase for NistP256 {
    const TABLE: &'static Table = &TABLE;
}

/// A fresh P-256 key pair.
pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> (Secret, [u8; POINT_LEN]) {
    let d = NonZeroScalar::generate_from_rng(rng);
    let secret = Zeroizing::new(d.to_bytes().into());
    (secret, fixed_base::public_point::<NistP256>(&d))
}

/// A P-256 private key with its public point.
#[derive(Clone)]
pub struct P256Key {
    d: NonZeroScalar,
    public: [u8; POINT_LEN],
}

impl P256Key {
    /// Prepares `secret`; computes the public point unless `public` gives it.
    pub fn new(
        secret: &[u8; SCALAR_LEN],
        public: Option<&[u8; POINT_LEN]>,
    ) -> Result<Self, SignError> {
        let d = Option::<NonZeroScalar>::from(NonZeroScalar::from_repr((*secret).into()))
            .ok_or(SignError::BadKey)?;
        let public = public_or(public, || fixed_base::public_point::<NistP256>(&d));
        Ok(Self { d, public })
    }

    pub fn public(&self) -> &[u8; POINT_LEN] {
        &self.public
    }

    pub fn secret_bytes(&self) -> Secret {
        Zeroizing::new(self.d.to_bytes().into())
    }

    /// Signs `digest` with nonce hedging bytes `hedge`.
    pub fn sign(
        &self,
        digest: &[u8],
        hedge: &[u8; SCALAR_LEN],
        out: &mut [u8; MAX_SIGNATURE_LEN],
    ) -> Result<usize, SignError> {
        let prehash = fips186_prehash(digest)?;
        let z = <Scalar as Reduce<FieldBytes>>::reduce(&prehash.into());
        let d_bytes = Zeroizing::new(self.d.to_bytes());
        let mut nonces =
            rfc6979::KGenerator::<Sha256, U256>::new(&d_bytes, &prehash, hedge, &NistP256::ORDER);
        for _ in 0..NONCE_TRIES {
            let mut k_bytes = FieldBytes::default();
            nonces.fill_next_k(&mut k_bytes);
            let k = Option::<NonZeroScalar>::from(NonZeroScalar::from_repr(k_bytes));
            k_bytes.zeroize();
            let Some(mut k) = k else { continue };
            let big_r = fixed_base::mul::<NistP256>(&k).to_affine();
            let r = <Scalar as Reduce<FieldBytes>>::reduce(&big_r.x());
            let s = *k.invert() * (z + r * *self.d);
            k.zeroize();
            if let Ok(signature) = p256::ecdsa::Signature::from_scalars(r, s) {
                return copy_der(signature.to_der().as_bytes(), out);
            }
        }
        Err(SignError::BadKey)
    }
}

impl Drop for P256Key {
    fn drop(&mut self) {
        self.d.zeroize();
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn tables() {
        fixed_base::tests::check_table::<NistP256>("p256_g.bin");
    }

    #[test]
    fn fixed_base_matches_the_crate() {
        fixed_base::tests::check_mul::<NistP256>();
    }

    #[test]
    fn signatures_verify_with_the_crate() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for round in 0..20u8 {
            let (secret, public) = generate(&mut rng);
            let key = P256Key::new(&secret, None).expect("valid key");
            assert_eq!(key.public(), &public);
            let verifier = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public).expect("point");
            let digest = [round; 32];
            let mut out = [0u8; MAX_SIGNATURE_LEN];
            let len = key.sign(&digest, &[round; 32], &mut out).expect("sign");
            let signature = p256::ecdsa::DerSignature::try_from(&out[..len]).expect("DER");
            verifier
                .verify_prehash(&digest, &signature)
                .expect("verifies");
        }
    }

    #[test]
    fn bad_scalars_are_refused() {
        assert!(P256Key::new(&[0; 32], None).is_err());
        assert!(P256Key::new(&[0xFF; 32], None).is_err());
    }
}
