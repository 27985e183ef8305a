//! SM2 digital signatures (GB/T 32918.2-2016, 6.1, steps A3 to A7) with a prepared key.
//!
//! The host computes `e = SM3(Z_A ‖ M)` and sends it. Per key, `(1 + d)^-1 mod n` is
//! computed once. Per signature:
//! - A3: `k` from HMAC-DRBG over SHA-256 (RFC 6979, 3.2; the standard asks only for a random
//!   `k` in `[1, n-1]`), hedged with the RNG's 32 bytes as additional data;
//! - A4: `(x1, y1) = k·G` from the flash table;
//! - A5: `r = (e + x1) mod n`, next `k` if `r = 0` or `r + k = n`;
//! - A6: `s = (1 + d)^-1·(k - r·d) mod n`, next `k` if `s = 0`;
//! - A7: the signature `(r, s)`.

use rand_core::CryptoRng;
use sha2::Sha256;
use sm2::elliptic_curve::Curve;
use sm2::elliptic_curve::Generate;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::subtle::Choice;
use sm2::{FieldBytes, NonZeroScalar, Scalar, Sm2, U256};
use zeroize::{Zeroize, Zeroizing};

use super::field::{FieldElement, Sm2Field};
use super::fixed_base::{self, FixedBase, Table, decode_table};
use super::{
    AgreeError, MAX_SIGNATURE_LEN, NONCE_TRIES, POINT_LEN, SCALAR_LEN, Secret, SignError, copy_der,
    public_or,
};

/// Multiples of SM2's generator (see `fixed_base`), made by
/// `UKEY_BLESS_TABLES=1 cargo test -p ukey-firmware tables`.
static TABLE: Table<Sm2Field> = decode_table!(Sm2Field, include_bytes!("sm2_g.bin"));

impl FixedBase for Sm2 {
    type Field = Sm2Field;
    const TABLE: &'static Table<Sm2Field> = &TABLE;
}

/// A fresh SM2 key pair (`d` in `[1, n-2]`, as GB/T 32918.1, 6.1 asks).
pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> (Secret, [u8; POINT_LEN]) {
    loop {
        let d = NonZeroScalar::generate_from_rng(rng);
        if bool::from((*d + Scalar::ONE).is_zero()) {
            continue;
        }
        let secret = Zeroizing::new(d.to_bytes().into());
        let public = fixed_base::public_point::<Sm2>(&secret);
        return (secret, public);
    }
}

/// An SM2 private key with `(1 + d)^-1` and its public point.
#[derive(Clone)]
pub struct Sm2Key {
    d: NonZeroScalar,
    one_plus_d_inv: Scalar,
    public: [u8; POINT_LEN],
}

impl Sm2Key {
    /// Prepares `secret`; computes the public point unless `public` gives it.
    pub fn new(
        secret: &[u8; SCALAR_LEN],
        public: Option<&[u8; POINT_LEN]>,
    ) -> Result<Self, SignError> {
        let d = Option::<NonZeroScalar>::from(NonZeroScalar::from_repr((*secret).into()))
            .ok_or(SignError::BadKey)?;
        let one_plus_d_inv =
            Option::<Scalar>::from((*d + Scalar::ONE).invert()).ok_or(SignError::BadKey)?;
        let public = public_or(public, || fixed_base::public_point::<Sm2>(secret));
        Ok(Self {
            d,
            one_plus_d_inv,
            public,
        })
    }

    /// The uncompressed public point `04 ‖ X ‖ Y`.
    pub fn public(&self) -> &[u8; POINT_LEN] {
        &self.public
    }

    /// The private scalar's big-endian bytes, wiped when dropped.
    pub fn secret_bytes(&self) -> Secret {
        Zeroizing::new(self.d.to_bytes().into())
    }

    /// The shared point with the peer's point `peer` (see `agree`).
    pub fn shared_point(&self, peer: &[u8]) -> Result<Zeroizing<[u8; POINT_LEN]>, AgreeError> {
        super::agree::shared_point::<Sm2Field>(&self.secret_bytes(), peer)
    }

    /// Signs `e` (32 bytes) with nonce hedging bytes `hedge`.
    pub fn sign(
        &self,
        e: &[u8],
        hedge: &[u8; SCALAR_LEN],
        out: &mut [u8; MAX_SIGNATURE_LEN],
    ) -> Result<usize, SignError> {
        let e: [u8; SCALAR_LEN] = e.try_into().map_err(|_| SignError::DigestLength)?;
        let e_scalar = <Scalar as Reduce<FieldBytes>>::reduce(&e.into());
        let d_bytes = Zeroizing::new(self.d.to_bytes());
        let mut nonces = rfc6979::KGenerator::<Sha256, U256>::new(&d_bytes, &e, hedge, &Sm2::ORDER);
        for _ in 0..NONCE_TRIES {
            let Some((mut k, k_bytes)) = fixed_base::next_nonce::<Sm2>(&mut nonces) else {
                continue;
            };
            let x1 = fixed_base::mul::<Sm2>(&k_bytes).x.to_be_bytes();
            let r = e_scalar + <Scalar as Reduce<FieldBytes>>::reduce(&x1.into());
            let retry: Choice = r.is_zero() | (r + *k).is_zero();
            let s = self.one_plus_d_inv * (*k - r * *self.d);
            k.zeroize();
            if bool::from(retry) {
                continue;
            }
            if let Ok(signature) = sm2::dsa::Signature::from_scalars(r, s) {
                return copy_der(signature.to_der().as_bytes(), out);
            }
        }
        Err(SignError::BadKey)
    }
}

impl Drop for Sm2Key {
    fn drop(&mut self) {
        self.d.zeroize();
        self.one_plus_d_inv.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use sm2::dsa::signature::hazmat::PrehashVerifier;

    #[test]
    fn tables() {
        fixed_base::tests::check_table::<Sm2>("sm2_g.bin");
    }

    #[test]
    fn fixed_base_matches_the_crate() {
        fixed_base::tests::check_mul::<Sm2>();
    }

    #[test]
    fn signatures_verify_with_the_crate() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        for round in 0..20u8 {
            let (secret, public) = generate(&mut rng);
            let key = Sm2Key::new(&secret, None).expect("valid key");
            assert_eq!(key.public(), &public);
            let point = sm2::PublicKey::from_sec1_bytes(&public).expect("point");
            let verifier =
                sm2::dsa::VerifyingKey::new("1234567812345678", point).expect("verifier");
            let e = [round; 32];
            let mut out = [0u8; MAX_SIGNATURE_LEN];
            let len = key.sign(&e, &[round; 32], &mut out).expect("sign");
            let signature = sm2::dsa::Signature::from_der(&out[..len]).expect("DER");
            verifier.verify_prehash(&e, &signature).expect("verifies");
        }
    }

    #[test]
    fn bad_scalars_are_refused() {
        assert!(Sm2Key::new(&[0; 32], None).is_err());
        let n_minus_1 = (-Scalar::ONE).to_bytes().into();
        assert!(Sm2Key::new(&n_minus_1, None).is_err());
    }
}
