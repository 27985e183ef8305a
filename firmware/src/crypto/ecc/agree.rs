//! Elliptic-curve Diffie–Hellman with a slot's key (card edge v2, GENERAL AUTHENTICATE
//! `85`; SP 800-56A, 5.7.1.2, cofactor 1 on both curves): the peer's point is checked to be an
//! uncompressed point of the curve (SEC 1, 2.3.4, with the on-curve test of 3.2.2.1), then
//! multiplied by the private scalar with the curve crate's constant-time arithmetic.

use p256::elliptic_curve::group::Curve as _;
use p256::elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use p256::elliptic_curve::{
    AffinePoint, CurveArithmetic, FieldBytesSize, NonZeroScalar, PublicKey,
};
use zeroize::Zeroizing;

use super::POINT_LEN;

/// Why a key agreement was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgreeError {
    /// The peer's point is not `04 ‖ X ‖ Y` of the key's curve, or is not on the curve.
    BadPoint,
}

/// The shared point `d·Q` as `04 ‖ x ‖ y`, for private scalar `d` and peer point `peer`.
pub(super) fn shared_point<C>(
    d: &NonZeroScalar<C>,
    peer: &[u8],
) -> Result<Zeroizing<[u8; POINT_LEN]>, AgreeError>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    if peer.len() != POINT_LEN || peer.first() != Some(&0x04) {
        return Err(AgreeError::BadPoint);
    }
    let peer = PublicKey::<C>::from_sec1_bytes(peer).map_err(|_| AgreeError::BadPoint)?;
    let shared = (peer.to_projective() * *d.as_ref()).to_affine();
    let encoded = shared.to_sec1_point(false);
    let mut out = Zeroizing::new([0u8; POINT_LEN]);
    // The peer is no identity and the group has prime order, so `d·Q` is a finite point.
    out.as_mut().copy_from_slice(
        encoded
            .as_bytes()
            .get(..POINT_LEN)
            .ok_or(AgreeError::BadPoint)?,
    );
    Ok(out)
}
