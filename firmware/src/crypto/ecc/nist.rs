//! ECDSA over NIST P-256 (FIPS 186-4, 6.4) with a prepared key.
//!
//! Signing, for a digest `z` (FIPS 186-4, 6.4: the leftmost 32 bytes, or left-padded):
//! 1. `k` from HMAC-DRBG over SHA-256 (RFC 6979, 3.2, with the RNG's 32 bytes as the
//!    additional data of 3.6, "hedged");
//! 2. `R = k·G` from the flash table, `r = x(R) mod n`;
//! 3. `s = k^-1·(z + r·d) mod n`; a zero `r` or `s` takes the next `k`.

use p256::elliptic_curve::Curve;
use p256::elliptic_curve::Generate;
use p256::{NistP256, NonZeroScalar, U256};
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::{AgreeError, MAX_SIGNATURE_LEN, POINT_LEN, SCALAR_LEN, Secret, SignError, public_or};

/// A fresh P-256 key pair.
pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> (Secret, [u8; POINT_LEN]) {
    loop {
        let secret: Secret =
            Zeroizing::new(NonZeroScalar::generate_from_rng(rng).to_bytes().into());
        if let Ok(key) = P256Key::new(&secret, None) {
            return (secret, key.public);
        }
    }
}

/// A P-256 private key with its public point.
#[derive(Clone)]
pub struct P256Key {
    d: NonZeroScalar,
    /// The same scalar in the assembly backend's form.
    #[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
    cm4: p256_cortex_m4::SecretKey,
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
        let mut key = Self {
            d,
            #[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
            cm4: super::cm4::secret(secret)?,
            public: [0; POINT_LEN],
        };
        key.public = public_or(public, || key.compute_public(secret));
        Ok(key)
    }

    /// The public point, from the assembly backend's form of the scalar.
    #[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
    fn compute_public(&self, _secret: &[u8; SCALAR_LEN]) -> [u8; POINT_LEN] {
        super::cm4::public_point(&self.cm4)
    }

    /// The uncompressed public point `04 ‖ X ‖ Y`.
    pub fn public(&self) -> &[u8; POINT_LEN] {
        &self.public
    }

    /// The private scalar's big-endian bytes, wiped when dropped.
    pub fn secret_bytes(&self) -> Secret {
        Zeroizing::new(self.d.to_bytes().into())
    }

    /// The shared `x` with the peer's point `peer` (see `agree`).
    pub fn shared_x(&self, peer: &[u8]) -> Result<Secret, AgreeError> {
        #[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
        return super::cm4::shared_x(&self.cm4, peer);
        #[cfg(not(all(feature = "p256-cm4", target_arch = "arm")))]
        return self.shared_x_with_fiat(peer);
    }

    /// Signs `digest` with nonce hedging bytes `hedge`.
    pub fn sign(
        &self,
        digest: &[u8],
        hedge: &[u8; SCALAR_LEN],
        out: &mut [u8; MAX_SIGNATURE_LEN],
    ) -> Result<usize, SignError> {
        let prehash = fips186_prehash(digest)?;
        let d_bytes = Zeroizing::new(self.d.to_bytes());
        let nonces =
            rfc6979::KGenerator::<Sha256, U256>::new(&d_bytes, &prehash, hedge, &NistP256::ORDER);
        #[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
        return super::cm4::sign(&self.cm4, &prehash, nonces, out);
        #[cfg(not(all(feature = "p256-cm4", target_arch = "arm")))]
        return self.sign_with_table(&prehash, nonces, out);
    }
}

impl Drop for P256Key {
    fn drop(&mut self) {
        self.d.zeroize();
        #[cfg(all(feature = "p256-cm4", target_arch = "arm"))]
        self.cm4.zeroize();
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

/// P-256 on the crates' arithmetic, with `k·G` from the flash table.
#[cfg(not(all(feature = "p256-cm4", target_arch = "arm")))]
mod table {
    use p256::elliptic_curve::ops::{Invert, Reduce};
    use p256::{FieldBytes, NistP256, Scalar, U256};
    use sha2::Sha256;
    use zeroize::Zeroize;

    use super::super::field::{FieldElement, P256Field};
    use super::super::fixed_base::{self, FixedBase, Table, decode_table};
    use super::super::{
        AgreeError, MAX_SIGNATURE_LEN, NONCE_TRIES, POINT_LEN, SCALAR_LEN, Secret, SignError,
        copy_der,
    };
    use super::P256Key;
    use zeroize::Zeroizing;

    /// Multiples of P-256's generator (see `fixed_base`), made by
    /// `UKEY_BLESS_TABLES=1 cargo test -p ukey-firmware tables`.
    static TABLE: Table<P256Field> = decode_table!(P256Field, include_bytes!("p256_g.bin"));

    impl FixedBase for NistP256 {
        type Field = P256Field;
        const TABLE: &'static Table<P256Field> = &TABLE;
    }

    impl P256Key {
        pub(super) fn compute_public(&self, secret: &[u8; SCALAR_LEN]) -> [u8; POINT_LEN] {
            fixed_base::public_point::<NistP256>(secret)
        }

        /// The shared `x` on the field code that signing uses.
        pub(super) fn shared_x_with_fiat(&self, peer: &[u8]) -> Result<Secret, AgreeError> {
            let point = super::super::agree::shared_point::<P256Field>(&self.secret_bytes(), peer)?;
            let mut x = Zeroizing::new([0u8; SCALAR_LEN]);
            x.copy_from_slice(&point[1..1 + SCALAR_LEN]);
            Ok(x)
        }

        /// Steps 2 and 3 with the crate's arithmetic and the flash table.
        pub(super) fn sign_with_table(
            &self,
            prehash: &[u8; SCALAR_LEN],
            mut nonces: rfc6979::KGenerator<'_, Sha256, U256>,
            out: &mut [u8; MAX_SIGNATURE_LEN],
        ) -> Result<usize, SignError> {
            let z = <Scalar as Reduce<FieldBytes>>::reduce(&(*prehash).into());
            for _ in 0..NONCE_TRIES {
                let Some((mut k, k_bytes)) = fixed_base::next_nonce::<NistP256>(&mut nonces) else {
                    continue;
                };
                let x = fixed_base::mul::<NistP256>(&k_bytes).x.to_be_bytes();
                let r = <Scalar as Reduce<FieldBytes>>::reduce(&x.into());
                let s = *k.invert() * (z + r * *self.d);
                k.zeroize();
                if let Ok(signature) = p256::ecdsa::Signature::from_scalars(r, s) {
                    return copy_der(signature.to_der().as_bytes(), out);
                }
            }
            Err(SignError::BadKey)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn tables() {
        super::super::fixed_base::tests::check_table::<NistP256>("p256_g.bin");
    }

    #[test]
    fn fixed_base_matches_the_crate() {
        super::super::fixed_base::tests::check_mul::<NistP256>();
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
