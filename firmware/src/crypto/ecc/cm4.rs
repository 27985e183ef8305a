//! P-256 through Emil Lundberg's Cortex-M4 assembly (`p256-cortex-m4`, feature `p256-cm4`):
//! the same signatures as `nist`, with the nonce still from hedged RFC 6979. The crate asks
//! an RNG for `k`; it is handed the HMAC-DRBG of RFC 6979 instead, so `k` stays
//! deterministic in the key and digest and hedged by the platform RNG.

use p256_cortex_m4::SecretKey;
use rand_core_06::{CryptoRng, Error, RngCore};
use sha2::Sha256;

use zeroize::Zeroizing;

use super::{AgreeError, MAX_SIGNATURE_LEN, POINT_LEN, SCALAR_LEN, Secret, SignError, copy_der};

/// The crate's form of a secret scalar (checked to lie in `[1, n-1]`).
pub fn secret(bytes: &[u8; SCALAR_LEN]) -> Result<SecretKey, SignError> {
    SecretKey::from_bytes(bytes).map_err(|_| SignError::BadKey)
}

/// `04 ‖ X ‖ Y` of the scalar's public point.
pub fn public_point(secret: &SecretKey) -> [u8; POINT_LEN] {
    secret.public_key().to_uncompressed_sec1_bytes()
}

/// ECDH's shared `x` with the peer's point `04 ‖ X ‖ Y`, which the crate checks is on the
/// curve.
pub fn shared_x(secret: &SecretKey, peer: &[u8]) -> Result<Secret, AgreeError> {
    let (&[0x04], coordinates) = peer.split_at_checked(1).ok_or(AgreeError::BadPoint)? else {
        return Err(AgreeError::BadPoint);
    };
    let peer = p256_cortex_m4::PublicKey::from_untagged_bytes(coordinates)
        .map_err(|_| AgreeError::BadPoint)?;
    Ok(Zeroizing::new(*secret.agree(&peer).as_bytes()))
}

/// ECDSA over the FIPS 186-4 `prehash`, with `k` from `nonces`.
pub fn sign(
    secret: &SecretKey,
    prehash: &[u8; SCALAR_LEN],
    nonces: rfc6979::KGenerator<'_, Sha256, p256::U256>,
    out: &mut [u8; MAX_SIGNATURE_LEN],
) -> Result<usize, SignError> {
    let rs = secret
        .sign_prehashed(prehash, Rfc6979Nonces(nonces))
        .to_untagged_bytes();
    let signature = p256::ecdsa::Signature::from_slice(&rs).map_err(|_| SignError::BadKey)?;
    copy_der(signature.to_der().as_bytes(), out)
}

/// RFC 6979's `k` generator seen as the RNG the crate draws `k` from: every 32-byte draw is
/// the next candidate `k` (already in `[1, n-1]`), byte-reversed because the crate reads
/// the bytes as little-endian words.
struct Rfc6979Nonces<'a>(rfc6979::KGenerator<'a, Sha256, p256::U256>);

impl RngCore for Rfc6979Nonces<'_> {
    fn next_u32(&mut self) -> u32 {
        rand_core_06::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core_06::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(SCALAR_LEN) {
            let mut k = zeroize::Zeroizing::new([0u8; SCALAR_LEN]);
            self.0.fill_next_k(k.as_mut());
            k.reverse();
            chunk.copy_from_slice(&k[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Rfc6979Nonces<'_> {}
