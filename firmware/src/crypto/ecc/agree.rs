//! Elliptic-curve Diffie–Hellman with a slot's key (card edge v2, GENERAL AUTHENTICATE
//! `85`; SP 800-56A, 5.7.1.2, cofactor 1 on both curves).
//!
//! The peer's point must be `04 ‖ X ‖ Y` with both coordinates below `p` and on the curve
//! (SEC 1, 3.2.2.1; with a prime-order group that is the whole public-key validation). The
//! product `d·Q` runs on the same field code and complete formulas as signing (`field`,
//! `point`): one double and one (possibly discarded) addition per scalar bit, so nothing
//! depends on the scalar's bits. The curve crates' own variable-base multiplication would
//! cost the board image more flash than it has left.

use subtle::Choice;
use zeroize::Zeroizing;

use super::field::FieldElement;
use super::point::{Affine, Projective};
use super::{POINT_LEN, SCALAR_LEN};

/// Why a key agreement was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgreeError {
    /// The peer's point is not `04 ‖ X ‖ Y` of the key's curve, or is not on the curve.
    BadPoint,
}

/// The peer's point, checked: uncompressed, coordinates canonical, on `y² = x³ - 3x + b`.
fn peer_point<F: FieldElement>(peer: &[u8]) -> Result<Affine<F>, AgreeError> {
    let (&[0x04], coordinates) = peer.split_at_checked(1).ok_or(AgreeError::BadPoint)? else {
        return Err(AgreeError::BadPoint);
    };
    let (x, y) = coordinates
        .split_first_chunk::<SCALAR_LEN>()
        .ok_or(AgreeError::BadPoint)?;
    let y: &[u8; SCALAR_LEN] = y.try_into().map_err(|_| AgreeError::BadPoint)?;
    let (x, y) = (canonical::<F>(x)?, canonical::<F>(y)?);
    let three = F::ONE + F::ONE + F::ONE;
    let right = (x.square() - three) * x + F::B;
    if y.square().to_be_bytes() != right.to_be_bytes() {
        return Err(AgreeError::BadPoint);
    }
    Ok(Affine { x, y })
}

/// The field element with big-endian bytes `bytes`, refused unless they are below `p`
/// (public data: compared as big-endian numbers, `bytes <= p - 1`).
fn canonical<F: FieldElement>(bytes: &[u8; SCALAR_LEN]) -> Result<F, AgreeError> {
    let mut p_minus_1 = F::P_MINUS_2;
    for byte in p_minus_1.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            break;
        }
    }
    if *bytes <= p_minus_1 {
        Ok(F::from_canonical_be_bytes(bytes))
    } else {
        Err(AgreeError::BadPoint)
    }
}

/// The shared point `d·Q` as `04 ‖ x ‖ y`, for the big-endian private scalar `d` (in
/// `[1, n-1]`) and the peer's point `peer`.
pub(super) fn shared_point<F: FieldElement>(
    d: &[u8; SCALAR_LEN],
    peer: &[u8],
) -> Result<Zeroizing<[u8; POINT_LEN]>, AgreeError> {
    let q = peer_point::<F>(peer)?;
    let mut acc = Projective::<F>::IDENTITY;
    for byte in d {
        for bit in (0..8).rev() {
            acc = acc.double();
            acc = acc.add_affine(&q, Choice::from(((byte >> bit) & 1) ^ 1));
        }
    }
    let shared = acc.to_affine();
    let mut out = Zeroizing::new([0u8; POINT_LEN]);
    out[0] = 0x04;
    out[1..33].copy_from_slice(&shared.x.to_be_bytes());
    out[33..].copy_from_slice(&shared.y.to_be_bytes());
    Ok(out)
}
